//! Input rules shared by every route: usernames and free-text fields.

use crate::error::ApiError;

/// Names that would clash with top-level routes of the server or the player.
pub const RESERVED_NAMES: &[&str] = &[
    "api",
    "hls",
    "vod",
    "ws",
    "assets",
    "admin",
    "healthz",
    "metrics",
    "static",
    "login",
    "logout",
    "register",
    "signup",
    "signin",
    "settings",
    "studio",
    "live",
    "root",
    "system",
    "support",
    "help",
    "about",
    "null",
    "undefined",
    "favicon",
    "robots",
    "index",
    "moderator",
    "aethex",
    "www",
    "mail",
    "owner",
    "everyone",
    "here",
];

/// Checks and normalises a username: 3–25 chars of `[a-z0-9_]`, compared
/// case-insensitively (returned lower-cased), reserved words refused.
pub fn username(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim().to_ascii_lowercase();
    let len = name.chars().count();
    if !(3..=25).contains(&len) {
        return Err(ApiError::invalid("username", "must be 3 to 25 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ApiError::invalid(
            "username",
            "may only contain letters a-z, digits and underscores",
        ));
    }
    if RESERVED_NAMES.contains(&name.as_str()) {
        return Err(ApiError::Conflict {
            code: "username_reserved",
            message: format!("the name {name:?} is reserved, pick another"),
        });
    }
    Ok(name)
}

/// A username in a URL path: same rules, but a bad one is simply "not found".
pub fn path_name(raw: &str, what: &'static str) -> Result<String, ApiError> {
    let name = raw.to_ascii_lowercase();
    let ok = (3..=25).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(ApiError::NotFound(what))
    }
}

/// Passwords: 8–1024 characters (the upper bound keeps hashing cheap).
pub fn password(raw: &str) -> Result<(), ApiError> {
    let len = raw.chars().count();
    if len < 8 {
        return Err(ApiError::invalid(
            "password",
            "must be at least 8 characters",
        ));
    }
    if len > 1024 {
        return Err(ApiError::invalid(
            "password",
            "must be at most 1024 characters",
        ));
    }
    Ok(())
}

/// A free-text field: trimmed, `min..=max` characters, no control characters
/// (newlines allowed only when `multiline`), no Unicode non-characters or
/// bidi overrides that could disguise text.
pub fn text(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, ApiError> {
    let t = raw.trim();
    let len = t.chars().count();
    if len < min {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if len > max {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    for c in t.chars() {
        let bad_control = c.is_control() && !(multiline && (c == '\n' || c == '\t'));
        let bidi_override = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        let noncharacter = matches!(c, '\u{FDD0}'..='\u{FDEF}') || (c as u32 & 0xFFFE) == 0xFFFE;
        if bad_control || bidi_override || noncharacter {
            return Err(ApiError::invalid(
                field,
                format!(
                    "contains a character that is not allowed (U+{:04X})",
                    c as u32
                ),
            ));
        }
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_contract() {
        assert_eq!(username("Alice_1").unwrap(), "alice_1");
        assert!(username("ab").is_err());
        assert!(username(&"a".repeat(26)).is_err());
        assert!(username("al ice").is_err());
        assert!(username("álice").is_err());
        assert!(matches!(username("API"), Err(ApiError::Conflict { .. })));
        assert!(matches!(username("hls"), Err(ApiError::Conflict { .. })));
    }

    #[test]
    fn text_fields_are_trimmed_and_bounded() {
        assert_eq!(text("t", "  hi  ", 1, 5, false).unwrap(), "hi");
        assert!(text("t", "   ", 1, 5, false).is_err());
        assert!(text("t", "123456", 1, 5, false).is_err());
        // Five emoji are five characters, not twenty bytes.
        assert!(text("t", "😀😀😀😀😀", 1, 5, false).is_ok());
        assert!(text("t", "a\u{0}b", 0, 5, false).is_err());
        assert!(text("t", "a\nb", 0, 5, false).is_err());
        assert!(text("t", "a\nb", 0, 5, true).is_ok());
        assert!(text("t", "a\u{202E}b", 0, 5, true).is_err());
        assert!(text("t", "a\u{FFFF}", 0, 5, true).is_err());
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(password("1234567").is_err());
        assert!(password("12345678").is_ok());
    }
}
