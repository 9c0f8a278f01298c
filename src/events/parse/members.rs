//! Member and role actions' own keys: role settings, permissions, nicknames.

use toml::de::DeValue;

use super::ctx::Ctx;
use super::fields::*;
use super::limits::*;
use crate::events::action::RoleSettings;
use crate::lang::templates::Template;
use crate::problem::{describe, integer_value, Checked, TableReader};

/// The settings `create_role` and `edit_role` share.
pub(super) const ROLE_SETTINGS: [&str; 5] =
    ["name", "color", "hoist", "mentionable", "permissions"];

pub(super) fn read_role_settings(
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
pub(super) fn read_nickname(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Template> {
    let text = t.required_string("nickname")?;
    check_length(t, "nickname", &text, MAX_NICKNAME_CHARS)?;
    Ok(ctx.template(text.get_ref(), text.span()))
}
