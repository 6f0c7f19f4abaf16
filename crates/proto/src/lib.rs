//! Wire types shared by everything that talks to `aethex-server`: the HTTP API
//! bodies, the chat WebSocket frames and the error shape of
//! `shared/contract.md`. The TypeScript in `ui/src/bindings/` is generated from
//! these types (feature `ts`), never written by hand.

pub mod api;
pub mod chat;

pub use api::*;
pub use chat::*;
