//! Action tables → [`Action`]: every action type, `save_as`, `on_error` and the nesting rules.

use toml::de::DeValue;
use toml::Spanned;

use super::buttons::read_buttons;
use super::channels::{read_channel_kind, read_create_thread, CATEGORY, THREAD};
use super::condition::read_condition;
use super::ctx::{Ctx, Save};
use super::fields::*;
use super::http_request::read_http_request;
use super::limits::*;
use super::members::{read_nickname, read_role_settings, ROLE_SETTINGS};
use super::message::read_message;
use super::variables::{read_expression, read_scope, read_variable_name};
use crate::events::action::{Action, ActionKind, RandomBranch};
use crate::problem::{describe, Checked, TableReader};

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
    let known_types = ActionKind::NAMES.join(", ");
    let Some(type_value) = table.unlisted("type") else {
        return Err(table.report(
            table.span(),
            format!("missing required key \"type\" in action; it is one of: {known_types}"),
        ));
    };
    // With no known type the table's other keys cannot be judged, so it is not finished.
    let kind = match type_value.get_ref() {
        DeValue::String(kind) => match ActionKind::NAMES.iter().find(|known| *known == kind) {
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
    if kind == "reply" {
        ctx.add_reply(type_value.span());
    }
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
            let buttons = read_buttons(ctx, t);
            K::SendMessage {
                channel: channel?,
                message: message?,
                reply_to: reply_to?,
                tts: tts?.unwrap_or(false),
                buttons: buttons?,
            }
        }
        "reply" => {
            let message = read_message(ctx, t, kind);
            let ephemeral = t.optional_bool("ephemeral");
            let buttons = read_buttons(ctx, t);
            K::Reply {
                message: message?,
                ephemeral: ephemeral?.unwrap_or(false),
                buttons: buttons?,
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
        other => unreachable!("{other} is in ActionKind::NAMES but has no branch"),
    })
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
