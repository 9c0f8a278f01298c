//! The limits on stored records, the same for every engine.

use std::time::Duration;

/// The longest variable name, in characters.
pub use crate::events::MAX_VARIABLE_NAME_CHARS;
/// The largest variable value, in bytes of UTF-8: a value is rendered into messages, and a run
/// may read many, so each stays small.
pub const MAX_VARIABLE_VALUE_BYTES: usize = 16 * 1024;

/// How long an idempotency key is remembered: a request repeating it within this time gets the
/// first answer again and starts no run.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// How many versions of one event are kept.
pub const MAX_REVISIONS_PER_EVENT: usize = 50;
