//! The names a template may use: the built-ins every run sets, the reserved namespaces, and the
//! names an event expects its caller to send.

use super::action::{walk_actions, ActionKind, HttpBodySpec};
use super::model::{Event, MappingValue};
use crate::lang::templates::Template;

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

/// The names the event's caller is expected to send, in order of first use: every plain
/// `{name}` (no `.`) of its templates that is not a built-in, not set by the run itself (a
/// `save_as`, a `math` or `get_variable` `variable`, a `[variables]` name) and not a reserved
/// namespace; the `[[when]]` filters and `[variables]` templates count as uses. Used to build
/// example requests.
pub fn caller_names(event: &Event) -> Vec<String> {
    let mut run_names: Vec<&str> = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    let mut request_templates = Vec::new();
    for condition in &event.when {
        condition.templates(&mut request_templates);
    }
    for mapping in &event.variables {
        run_names.push(&mapping.name);
        if let MappingValue::Template(template) = &mapping.value {
            request_templates.push(template);
        }
    }
    texts.extend(request_templates.into_iter().map(Template::as_str));
    walk_actions(&event.actions, &mut |action| {
        run_names.extend(action.save_as.as_deref());
        texts.extend(action.kind.templates().into_iter().map(Template::as_str));
        match &action.kind {
            ActionKind::Math { variable, .. } => run_names.push(variable),
            ActionKind::GetVariable {
                variable: Some(variable),
                ..
            } => run_names.push(variable),
            ActionKind::HttpRequest {
                body: Some(HttpBodySpec::Json(json)),
                ..
            } => collect_strings(json, &mut texts),
            _ => {}
        }
    });
    let mut names: Vec<String> = Vec::new();
    for text in texts {
        for name in Template::new(text).names() {
            let plain = !name.contains('.')
                && !BUILTIN_NAMES.contains(&name)
                && !RESERVED_PREFIXES.contains(&name)
                && !run_names.contains(&name);
            if plain && !names.iter().any(|known| known == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// Every string in a JSON document.
pub(crate) fn collect_strings<'a>(value: &'a serde_json::Value, into: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::String(text) => into.push(text),
        serde_json::Value::Array(items) => {
            items.iter().for_each(|item| collect_strings(item, into))
        }
        serde_json::Value::Object(map) => map.values().for_each(|item| collect_strings(item, into)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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

    #[test]
    fn caller_names_leave_out_what_the_run_sets() {
        let text = r#"
id = "a"
server = 1

[[actions]]
type = "http_request"
method = "POST"
url = "https://example.com/{service}"
save_as = "call"
json = { nested = ["{version}", "{server_id}"], who = "{user}" }

[[actions]]
type = "math"
expression = "{count} + 1"
variable = "total"

[[actions]]
type = "send_message"
channel = "{channel}"
content = "{call.status} {total} {var.x} {body.y} {service} {loop.index} {timestamp}"
"#;
        let event = crate::events::parse_event(Path::new("a.toml"), text).unwrap();
        assert_eq!(
            caller_names(&event),
            ["service", "version", "user", "count", "channel"]
        );
    }

    #[test]
    fn caller_names_leave_out_request_mappings_and_read_filters() {
        let text = r##"
id = "a"
server = 1

[variables]
who = "{body.sender.login} {team}"

[[when]]
left = "{header.x-github-event} {stage}"
op = "equals"
right = "push"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "{who} {extra}"
"##;
        let event = crate::events::parse_event(Path::new("a.toml"), text).unwrap();
        assert_eq!(caller_names(&event), ["stage", "team", "extra"]);
    }
}
