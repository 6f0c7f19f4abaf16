//! Unit tests for error mapping and URL building (no network).

use super::*;

const SERVER: &str = "http://127.0.0.1:8080";

fn body(code: &str, message: &str) -> Vec<u8> {
    serde_json::json!({"error": {"code": code, "message": message}})
        .to_string()
        .into_bytes()
}

#[test]
fn login_refusal_is_wrong_password() {
    let e = ApiError::from_response_parts(
        SERVER,
        401,
        None,
        &body("invalid_credentials", "wrong username or password"),
    );
    assert!(matches!(e, ApiError::InvalidCredentials), "{e:?}");
    assert_eq!(e.to_string(), "wrong username or password");
    assert_eq!(e.code(), Some("invalid_credentials"));
    assert!(!e.is_transient());
}

#[test]
fn other_401_means_sign_in_again() {
    let e = ApiError::from_response_parts(SERVER, 401, None, &body("unauthorized", "sign in"));
    assert!(matches!(e, ApiError::Unauthorized), "{e:?}");
    assert!(e.to_string().contains("sign in again"));
}

#[test]
fn rate_limit_carries_retry_after() {
    let e = ApiError::from_response_parts(
        SERVER,
        429,
        Some("7"),
        &body("rate_limited", "too many requests"),
    );
    match &e {
        ApiError::RateLimited { retry_after } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(7)))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.to_string(), "too many requests: try again in 7 s");
    assert!(e.is_transient());
    // A 429 from a proxy without the contract's body, and an HTTP-date header.
    let e = ApiError::from_response_parts(
        SERVER,
        429,
        Some("Wed, 21 Oct 2015 07:28:00 GMT"),
        b"slow down",
    );
    assert!(
        matches!(e, ApiError::RateLimited { retry_after: None }),
        "{e:?}"
    );
}

#[test]
fn statuses_map_to_their_variants_with_the_server_sentence() {
    let cases: [(u16, &str, &str); 6] = [
        (403, "forbidden", "only the owner may do that"),
        (404, "not_found", "channel not found"),
        (409, "username_taken", "that username is taken"),
        (422, "validation_failed", "username: 3–25 characters"),
        (400, "bad_request", "bad JSON"),
        (413, "payload_too_large", "limit 16 KiB"),
    ];
    for (status, code, message) in cases {
        let e = ApiError::from_response_parts(SERVER, status, None, &body(code, message));
        let ok = match (status, &e) {
            (403, ApiError::Forbidden(m)) => m == message,
            (404, ApiError::NotFound(m)) => m == message,
            (
                409,
                ApiError::Conflict {
                    code: c,
                    message: m,
                },
            ) => c == code && m == message,
            (
                400 | 422,
                ApiError::Invalid {
                    code: c,
                    message: m,
                },
            ) => c == code && m == message,
            (413, ApiError::TooLarge(m)) => m == message,
            _ => false,
        };
        assert!(ok, "{status} mapped to {e:?}");
        assert!(e.to_string().contains(message), "{e}");
    }
}

#[test]
fn non_contract_answers_are_flagged_as_foreign() {
    let e = ApiError::from_response_parts(SERVER, 502, None, b"<html>Bad Gateway</html>");
    assert!(
        matches!(e, ApiError::UnexpectedResponse { status: 502, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("AeThex Live server"));
    let e = ApiError::from_response_parts(SERVER, 500, None, &body("internal", "internal error"));
    assert!(matches!(e, ApiError::Server { status: 500, .. }), "{e:?}");
    assert!(e.is_transient());
}

#[test]
fn server_urls_are_checked_and_normalised() {
    let c = ApiClient::new("http://127.0.0.1:8080").unwrap();
    assert_eq!(c.server(), "http://127.0.0.1:8080");
    assert_eq!(
        c.api_url(&["channels", "alice", "bans", "bob"]).as_str(),
        "http://127.0.0.1:8080/api/v1/channels/alice/bans/bob"
    );
    // A prefix path is kept, and path parameters are encoded, never traversed.
    let c = ApiClient::new("https://example.org/aethex").unwrap();
    assert_eq!(
        c.api_url(&["channels", "../me"]).as_str(),
        "https://example.org/aethex/api/v1/channels/..%2Fme"
    );
    assert_eq!(
        c.chat_url("alice").as_str(),
        "wss://example.org/aethex/ws/chat/alice"
    );
    for bad in [
        "ftp://x",
        "127.0.0.1:8080",
        "http://user:pw@host",
        "not a url",
    ] {
        let e = ApiClient::new(bad).unwrap_err();
        assert!(
            matches!(e, ApiError::InvalidServerUrl { .. }),
            "{bad}: {e:?}"
        );
        assert!(!e.to_string().contains("pw@"), "{e}");
    }
}

#[test]
fn debug_output_of_a_signed_in_client_hides_the_token() {
    let c = ApiClient::new(SERVER)
        .unwrap()
        .with_token(Secret::new("tok_abcdef123456"));
    let text = format!("{c:?}");
    assert!(!text.contains("tok_abcdef123456"), "{text}");
    let s = Session::from(AuthResponse {
        user: User {
            id: 1,
            username: "alice".into(),
            display_name: "alice".into(),
        },
        token: "tok_abcdef123456".into(),
    });
    assert!(!format!("{s:?}").contains("tok_abcdef123456"));
}
