//! The names an event expects its caller to send, for example requests.

use super::action::{walk_actions, ActionKind};
use super::model::{Event, MappingValue};
use super::names::{BUILTIN_NAMES, RESERVED_PREFIXES};
use crate::lang::templates::Template;

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
        texts.extend(action.kind.texts());
        match &action.kind {
            ActionKind::Math { variable, .. } => run_names.push(variable),
            ActionKind::GetVariable {
                variable: Some(variable),
                ..
            } => run_names.push(variable),
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
    use crate::events::parse::parse_event;
    use std::path::Path;

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
        let event = parse_event(Path::new("a.toml"), text).unwrap();
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
        let event = parse_event(Path::new("a.toml"), text).unwrap();
        assert_eq!(caller_names(&event), ["stage", "team", "extra"]);
    }
}
