//! The one authorisation helper: a caller's role in a channel and what each
//! role may do. Every route asks here instead of comparing ids itself.

use aethex_proto::Role;

use crate::auth::store::UserRow;
use crate::channels::store::{self, ChannelRow};
use crate::error::ApiError;
use crate::state::AppState;

/// Things a caller may try to do in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Edit profile/title, rotate the stream key, appoint moderators.
    ManageChannel,
    /// Delete messages, time out, ban, slow mode, blocked terms, read the mod log.
    Moderate,
    /// Post chat messages.
    Chat,
}

impl Action {
    fn describe(self) -> &'static str {
        match self {
            Action::ManageChannel => "only the channel owner can do that",
            Action::Moderate => "only the channel owner and moderators can do that",
            Action::Chat => "sign in to chat",
        }
    }
}

/// The role of `user` (or an anonymous caller) in `channel`.
pub async fn role_in(
    state: &AppState,
    channel: &ChannelRow,
    user: Option<&UserRow>,
) -> Result<Role, ApiError> {
    Ok(match user {
        None => Role::Anonymous,
        Some(u) if u.id == channel.owner_id => Role::Owner,
        Some(u) if store::is_moderator(&state.db, channel.id, u.id).await? => Role::Moderator,
        Some(_) => Role::Viewer,
    })
}

/// Whether `role` may perform `action`.
pub fn allows(role: Role, action: Action) -> bool {
    match action {
        Action::ManageChannel => role == Role::Owner,
        Action::Moderate => role.can_moderate(),
        Action::Chat => role != Role::Anonymous,
    }
}

/// `Ok(role)` if allowed, else 403 (or 401 for anonymous callers).
pub async fn require(
    state: &AppState,
    channel: &ChannelRow,
    user: Option<&UserRow>,
    action: Action,
) -> Result<Role, ApiError> {
    let role = role_in(state, channel, user).await?;
    if allows(role, action) {
        Ok(role)
    } else if role == Role::Anonymous {
        Err(ApiError::Unauthorized)
    } else {
        Err(ApiError::Forbidden(action.describe().to_string()))
    }
}

/// Moderators may act on viewers but never on the owner or other moderators;
/// the owner may act on anyone but themselves.
pub fn may_act_on(actor: Role, target: Role) -> bool {
    match actor {
        Role::Owner => target != Role::Owner,
        Role::Moderator => matches!(target, Role::Viewer | Role::Anonymous),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_by_role() {
        use Action::*;
        use Role::*;
        assert!(allows(Owner, ManageChannel));
        assert!(!allows(Moderator, ManageChannel));
        assert!(allows(Moderator, Moderate));
        assert!(!allows(Viewer, Moderate));
        assert!(allows(Viewer, Chat));
        assert!(!allows(Anonymous, Chat));
        assert!(!may_act_on(Moderator, Owner));
        assert!(!may_act_on(Moderator, Moderator));
        assert!(may_act_on(Moderator, Viewer));
        assert!(may_act_on(Owner, Moderator));
        assert!(!may_act_on(Owner, Owner));
        assert!(!may_act_on(Viewer, Viewer));
    }
}
