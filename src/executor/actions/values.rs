//! Rendered values checked before any call to Discord: ids, emojis, durations and counts.

use std::time::Duration;

use serenity::all::{EmojiId, ReactionType};

use crate::discord::CallError;
use crate::lang::duration::{format_duration, parse_duration};

pub(crate) use crate::events::{
    MAX_BAN_DELETE, MAX_INVITE_AGE, MAX_INVITE_USES, MAX_REASON_CHARS, MAX_TIMEOUT,
};

/// A snowflake id, bare (`123`); `what` names it in the error (`message_id`).
pub(crate) fn snowflake(text: &str, what: &str) -> Result<u64, CallError> {
    let trimmed = text.trim();
    crate::events::parse_snowflake(trimmed).ok_or_else(|| {
        CallError::Invalid(format!(
            "{what} {trimmed:?} is not a Discord id (a number such as 1234567890123456789)"
        ))
    })
}

/// A duration as admins write it, with `what` naming the setting in errors.
pub(crate) fn duration(text: &str, what: &str) -> Result<Duration, CallError> {
    parse_duration(text).map_err(|error| CallError::Invalid(format!("{what}: {error}")))
}

/// How long a timeout lasts: more than nothing, at most 28 days.
pub(crate) fn timeout_length(text: &str) -> Result<Duration, CallError> {
    let length = duration(text, "timeout duration")?;
    if length.is_zero() {
        return Err(CallError::Invalid(
            "timeout duration is 0; use remove_timeout to end a timeout".to_owned(),
        ));
    }
    if length > MAX_TIMEOUT {
        return Err(CallError::Invalid(format!(
            "timeout duration {} is over Discord's limit of 28 days",
            format_duration(length)
        )));
    }
    Ok(length)
}

/// The RFC 3339 time a timeout of `length` starting at `now_unix` (seconds) ends.
pub(crate) fn timeout_until(now_unix: i64, length: Duration) -> Result<String, CallError> {
    let end = now_unix.saturating_add(i64::try_from(length.as_secs()).unwrap_or(i64::MAX));
    serenity::all::Timestamp::from_unix_timestamp(end)
        .map(|t| t.to_string())
        .map_err(|_| CallError::Invalid(format!("cannot write the time {end} as a date")))
}

/// `delete_messages` of a ban → Discord's `delete_message_seconds` (0 to 604800).
pub(crate) fn ban_delete_seconds(text: &str) -> Result<u64, CallError> {
    let window = duration(text, "delete_messages")?;
    if window > MAX_BAN_DELETE {
        return Err(CallError::Invalid(format!(
            "delete_messages {} is over Discord's limit of 7 days",
            format_duration(window)
        )));
    }
    Ok(window.as_secs())
}

/// A thread's `auto_archive`: `1h`, `1d`, `3d` or `1w` → minutes as Discord takes them.
pub(crate) fn auto_archive_minutes(text: &str) -> Result<u16, CallError> {
    let wrong = || {
        CallError::Invalid(format!(
            "auto_archive {:?} must be 1h, 1d, 3d or 1w",
            text.trim()
        ))
    };
    let length = parse_duration(text).map_err(|_| wrong())?;
    match length.as_secs() {
        3600 => Ok(60),
        86_400 => Ok(1440),
        259_200 => Ok(4320),
        604_800 => Ok(10080),
        _ => Err(wrong()),
    }
}

/// An invite's `max_age` in seconds: 0 (never expires) to 7 days.
pub(crate) fn invite_max_age(text: &str) -> Result<u64, CallError> {
    let age = duration(text, "max_age")?;
    if age > MAX_INVITE_AGE {
        return Err(CallError::Invalid(format!(
            "max_age {} is over Discord's limit of 7 days; use 0 for an invite that never expires",
            format_duration(age)
        )));
    }
    Ok(age.as_secs())
}

/// An invite's `max_uses`: 0 (unlimited) to 100.
pub(crate) fn invite_max_uses(text: &str) -> Result<u32, CallError> {
    let trimmed = text.trim();
    match trimmed.parse::<u32>() {
        Ok(uses) if u64::from(uses) <= MAX_INVITE_USES => Ok(uses),
        _ => Err(CallError::Invalid(format!(
            "max_uses {trimmed:?} must be a whole number from 0 (unlimited) to {MAX_INVITE_USES}"
        ))),
    }
}

/// An emoji as an event file may give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EmojiRef {
    Unicode(String),
    Custom {
        name: String,
        id: u64,
        animated: bool,
    },
    /// A custom emoji of the server, by name; looked up before reacting.
    Named(String),
}

impl EmojiRef {
    pub fn reaction(&self) -> Option<ReactionType> {
        match self {
            EmojiRef::Unicode(emoji) => Some(ReactionType::Unicode(emoji.clone())),
            EmojiRef::Custom { name, id, animated } => Some(ReactionType::Custom {
                animated: *animated,
                id: EmojiId::new(*id),
                name: Some(name.clone()),
            }),
            EmojiRef::Named(_) => None,
        }
    }
}

impl std::fmt::Display for EmojiRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmojiRef::Unicode(emoji) => f.write_str(emoji),
            EmojiRef::Custom { name, id, animated } => {
                let a = if *animated { "a" } else { "" };
                write!(f, "<{a}:{name}:{id}>")
            }
            EmojiRef::Named(name) => write!(f, ":{name}:"),
        }
    }
}

fn is_emoji_name(name: &str) -> bool {
    (2..=32).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A unicode emoji, `<:name:id>`, `<a:name:id>`, `name:id`, `:name:` or a custom emoji's name.
pub(crate) fn parse_emoji(text: &str) -> Result<EmojiRef, CallError> {
    let trimmed = text.trim();
    let invalid = || {
        CallError::Invalid(format!(
            "emoji {trimmed:?} is neither a unicode emoji, <:name:id>, name:id nor a custom emoji's name"
        ))
    };
    if trimmed.is_empty() {
        return Err(CallError::Invalid("the emoji is empty".to_owned()));
    }
    let custom = |inner: &str, animated: bool| -> Result<EmojiRef, CallError> {
        let (name, id) = inner.rsplit_once(':').ok_or_else(invalid)?;
        let id = crate::events::parse_snowflake(id).ok_or_else(invalid)?;
        if !is_emoji_name(name) {
            return Err(invalid());
        }
        Ok(EmojiRef::Custom {
            name: name.to_owned(),
            id,
            animated,
        })
    };
    if let Some(inner) = trimmed.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
        if let Some(rest) = inner.strip_prefix("a:") {
            return custom(rest, true);
        }
        if let Some(rest) = inner.strip_prefix(':') {
            return custom(rest, false);
        }
        return Err(invalid());
    }
    if let Some(name) = trimmed
        .strip_prefix(':')
        .and_then(|s| s.strip_suffix(':'))
        .filter(|n| is_emoji_name(n))
    {
        return Ok(EmojiRef::Named(name.to_owned()));
    }
    if trimmed.contains(':') && trimmed.is_ascii() {
        return custom(trimmed, false);
    }
    if is_emoji_name(trimmed) {
        return Ok(EmojiRef::Named(trimmed.to_owned()));
    }
    if !trimmed.is_ascii() && !trimmed.chars().any(char::is_whitespace) {
        return Ok(EmojiRef::Unicode(trimmed.to_owned()));
    }
    Err(invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emojis_in_every_written_form() {
        assert_eq!(parse_emoji("🎉"), Ok(EmojiRef::Unicode("🎉".into())));
        assert_eq!(parse_emoji(" 👍🏽 "), Ok(EmojiRef::Unicode("👍🏽".into())));
        assert_eq!(parse_emoji("1️⃣"), Ok(EmojiRef::Unicode("1️⃣".into())));
        let shipit = EmojiRef::Custom {
            name: "shipit".into(),
            id: 123,
            animated: false,
        };
        assert_eq!(parse_emoji("<:shipit:123>"), Ok(shipit.clone()));
        assert_eq!(parse_emoji("shipit:123"), Ok(shipit.clone()));
        assert_eq!(
            parse_emoji("<a:party:456>"),
            Ok(EmojiRef::Custom {
                name: "party".into(),
                id: 456,
                animated: true
            })
        );
        assert_eq!(parse_emoji("shipit"), Ok(EmojiRef::Named("shipit".into())));
        assert_eq!(
            parse_emoji(":shipit:"),
            Ok(EmojiRef::Named("shipit".into()))
        );
        for bad in [
            "",
            "<:shipit:abc>",
            "<:x:1>",
            "two words",
            "a",
            "shipit:0",
            "<shipit>",
        ] {
            assert!(parse_emoji(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(shipit.to_string(), "<:shipit:123>");
        assert!(matches!(
            shipit.reaction(),
            Some(ReactionType::Custom { id, .. }) if id.get() == 123
        ));
    }

    #[test]
    fn timeouts_last_up_to_28_days() {
        assert_eq!(timeout_length("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(timeout_length("4w"), Ok(MAX_TIMEOUT));
        assert!(timeout_length("28d1s").is_err());
        assert!(timeout_length("0").is_err());
        let error = timeout_length("ten minutes").unwrap_err();
        assert!(
            error.to_string().starts_with("timeout duration: "),
            "{error}"
        );
        // 2024-05-01T12:00:00Z plus 1h30m.
        let until = timeout_until(1_714_564_800, Duration::from_secs(5400)).unwrap();
        assert!(until.starts_with("2024-05-01T13:30:00"), "{until}");
        assert!(serenity::all::Timestamp::parse(&until).is_ok());
    }

    #[test]
    fn ban_windows_invites_and_archives() {
        assert_eq!(ban_delete_seconds("0"), Ok(0));
        assert_eq!(ban_delete_seconds("1d"), Ok(86_400));
        assert_eq!(ban_delete_seconds("7d"), Ok(604_800));
        assert!(ban_delete_seconds("8d").is_err());
        assert_eq!(auto_archive_minutes("1h"), Ok(60));
        assert_eq!(auto_archive_minutes("1d"), Ok(1440));
        assert_eq!(auto_archive_minutes("3d"), Ok(4320));
        assert_eq!(auto_archive_minutes("1w"), Ok(10080));
        assert!(auto_archive_minutes("2h").is_err());
        assert_eq!(invite_max_age("0"), Ok(0));
        assert_eq!(invite_max_age("1d"), Ok(86_400));
        assert!(invite_max_age("8d").is_err());
        assert_eq!(invite_max_uses("100"), Ok(100));
        assert_eq!(invite_max_uses(" 0 "), Ok(0));
        let error = invite_max_uses("500").unwrap_err();
        assert!(
            error.to_string().contains("0 (unlimited) to 100"),
            "{error}"
        );
        assert!(invite_max_uses("-1").is_err());
    }

    #[test]
    fn ids_must_be_snowflakes() {
        assert_eq!(snowflake(" 123 ", "message_id"), Ok(123));
        let error = snowflake("abc", "message_id").unwrap_err();
        assert_eq!(
            error.to_string(),
            "message_id \"abc\" is not a Discord id (a number such as 1234567890123456789)"
        );
        assert!(snowflake("0", "x").is_err());
        assert!(snowflake("99999999999999999999", "x").is_err());
    }
}
