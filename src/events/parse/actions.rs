//! Action tables → [`Action`]: every action type, `save_as`, `on_error` and the nesting rules.

use toml::de::DeValue;
use toml::Spanned;

use super::condition::read_condition;
use super::fields::*;
use super::limits::*;
use super::message::read_message;
use super::{Ctx, Save, ACTION_TYPES};
use crate::events::action::{
    Action, ActionKind, ChannelKind, HttpBodySpec, RandomBranch, RoleSettings, VariableScopeSpec,
};
use crate::lang::duration::{format_duration, parse_duration};
use crate::lang::templates::Template;
use crate::problem::{describe, integer_value, Checked, Reported, TableReader};

/// What an action list is, for the rules that depend on where an action stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Plain,
    LoopBody,
    OnError,
}

/// An optional list of actions under `key` (`[[actions]]`, `[[actions.then]]`…).
pub(super) fn read_actions(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Checked<Option<Vec<Action>>> {
    read_actions_in(ctx, table, key, ListKind::Plain)
}

fn read_actions_in(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    kind: ListKind,
) -> Checked<Option<Vec<Action>>> {
    let Some(value) = table.optional(key) else {
        return Ok(None);
    };
    let depth = ctx.list_depth() + 1;
    if depth > MAX_NESTING {
        // Reported once, at the first list too deep; what is inside it is not read.
        return Err(table.report(
            value.span(),
            format!(
                "{} is nested {depth} action lists deep; at most {MAX_NESTING} are allowed",
                table.key_name(key)
            ),
        ));
    }
    ctx.in_list(
        kind == ListKind::LoopBody,
        kind == ListKind::OnError,
        || read_list(table, key, "action", |item| read_action(ctx, item)),
    )
}

fn required_actions(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    kind: ListKind,
) -> Checked<Vec<Action>> {
    read_actions_in(ctx, table, key, kind)?.ok_or_else(|| table.report_missing(key))
}

fn read_action(ctx: &Ctx<'_, '_>, mut table: TableReader<'_, '_>) -> Checked<Action> {
    let known_types = ACTION_TYPES.join(", ");
    let Some(type_value) = table.unlisted("type") else {
        return Err(table.report(
            table.span(),
            format!("missing required key \"type\" in action; it is one of: {known_types}"),
        ));
    };
    // With no known type the table's other keys cannot be judged, so it is not finished.
    let kind = match type_value.get_ref() {
        DeValue::String(kind) => match ACTION_TYPES.iter().find(|known| *known == kind) {
            Some(known) => *known,
            None => {
                return Err(table.report(
                    type_value.span(),
                    format!("unknown action type {kind:?}; expected one of: {known_types}"),
                ))
            }
        },
        other => {
            return Err(table.report(
                type_value.span(),
                format!(
                    "type must be one of: {known_types}, got {}",
                    describe(other)
                ),
            ))
        }
    };
    let line = ctx.line(&table.span());
    let mut table = table.with_context(format!("{kind} action"));
    let start = ctx.begin_action();
    let action = read_kind(ctx, &mut table, kind);
    let save_as = optional_run_name(&mut table, "save_as");
    let on_error = read_actions_in(ctx, &mut table, "on_error", ListKind::OnError);
    table.finish();
    let end = ctx.end_action();

    let save_as = save_as.and_then(|save_as| {
        let Some(name) = save_as else {
            return Ok(None);
        };
        if let Some(first) = ctx.save_named(name.get_ref()) {
            return Err(ctx.checker.report(
                name.span(),
                format!(
                    "save_as {:?} is already used by the action at line {}; each save_as names \
                     one action",
                    name.get_ref(),
                    first.line
                ),
            ));
        }
        ctx.add_save(Save {
            name: name.get_ref().clone(),
            start,
            end,
            line,
            kind: action
                .as_ref()
                .ok()
                .map(|kind| (kind.name(), kind.output_fields())),
        });
        Ok(Some(name.into_inner()))
    });
    Ok(Action {
        kind: action?,
        save_as: save_as?,
        on_error: on_error?,
        line: u32::try_from(line).unwrap_or(0),
    })
}

/// Reads the keys of one action type. Every key is read before any `?`, so each gets checked.
fn read_kind(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>, kind: &str) -> Checked<ActionKind> {
    use ActionKind as K;
    Ok(match kind {
        "send_message" => {
            let channel = read_target(ctx, t, "channel", CHANNEL);
            let message = read_message(ctx, t, kind);
            let reply_to = optional_target(ctx, t, "reply_to", MESSAGE);
            let tts = t.optional_bool("tts");
            K::SendMessage {
                channel: channel?,
                message: message?,
                reply_to: reply_to?,
                tts: tts?.unwrap_or(false),
            }
        }
        "send_dm" => {
            let user = read_target(ctx, t, "user", USER);
            let message = read_message(ctx, t, kind);
            K::SendDm {
                user: user?,
                message: message?,
            }
        }
        "edit_message" => {
            let channel = read_target(ctx, t, "channel", CHANNEL);
            let message_id = read_target(ctx, t, "message_id", MESSAGE);
            let message = read_message(ctx, t, kind);
            K::EditMessage {
                channel: channel?,
                message_id: message_id?,
                message: message?,
            }
        }
        "delete_message" | "pin_message" | "unpin_message" => {
            let channel = read_target(ctx, t, "channel", CHANNEL);
            let message_id = read_target(ctx, t, "message_id", MESSAGE);
            let reason = read_reason(ctx, t);
            let (channel, message_id, reason) = (channel?, message_id?, reason?);
            match kind {
                "delete_message" => K::DeleteMessage {
                    channel,
                    message_id,
                    reason,
                },
                "pin_message" => K::PinMessage {
                    channel,
                    message_id,
                    reason,
                },
                _ => K::UnpinMessage {
                    channel,
                    message_id,
                    reason,
                },
            }
        }
        "react" => {
            let channel = read_target(ctx, t, "channel", CHANNEL);
            let message_id = read_target(ctx, t, "message_id", MESSAGE);
            let emoji = required_text(ctx, t, "emoji", usize::MAX);
            K::React {
                channel: channel?,
                message_id: message_id?,
                emoji: emoji?,
            }
        }
        "publish_message" => {
            let channel = read_target(ctx, t, "channel", CHANNEL);
            let message_id = read_target(ctx, t, "message_id", MESSAGE);
            K::PublishMessage {
                channel: channel?,
                message_id: message_id?,
            }
        }
        "add_role" | "remove_role" => {
            let user = read_target(ctx, t, "user", USER);
            let role = read_target(ctx, t, "role", ROLE);
            let reason = read_reason(ctx, t);
            let (user, role, reason) = (user?, role?, reason?);
            if kind == "add_role" {
                K::AddRole { user, role, reason }
            } else {
                K::RemoveRole { user, role, reason }
            }
        }
        "create_role" => {
            let settings = read_role_settings(ctx, t, true);
            let reason = read_reason(ctx, t);
            K::CreateRole {
                settings: settings?,
                reason: reason?,
            }
        }
        "edit_role" => {
            let role = read_target(ctx, t, "role", ROLE);
            let settings = read_role_settings(ctx, t, false);
            let reason = read_reason(ctx, t);
            need_one_of(t, kind, &ROLE_SETTINGS)?;
            K::EditRole {
                role: role?,
                settings: settings?,
                reason: reason?,
            }
        }
        "delete_role" => {
            let role = read_target(ctx, t, "role", ROLE);
            let reason = read_reason(ctx, t);
            K::DeleteRole {
                role: role?,
                reason: reason?,
            }
        }
        "set_nickname" => {
            let user = read_target(ctx, t, "user", USER);
            let nickname = read_nickname(ctx, t);
            let reason = read_reason(ctx, t);
            K::SetNickname {
                user: user?,
                nickname: nickname?,
                reason: reason?,
            }
        }
        "timeout_member" => {
            let user = read_target(ctx, t, "user", USER);
            let rule = DurationRule {
                max: MAX_TIMEOUT,
                zero: false,
            };
            let duration = required_duration(ctx, t, "duration", rule);
            let reason = read_reason(ctx, t);
            K::TimeoutMember {
                user: user?,
                duration: duration?,
                reason: reason?,
            }
        }
        "remove_timeout" | "kick_member" | "unban_member" => {
            let user = read_target(ctx, t, "user", USER);
            let reason = read_reason(ctx, t);
            let (user, reason) = (user?, reason?);
            match kind {
                "remove_timeout" => K::RemoveTimeout { user, reason },
                "kick_member" => K::KickMember { user, reason },
                _ => K::UnbanMember { user, reason },
            }
        }
        "ban_member" => {
            let user = read_target(ctx, t, "user", USER);
            let rule = DurationRule {
                max: MAX_BAN_DELETE,
                zero: true,
            };
            let delete_messages = optional_duration(ctx, t, "delete_messages", rule);
            let reason = read_reason(ctx, t);
            K::BanMember {
                user: user?,
                delete_messages: delete_messages?,
                reason: reason?,
            }
        }
        "create_channel" => {
            let name = required_text(ctx, t, "name", MAX_CHANNEL_NAME_CHARS);
            let channel_type = read_channel_kind(t);
            let topic = optional_text(ctx, t, "topic", MAX_TOPIC_CHARS);
            let parent = optional_target(ctx, t, "parent", CATEGORY);
            let reason = read_reason(ctx, t);
            K::CreateChannel {
                name: name?,
                channel_type: channel_type?,
                topic: topic?,
                parent: parent?,
                reason: reason?,
            }
        }
        "edit_channel" => {
            let channel = read_target(ctx, t, "channel", CHANNEL);
            let name = optional_text(ctx, t, "name", MAX_CHANNEL_NAME_CHARS);
            let topic = optional_text(ctx, t, "topic", MAX_TOPIC_CHARS);
            let parent = optional_target(ctx, t, "parent", CATEGORY);
            let reason = read_reason(ctx, t);
            need_one_of(t, kind, &["name", "topic", "parent"])?;
            K::EditChannel {
                channel: channel?,
                name: name?,
                topic: topic?,
                parent: parent?,
                reason: reason?,
            }
        }
        "delete_channel" => {
            let channel = read_target(ctx, t, "channel", CHANNEL);
            let reason = read_reason(ctx, t);
            K::DeleteChannel {
                channel: channel?,
                reason: reason?,
            }
        }
        "create_thread" => read_create_thread(ctx, t)?,
        "edit_thread" => {
            let thread = read_target(ctx, t, "thread", THREAD);
            let name = optional_text(ctx, t, "name", MAX_THREAD_NAME_CHARS);
            let archived = t.optional_bool("archived");
            let locked = t.optional_bool("locked");
            let reason = read_reason(ctx, t);
            need_one_of(t, kind, &["name", "archived", "locked"])?;
            K::EditThread {
                thread: thread?,
                name: name?,
                archived: archived?,
                locked: locked?,
                reason: reason?,
            }
        }
        "create_invite" => {
            let channel = read_target(ctx, t, "channel", CHANNEL);
            let rule = DurationRule {
                max: MAX_INVITE_AGE,
                zero: true,
            };
            let max_age = optional_duration(ctx, t, "max_age", rule);
            let max_uses = optional_count(ctx, t, "max_uses", MAX_INVITE_USES);
            let temporary = t.optional_bool("temporary");
            let unique = t.optional_bool("unique");
            let reason = read_reason(ctx, t);
            K::CreateInvite {
                channel: channel?,
                max_age: max_age?,
                max_uses: max_uses?,
                temporary: temporary?.unwrap_or(false),
                unique: unique?.unwrap_or(false),
                reason: reason?,
            }
        }
        "http_request" => read_http_request(ctx, t)?,
        "set_variable" => {
            let scope = read_scope(ctx, t);
            let name = read_variable_name(t);
            let value = required_value_text(ctx, t, "value");
            K::SetVariable {
                scope: scope?,
                name: name?,
                value: value?,
            }
        }
        "delete_variable" => {
            let scope = read_scope(ctx, t);
            let name = read_variable_name(t);
            K::DeleteVariable {
                scope: scope?,
                name: name?,
            }
        }
        "get_variable" => {
            let scope = read_scope(ctx, t);
            let name = read_variable_name(t);
            let default = optional_value_text(ctx, t, "default");
            let variable = optional_run_name(t, "variable");
            if let Ok(Some(variable)) = &variable {
                ctx.add_run_variable(variable.get_ref());
            }
            K::GetVariable {
                scope: scope?,
                name: name?,
                default: default?,
                variable: variable?.map(Spanned::into_inner),
            }
        }
        "math" => {
            let expression = read_expression(ctx, t);
            let variable = optional_run_name(t, "variable")
                .and_then(|variable| variable.ok_or_else(|| t.report_missing("variable")));
            if let Ok(variable) = &variable {
                ctx.add_run_variable(variable.get_ref());
            }
            K::Math {
                expression: expression?,
                variable: variable?.into_inner(),
            }
        }
        "if" => {
            let condition = t
                .optional_table("condition", "condition")
                .and_then(|table| {
                    let table = table.ok_or_else(|| t.report_missing("condition"))?;
                    read_condition(ctx, table)
                });
            let then = required_actions(ctx, t, "then", ListKind::Plain);
            let otherwise = read_actions(ctx, t, "else");
            K::If {
                condition: condition?,
                then: then?,
                otherwise: otherwise?.unwrap_or_default(),
            }
        }
        "random" => K::Random {
            branches: read_branches(ctx, t)?,
        },
        "loop" => {
            let nesting = if ctx.loop_depth() >= MAX_LOOP_NESTING {
                Err(t.report(
                    t.span(),
                    format!(
                        "this loop is inside {} other loops; loops may be nested at most \
                         {MAX_LOOP_NESTING} deep",
                        ctx.loop_depth()
                    ),
                ))
            } else {
                Ok(())
            };
            let count = optional_count(ctx, t, "count", MAX_LOOP_COUNT)
                .and_then(|count| count.ok_or_else(|| t.report_missing("count")));
            let rule = DurationRule {
                max: MAX_WAIT,
                zero: true,
            };
            let delay = optional_duration(ctx, t, "delay", rule);
            let body = required_actions(ctx, t, "actions", ListKind::LoopBody);
            nesting?;
            K::Loop {
                count: count?,
                delay: delay?,
                body: body?,
            }
        }
        "stop_loop" => {
            if ctx.loop_depth() == 0 {
                return Err(t.report(
                    t.span(),
                    "stop_loop is only allowed in a loop's actions (or an on_error list inside \
                     them)",
                ));
            }
            K::StopLoop
        }
        "stop" => K::Stop,
        "wait" => {
            let rule = DurationRule {
                max: MAX_WAIT,
                zero: true,
            };
            K::Wait {
                duration: required_duration(ctx, t, "duration", rule)?,
            }
        }
        other => unreachable!("{other} is in ACTION_TYPES but has no branch"),
    })
}

const THREAD: &str = "a thread id or text that renders to one";
const CATEGORY: &str = "a category id, its name, or text that renders to one";

/// Reports a table that sets none of `keys` (an edit that would change nothing).
fn need_one_of(t: &TableReader<'_, '_>, kind: &str, keys: &[&str]) -> Checked<()> {
    if keys.iter().any(|key| t.contains(key)) {
        return Ok(());
    }
    Err(t.report(
        t.span(),
        format!("{kind} needs at least one of: {}", keys.join(", ")),
    ))
}

fn required_duration(
    ctx: &Ctx<'_, '_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
    rule: DurationRule,
) -> Checked<Template> {
    optional_duration(ctx, t, key, rule)?.ok_or_else(|| t.report_missing(key))
}

/// The settings `create_role` and `edit_role` share.
const ROLE_SETTINGS: [&str; 5] = ["name", "color", "hoist", "mentionable", "permissions"];

fn read_role_settings(
    ctx: &Ctx<'_, '_>,
    t: &mut TableReader<'_, '_>,
    name_required: bool,
) -> Checked<RoleSettings> {
    let name = if name_required {
        required_text(ctx, t, "name", MAX_ROLE_NAME_CHARS).map(Some)
    } else {
        optional_text(ctx, t, "name", MAX_ROLE_NAME_CHARS)
    };
    let color = read_color(ctx, t);
    let hoist = t.optional_bool("hoist");
    let mentionable = t.optional_bool("mentionable");
    let permissions = read_permissions(t);
    Ok(RoleSettings {
        name: name?,
        color: color?,
        hoist: hoist?,
        mentionable: mentionable?,
        permissions: permissions?,
    })
}

/// `permissions = ["send_messages", "manage_roles"]`, or the bits as an integer or digits.
fn read_permissions(t: &mut TableReader<'_, '_>) -> Checked<Option<u64>> {
    let Some(value) = t.optional("permissions") else {
        return Ok(None);
    };
    let expected = "a list of permission names such as [\"send_messages\", \"manage_roles\"], or \
                    the permission bits as a number";
    match value.get_ref() {
        DeValue::Integer(integer) => integer_value(integer)
            .and_then(|bits| u64::try_from(bits).ok())
            .map(Some)
            .ok_or_else(|| t.wrong_type("permissions", value, expected)),
        DeValue::String(digits)
            if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) =>
        {
            digits
                .parse::<u64>()
                .map(Some)
                .map_err(|_| t.wrong_type("permissions", value, expected))
        }
        DeValue::Array(names) => {
            let mut bits = 0u64;
            let mut outcome = Ok(());
            for entry in names.iter() {
                let known = match entry.get_ref() {
                    DeValue::String(name) => {
                        serenity::all::Permissions::from_name(&name.to_uppercase())
                    }
                    _ => None,
                };
                match known {
                    Some(permission) => bits |= permission.bits(),
                    None => {
                        outcome = Err(t.report(
                            entry.span(),
                            format!(
                                "unknown permission {}; use Discord's names in lower case, such \
                                 as send_messages, manage_roles, kick_members",
                                describe(entry.get_ref())
                            ),
                        ))
                    }
                }
            }
            outcome.map(|()| Some(bits))
        }
        _ => Err(t.wrong_type("permissions", value, expected)),
    }
}

/// `nickname`: may be `""` to remove the nickname.
fn read_nickname(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Template> {
    let text = t.required_string("nickname")?;
    check_length(t, "nickname", &text, MAX_NICKNAME_CHARS)?;
    Ok(ctx.template(text.get_ref(), text.span()))
}

fn read_channel_kind(t: &mut TableReader<'_, '_>) -> Checked<ChannelKind> {
    let Some(value) = t.optional("kind") else {
        return Ok(ChannelKind::Text);
    };
    let kind = match value.get_ref() {
        DeValue::String(kind) => match kind.as_ref() {
            "text" => Some(ChannelKind::Text),
            "voice" => Some(ChannelKind::Voice),
            "category" => Some(ChannelKind::Category),
            "announcement" => Some(ChannelKind::Announcement),
            _ => None,
        },
        _ => None,
    };
    kind.ok_or_else(|| {
        t.wrong_type(
            "kind",
            value,
            &format!("one of: {}", ChannelKind::NAMES.join(", ")),
        )
    })
}

fn read_create_thread(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<ActionKind> {
    let channel = read_target(ctx, t, "channel", CHANNEL);
    let name = required_text(ctx, t, "name", MAX_THREAD_NAME_CHARS);
    let message_id = optional_target(ctx, t, "message_id", MESSAGE);
    let private = t.optional_bool("private").and_then(|private| {
        if private == Some(true) && t.contains("message_id") {
            let value = t.optional("private").expect("private was read");
            return Err(t.report(
                value.span(),
                "a thread started from a message cannot be private; leave out private or \
                 message_id",
            ));
        }
        Ok(private.unwrap_or(false))
    });
    let auto_archive = read_auto_archive(ctx, t);
    let reason = read_reason(ctx, t);
    Ok(ActionKind::CreateThread {
        channel: channel?,
        name: name?,
        message_id: message_id?,
        private: private?,
        auto_archive: auto_archive?,
        reason: reason?,
    })
}

/// `"1h"`, `"1d"`, `"3d"` or `"1w"` (or another spelling of one of them), kept in that form.
fn read_auto_archive(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Option<Template>> {
    let Some(value) = t.optional("auto_archive") else {
        return Ok(None);
    };
    if let DeValue::String(text) = value.get_ref() {
        let template = ctx.template(text, value.span());
        if !template.is_static() {
            return Ok(Some(template));
        }
        if let Ok(duration) = parse_duration(text) {
            if THREAD_ARCHIVE_DURATIONS.contains(&duration) {
                return Ok(Some(Template::new(format_duration(duration))));
            }
        }
    }
    Err(t.wrong_type(
        "auto_archive",
        value,
        "one of \"1h\", \"1d\", \"3d\", \"1w\"",
    ))
}

fn read_http_request(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<ActionKind> {
    let method = read_method(ctx, t);
    let url = read_url(ctx, t);
    let headers = read_headers(ctx, t);
    let json = t
        .optional("json")
        .map(|value| to_json(ctx, t, value))
        .transpose();
    let body = optional_value_text(ctx, t, "body");
    let rule = DurationRule {
        max: MAX_HTTP_TIMEOUT,
        zero: false,
    };
    let timeout = optional_duration(ctx, t, "timeout", rule);

    let body_key = ["json", "body"].into_iter().find(|key| t.contains(key));
    if t.contains("json") && t.contains("body") {
        let value = t.optional("body").expect("body was read");
        return Err(t.report(
            value.span(),
            "give json or body, not both: json sends a JSON document, body sends text",
        ));
    }
    if let (Some(key), Ok(method)) = (body_key, &method) {
        if matches!(method.as_str(), "GET" | "HEAD") {
            let value = t.optional(key).expect("the body was read");
            return Err(t.report(
                value.span(),
                format!(
                    "a {} request has no body; use method = \"POST\", \"PUT\", \"PATCH\" or \
                     \"DELETE\"",
                    method.as_str()
                ),
            ));
        }
    }
    let body = match (json?, body?) {
        (Some(json), _) => Some(HttpBodySpec::Json(json)),
        (None, Some(text)) => Some(HttpBodySpec::Text(text)),
        (None, None) => None,
    };
    Ok(ActionKind::HttpRequest {
        method: method?,
        url: url?,
        headers: headers?,
        body,
        timeout: timeout?,
    })
}

fn read_method(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Template> {
    let Some(method) = t.optional_string("method")? else {
        return Ok(Template::new("GET"));
    };
    let template = ctx.template(method.get_ref(), method.span());
    if !template.is_static() {
        return Ok(template);
    }
    let upper = method.get_ref().trim().to_ascii_uppercase();
    if HTTP_METHODS.contains(&upper.as_str()) {
        return Ok(Template::new(upper));
    }
    Err(t.report(
        method.span(),
        format!(
            "method must be one of: {}, got {:?}",
            HTTP_METHODS.join(", "),
            method.get_ref()
        ),
    ))
}

fn read_url(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Template> {
    let url = t.required_string("url")?;
    let template = checked_text(ctx, t, "url", url.clone(), usize::MAX)?;
    let text = url.get_ref().trim();
    let lower = text.to_ascii_lowercase();
    // A URL with placeholders is judged once rendered, but a fixed start is checked now.
    let fixed_start = text.split('{').next().unwrap_or_default();
    let full_scheme = lower.starts_with("http://") || lower.starts_with("https://");
    let could_become_one = !template.is_static()
        && ("https://".starts_with(&fixed_start.to_ascii_lowercase())
            || "http://".starts_with(&fixed_start.to_ascii_lowercase()));
    if full_scheme || could_become_one {
        return Ok(template);
    }
    Err(t.report(
        url.span(),
        format!(
            "url must start with http:// or https://, got {:?}",
            url.get_ref()
        ),
    ))
}

fn read_headers(
    ctx: &Ctx<'_, '_>,
    t: &mut TableReader<'_, '_>,
) -> Checked<Vec<(String, Template)>> {
    let Some(headers) = t.optional_table("headers", "headers")? else {
        return Ok(Vec::new());
    };
    let mut read = Vec::new();
    let mut outcome = Ok(());
    for (name, value) in headers.into_entries() {
        if axum::http::HeaderName::from_bytes(name.get_ref().as_bytes()).is_err() {
            outcome = Err(t.report(
                name.span(),
                format!(
                    "{:?} is not a valid HTTP header name; use letters, digits and - such as \
                     X-Api-Key",
                    name.get_ref()
                ),
            ));
            continue;
        }
        let text = match value.get_ref() {
            DeValue::String(text) => Some(ctx.template(text, value.span())),
            DeValue::Integer(integer) => {
                integer_value(integer).map(|n| Template::new(n.to_string()))
            }
            DeValue::Boolean(flag) => Some(Template::new(flag.to_string())),
            _ => None,
        };
        let valid = text.filter(|text| {
            !text.is_static() || axum::http::HeaderValue::from_str(text.as_str()).is_ok()
        });
        match valid {
            Some(text) => read.push((name.get_ref().to_string(), text)),
            None => {
                outcome = Err(t.report(
                    value.span(),
                    format!(
                        "header {} must be text without line breaks, got {}",
                        name.get_ref(),
                        describe(value.get_ref())
                    ),
                ))
            }
        }
    }
    outcome.map(|()| read)
}

/// A TOML value as JSON; strings stay template text, datetimes become strings.
fn to_json(
    ctx: &Ctx<'_, '_>,
    t: &TableReader<'_, '_>,
    value: &Spanned<DeValue<'_>>,
) -> Checked<serde_json::Value> {
    use serde_json::Value as J;
    Ok(match value.get_ref() {
        DeValue::String(text) => J::String(ctx.template(text, value.span()).as_str().to_owned()),
        DeValue::Integer(integer) => {
            let number = integer_value(integer).ok_or(Reported);
            match number.map(i64::try_from) {
                Ok(Ok(number)) => J::from(number),
                _ => return Err(t.wrong_type("json", value, "a number that fits 64 bits")),
            }
        }
        DeValue::Float(float) => {
            match parse_float(float.as_str()).and_then(serde_json::Number::from_f64) {
                Some(number) => J::Number(number),
                None => return Err(t.wrong_type("json", value, "a finite number")),
            }
        }
        DeValue::Boolean(flag) => J::Bool(*flag),
        DeValue::Datetime(datetime) => J::String(datetime.to_string()),
        DeValue::Array(items) => {
            let items: Vec<Checked<J>> = items.iter().map(|item| to_json(ctx, t, item)).collect();
            J::Array(items.into_iter().collect::<Checked<_>>()?)
        }
        DeValue::Table(table) => {
            let mut map = serde_json::Map::new();
            let mut outcome = Ok(());
            for (key, item) in table.iter() {
                match to_json(ctx, t, item) {
                    Ok(item) => {
                        map.insert(key.get_ref().to_string(), item);
                    }
                    Err(reported) => outcome = Err(reported),
                }
            }
            outcome?;
            J::Object(map)
        }
    })
}

fn read_scope(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<VariableScopeSpec> {
    const SCOPES: [&str; 4] = ["global", "server", "user", "channel"];
    let scope = t.optional_string("scope").and_then(|scope| match scope {
        None => Ok("server"),
        Some(scope) => SCOPES
            .into_iter()
            .find(|known| known == scope.get_ref())
            .ok_or_else(|| {
                t.report(
                    scope.span(),
                    format!(
                        "scope must be one of: {}, got {:?}",
                        SCOPES.join(", "),
                        scope.get_ref()
                    ),
                )
            }),
    });
    let user = optional_target(ctx, t, "user", USER);
    let channel = optional_target(ctx, t, "channel", CHANNEL);
    let scope = scope?;
    // A user or channel given for another scope would be silently ignored: say so.
    let mut outcome = Ok(());
    for key in ["user", "channel"] {
        if key != scope {
            if let Some(value) = t.optional(if key == "user" { "user" } else { "channel" }) {
                outcome = Err(t.report(
                    value.span(),
                    format!("{key} is only used with scope = \"{key}\""),
                ));
            }
        }
    }
    outcome?;
    Ok(match scope {
        "global" => VariableScopeSpec::Global,
        "server" => VariableScopeSpec::Server,
        "user" => VariableScopeSpec::User {
            user: user?.ok_or_else(|| t.report(t.span(), "scope = \"user\" needs user"))?,
        },
        _ => VariableScopeSpec::Channel {
            channel: channel?
                .ok_or_else(|| t.report(t.span(), "scope = \"channel\" needs channel"))?,
        },
    })
}

/// A persistent variable's name: fixed, 1-64 of `[A-Za-z0-9_-]`.
fn read_variable_name(t: &mut TableReader<'_, '_>) -> Checked<String> {
    let name = t.required_string("name")?;
    let text = *name.get_ref();
    let valid = (1..=MAX_VARIABLE_NAME_CHARS).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if valid {
        return Ok(text.to_owned());
    }
    Err(t.report(
        name.span(),
        format!(
            "name must be 1-{MAX_VARIABLE_NAME_CHARS} of A-Z a-z 0-9 _ - (no placeholders), got \
             {text:?}"
        ),
    ))
}

/// A `math` expression; a fixed one is evaluated now so its mistakes show at load time.
fn read_expression(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Template> {
    let text = t.required_string("expression")?;
    let template = checked_text(ctx, t, "expression", text.clone(), usize::MAX)?;
    if template.is_static() {
        if let Err(error) = crate::lang::math::evaluate(text.get_ref()) {
            return Err(t.report(text.span(), format!("expression: {error}")));
        }
    }
    Ok(template)
}

fn read_branches(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Vec<RandomBranch>> {
    let branches = read_list(t, "branches", "random branch", |mut branch| {
        let weight = branch
            .optional_integer("weight", "a whole number from 1 up")
            .and_then(|weight| match weight {
                None => Ok(1),
                Some(weight) => u32::try_from(*weight.get_ref())
                    .ok()
                    .filter(|&weight| weight >= 1)
                    .ok_or_else(|| {
                        branch.report(
                            weight.span(),
                            format!(
                                "weight must be a whole number from 1 up, got {}",
                                weight.get_ref()
                            ),
                        )
                    }),
            });
        let actions = required_actions(ctx, &mut branch, "actions", ListKind::Plain);
        branch.finish();
        Ok(RandomBranch {
            weight: weight?,
            actions: actions?,
        })
    })?;
    match branches {
        None => Err(t.report_missing("branches")),
        Some(branches) if branches.is_empty() => {
            let value = t.optional("branches").expect("branches was read");
            Err(t.report(value.span(), "branches must list at least one branch"))
        }
        Some(branches) => Ok(branches),
    }
}
