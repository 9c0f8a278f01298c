//! The limits an event file is held to. The parser checks them on fixed values at load time; the
//! executor checks the same constants on rendered values.

use std::time::Duration;

/// The longest event id: it is a URL path segment and a storage key.
pub const MAX_EVENT_ID_CHARS: usize = 64;

// Discord's limits on messages.
pub const MAX_CONTENT_CHARS: usize = 2000;
pub const MAX_EMBEDS: usize = 10;
pub const MAX_EMBED_FIELDS: usize = 25;
pub const MAX_TITLE_CHARS: usize = 256;
pub const MAX_DESCRIPTION_CHARS: usize = 4096;
pub const MAX_FIELD_NAME_CHARS: usize = 256;
pub const MAX_FIELD_VALUE_CHARS: usize = 1024;
pub const MAX_FOOTER_TEXT_CHARS: usize = 2048;
pub const MAX_AUTHOR_NAME_CHARS: usize = 256;
/// All the text of a message's embeds together: titles, descriptions, field names and values,
/// footer texts and author names.
pub const MAX_EMBED_TOTAL_CHARS: usize = 6000;

// Discord's limits on other texts.
/// An audit log reason.
pub const MAX_REASON_CHARS: usize = 512;
/// A channel's or thread's name.
pub const MAX_CHANNEL_NAME_CHARS: usize = 100;
pub const MAX_THREAD_NAME_CHARS: usize = 100;
pub const MAX_TOPIC_CHARS: usize = 1024;
pub const MAX_ROLE_NAME_CHARS: usize = 100;
pub const MAX_NICKNAME_CHARS: usize = 32;

/// The largest color Discord takes: 24-bit RGB.
pub const MAX_COLOR: u32 = 0xFF_FFFF;

/// The most iterations a `loop` may run.
pub const MAX_LOOP_COUNT: u64 = 1000;
/// The longest `wait`, and the longest `delay` between a loop's iterations.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// The longest `timeout_member` Discord allows.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(28 * 24 * 60 * 60);
/// How far back `ban_member`'s `delete_messages` may reach.
pub const MAX_BAN_DELETE: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The longest `create_invite` `max_age` (`"0"` never expires).
pub const MAX_INVITE_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The most uses `create_invite` may allow (0 is unlimited).
pub const MAX_INVITE_USES: u64 = 100;
/// The longest `http_request` `timeout`.
pub const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// The `http_request` `timeout` when none is given.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// The `auto_archive` values Discord takes for a thread: 1 hour, 1 day, 3 days, 1 week.
pub const THREAD_ARCHIVE_DURATIONS: [Duration; 4] = [
    Duration::from_secs(60 * 60),
    Duration::from_secs(24 * 60 * 60),
    Duration::from_secs(3 * 24 * 60 * 60),
    Duration::from_secs(7 * 24 * 60 * 60),
];

/// How deep action lists may nest (`then`, `else`, a loop's or branch's `actions`, `on_error`);
/// an event's own `actions` is level 1.
pub const MAX_NESTING: usize = 8;
/// How many loops may sit inside one another.
pub const MAX_LOOP_NESTING: usize = 3;

/// The longest `save_as`, `math`/`get_variable` `variable`.
pub const MAX_RUN_NAME_CHARS: usize = 32;
/// The longest persistent variable name.
pub const MAX_VARIABLE_NAME_CHARS: usize = 64;

/// The `method`s an `http_request` may use.
pub const HTTP_METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];
