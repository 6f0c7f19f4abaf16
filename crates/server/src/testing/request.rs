//! The request builder shared by [`TestApp`](super::TestApp) (in-process,
//! `oneshot`) and [`TestServer`](super::TestServer) (a real socket), its
//! response, and signed-up users.
//!
//! ```no_run
//! # async fn journey() {
//! use aethex_server::testing::{Api, TestApp, TestDb};
//! use axum::http::StatusCode;
//!
//! let app = TestApp::new(TestDb::Sqlite).await;
//! let alice = app.user("alice").await;
//! app.user("bob").await;
//! app.put("/api/v1/channels/alice/moderators/bob")
//!     .as_user(&alice)
//!     .send()
//!     .await
//!     .expect(StatusCode::NO_CONTENT);
//! # }
//! ```

use std::borrow::Cow;
use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower::ServiceExt;

/// `GET`, as a value for permission tables (`for (method, path, who, want) in […]`).
pub const GET: Method = Method::GET;
/// `POST`, for permission tables.
pub const POST: Method = Method::POST;
/// `PUT`, for permission tables.
pub const PUT: Method = Method::PUT;
/// `PATCH`, for permission tables.
pub const PATCH: Method = Method::PATCH;
/// `DELETE`, for permission tables.
pub const DELETE: Method = Method::DELETE;

/// The password every [`TestUser`] signs up with.
pub const PASSWORD: &str = "password123";

/// A signed-up user: the name (also their channel's) and a session token.
#[derive(Clone, PartialEq, Eq)]
pub struct TestUser {
    /// Username, lower case; their channel has the same name.
    pub name: String,
    /// Session token for `Authorization: Bearer`.
    pub token: String,
}

impl std::fmt::Debug for TestUser {
    /// The name only: failure messages must not need the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)
    }
}

/// Where a [`TestRequest`] goes.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// The router in-process, through `oneshot`.
    App(&'a Router),
    /// A real server over HTTP.
    Server {
        /// The client (connection reuse across a test's requests).
        client: &'a reqwest::Client,
        /// The server's HTTP address.
        http: SocketAddr,
    },
}

/// Requests to the HTTP API of a test app or a test server; bring it into
/// scope to call `app.get(…)`, `srv.user(…)` and the like.
// Test-only: callers are concrete types, never generic code that needs `Send`.
#[allow(async_fn_in_trait)]
pub trait Api {
    /// Where this sends its requests.
    fn target(&self) -> Target<'_>;

    /// A request with any method.
    fn request(&self, method: Method, path: &str) -> TestRequest<'_> {
        TestRequest::new(self.target(), method, path)
    }

    /// `GET path`.
    fn get(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::GET, path)
    }

    /// `POST path`.
    fn post(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::POST, path)
    }

    /// `PUT path`.
    fn put(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::PUT, path)
    }

    /// `PATCH path`.
    fn patch(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::PATCH, path)
    }

    /// `DELETE path`.
    fn delete(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::DELETE, path)
    }

    /// Registers `name` with [`PASSWORD`] (which creates channel `name`).
    async fn user(&self, name: &str) -> TestUser {
        let body = serde_json::json!({"username": name, "password": PASSWORD});
        let r = self
            .post("/api/v1/auth/register")
            .json(&body)
            .send()
            .await
            .expect(StatusCode::CREATED);
        TestUser {
            name: r["user"]["username"]
                .as_str()
                .expect("username")
                .to_string(),
            token: r["token"].as_str().expect("token").to_string(),
        }
    }

    /// Rotates the stream key of `owner`'s channel; returns the new key.
    async fn rotate_key(&self, owner: &TestUser) -> String {
        let path = format!("/api/v1/channels/{}/stream-key", owner.name);
        let r = self
            .post(&path)
            .as_user(owner)
            .send()
            .await
            .expect(StatusCode::OK);
        r["stream_key"].as_str().expect("stream_key").to_string()
    }
}

/// One request being put together; nothing is sent until [`send`](Self::send).
#[must_use = "a request does nothing until it is sent"]
pub struct TestRequest<'a> {
    target: Target<'a>,
    method: Method,
    path: String,
    who: String,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    peer: Option<SocketAddr>,
}

impl<'a> TestRequest<'a> {
    /// An anonymous request without a body.
    pub fn new(target: Target<'a>, method: Method, path: &str) -> Self {
        TestRequest {
            target,
            method,
            path: path.to_string(),
            who: "anonymous".to_string(),
            headers: HeaderMap::new(),
            body: None,
            peer: None,
        }
    }

    /// Sends as `user` (`Authorization: Bearer`); `None` sends anonymously.
    pub fn as_user<'u>(self, user: impl Into<Option<&'u TestUser>>) -> Self {
        match user.into() {
            Some(u) => {
                let who = u.name.clone();
                let mut r = self.bearer(&u.token);
                r.who = who;
                r
            }
            None => self,
        }
    }

    /// Sends a raw bearer token (an unknown or revoked one).
    pub fn bearer(mut self, token: &str) -> Self {
        self.who = "a raw token".to_string();
        self.header(header::AUTHORIZATION, format!("Bearer {token}"))
    }

    /// Adds (or replaces) a header.
    pub fn header(mut self, name: HeaderName, value: impl AsRef<str>) -> Self {
        let value = HeaderValue::from_str(value.as_ref()).expect("header value");
        self.headers.insert(name, value);
        self
    }

    /// A JSON body.
    pub fn json(self, body: &impl Serialize) -> Self {
        let bytes = serde_json::to_vec(body).expect("serialise JSON body");
        self.body("application/json", bytes)
    }

    /// A raw body with its content type (malformed JSON, wrong types).
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.header(header::CONTENT_TYPE, content_type)
    }

    /// The peer address the app sees (in-process only: a real server sees
    /// the socket's).
    pub fn peer(mut self, addr: SocketAddr) -> Self {
        self.peer = Some(addr);
        self
    }

    /// Sends the request and reads the whole response.
    pub async fn send(self) -> TestResponse {
        let what = format!("{} {} as {}", self.method, self.path, self.who);
        let (status, headers, body) = match self.target {
            Target::App(router) => {
                let mut req = Request::builder()
                    .method(self.method)
                    .uri(&self.path)
                    .body(self.body.map_or_else(Body::empty, Body::from))
                    .expect("request");
                *req.headers_mut() = self.headers;
                if let Some(addr) = self.peer {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(addr));
                }
                let res = router.clone().oneshot(req).await.expect("infallible");
                let (status, headers) = (res.status(), res.headers().clone());
                let body = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
                    .await
                    .unwrap_or_else(|e| panic!("{what}: reading the body: {e}"));
                (status, headers, body)
            }
            Target::Server { client, http } => {
                assert!(self.peer.is_none(), "{what}: peer() works in-process only");
                let mut req = client
                    .request(self.method, format!("http://{http}{}", self.path))
                    .headers(self.headers);
                if let Some(body) = self.body {
                    req = req.body(body);
                }
                let res = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
                let (status, headers) = (res.status(), res.headers().clone());
                let body = res
                    .bytes()
                    .await
                    .unwrap_or_else(|e| panic!("{what}: reading the body: {e}"));
                (status, headers, body)
            }
        };
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        TestResponse {
            what,
            status,
            headers,
            body,
            json,
        }
    }
}

/// A whole response; `response["field"]` indexes its JSON body.
#[derive(Debug)]
pub struct TestResponse {
    what: String,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    json: Value,
}

impl TestResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (lossy).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body parsed as `T`; panics naming the request when it is not.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: body is not a {}: {e}: {}",
                self.what,
                std::any::type_name::<T>(),
                self.text()
            )
        })
    }

    /// The contract error code, if this is an error body (`""` otherwise).
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts the status, naming the request and showing the body.
    #[track_caller]
    pub fn expect(self, want: StatusCode) -> Self {
        assert_eq!(self.status, want, "{self}");
        self
    }

    /// Asserts an error status and its contract code.
    #[track_caller]
    pub fn expect_error(self, want: StatusCode, code: &str) -> Self {
        assert_eq!((self.status, self.code()), (want, code), "{self}");
        self
    }
}

impl std::fmt::Display for TestResponse {
    /// `METHOD path as who → status: body`, for failure messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} → {}: {}", self.what, self.status, self.text())
    }
}

impl std::ops::Index<&str> for TestResponse {
    type Output = Value;

    /// A field of the JSON body (`Null` when absent or not JSON).
    fn index(&self, key: &str) -> &Value {
        &self.json[key]
    }
}
