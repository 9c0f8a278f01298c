//! The checks that need the whole file: `{NAME.field}` against the `save_as` names (errors), and
//! placeholders that nothing could fill or that were never closed (warnings).

use super::ctx::{Ctx, Save, Use};
use super::fields::parse_snowflake;
use crate::events::names::{ERROR_FIELDS, LOOP_FIELDS};
use crate::lang::templates::Template;

/// The fields of an `http_request` result that go deeper: `{NAME.json.a.b}`, `{NAME.headers.x}`.
const DEEP_FIELDS: [&str; 2] = ["json", "headers"];

/// The scopes `{var.SCOPE.…}` may name.
const VAR_FORMS: &str =
    "{var.NAME}, {var.global.NAME}, {var.server.NAME}, {var.user.ID.NAME} or {var.channel.ID.NAME}";

pub(super) fn check_references(ctx: &Ctx<'_, '_>) {
    let saves = ctx.saves();
    let run_variables = ctx.run_variables();
    for template in ctx.uses() {
        for name in Template::new(template.text.as_str()).names() {
            check_name(ctx, &saves, &run_variables, &template, name);
        }
        for opened in unclosed_placeholders(&template.text) {
            ctx.checker.warn(
                template.span.clone(),
                format!("{opened:?} has no closing \"}}\"; it would be sent as written"),
            );
        }
    }
}

/// `{name` with no `}` after the name: a placeholder the writer meant but did not close. Only a
/// brace followed by a name counts, so JSON (`{"a": 1}`) and prose (`{ … }`) pass quietly.
fn unclosed_placeholders(text: &str) -> Vec<&str> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let mut found = Vec::new();
    for (start, _) in text.match_indices('{') {
        let rest = &text[start + 1..];
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            continue;
        }
        let name_len = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
        if !rest[name_len..].starts_with('}') {
            found.push(&text[start..start + 1 + name_len]);
        }
    }
    found
}

fn check_name(ctx: &Ctx<'_, '_>, saves: &[Save], run_variables: &[String], at: &Use, name: &str) {
    let warn = |message: String| ctx.checker.warn(at.span.clone(), message);
    let (head, field) = match name.split_once('.') {
        Some((head, field)) => (head, Some(field)),
        None => (name, None),
    };
    match head {
        "loop" => {
            if !at.in_loop {
                warn(format!(
                    "{{{name}}} is outside any loop's actions; it would be left as it stands"
                ));
            } else if !field.is_some_and(|field| LOOP_FIELDS.contains(&field)) {
                warn(format!(
                    "{{{name}}}: a loop has {}",
                    braced("loop", LOOP_FIELDS)
                ));
            }
        }
        "error" => {
            if !at.in_on_error {
                warn(format!(
                    "{{{name}}} is outside any on_error list; it would be left as it stands"
                ));
            } else if !field.is_some_and(|field| ERROR_FIELDS.contains(&field)) {
                warn(format!(
                    "{{{name}}}: an error has {}",
                    braced("error", ERROR_FIELDS)
                ));
            }
        }
        "var" => {
            if !is_valid_var(field) {
                warn(format!(
                    "{{{name}}} is not a variable reference; write {VAR_FORMS}"
                ));
            }
        }
        "body" | "header" | "query" => {}
        _ => match saves.iter().find(|save| save.name == head) {
            Some(save) => check_saved(ctx, save, at, name, field),
            None if field.is_some() => warn(format!(
                "{{{name}}}: no action has save_as = {head:?}, so nothing sets it"
            )),
            None => {}
        },
    }
    // A plain `{NAME}` of a save_as (not also a run variable) holds nothing: it needs a field.
    if field.is_none() && !run_variables.iter().any(|variable| variable == head) {
        if let Some(Save {
            kind: Some((_, fields)),
            ..
        }) = saves.iter().find(|save| save.name == head)
        {
            if !fields.is_empty() {
                warn(format!(
                    "{{{name}}} is a save_as; read one of its fields: {}",
                    braced(head, fields)
                ));
            }
        }
    }
}

/// `{NAME.field}` where NAME is a save_as: set before it is read, and a field it has.
fn check_saved(ctx: &Ctx<'_, '_>, save: &Save, at: &Use, name: &str, field: Option<&str>) {
    let report = |message: String| {
        ctx.checker.report(at.span.clone(), message);
    };
    let Some(field) = field else {
        return;
    };
    if at.action < save.start {
        report(format!(
            "{{{name}}} is read before save_as {:?} is set: the action at line {} that sets it \
             comes later",
            save.name, save.line
        ));
    } else if at.action < save.end {
        report(format!(
            "{{{name}}} is read inside the action that sets save_as {:?} (line {}); it is only \
             set once that action has finished",
            save.name, save.line
        ));
    }
    let Some((kind, fields)) = save.kind else {
        return;
    };
    let (first, deeper) = match field.split_once('.') {
        Some((first, _)) => (first, true),
        None => (field, false),
    };
    let known = fields.contains(&first) && (!deeper || DEEP_FIELDS.contains(&first));
    if !known {
        let message = if fields.is_empty() {
            format!(
                "{{{name}}}: save_as {:?} is a {kind} action, which has no result to read",
                save.name
            )
        } else {
            let deep = if kind == "http_request" {
                format!(", {{{0}.json.…}}, {{{0}.headers.…}}", save.name)
            } else {
                String::new()
            };
            format!(
                "{{{name}}}: save_as {:?} is a {kind} action, which has {}{deep}",
                save.name,
                braced(&save.name, fields)
            )
        };
        report(message);
    }
}

/// `{PREFIX.a}, {PREFIX.b}`…
fn braced(prefix: &str, fields: &[&str]) -> String {
    fields
        .iter()
        .map(|field| format!("{{{prefix}.{field}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_valid_var(rest: Option<&str>) -> bool {
    let Some(rest) = rest else {
        return false;
    };
    let parts: Vec<&str> = rest.split('.').collect();
    let name_ok = |name: &str| {
        (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
    };
    let id_ok = |id: &str| parse_snowflake(id).is_some();
    match parts.as_slice() {
        [name] => name_ok(name),
        ["global" | "server", name] => name_ok(name),
        ["user" | "channel", id, name] => id_ok(id) && name_ok(name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unclosed_placeholders_are_found_and_json_is_not() {
        assert_eq!(unclosed_placeholders("hello {name"), ["{name"]);
        assert_eq!(unclosed_placeholders("{a {b} {c.d!"), ["{a", "{c.d"]);
        assert!(unclosed_placeholders(r#"{"a": {b}} { x } {}"#).is_empty());
    }

    #[test]
    fn var_forms() {
        for ok in [
            "x",
            "global.x",
            "server.points-1",
            "user.123.points",
            "channel.42.topic",
        ] {
            assert!(is_valid_var(Some(ok)), "{ok}");
        }
        for bad in [
            "",
            "a.b",
            "user.x",
            "user.abc.x",
            "x y",
            "server.a.b",
            "global.x.y",
        ] {
            assert!(!is_valid_var(Some(bad)), "{bad}");
        }
        assert!(!is_valid_var(None));
    }
}
