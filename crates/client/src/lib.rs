//! AeThex Live client side: the HTTP API client, the chat client, the OS-keyring
//! key vault and the headless `aethex` CLI built on them.
//!
//! - [`api::ApiClient`]: every route of the contract, typed errors ([`api::ApiError`]).
//! - [`chat::ChatClient`]: the chat WebSocket with automatic reconnect.
//! - [`vault::Vault`]: session tokens and stream keys in the OS keyring.
//! - [`secret::Secret`]: a string whose `Debug`/`Display` redact it.
//! - [`cli`]: the `aethex` command (`src/main.rs` only calls [`cli::main`]).

#![warn(missing_docs)]

pub mod api;
pub mod chat;
pub mod cli;
pub mod secret;
pub mod studio;
pub mod vault;

#[cfg(test)]
mod test_support;

pub use api::{ApiClient, ApiError, Session};
pub use chat::{ChatClient, ChatError, ChatEvent, ChatOptions, ConnectionState};
pub use secret::Secret;
pub use vault::{Vault, VaultBackend, VaultError};
