//! The OpenAPI 3 document, generated from the handlers' annotations and served
//! at `/api/v1/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "AeThex Live API", description = "Companion server HTTP API (see shared/contract.md)."),
    paths(
        crate::auth::register, crate::auth::login, crate::auth::logout, crate::auth::me,
        crate::channels::list, crate::channels::get_one, crate::channels::patch,
        crate::channels::rotate_key, crate::channels::list_moderators,
        crate::channels::add_moderator, crate::channels::remove_moderator,
        crate::chat::rest::history, crate::chat::rest::delete_message, crate::chat::rest::ban,
        crate::chat::rest::unban, crate::chat::rest::slow_mode, crate::chat::rest::list_terms,
        crate::chat::rest::add_term, crate::chat::rest::remove_term, crate::chat::rest::mod_log,
        crate::discovery::ingest,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "accounts and sessions"),
         (name = "channels", description = "channels, stream keys, moderators"),
         (name = "ingest", description = "where publishers send (RTMP, SRT)"),
         (name = "chat", description = "chat history and moderation (WebSocket: /ws/chat/{channel}, see docs/chat.md)"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
