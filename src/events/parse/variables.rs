//! The keys of the variable actions: persistent variables' scopes and names, `math` expressions.

use super::ctx::Ctx;
use super::fields::*;
use super::limits::*;
use crate::events::action::VariableScopeSpec;
use crate::lang::templates::Template;
use crate::problem::{Checked, TableReader};

pub(super) fn read_scope(
    ctx: &Ctx<'_, '_>,
    t: &mut TableReader<'_, '_>,
) -> Checked<VariableScopeSpec> {
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
pub(super) fn read_variable_name(t: &mut TableReader<'_, '_>) -> Checked<String> {
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
pub(super) fn read_expression(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Template> {
    let text = t.required_string("expression")?;
    let template = checked_text(ctx, t, "expression", text.clone(), usize::MAX)?;
    if template.is_static() {
        if let Err(error) = crate::lang::math::evaluate(text.get_ref()) {
            return Err(t.report(text.span(), format!("expression: {error}")));
        }
    }
    Ok(template)
}
