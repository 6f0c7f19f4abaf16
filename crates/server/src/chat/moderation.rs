//! The chat rules, shared by the WebSocket and the REST routes: what a
//! message may be, how fast one may send, and the moderation actions
//! (each checked with `authz`, logged in the moderation log and announced).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aethex_proto::{Role, ServerFrame};

use super::ChatError;
use super::hub::{Control, Event};
use super::store;
use crate::auth::store::{UserRow, user_by_name};
use crate::authz::{self, Action};
use crate::channels::{self, ChannelRow};
use crate::db::now_ms;
use crate::state::AppState;
use crate::validate;

/// Longest message, in characters after trimming.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest timeout: 14 days.
pub const MAX_TIMEOUT_SECONDS: u64 = 14 * 24 * 3600;
/// Longest slow-mode interval: one day.
pub const MAX_SLOW_SECONDS: u64 = 24 * 3600;
/// Longest blocked term, in characters.
pub const MAX_TERM_CHARS: usize = 50;
/// Most blocked terms per channel.
pub const MAX_TERMS: usize = 500;
/// The rate-limit window.
pub const RATE_WINDOW: Duration = Duration::from_secs(30);

/// Checks a message text: 1–500 characters after trimming, no control
/// characters or bidi overrides. Returns the trimmed text (stored as is).
pub fn check_text(raw: &str) -> Result<String, ChatError> {
    let t = raw.trim();
    match t.chars().count() {
        0 => Err(ChatError::BadRequest("message text is empty".into())),
        n if n > MAX_TEXT_CHARS => Err(ChatError::TooLong),
        _ => validate::text("text", t, 1, MAX_TEXT_CHARS, false)
            .map_err(|e| ChatError::BadRequest(e.to_string())),
    }
}

/// `Err(BlockedTerm)` if `text` contains one of `terms` (case-insensitive).
pub fn check_terms(text: &str, terms: &[String]) -> Result<(), ChatError> {
    if terms.is_empty() {
        return Ok(());
    }
    let lower = text.to_lowercase();
    if terms.iter().any(|t| lower.contains(t.as_str())) {
        return Err(ChatError::BlockedTerm);
    }
    Ok(())
}

#[derive(Debug, Default)]
struct SendWindow {
    recent: VecDeque<Instant>,
    last: Option<Instant>,
}

/// Per-user rate limit (sliding 30 s window) and slow mode, per channel.
#[derive(Debug)]
pub struct Pacer {
    rate_limit: u32,
    users: Mutex<HashMap<(i64, i64), SendWindow>>,
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000).max(1) as u64
}

impl Pacer {
    /// `rate_limit` messages per 30 s for viewers, 5× for owner and
    /// moderators; 0 = no limit.
    pub fn new(rate_limit: u32) -> Self {
        Pacer {
            rate_limit,
            users: Mutex::new(HashMap::new()),
        }
    }

    /// Records a send by `user_id` in `channel_id` if slow mode and the rate
    /// limit allow it; owner and moderators are exempt from slow mode.
    pub fn admit(
        &self,
        channel_id: i64,
        user_id: i64,
        role: Role,
        slow_seconds: u64,
    ) -> Result<(), ChatError> {
        let now = Instant::now();
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let w = users.entry((channel_id, user_id)).or_default();
        if slow_seconds > 0
            && !role.can_moderate()
            && let Some(last) = w.last
        {
            let interval = Duration::from_secs(slow_seconds);
            let since = now.duration_since(last);
            if since < interval {
                return Err(ChatError::SlowMode(ceil_secs(interval - since)));
            }
        }
        if self.rate_limit > 0 {
            let limit = if role.can_moderate() {
                self.rate_limit.saturating_mul(5)
            } else {
                self.rate_limit
            } as usize;
            while w
                .recent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW)
            {
                w.recent.pop_front();
            }
            if w.recent.len() >= limit {
                let oldest = w.recent.front().copied().unwrap_or(now);
                return Err(ChatError::RateLimited(ceil_secs(
                    RATE_WINDOW.saturating_sub(now.duration_since(oldest)),
                )));
            }
            w.recent.push_back(now);
        }
        w.last = Some(now);
        Ok(())
    }

    /// Forgets users who have not sent for longer than any interval matters.
    pub fn prune(&self) {
        let keep = Duration::from_secs(MAX_SLOW_SECONDS).max(RATE_WINDOW);
        let now = Instant::now();
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        users.retain(|_, w| w.last.is_some_and(|t| now.duration_since(t) < keep));
        for w in users.values_mut() {
            while w
                .recent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW)
            {
                w.recent.pop_front();
            }
        }
    }
}

/// The target user and their role, after checking `actor` may act on them.
async fn target(
    state: &AppState,
    channel: &ChannelRow,
    actor: &UserRow,
    username: &str,
) -> Result<UserRow, ChatError> {
    let actor_role = authz::require(state, channel, Some(actor), Action::Moderate).await?;
    let name = validate::path_name(username.trim(), "user")?;
    let target = user_by_name(&state.db, &name)
        .await?
        .ok_or(ChatError::NotFound("user"))?;
    let target_role = authz::role_in(state, channel, Some(&target)).await?;
    if !authz::may_act_on(actor_role, target_role) {
        return Err(ChatError::NotAllowed(format!(
            "a {} cannot act on the channel's {}",
            role_name(actor_role),
            role_name(target_role)
        )));
    }
    Ok(target)
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Owner => "owner",
        Role::Moderator => "moderator",
        Role::Viewer => "viewer",
        Role::Anonymous => "anonymous viewer",
    }
}

/// Deletes message `id` for everyone. `in_channel` limits it to one channel
/// (the WebSocket's). Deleting twice is fine.
pub async fn delete_message(
    state: &AppState,
    actor: &UserRow,
    id: i64,
    in_channel: Option<&str>,
) -> Result<(), ChatError> {
    let meta = store::message_meta(&state.db, id)
        .await?
        .filter(|m| in_channel.is_none_or(|c| c == m.channel))
        .ok_or(ChatError::NotFound("message"))?;
    let channel = channels::find(state, &meta.channel).await?;
    if meta.author_id == actor.id {
        authz::require(state, &channel, Some(actor), Action::Moderate).await?;
    } else {
        target(state, &channel, actor, &meta.author).await?;
    }
    if !store::mark_deleted(&state.db, id).await? {
        return Ok(());
    }
    channels::store::log_action(
        &state.db,
        channel.id,
        actor.id,
        "delete",
        Some(meta.author_id),
        Some(id),
        "",
    )
    .await?;
    state
        .chat
        .publish(&channel.name, ServerFrame::Deleted { id });
    Ok(())
}

/// Times out (`Some(seconds)`, 1 s – 14 days) or bans (`None`) a user; their
/// open sockets are told.
pub async fn restrict(
    state: &AppState,
    channel: &ChannelRow,
    actor: &UserRow,
    username: &str,
    seconds: Option<u64>,
) -> Result<(), ChatError> {
    if let Some(s) = seconds
        && !(1..=MAX_TIMEOUT_SECONDS).contains(&s)
    {
        return Err(ChatError::Invalid {
            field: "seconds",
            reason: format!("a timeout lasts 1 to {MAX_TIMEOUT_SECONDS} seconds"),
        });
    }
    let target = target(state, channel, actor, username).await?;
    let until = seconds.map(|s| now_ms() + (s as i64) * 1000);
    store::restrict(&state.db, channel.id, target.id, until, actor.id).await?;
    let (action, detail) = match seconds {
        Some(s) => ("timeout", format!("{s}")),
        None => ("ban", String::new()),
    };
    channels::store::log_action(
        &state.db,
        channel.id,
        actor.id,
        action,
        Some(target.id),
        None,
        &detail,
    )
    .await?;
    state.chat.publish_event(
        &channel.name,
        Event {
            frame: None,
            message_id: None,
            control: Some(Control::Restricted {
                user_id: target.id,
                until,
            }),
        },
    );
    Ok(())
}

/// Lifts a ban or timeout (fine if there was none).
pub async fn unban(
    state: &AppState,
    channel: &ChannelRow,
    actor: &UserRow,
    username: &str,
) -> Result<(), ChatError> {
    let target = target(state, channel, actor, username).await?;
    if store::lift(&state.db, channel.id, target.id).await? {
        channels::store::log_action(
            &state.db,
            channel.id,
            actor.id,
            "unban",
            Some(target.id),
            None,
            "",
        )
        .await?;
    }
    state.chat.publish_event(
        &channel.name,
        Event {
            frame: None,
            message_id: None,
            control: Some(Control::Lifted { user_id: target.id }),
        },
    );
    Ok(())
}

/// Sets slow mode (0 = off, at most a day) and tells every client.
pub async fn set_slow(
    state: &AppState,
    channel: &ChannelRow,
    actor: &UserRow,
    seconds: u64,
) -> Result<(), ChatError> {
    authz::require(state, channel, Some(actor), Action::Moderate).await?;
    if seconds > MAX_SLOW_SECONDS {
        return Err(ChatError::Invalid {
            field: "seconds",
            reason: format!("slow mode is 0 (off) to {MAX_SLOW_SECONDS} seconds"),
        });
    }
    store::set_slow_mode(&state.db, channel.id, seconds as i64).await?;
    state.channels.invalidate(&channel.name);
    channels::store::log_action(
        &state.db,
        channel.id,
        actor.id,
        "slow",
        None,
        None,
        &seconds.to_string(),
    )
    .await?;
    state
        .chat
        .publish(&channel.name, ServerFrame::Slow { seconds });
    Ok(())
}

/// Normalises a blocked term: trimmed, lower case, 1–50 characters.
pub fn normalise_term(raw: &str) -> Result<String, ChatError> {
    let t = validate::text("term", raw, 1, MAX_TERM_CHARS, false)?;
    Ok(t.to_lowercase())
}

/// Adds a blocked term; `true` if it was new.
pub async fn add_term(
    state: &AppState,
    channel: &ChannelRow,
    actor: &UserRow,
    raw: &str,
) -> Result<bool, ChatError> {
    authz::require(state, channel, Some(actor), Action::Moderate).await?;
    let term = normalise_term(raw)?;
    let existing = state.chat.blocked_terms(&state.db, channel.id).await?;
    if existing.len() >= MAX_TERMS && !existing.contains(&term) {
        return Err(ChatError::Invalid {
            field: "term",
            reason: format!("a channel blocks at most {MAX_TERMS} terms"),
        });
    }
    let added = store::add_blocked_term(&state.db, channel.id, &term).await?;
    state.chat.invalidate_terms(channel.id);
    if added {
        channels::store::log_action(
            &state.db, channel.id, actor.id, "add_term", None, None, &term,
        )
        .await?;
    }
    Ok(added)
}

/// Removes a blocked term; `NotFound` if it was not there.
pub async fn remove_term(
    state: &AppState,
    channel: &ChannelRow,
    actor: &UserRow,
    raw: &str,
) -> Result<(), ChatError> {
    authz::require(state, channel, Some(actor), Action::Moderate).await?;
    let term = normalise_term(raw).map_err(|_| ChatError::NotFound("term"))?;
    if !store::remove_blocked_term(&state.db, channel.id, &term).await? {
        return Err(ChatError::NotFound("term"));
    }
    state.chat.invalidate_terms(channel.id);
    channels::store::log_action(
        &state.db,
        channel.id,
        actor.id,
        "remove_term",
        None,
        None,
        &term,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert_eq!(check_text("  hi <b>  ").unwrap(), "hi <b>");
        assert_eq!(check_text("   ").unwrap_err().code(), "bad_request");
        assert!(check_text(&"é".repeat(500)).is_ok());
        assert_eq!(check_text(&"é".repeat(501)).unwrap_err().code(), "too_long");
        assert_eq!(check_text("a\u{202E}b").unwrap_err().code(), "bad_request");
    }

    #[test]
    fn terms_match_case_insensitively() {
        let terms = vec!["spoiler".to_string()];
        assert!(check_terms("No SPOILERS please", &terms).is_err());
        assert!(check_terms("fine", &terms).is_ok());
        assert_eq!(normalise_term("  Bad Word ").unwrap(), "bad word");
    }

    #[test]
    fn rate_limit_and_slow_mode() {
        let p = Pacer::new(2);
        assert!(p.admit(1, 1, Role::Viewer, 0).is_ok());
        assert!(p.admit(1, 1, Role::Viewer, 0).is_ok());
        let e = p.admit(1, 1, Role::Viewer, 0).unwrap_err();
        assert_eq!(e.code(), "rate_limited");
        assert!(p.admit(2, 1, Role::Viewer, 0).is_ok(), "per channel");
        for _ in 0..10 {
            assert!(p.admit(1, 2, Role::Moderator, 60).is_ok(), "5x and exempt");
        }
        assert!(p.admit(1, 3, Role::Viewer, 60).is_ok());
        assert_eq!(
            p.admit(1, 3, Role::Viewer, 60).unwrap_err().code(),
            "slow_mode"
        );
    }
}
