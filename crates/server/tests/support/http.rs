//! JSON over HTTP to a server under test (a real process or in-process),
//! failing the test with the URL, status and body when a call is refused.

use serde_json::Value;

/// `POST url` with a JSON body (and a bearer token); the JSON answer.
pub async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Value {
    let mut req = client.post(&url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "POST {url}: {status} {v}");
    v
}

/// `GET url`; the JSON answer.
pub async fn get(client: &reqwest::Client, url: String) -> Value {
    let res = client
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(res.status().is_success(), "GET {url}: {}", res.status());
    res.json().await.expect("JSON")
}

/// Registers `username` (with the test password) on `server`; its session token.
pub async fn register(
    client: &reqwest::Client,
    server: &super::process::ServerProcess,
    username: &str,
) -> String {
    let body =
        serde_json::json!({"username": username, "password": aethex_server::testing::PASSWORD});
    let v = post(client, server.url("/api/v1/auth/register"), None, body).await;
    v["token"].as_str().expect("token").to_string()
}

/// Rotates the stream key of `channel` (owned by `token`'s user); the new key.
pub async fn stream_key(
    client: &reqwest::Client,
    server: &super::process::ServerProcess,
    channel: &str,
    token: &str,
) -> String {
    let url = server.url(&format!("/api/v1/channels/{channel}/stream-key"));
    let v = post(client, url, Some(token), serde_json::json!({})).await;
    v["stream_key"].as_str().expect("key").to_string()
}
