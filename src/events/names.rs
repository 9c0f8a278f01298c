//! The names a template may use: the built-ins every run sets and the reserved namespaces.

/// The names every run sets itself, as `{server_id}`, `{timestamp}`…
pub const BUILTIN_NAMES: &[&str] = &[
    "server_id",
    "server_name",
    "server_icon",
    "server_member_count",
    "server_owner_id",
    "channel_id",
    "channel_name",
    "event_id",
    "event_name",
    "bot_id",
    "run_id",
    "timestamp",
    "date",
    "random_number",
];

/// The namespaces a run fills, used as `{PREFIX.…}`: `{var.NAME}` (persistent variables),
/// `{loop.index}` and `{loop.count}`, `{error.message}` and `{error.code}`, `{body.…}`,
/// `{header.…}` and `{query.…}` (the webhook request).
pub const RESERVED_PREFIXES: &[&str] = &["var", "loop", "error", "body", "header", "query"];

/// The fields of `{loop.…}`.
pub const LOOP_FIELDS: &[&str] = &["index", "count", "total"];
/// The fields of `{error.…}`.
pub const ERROR_FIELDS: &[&str] = &["message", "code"];

/// True when `name` (what stands between the braces) is in a reserved namespace: `var.x`,
/// `body`, `header.x-y`…
pub fn is_reserved(name: &str) -> bool {
    let head = name.split('.').next().unwrap_or(name);
    RESERVED_PREFIXES.contains(&head) && (name.len() == head.len() || name.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names() {
        for name in [
            "var.x",
            "loop.index",
            "body",
            "body.a.b",
            "header.x-y",
            "query.q",
        ] {
            assert!(is_reserved(name), "{name}");
        }
        for name in ["variable", "bodyguard.x", "user", "server_id"] {
            assert!(!is_reserved(name), "{name}");
        }
    }
}
