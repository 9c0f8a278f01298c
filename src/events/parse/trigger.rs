//! `[trigger]` → [`Trigger`]: each type's keys, checked against Discord's rules for slash
//! commands and against the cron and time-zone databases for schedules, each problem at the key
//! to fix.

use std::collections::HashSet;

use toml::de::DeValue;
use toml::Spanned;

use super::fields::{parse_float, parse_snowflake};
use crate::events::trigger::*;
use crate::lang::duration::{format_duration, parse_duration};
use crate::lang::schedule::{Cadence, Schedule, DEFAULT_TIMEZONE, MAX_EVERY, MIN_EVERY};
use crate::problem::{describe, integer_value, Checked, TableReader};

/// `[trigger]`; [`Trigger::Webhook`] when the table is left out.
pub(super) fn read_trigger(root: &mut TableReader<'_, '_>) -> Checked<Spanned<Trigger>> {
    let Some(table) = root.optional_table("trigger", "[trigger]")? else {
        return Ok(Spanned::new(0..0, Trigger::Webhook));
    };
    let mut table = table.with_key_prefix("trigger.");
    let span = table.span();
    let known = TriggerKind::NAMES.join(", ");
    let Some(type_value) = table.unlisted("type") else {
        return Err(table.report(
            span,
            format!("missing required key \"type\" in [trigger]; it is one of: {known}"),
        ));
    };
    // With no known type the other keys cannot be judged, so the table is not finished.
    let kind = match type_value.get_ref() {
        DeValue::String(name) => TriggerKind::from_name(name).ok_or_else(|| {
            table.report(
                type_value.span(),
                format!("unknown trigger type {name:?}; expected one of: {known}"),
            )
        })?,
        other => {
            return Err(table.report(
                type_value.span(),
                format!(
                    "trigger.type must be one of: {known}, got {}",
                    describe(other)
                ),
            ))
        }
    };
    let mut table = table.with_context(format!("a {} trigger", kind.name()));
    let trigger = match kind {
        TriggerKind::Webhook => Ok(Trigger::Webhook),
        TriggerKind::Button => Ok(Trigger::Button),
        TriggerKind::MemberJoin => Ok(Trigger::MemberJoin),
        TriggerKind::MemberLeave => Ok(Trigger::MemberLeave),
        TriggerKind::Command => read_command(&mut table).map(Trigger::Command),
        TriggerKind::Message => {
            read_channel(&mut table).map(|channel| Trigger::Message { channel })
        }
        TriggerKind::ReactionAdd => {
            read_emoji(&mut table).map(|emoji| Trigger::ReactionAdd { emoji })
        }
        TriggerKind::ReactionRemove => {
            read_emoji(&mut table).map(|emoji| Trigger::ReactionRemove { emoji })
        }
        TriggerKind::Schedule => read_schedule(&mut table).map(Trigger::Schedule),
    };
    table.finish();
    trigger.map(|trigger| Spanned::new(type_value.span(), trigger))
}

fn read_command(table: &mut TableReader<'_, '_>) -> Checked<CommandSpec> {
    let name = table.required_string("name").and_then(|name| {
        command_name(table, "trigger.name", &name, "slash command").map(|()| name)
    });
    let description = table
        .required_string("description")
        .and_then(|text| description(table, "trigger.description", &text));
    let options = read_options(table);
    Ok(CommandSpec {
        name: name?.get_ref().to_string(),
        description: description?,
        options: options?,
    })
}

/// Discord's rule for command and option names, said in full when it is broken.
fn command_name(
    table: &TableReader<'_, '_>,
    key: &str,
    name: &Spanned<&str>,
    what: &str,
) -> Checked<()> {
    if is_valid_command_name(name.get_ref()) {
        return Ok(());
    }
    let shown = name.get_ref();
    let hint = if shown.chars().any(char::is_uppercase) {
        format!(" (try {:?})", shown.to_lowercase())
    } else {
        String::new()
    };
    Err(table.report(
        name.span(),
        format!(
            "{key} {shown:?} is not a name Discord takes for a {what}: 1-{MAX_COMMAND_NAME_CHARS} \
             lower-case letters, digits, - _ or ', no spaces{hint}"
        ),
    ))
}

fn description(table: &TableReader<'_, '_>, key: &str, text: &Spanned<&str>) -> Checked<String> {
    let count = text.get_ref().trim().chars().count();
    if count == 0 || text.get_ref().chars().count() > MAX_COMMAND_DESCRIPTION_CHARS {
        return Err(table.report(
            text.span(),
            format!(
                "{key} must be 1-{MAX_COMMAND_DESCRIPTION_CHARS} characters (Discord shows it \
                 under the command), got {}",
                text.get_ref().chars().count()
            ),
        ));
    }
    Ok(text.get_ref().to_string())
}

fn read_options(table: &mut TableReader<'_, '_>) -> Checked<Vec<CommandOption>> {
    let Some(items) = table.optional_tables("options", "[[trigger.options]] option")? else {
        return Ok(Vec::new());
    };
    let list_span = items.span();
    let read: Vec<Checked<(CommandOption, Spanned<()>)>> = items
        .into_inner()
        .into_iter()
        .enumerate()
        .map(|(index, item)| item.and_then(|item| read_option(item, index)))
        .collect();
    if read.len() > MAX_COMMAND_OPTIONS {
        return Err(table.report(
            list_span,
            format!(
                "trigger.options has {} options; Discord allows at most {MAX_COMMAND_OPTIONS}",
                read.len()
            ),
        ));
    }
    let read: Vec<(CommandOption, Spanned<()>)> = read.into_iter().collect::<Checked<_>>()?;
    let mut seen = HashSet::new();
    let mut optional_seen = false;
    let mut outcome = Ok(());
    for (option, at) in &read {
        if !seen.insert(option.name.as_str()) {
            outcome = Err(table.report(
                at.span(),
                format!(
                    "two options are named {:?}; each needs its own name",
                    option.name
                ),
            ));
        }
        if option.required && optional_seen {
            outcome = Err(table.report(
                at.span(),
                format!(
                    "option {:?} is required but comes after an optional one; Discord wants the \
                     required options first",
                    option.name
                ),
            ));
        }
        optional_seen |= !option.required;
    }
    outcome.map(|()| read.into_iter().map(|(option, _)| option).collect())
}

fn read_option(table: TableReader<'_, '_>, index: usize) -> Checked<(CommandOption, Spanned<()>)> {
    let mut table = table.with_key_prefix(format!("trigger.options[{index}]."));
    let span = table.span();
    let name = table.required_string("name").and_then(|name| {
        command_name(
            &table,
            &format!("trigger.options[{index}].name"),
            &name,
            "command option",
        )
        .map(|()| name)
    });
    let kind = table.required_string("type").and_then(|kind| {
        OptionType::from_name(kind.get_ref()).ok_or_else(|| {
            table.report(
                kind.span(),
                format!(
                    "unknown option type {:?}; expected one of: {}",
                    kind.get_ref(),
                    OptionType::NAMES.join(", ")
                ),
            )
        })
    });
    let description = table.required_string("description").and_then(|text| {
        description(
            &table,
            &format!("trigger.options[{index}].description"),
            &text,
        )
    });
    let required = table.optional_bool("required");
    let choices = match (&kind, table.optional("choices")) {
        (_, None) => Ok(Vec::new()),
        (Err(reported), Some(_)) => Err(*reported),
        (Ok(kind), Some(list)) => read_choices(&table, *kind, list, index),
    };
    table.finish();
    Ok((
        CommandOption {
            name: name?.get_ref().to_string(),
            kind: kind?,
            description: description?,
            required: required?.unwrap_or(false),
            choices: choices?,
        },
        Spanned::new(span, ()),
    ))
}

fn read_choices(
    table: &TableReader<'_, '_>,
    kind: OptionType,
    list: &Spanned<DeValue<'_>>,
    index: usize,
) -> Checked<Vec<OptionChoice>> {
    let key = format!("trigger.options[{index}].choices");
    if !kind.takes_choices() {
        return Err(table.report(
            list.span(),
            format!(
                "{key}: a {} option cannot have choices; only string, integer and number options can",
                kind.name()
            ),
        ));
    }
    let DeValue::Array(items) = list.get_ref() else {
        return Err(table.wrong_type("choices", list, "a list of strings or numbers"));
    };
    if items.is_empty() || items.len() > MAX_OPTION_CHOICES {
        return Err(table.report(
            list.span(),
            format!(
                "{key} has {} choices; Discord takes 1-{MAX_OPTION_CHOICES}",
                items.len()
            ),
        ));
    }
    let mut outcome = Ok(());
    let mut choices = Vec::new();
    for item in items.iter() {
        match choice(kind, item.get_ref()) {
            Ok(choice) => choices.push(choice),
            Err(message) => outcome = Err(table.report(item.span(), format!("{key}: {message}"))),
        }
    }
    outcome.map(|()| choices)
}

/// One choice of an option of type `kind`: its value, also the name the user sees.
fn choice(kind: OptionType, value: &DeValue<'_>) -> Result<OptionChoice, String> {
    let value = match (kind, value) {
        (OptionType::String, DeValue::String(text)) => {
            let count = text.chars().count();
            if count == 0 || count > MAX_CHOICE_STRING_CHARS {
                return Err(format!(
                    "a string choice must be 1-{MAX_CHOICE_STRING_CHARS} characters, got {count}"
                ));
            }
            ChoiceValue::String(text.to_string())
        }
        (OptionType::Integer, DeValue::Integer(integer)) => integer_value(integer)
            .and_then(|number| i64::try_from(number).ok())
            .filter(|number| number.unsigned_abs() <= MAX_SAFE_INTEGER)
            .map(ChoiceValue::Integer)
            .ok_or_else(|| format!("{integer} is out of Discord's range for an integer"))?,
        (OptionType::Number, DeValue::Integer(integer)) => {
            ChoiceValue::Number(integer_value(integer).unwrap_or_default().to_string())
        }
        (OptionType::Number, DeValue::Float(float)) => match parse_float(float.as_str()) {
            Some(number) if number.is_finite() => ChoiceValue::Number(number.to_string()),
            _ => return Err(format!("{float} is not a finite number")),
        },
        (kind, other) => {
            return Err(format!(
                "{} {} option's choices must be {}, got {}",
                if kind == OptionType::Integer {
                    "an"
                } else {
                    "a"
                },
                kind.name(),
                match kind {
                    OptionType::String => "strings",
                    OptionType::Integer => "whole numbers",
                    _ => "numbers",
                },
                describe(other)
            ))
        }
    };
    Ok(OptionChoice {
        name: value.as_text(),
        value,
    })
}

/// The largest integer Discord takes in an integer option: 2^53.
const MAX_SAFE_INTEGER: u64 = 1 << 53;

fn read_channel(table: &mut TableReader<'_, '_>) -> Checked<Option<ChannelFilter>> {
    let Some(value) = table.optional("channel") else {
        return Ok(None);
    };
    let filter = match value.get_ref() {
        DeValue::String(text) => match text.strip_prefix('#') {
            Some(name) if !name.trim().is_empty() && !name.contains(['{', '}']) => {
                Some(ChannelFilter::Name(name.to_string()))
            }
            Some(_) => None,
            None => parse_snowflake(text).map(ChannelFilter::Id),
        },
        DeValue::Integer(integer) => integer_value(integer)
            .and_then(|number| u64::try_from(number).ok())
            .filter(|&id| id > 0)
            .map(ChannelFilter::Id),
        _ => None,
    };
    filter.map(Some).ok_or_else(|| {
        table.report(
            value.span(),
            format!(
                "trigger.channel must be a channel id or \"#name\", got {}",
                describe(value.get_ref())
            ),
        )
    })
}

fn read_emoji(table: &mut TableReader<'_, '_>) -> Checked<Option<EmojiFilter>> {
    let Some(text) = table.optional_string("emoji")? else {
        return Ok(None);
    };
    let written = text.get_ref().trim();
    let written = written
        .strip_prefix("<a:")
        .or_else(|| written.strip_prefix("<:"))
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or(written);
    let filter = match written.rsplit_once(':') {
        Some((name, id)) => {
            parse_snowflake(id)
                .filter(|_| !name.is_empty())
                .map(|id| EmojiFilter::Custom {
                    name: name.to_owned(),
                    id,
                })
        }
        None if !written.is_empty()
            && !written
                .chars()
                .any(|c| c.is_ascii_alphanumeric() || c.is_whitespace()) =>
        {
            Some(EmojiFilter::Unicode(written.to_owned()))
        }
        None => None,
    };
    filter.map(Some).ok_or_else(|| {
        table.report(
            text.span(),
            format!(
                "trigger.emoji must be a unicode emoji such as \"👍\" or a custom emoji as \
                 \"name:id\", got {:?}",
                text.get_ref()
            ),
        )
    })
}

fn read_schedule(table: &mut TableReader<'_, '_>) -> Checked<Schedule> {
    let cron = table.optional_string("cron");
    let every = table.optional_string("every");
    let timezone = table.optional_string("timezone");
    let span = table.span();
    let (cron, every, timezone) = (cron?, every?, timezone?);
    let zone_name = timezone
        .as_ref()
        .map_or(DEFAULT_TIMEZONE, |zone| zone.get_ref().trim());
    let cadence = match (cron, every) {
        (Some(_), Some(every)) => {
            return Err(table.report(every.span(), "a schedule takes cron or every, not both"))
        }
        (None, None) => {
            return Err(table.report(
                span,
                "a schedule needs cron (five fields, like \"0 9 * * 1-5\") or every (like \"15m\")",
            ))
        }
        (Some(line), None) => Spanned::new(line.span(), Cadence::Cron(line.get_ref().to_string())),
        (None, Some(every)) => {
            let seconds = parse_duration(every.get_ref())
                .map_err(|error| format!("trigger.every: {error}"))
                .and_then(|duration| {
                    if duration < MIN_EVERY || duration > MAX_EVERY {
                        Err(format!(
                            "trigger.every must be from {} to {}, got {}",
                            format_duration(MIN_EVERY),
                            format_duration(MAX_EVERY),
                            every.get_ref()
                        ))
                    } else {
                        Ok(duration.as_secs())
                    }
                })
                .map_err(|message| table.report(every.span(), message))?;
            // A timezone is taken with `every` too (CONTRACT §7): the interval is elapsed time,
            // counted from the Unix epoch whatever the zone, and the zone is the one
            // {scheduled_time} is written in.
            Spanned::new(every.span(), Cadence::EverySeconds(seconds))
        }
    };
    let schedule = Schedule {
        cadence: cadence.get_ref().clone(),
        timezone: zone_name.to_owned(),
    };
    match schedule.compile() {
        Ok(_) => Ok(schedule),
        Err(error @ crate::lang::schedule::ScheduleError::UnknownTimezone(_)) => Err(table.report(
            timezone.map_or(span, |zone| zone.span()),
            format!("trigger.timezone: {error}"),
        )),
        Err(error) => Err(table.report(cadence.span(), format!("trigger.{error}"))),
    }
}
