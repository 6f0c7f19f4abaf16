//! Chat WebSocket frames (`GET /ws/chat/{channel}`), JSON text frames tagged
//! by `type` exactly as in `shared/contract.md`.

use serde::{Deserialize, Serialize};

use crate::api::Message;

/// Who a chat connection speaks as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Role {
    /// The channel's creator.
    Owner,
    /// Appointed by the owner; may moderate everyone but the owner.
    Moderator,
    /// Signed in; may chat.
    Viewer,
    /// Not signed in; read only.
    Anonymous,
}

impl Role {
    /// Owners and moderators may moderate and are exempt from slow mode.
    pub fn can_moderate(self) -> bool {
        matches!(self, Role::Owner | Role::Moderator)
    }
}

/// A frame the client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ClientFrame {
    /// Post a message (1–500 chars after trimming).
    Send {
        /// Message text.
        text: String,
    },
    /// Delete a message (owner, moderator).
    Delete {
        /// Message id.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        id: i64,
    },
    /// Refuse a user's messages for a while (owner, moderator).
    Timeout {
        /// Who.
        username: String,
        /// 1 s – 14 days.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        seconds: u64,
    },
    /// Refuse a user's messages until unbanned (owner, moderator).
    Ban {
        /// Who.
        username: String,
    },
    /// Lift a ban or timeout (owner, moderator).
    Unban {
        /// Who.
        username: String,
    },
    /// Per-user minimum interval between messages; 0 turns it off.
    Slow {
        /// Seconds between messages.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        seconds: u64,
    },
}

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ServerFrame {
    /// First frame: who you are in this channel.
    Hello {
        /// Channel name.
        channel: String,
        /// Your username, `null` when anonymous.
        username: Option<String>,
        /// Your role here.
        role: Role,
    },
    /// Second frame: the last messages, oldest first, deleted ones absent.
    History {
        /// Up to 50 messages.
        messages: Vec<Message>,
    },
    /// A stored message.
    Message(Message),
    /// A message was removed by a moderator.
    Deleted {
        /// Its id.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        id: i64,
    },
    /// Distinct viewers right now.
    Viewers {
        /// How many.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        count: u64,
    },
    /// The channel went live or offline.
    Live {
        /// Live now?
        live: bool,
        /// Broadcast title.
        title: String,
    },
    /// Slow mode changed (extension to the contract).
    Slow {
        /// Seconds between messages, 0 = off.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        seconds: u64,
    },
    /// A refusal, sent to one client only; the connection stays open.
    Error {
        /// `not_allowed`, `rate_limited`, `slow_mode`, `banned`, `timed_out`,
        /// `too_long`, `bad_request`, …
        code: String,
        /// Human sentence.
        message: String,
    },
}

/// Body of `PUT /channels/{name}/slow-mode` (extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlowMode {
    /// Seconds between one person's messages, 0 = off (at most one day).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seconds: u64,
}

/// Body of `POST /channels/{name}/blocked-terms` (extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockedTerm {
    /// Matched case-insensitively anywhere in a message (1–50 characters).
    pub term: String,
}

/// Answer to `GET /channels/{name}/blocked-terms` (extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockedTermList {
    /// Lower-case terms, sorted.
    pub terms: Vec<String>,
}

/// One moderation action: who did what to whom, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModLogEntry {
    /// Grows with time within a channel.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    /// Who acted.
    pub actor: String,
    /// `delete`, `timeout`, `ban`, `unban`, `slow`, `add_term`, `remove_term`,
    /// `add_moderator`, `remove_moderator`.
    pub action: String,
    /// The user acted on, if any.
    pub target: Option<String>,
    /// The message acted on, if any.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub message_id: Option<i64>,
    /// Extra detail: timeout seconds, slow-mode seconds, the term.
    pub detail: String,
    /// RFC 3339 time of the action.
    pub at: String,
}

/// Answer to `GET /channels/{name}/mod-log` (extension): newest last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModLog {
    /// Oldest first.
    pub entries: Vec<ModLogEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_frames_parse_as_in_the_contract() {
        let f: ClientFrame = serde_json::from_value(json!({"type":"send","text":"hi"})).unwrap();
        assert_eq!(f, ClientFrame::Send { text: "hi".into() });
        let f: ClientFrame =
            serde_json::from_value(json!({"type":"timeout","username":"bob","seconds":60}))
                .unwrap();
        assert_eq!(
            f,
            ClientFrame::Timeout {
                username: "bob".into(),
                seconds: 60
            }
        );
        assert!(serde_json::from_value::<ClientFrame>(json!({"type":"nope"})).is_err());
        assert!(
            serde_json::from_value::<ClientFrame>(json!({"type":"send","text":"a","x":1})).is_err()
        );
    }

    #[test]
    fn server_frames_serialise_as_in_the_contract() {
        let m = ServerFrame::Message(Message {
            id: 7,
            username: "alice".into(),
            text: "<b>hi</b>".into(),
            sent_at: "2026-01-01T00:00:00Z".into(),
        });
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"type":"message","id":7,"username":"alice","text":"<b>hi</b>","sent_at":"2026-01-01T00:00:00Z"})
        );
        let h = ServerFrame::Hello {
            channel: "alice".into(),
            username: None,
            role: Role::Anonymous,
        };
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            json!({"type":"hello","channel":"alice","username":null,"role":"anonymous"})
        );
    }
}
