//! Readers for the kinds of value action fields share: targets, texts, durations, numbers.

use std::time::Duration;

use toml::de::DeValue;
use toml::Spanned;

use super::ctx::Ctx;
use super::limits::{MAX_COLOR, MAX_EVENT_ID_CHARS, MAX_REASON_CHARS, MAX_RUN_NAME_CHARS};
use crate::events::message::ColorSpec;
use crate::events::names::{BUILTIN_NAMES, RESERVED_PREFIXES};
use crate::lang::duration::{format_duration, parse_duration};
use crate::lang::templates::Template;
use crate::problem::{describe, integer_value, Checked, TableReader};

/// True for 1-64 of `[A-Za-z0-9_-]`.
pub fn is_valid_event_id(id: &str) -> bool {
    (1..=MAX_EVENT_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// A Discord id (snowflake) written in decimal digits: positive and fitting a u64.
pub fn parse_snowflake(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|&id| id > 0)
}

/// An optional array of tables (`[[key]]`), each read by `read_item`; `None` when absent. Every
/// item is read, so the problems of all of them are reported.
pub(super) fn read_list<'a, 't, T>(
    table: &mut TableReader<'a, 't>,
    key: &'static str,
    item_context: &str,
    mut read_item: impl FnMut(TableReader<'a, 't>) -> Checked<T>,
) -> Checked<Option<Vec<T>>> {
    let Some(items) = table.optional_tables(key, item_context)? else {
        return Ok(None);
    };
    let read: Vec<Checked<T>> = items
        .into_inner()
        .into_iter()
        .map(|item| item.and_then(&mut read_item))
        .collect();
    read.into_iter().collect::<Checked<Vec<T>>>().map(Some)
}

/// Reports a list longer than `max`, at the list.
pub(super) fn check_count(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    noun: &str,
    count: usize,
    max: usize,
) -> Checked<()> {
    match table.optional(key) {
        Some(list) if count > max => Err(table.report(
            list.span(),
            format!(
                "{} has {count} {noun}; Discord allows at most {max}",
                table.key_name(key)
            ),
        )),
        _ => Ok(()),
    }
}

pub(super) const CHANNEL: &str = "a channel id, \"#name\" or text that renders to one";
pub(super) const USER: &str = "a user id or text that renders to one";
pub(super) const ROLE: &str = "a role id or a role name";
pub(super) const MESSAGE: &str = "a message id or text that renders to one";

/// A channel, user, role or message: a template, or a TOML integer taken as an id.
pub(super) fn read_target(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    expected: &str,
) -> Checked<Template> {
    let value = table.required(key)?;
    target_value(ctx, table, key, value, expected)
}

pub(super) fn optional_target(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    expected: &str,
) -> Checked<Option<Template>> {
    table
        .optional(key)
        .map(|value| target_value(ctx, table, key, value, expected))
        .transpose()
}

fn target_value(
    ctx: &Ctx<'_, '_>,
    table: &TableReader<'_, '_>,
    key: &str,
    value: &Spanned<DeValue<'_>>,
    expected: &str,
) -> Checked<Template> {
    let target = match value.get_ref() {
        DeValue::String(text) if !text.trim().is_empty() => Some(ctx.template(text, value.span())),
        DeValue::Integer(integer) => integer_value(integer)
            .and_then(|number| u64::try_from(number).ok())
            .filter(|&id| id > 0)
            .map(|id| Template::new(id.to_string())),
        _ => None,
    };
    target.ok_or_else(|| table.wrong_type(key, value, expected))
}

pub(super) fn optional_text(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    max_chars: usize,
) -> Checked<Option<Template>> {
    table
        .optional_string(key)?
        .map(|text| checked_text(ctx, table, key, text, max_chars))
        .transpose()
}

pub(super) fn required_text(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    max_chars: usize,
) -> Checked<Template> {
    let text = table.required_string(key)?;
    checked_text(ctx, table, key, text, max_chars)
}

/// A text field as a template. A fixed text (no placeholders) must not be blank and must fit
/// `max_chars`; one with placeholders is judged when it is rendered.
pub(super) fn checked_text(
    ctx: &Ctx<'_, '_>,
    table: &TableReader<'_, '_>,
    key: &str,
    text: Spanned<&str>,
    max_chars: usize,
) -> Checked<Template> {
    let template = ctx.template(text.get_ref(), text.span());
    if !template.is_static() {
        return Ok(template);
    }
    if text.get_ref().trim().is_empty() {
        return Err(table.report(
            text.span(),
            format!("{} must not be empty", table.key_name(key)),
        ));
    }
    check_length(table, key, &text, max_chars)?;
    Ok(template)
}

/// Reports a fixed text longer than `max_chars`.
pub(super) fn check_length(
    table: &TableReader<'_, '_>,
    key: &str,
    text: &Spanned<&str>,
    max_chars: usize,
) -> Checked<()> {
    let chars = text.get_ref().chars().count();
    if chars > max_chars && Template::new(*text.get_ref()).is_static() {
        return Err(table.report(
            text.span(),
            format!(
                "{} is {chars} characters long; Discord allows at most {max_chars}",
                table.key_name(key)
            ),
        ));
    }
    Ok(())
}

/// A text that may be empty or a number or boolean (taken as JSON writes it): a variable's
/// value, a default, a comparison's side.
pub(super) fn optional_value_text(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Checked<Option<Template>> {
    let Some(value) = table.optional(key) else {
        return Ok(None);
    };
    match value.get_ref() {
        DeValue::String(text) => Ok(Some(ctx.template(text, value.span()))),
        DeValue::Integer(integer) => match integer_value(integer) {
            Some(number) => Ok(Some(Template::new(number.to_string()))),
            None => Err(table.wrong_type(key, value, "text or a number")),
        },
        DeValue::Float(float) => match parse_float(float.as_str()) {
            Some(number) if number.is_finite() => Ok(Some(Template::new(number.to_string()))),
            _ => Err(table.wrong_type(key, value, "text or a finite number")),
        },
        DeValue::Boolean(flag) => Ok(Some(Template::new(flag.to_string()))),
        _ => Err(table.wrong_type(key, value, "text, a number or true or false")),
    }
}

pub(super) fn required_value_text(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Checked<Template> {
    optional_value_text(ctx, table, key)?.ok_or_else(|| table.report_missing(key))
}

/// A TOML float's text as a number (TOML allows `_` between digits).
pub(super) fn parse_float(text: &str) -> Option<f64> {
    text.replace('_', "").parse().ok()
}

/// An audit log `reason`.
pub(super) fn read_reason(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
) -> Checked<Option<Template>> {
    optional_text(ctx, table, "reason", MAX_REASON_CHARS)
}

/// What a duration field accepts.
pub(super) struct DurationRule {
    pub max: Duration,
    /// Whether `"0"` is allowed.
    pub zero: bool,
}

/// A duration: `"10m"`, `"1h30m"`, a TOML integer of seconds, or a template. A fixed one is
/// parsed and held to `rule` now.
pub(super) fn optional_duration(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    rule: DurationRule,
) -> Checked<Option<Template>> {
    let Some(value) = table.optional(key) else {
        return Ok(None);
    };
    let name = table.key_name(key);
    let (text, duration) = match value.get_ref() {
        DeValue::String(text) => {
            let template = ctx.template(text, value.span());
            if !template.is_static() {
                return Ok(Some(template));
            }
            match parse_duration(text) {
                Ok(duration) => (text.to_string(), duration),
                Err(error) => return Err(table.report(value.span(), format!("{name}: {error}"))),
            }
        }
        DeValue::Integer(integer) => {
            match integer_value(integer).and_then(|seconds| u64::try_from(seconds).ok()) {
                Some(seconds) => (seconds.to_string(), Duration::from_secs(seconds)),
                None => {
                    return Err(table.wrong_type(
                        key,
                        value,
                        "a duration such as \"30s\", \"10m\" or \"2h\"",
                    ))
                }
            }
        }
        _ => {
            return Err(table.wrong_type(
                key,
                value,
                "a duration such as \"30s\", \"10m\" or \"2h\"",
            ))
        }
    };
    if duration.is_zero() && !rule.zero {
        return Err(table.report(
            value.span(),
            format!(
                "{name} must be longer than 0s, got {}",
                describe(value.get_ref())
            ),
        ));
    }
    if duration > rule.max {
        return Err(table.report(
            value.span(),
            format!(
                "{name} must be at most {}, got {}",
                format_duration(rule.max),
                describe(value.get_ref())
            ),
        ));
    }
    Ok(Some(Template::new(text)))
}

/// A whole number from 0 to `max`, or a template that must render to one.
pub(super) fn optional_count(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    max: u64,
) -> Checked<Option<Template>> {
    let Some(value) = table.optional(key) else {
        return Ok(None);
    };
    let number = match value.get_ref() {
        DeValue::Integer(integer) => integer_value(integer),
        DeValue::String(text) => {
            let template = ctx.template(text, value.span());
            if !template.is_static() {
                return Ok(Some(template));
            }
            let digits = text.trim();
            if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                None
            } else {
                Some(digits.parse::<i128>().unwrap_or(i128::MAX))
            }
        }
        _ => None,
    };
    match number {
        Some(number) if (0..=i128::from(max)).contains(&number) => {
            Ok(Some(Template::new(number.to_string())))
        }
        _ => Err(table.report(
            value.span(),
            format!(
                "{} must be a whole number from 0 to {max} or text with {{placeholders}}, got {}",
                table.key_name(key),
                describe(value.get_ref())
            ),
        )),
    }
}

/// A name the run knows a value by: `save_as`, or the `variable` of `math` and `get_variable`.
/// `[A-Za-z_][A-Za-z0-9_]{0,31}`, neither a built-in name nor a reserved namespace.
pub(super) fn optional_run_name(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Checked<Option<Spanned<String>>> {
    let Some(name) = table.optional_string(key)? else {
        return Ok(None);
    };
    let text = *name.get_ref();
    let shape_ok = text.len() <= MAX_RUN_NAME_CHARS
        && text
            .bytes()
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
    let problem = if !shape_ok {
        Some(format!(
            "{} must be a name of 1-{MAX_RUN_NAME_CHARS} letters, digits and _, not starting \
             with a digit, got {text:?}",
            table.key_name(key)
        ))
    } else if BUILTIN_NAMES.contains(&text) {
        Some(format!(
            "{} {text:?} is a built-in name; choose another",
            table.key_name(key)
        ))
    } else if RESERVED_PREFIXES.contains(&text) {
        Some(format!(
            "{} {text:?} is reserved for {{{text}.…}}; choose another",
            table.key_name(key)
        ))
    } else {
        None
    };
    match problem {
        Some(message) => Err(table.report(name.span(), message)),
        None => Ok(Some(Spanned::new(name.span(), text.to_owned()))),
    }
}

pub(super) fn read_color(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
) -> Checked<Option<ColorSpec>> {
    let Some(value) = table.optional("color") else {
        return Ok(None);
    };
    let color = match value.get_ref() {
        DeValue::Integer(integer) => integer_value(integer)
            .filter(|number| (0..=i128::from(MAX_COLOR)).contains(number))
            .and_then(|number| u32::try_from(number).ok())
            .map(ColorSpec::Fixed),
        DeValue::String(text) => {
            let template = ctx.template(text, value.span());
            if template.is_static() {
                parse_hex_color(text).map(ColorSpec::Fixed)
            } else {
                Some(ColorSpec::Template(template))
            }
        }
        _ => None,
    };
    match color {
        Some(color) => Ok(Some(color)),
        None => Err(table.report(
            value.span(),
            format!(
                "{} must be an integer from 0 to 16777215 (0xFFFFFF), \"#rrggbb\" or text with \
                 {{placeholders}}, got {}",
                table.key_name("color"),
                describe(value.get_ref())
            ),
        )),
    }
}

/// `#rrggbb` → its value.
pub fn parse_hex_color(text: &str) -> Option<u32> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// Reports a table that sets none of `keys` (an edit that would change nothing).
pub(super) fn need_one_of(t: &TableReader<'_, '_>, kind: &str, keys: &[&str]) -> Checked<()> {
    if keys.iter().any(|key| t.contains(key)) {
        return Ok(());
    }
    Err(t.report(
        t.span(),
        format!("{kind} needs at least one of: {}", keys.join(", ")),
    ))
}

pub(super) fn required_duration(
    ctx: &Ctx<'_, '_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
    rule: DurationRule,
) -> Checked<Template> {
    optional_duration(ctx, t, key, rule)?.ok_or_else(|| t.report_missing(key))
}
