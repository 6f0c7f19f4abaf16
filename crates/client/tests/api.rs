//! `ApiClient` against the real `aethex-server` (in process, port 0).

mod support;

use aethex_client::{ApiClient, ApiError};
use support::{TestServer, closed_port, within};

#[tokio::test]
async fn health_answers_on_a_real_server() {
    let srv = TestServer::start().await;
    let api = ApiClient::new(&srv.url()).unwrap();
    within("healthz", api.health()).await.unwrap();
}

#[tokio::test]
async fn a_stopped_server_is_reported_as_unreachable() {
    let api = ApiClient::new(&format!("http://127.0.0.1:{}", closed_port())).unwrap();
    let e = within("login", api.login("alice", &"password1".to_string().into()))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Unreachable { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("cannot reach the server at http://127.0.0.1:"),
        "{e}"
    );
    assert!(e.is_transient());
}
