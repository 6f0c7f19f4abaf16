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
