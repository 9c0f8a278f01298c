//! Event files → [`Event`], reporting every problem at the key or value to fix.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::value::Datetime;
use toml::Spanned;

use super::action::{Action, ActionKind};
use super::model::{
    AllowedMentions, ColorSpec, EmbedAuthorSpec, EmbedFieldSpec, EmbedFooterSpec, EmbedSpec, Event,
    MessageSpec,
};
use crate::problem::{describe, integer_value, Checked, Checker, Problem, TableReader};
use crate::templates::Template;

/// The longest event id: it is a URL path segment and a sled key.
pub const MAX_EVENT_ID_CHARS: usize = 64;

/// The `type`s an action may have, in the order messages list them.
pub const ACTION_TYPES: [&str; 4] = ["send_message", "send_dm", "add_role", "remove_role"];

/// The `allowed_mentions` entries, as Discord names its `parse` values.
pub const MENTION_KINDS: [&str; 3] = ["users", "roles", "everyone"];

// Discord's limits, checked here when the text is fixed so the admin hears of it at load time
// rather than from a failed run.
pub const MAX_CONTENT_CHARS: usize = 2000;
pub const MAX_EMBEDS: usize = 10;
pub const MAX_EMBED_FIELDS: usize = 25;
const MAX_TITLE_CHARS: usize = 256;
const MAX_DESCRIPTION_CHARS: usize = 4096;
const MAX_FIELD_NAME_CHARS: usize = 256;
const MAX_FIELD_VALUE_CHARS: usize = 1024;
const MAX_FOOTER_TEXT_CHARS: usize = 2048;
const MAX_AUTHOR_NAME_CHARS: usize = 256;

/// The largest color Discord takes: 24-bit RGB.
const MAX_COLOR: i128 = 0xFF_FFFF;

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

/// Parses and validates one event file. `file` is used as given in problems and in
/// [`Event::file`]. Every problem in the file is reported, in file order.
pub fn parse_event(file: &Path, text: &str) -> Result<Event, Vec<Problem>> {
    parse_event_located(file, text).map(|located| located.event)
}

/// An event and where its id is written, for messages about duplicate ids.
pub(crate) struct LocatedEvent {
    pub event: Event,
    /// `FILE:LINE:COL` of the id's value.
    pub id_location: String,
    /// Line and column of the id's value.
    pub id_position: (usize, usize),
}

pub(crate) fn parse_event_located(file: &Path, text: &str) -> Result<LocatedEvent, Vec<Problem>> {
    let checker = Checker::new(file, text);
    let parsed = checker
        .parse()
        .map(|document| read_event(&checker, &document, file));
    match parsed {
        Some(Ok((event, id_span))) if !checker.has_problems() => Ok(LocatedEvent {
            event,
            id_location: checker.problem_at(&id_span, "").location(),
            id_position: checker.position(&id_span),
        }),
        _ => Err(checker.into_problems()),
    }
}

/// The event and the span of its id; `Err` when a part of it was reported.
fn read_event(
    checker: &Checker<'_>,
    document: &Spanned<DeTable<'_>>,
    file: &Path,
) -> Checked<(Event, Range<usize>)> {
    let mut root = checker.root(document, "event file");
    // Every key is read before any `?`, so each gets checked.
    let id = read_id(&mut root);
    let name = root.optional_string("name").and_then(|name| match name {
        Some(name) if name.get_ref().trim().is_empty() => Err(root.report(
            name.span(),
            "name must not be empty (leave it out to use the id)",
        )),
        name => Ok(name.map(|name| name.get_ref().to_string())),
    });
    let server = read_server(&mut root);
    let enabled = root.optional_bool("enabled");
    let actions = read_list(&mut root, "actions", "action", read_action);
    root.finish();

    let id = id?;
    let event = Event {
        name: name?.unwrap_or_else(|| id.get_ref().clone()),
        id: id.get_ref().clone(),
        server: server?,
        enabled: enabled?.unwrap_or(true),
        actions: actions?,
        file: file.display().to_string(),
    };
    Ok((event, id.span()))
}

fn read_id(root: &mut TableReader<'_, '_>) -> Checked<Spanned<String>> {
    let value = root.required("id")?;
    match value.get_ref() {
        DeValue::String(id) if is_valid_event_id(id) => {
            Ok(Spanned::new(value.span(), id.to_string()))
        }
        other => Err(root.report(
            value.span(),
            format!(
                "id must be 1-{MAX_EVENT_ID_CHARS} of A-Z a-z 0-9 _ -, got {}",
                describe(other)
            ),
        )),
    }
}

fn read_server(root: &mut TableReader<'_, '_>) -> Checked<u64> {
    let value = root.required("server")?;
    let server = match value.get_ref() {
        DeValue::String(text) => parse_snowflake(text),
        DeValue::Integer(integer) => integer_value(integer)
            .and_then(|number| u64::try_from(number).ok())
            .filter(|&id| id > 0),
        _ => None,
    };
    server.ok_or_else(|| {
        root.report(
            value.span(),
            format!(
                "server must be a Discord server id (digits), got {}",
                describe(value.get_ref())
            ),
        )
    })
}

/// An optional array of tables (`[[key]]`), each read by `read_item`; empty when absent. Every
/// item is read, so the problems of all of them are reported.
fn read_list<'a, 't, T>(
    table: &mut TableReader<'a, 't>,
    key: &'static str,
    item_context: &str,
    read_item: impl Fn(TableReader<'a, 't>) -> Checked<T>,
) -> Checked<Vec<T>> {
    let Some(items) = table.optional_tables(key, item_context)? else {
        return Ok(Vec::new());
    };
    let read: Vec<Checked<T>> = items
        .into_inner()
        .into_iter()
        .map(|item| item.and_then(&read_item))
        .collect();
    read.into_iter().collect()
}

fn read_action(mut table: TableReader<'_, '_>) -> Checked<Action> {
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
    let mut table = table.with_context(format!("{kind} action"));

    const CHANNEL: &str = "a channel id, \"#name\" or text that renders to one";
    const USER: &str = "a user id or text that renders to one";
    const ROLE: &str = "a role id or a role name";
    let action = match kind {
        "send_message" => {
            let channel = read_target(&mut table, "channel", CHANNEL);
            let message = read_message(&mut table, kind);
            channel.and_then(|channel| {
                Ok(ActionKind::SendMessage {
                    channel,
                    message: message?,
                    reply_to: None,
                    tts: false,
                })
            })
        }
        "send_dm" => {
            let user = read_target(&mut table, "user", USER);
            let message = read_message(&mut table, kind);
            user.and_then(|user| {
                Ok(ActionKind::SendDm {
                    user,
                    message: message?,
                })
            })
        }
        "add_role" | "remove_role" => {
            let user = read_target(&mut table, "user", USER);
            let role = read_target(&mut table, "role", ROLE);
            user.and_then(|user| {
                let role = role?;
                Ok(if kind == "add_role" {
                    ActionKind::AddRole {
                        user,
                        role,
                        reason: None,
                    }
                } else {
                    ActionKind::RemoveRole {
                        user,
                        role,
                        reason: None,
                    }
                })
            })
        }
        _ => unreachable!("every name in ACTION_TYPES has a branch"),
    };
    table.finish();
    action.map(Action::new)
}

/// A channel, user or role: a template, or a TOML integer taken as an id.
fn read_target(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    expected: &str,
) -> Checked<Template> {
    let value = table.required(key)?;
    let target = match value.get_ref() {
        DeValue::String(text) if !text.trim().is_empty() => Some(Template::new(text.as_ref())),
        DeValue::Integer(integer) => integer_value(integer)
            .and_then(|number| u64::try_from(number).ok())
            .filter(|&id| id > 0)
            .map(|id| Template::new(id.to_string())),
        _ => None,
    };
    target.ok_or_else(|| table.wrong_type(key, value, expected))
}

/// `content`, `embeds` and `allowed_mentions` of a `send_message` or `send_dm`.
fn read_message(table: &mut TableReader<'_, '_>, kind: &str) -> Checked<MessageSpec> {
    let content = optional_text(table, "content", MAX_CONTENT_CHARS);
    let embeds = read_embeds(table);
    let allowed_mentions = read_allowed_mentions(table);

    // Said only when neither is written: a bad one already has its own problem.
    let has_content = table.contains("content");
    let has_embeds = embeds.as_ref().map_or(true, |embeds| !embeds.is_empty());
    if !has_content && !has_embeds {
        return Err(table.report(table.span(), format!("{kind} needs content or embeds")));
    }
    Ok(MessageSpec {
        content: content?,
        embeds: embeds?,
        allowed_mentions: allowed_mentions?,
    })
}

fn read_embeds(table: &mut TableReader<'_, '_>) -> Checked<Vec<EmbedSpec>> {
    let embeds = read_list(table, "embeds", "embed", read_embed)?;
    check_count(table, "embeds", "embeds", embeds.len(), MAX_EMBEDS)?;
    Ok(embeds)
}

/// Reports a list longer than Discord takes, at the list.
fn check_count(
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

fn read_allowed_mentions(table: &mut TableReader<'_, '_>) -> Checked<AllowedMentions> {
    let mut allowed = AllowedMentions::default();
    let Some(entries) = table.optional_array("allowed_mentions")? else {
        return Ok(allowed);
    };
    let mut outcome = Ok(());
    for entry in entries.get_ref().iter() {
        match entry.get_ref() {
            DeValue::String(kind) if kind == "users" => allowed.users = true,
            DeValue::String(kind) if kind == "roles" => allowed.roles = true,
            DeValue::String(kind) if kind == "everyone" => allowed.everyone = true,
            other => {
                outcome = Err(table.report(
                    entry.span(),
                    format!(
                        "unknown allowed_mentions entry {}; expected one of: {}",
                        describe(other),
                        MENTION_KINDS.join(", ")
                    ),
                ));
            }
        }
    }
    outcome.map(|()| allowed)
}

fn read_embed(mut table: TableReader<'_, '_>) -> Checked<EmbedSpec> {
    let title = optional_text(&mut table, "title", MAX_TITLE_CHARS);
    let description = optional_text(&mut table, "description", MAX_DESCRIPTION_CHARS);
    let url = optional_text(&mut table, "url", usize::MAX);
    let color = read_color(&mut table);
    let timestamp = read_timestamp(&mut table);
    let footer = read_footer(&mut table);
    let author = read_author(&mut table);
    let image = read_url_table(&mut table, "image");
    let thumbnail = read_url_table(&mut table, "thumbnail");
    let fields = read_fields(&mut table);
    // Judged on what is written, so an embed whose only title is bad is not also called empty.
    let shows_something = [
        "title",
        "description",
        "timestamp",
        "footer",
        "author",
        "image",
        "thumbnail",
    ]
    .iter()
    .any(|key| table.contains(key))
        || fields.as_ref().map_or(true, |fields| !fields.is_empty());
    let empty = if shows_something {
        Ok(())
    } else {
        // A color or url alone shows nothing, and Discord rejects an empty embed.
        Err(table.report(
            table.span(),
            "embed has nothing to show; give it at least one of: title, description, fields, \
             author, footer, image, thumbnail, timestamp",
        ))
    };
    table.finish();
    empty?;
    Ok(EmbedSpec {
        title: title?,
        description: description?,
        url: url?,
        color: color?,
        timestamp: timestamp?,
        footer: footer?,
        author: author?,
        image: image?,
        thumbnail: thumbnail?,
        fields: fields?,
    })
}

/// An optional sub-table of an embed, its keys named `key.x` in messages.
fn embed_part<'a, 't>(
    embed: &mut TableReader<'a, 't>,
    key: &'static str,
) -> Checked<Option<TableReader<'a, 't>>> {
    let part = embed.optional_table(key, format!("embed {key}"))?;
    Ok(part.map(|part| part.with_key_prefix(format!("{key}."))))
}

fn read_footer(embed: &mut TableReader<'_, '_>) -> Checked<Option<EmbedFooterSpec>> {
    let Some(mut table) = embed_part(embed, "footer")? else {
        return Ok(None);
    };
    let text = required_text(&mut table, "text", MAX_FOOTER_TEXT_CHARS);
    let icon_url = optional_text(&mut table, "icon_url", usize::MAX);
    table.finish();
    Ok(Some(EmbedFooterSpec {
        text: text?,
        icon_url: icon_url?,
    }))
}

fn read_author(embed: &mut TableReader<'_, '_>) -> Checked<Option<EmbedAuthorSpec>> {
    let Some(mut table) = embed_part(embed, "author")? else {
        return Ok(None);
    };
    let name = required_text(&mut table, "name", MAX_AUTHOR_NAME_CHARS);
    let url = optional_text(&mut table, "url", usize::MAX);
    let icon_url = optional_text(&mut table, "icon_url", usize::MAX);
    table.finish();
    Ok(Some(EmbedAuthorSpec {
        name: name?,
        url: url?,
        icon_url: icon_url?,
    }))
}

/// `image = { url }` or `thumbnail = { url }`.
fn read_url_table(embed: &mut TableReader<'_, '_>, key: &'static str) -> Checked<Option<Template>> {
    let Some(mut table) = embed_part(embed, key)? else {
        return Ok(None);
    };
    let url = required_text(&mut table, "url", usize::MAX);
    table.finish();
    url.map(Some)
}

fn read_fields(embed: &mut TableReader<'_, '_>) -> Checked<Vec<EmbedFieldSpec>> {
    let fields = read_list(embed, "fields", "embed field", read_field)?;
    check_count(embed, "fields", "fields", fields.len(), MAX_EMBED_FIELDS)?;
    Ok(fields)
}

fn read_field(table: TableReader<'_, '_>) -> Checked<EmbedFieldSpec> {
    let mut table = table.with_key_prefix("field.");
    let name = required_text(&mut table, "name", MAX_FIELD_NAME_CHARS);
    let value = required_text(&mut table, "value", MAX_FIELD_VALUE_CHARS);
    let inline = table.optional_bool("inline");
    table.finish();
    Ok(EmbedFieldSpec {
        name: name?,
        value: value?,
        inline: inline?.unwrap_or(false),
    })
}

fn optional_text(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    max_chars: usize,
) -> Checked<Option<Template>> {
    table
        .optional_string(key)?
        .map(|text| checked_text(table, key, text, max_chars))
        .transpose()
}

fn required_text(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    max_chars: usize,
) -> Checked<Template> {
    let text = table.required_string(key)?;
    checked_text(table, key, text, max_chars)
}

/// A text field as a template. A fixed text (no placeholders) must not be blank and must fit
/// `max_chars`; one with placeholders is judged when it is rendered.
fn checked_text(
    table: &TableReader<'_, '_>,
    key: &str,
    text: Spanned<&str>,
    max_chars: usize,
) -> Checked<Template> {
    let template = Template::new(*text.get_ref());
    if !template.is_static() {
        return Ok(template);
    }
    let chars = text.get_ref().chars().count();
    if text.get_ref().trim().is_empty() {
        return Err(table.report(
            text.span(),
            format!("{} must not be empty", table.key_name(key)),
        ));
    }
    if chars > max_chars {
        return Err(table.report(
            text.span(),
            format!(
                "{} is {chars} characters long; Discord allows at most {max_chars}",
                table.key_name(key)
            ),
        ));
    }
    Ok(template)
}

fn read_color(table: &mut TableReader<'_, '_>) -> Checked<Option<ColorSpec>> {
    let Some(value) = table.optional("color") else {
        return Ok(None);
    };
    let color = match value.get_ref() {
        DeValue::Integer(integer) => integer_value(integer)
            .filter(|number| (0..=MAX_COLOR).contains(number))
            .and_then(|number| u32::try_from(number).ok())
            .map(ColorSpec::Fixed),
        DeValue::String(text) => {
            let template = Template::new(text.as_ref());
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
                "color must be an integer from 0 to 16777215 (0xFFFFFF), \"#rrggbb\" or text with \
                 {{placeholders}}, got {}",
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

/// A string (a template, or a fixed RFC 3339 date and time) or a TOML offset date-time.
fn read_timestamp(table: &mut TableReader<'_, '_>) -> Checked<Option<Template>> {
    let Some(value) = table.optional("timestamp") else {
        return Ok(None);
    };
    let timestamp = match value.get_ref() {
        DeValue::String(text) => {
            let template = Template::new(text.as_ref());
            if template.is_static() {
                text.parse::<Datetime>()
                    .ok()
                    .and_then(rfc3339)
                    .map(Template::new)
            } else {
                Some(template)
            }
        }
        DeValue::Datetime(datetime) => rfc3339(*datetime).map(Template::new),
        _ => None,
    };
    match timestamp {
        Some(timestamp) => Ok(Some(timestamp)),
        None => Err(table.report(
            value.span(),
            format!(
                "timestamp must be a date and time with an offset, such as 2024-05-01T12:00:00Z, \
                 or text with {{placeholders}}, got {}",
                describe(value.get_ref())
            ),
        )),
    }
}

/// RFC 3339 text of a TOML datetime, which needs all three parts (a local date or time has no
/// place on a timeline).
fn rfc3339(datetime: Datetime) -> Option<String> {
    (datetime.date.is_some() && datetime.time.is_some() && datetime.offset.is_some())
        .then(|| datetime.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Event, Vec<Problem>> {
        parse_event(Path::new("events/test.toml"), text)
    }

    /// The problems of a bad file, as `LINE:COL: message`.
    fn problems(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(event) => panic!("expected problems, got {event:?}"),
            Err(problems) => problems
                .iter()
                .map(|p| {
                    assert_eq!(p.file, Path::new("events/test.toml"));
                    format!("{}:{}: {}", p.line, p.col, p.message)
                })
                .collect(),
        }
    }

    fn t(text: &str) -> Template {
        Template::new(text)
    }

    #[test]
    fn the_contract_example() {
        let event = parse(
            r##"
id = "deploy-4f9c2a7b"      # the {event_id} of the webhook URL
name = "Deploy finished"    # free text
server = "123456789012345678"
enabled = true

[[actions]]
type = "send_message"
channel = "#deploys"
content = "{service} {version} is live, deployed by {user}"

[[actions]]
type = "add_role"
user = "{user_id}"
role = "Deployer"
"##,
        )
        .unwrap();
        assert_eq!(event.id, "deploy-4f9c2a7b");
        assert_eq!(event.name, "Deploy finished");
        assert_eq!(event.server, 123456789012345678);
        assert!(event.enabled);
        assert_eq!(event.file, "events/test.toml");
        let kinds: Vec<&ActionKind> = event.actions.iter().map(|a| &a.kind).collect();
        assert_eq!(
            kinds,
            [
                &ActionKind::SendMessage {
                    channel: t("#deploys"),
                    message: MessageSpec {
                        content: Some(t("{service} {version} is live, deployed by {user}")),
                        ..MessageSpec::default()
                    },
                    reply_to: None,
                    tts: false,
                },
                &ActionKind::AddRole {
                    user: t("{user_id}"),
                    role: t("Deployer"),
                    reason: None,
                },
            ]
        );
    }

    #[test]
    fn defaults_of_the_optional_keys() {
        let event = parse("id = \"a\"\nserver = 1\n").unwrap();
        assert_eq!(event.name, "a");
        assert!(event.enabled);
        assert!(event.actions.is_empty());
        assert_eq!(event.server, 1);
    }

    #[test]
    fn every_field() {
        let event = parse(
            r##"
id = "every_field-1"
name = "Every field"
server = 123456789012345678
enabled = false

[[actions]]
type = "send_message"
channel = 987654321
content = "hello {user}"
allowed_mentions = ["users", "roles", "everyone"]

[[actions.embeds]]
title = "{service} is live"
description = "Deployed"
url = "https://example.com/{run}"
color = "#2ecc71"
timestamp = 2024-05-01T12:00:00Z
footer = { text = "footer {x}", icon_url = "https://example.com/f.png" }
author = { name = "Bot", url = "https://example.com", icon_url = "https://example.com/a.png" }
image = { url = "https://example.com/i.png" }
thumbnail = { url = "https://example.com/t.png" }
fields = [
  { name = "Service", value = "{service}", inline = true },
  { name = "Version", value = "{version}" },
]

[[actions.embeds]]
description = "second"
color = 255
timestamp = "{now}"

[[actions.embeds]]
title = "third"
color = "{color}"
timestamp = "2024-05-01 13:00:00+02:00"

[[actions]]
type = "send_dm"
user = "{user_id}"
embeds = [{ title = "dm" }]

[[actions]]
type = "remove_role"
user = 42
role = "{role}"
"##,
        )
        .unwrap();
        assert!(!event.enabled);
        assert_eq!(event.actions.len(), 3);
        let first_embed = EmbedSpec {
            title: Some(t("{service} is live")),
            description: Some(t("Deployed")),
            url: Some(t("https://example.com/{run}")),
            color: Some(ColorSpec::Fixed(0x2ecc71)),
            timestamp: Some(t("2024-05-01T12:00:00Z")),
            footer: Some(EmbedFooterSpec {
                text: t("footer {x}"),
                icon_url: Some(t("https://example.com/f.png")),
            }),
            author: Some(EmbedAuthorSpec {
                name: t("Bot"),
                url: Some(t("https://example.com")),
                icon_url: Some(t("https://example.com/a.png")),
            }),
            image: Some(t("https://example.com/i.png")),
            thumbnail: Some(t("https://example.com/t.png")),
            fields: vec![
                EmbedFieldSpec {
                    name: t("Service"),
                    value: t("{service}"),
                    inline: true,
                },
                EmbedFieldSpec {
                    name: t("Version"),
                    value: t("{version}"),
                    inline: false,
                },
            ],
        };
        let second_embed = EmbedSpec {
            description: Some(t("second")),
            color: Some(ColorSpec::Fixed(255)),
            timestamp: Some(t("{now}")),
            ..EmbedSpec::default()
        };
        let third_embed = EmbedSpec {
            title: Some(t("third")),
            color: Some(ColorSpec::Template(t("{color}"))),
            timestamp: Some(t("2024-05-01T13:00:00+02:00")),
            ..EmbedSpec::default()
        };
        assert_eq!(
            event.actions[0].kind,
            ActionKind::SendMessage {
                reply_to: None,
                tts: false,
                channel: t("987654321"),
                message: MessageSpec {
                    content: Some(t("hello {user}")),
                    embeds: vec![first_embed, second_embed, third_embed],
                    allowed_mentions: AllowedMentions {
                        users: true,
                        roles: true,
                        everyone: true,
                    },
                },
            }
        );
        assert_eq!(
            event.actions[1].kind,
            ActionKind::SendDm {
                user: t("{user_id}"),
                message: MessageSpec {
                    embeds: vec![EmbedSpec {
                        title: Some(t("dm")),
                        ..EmbedSpec::default()
                    }],
                    ..MessageSpec::default()
                },
            }
        );
        assert_eq!(
            event.actions[2].kind,
            ActionKind::RemoveRole {
                user: t("42"),
                role: t("{role}"),
                reason: None,
            }
        );
    }

    #[test]
    fn many_problems_in_one_file_each_at_its_place() {
        let text = r##"id = "bad id!"
server = "abc"
enabled = "yes"
colour = 1

[[actions]]
type = "send_message"
chanel = "#x"
content = 5

[[actions]]
type = "send_mesage"

[[actions]]
type = "add_role"
user = ""

[[actions]]
type = "send_dm"
user = "{user_id}"
allowed_mentions = ["users", "here"]
"##;
        assert_eq!(
            problems(text),
            [
                r#"1:6: id must be 1-64 of A-Z a-z 0-9 _ -, got "bad id!""#,
                r#"2:10: server must be a Discord server id (digits), got "abc""#,
                r#"3:11: enabled must be true or false, got "yes""#,
                r#"4:1: unknown key "colour" in event file; expected one of: id, name, server, enabled, actions"#,
                r#"6:1: missing required key "channel" in send_message action"#,
                r#"8:1: unknown key "chanel" in send_message action; expected one of: channel, content, embeds, allowed_mentions"#,
                r#"9:11: content must be a string, got 5"#,
                r#"12:8: unknown action type "send_mesage"; expected one of: send_message, send_dm, add_role, remove_role"#,
                r#"14:1: missing required key "role" in add_role action"#,
                r#"16:8: user must be a user id or text that renders to one, got """#,
                r#"18:1: send_dm needs content or embeds"#,
                r#"21:30: unknown allowed_mentions entry "here"; expected one of: users, roles, everyone"#,
            ]
        );
    }

    #[test]
    fn missing_id_and_server_are_reported_at_the_file_start() {
        assert_eq!(
            problems("name = \"x\"\n"),
            [
                r#"1:1: missing required key "id" in event file"#,
                r#"1:1: missing required key "server" in event file"#,
            ]
        );
    }

    #[test]
    fn server_ids() {
        for bad in [
            "\"0\"",
            "0",
            "-5",
            "\"18446744073709551616\"",
            "\" 12\"",
            "1.5",
            "\"\"",
        ] {
            let text = format!("id = \"a\"\nserver = {bad}\n");
            assert_eq!(
                problems(&text),
                [format!(
                    "2:10: server must be a Discord server id (digits), got {bad}"
                )],
                "{bad}"
            );
        }
        let text = "id = \"a\"\nserver = \"18446744073709551615\"\n";
        assert_eq!(parse(text).unwrap().server, u64::MAX);
    }

    #[test]
    fn ids() {
        let long = "x".repeat(65);
        assert!(is_valid_event_id(&"x".repeat(64)));
        for bad in ["", "a b", "é", "a/b", long.as_str()] {
            assert!(!is_valid_event_id(bad), "{bad}");
        }
        assert_eq!(
            problems("id = 7\nserver = 1\n"),
            ["1:6: id must be 1-64 of A-Z a-z 0-9 _ -, got 7"]
        );
    }

    #[test]
    fn bad_types_of_the_top_level_keys() {
        assert_eq!(
            problems("id = \"a\"\nserver = 1\nname = \"\"\nactions = \"none\"\n"),
            [
                r#"3:8: name must not be empty (leave it out to use the id)"#,
                r#"4:11: actions must be an array, got "none""#,
            ]
        );
        assert_eq!(
            problems("id = \"a\"\nserver = 1\nactions = [1]\n"),
            ["3:12: actions[0] must be a table, got 1"]
        );
    }

    #[test]
    fn action_types() {
        assert_eq!(
            problems("id = \"a\"\nserver = 1\n[[actions]]\nchannel = \"#x\"\n"),
            [
                r#"3:1: missing required key "type" in action; it is one of: send_message, send_dm, add_role, remove_role"#
            ]
        );
        assert_eq!(
            problems("id = \"a\"\nserver = 1\n[[actions]]\ntype = 1\n"),
            ["4:8: type must be one of: send_message, send_dm, add_role, remove_role, got 1"]
        );
    }

    #[test]
    fn message_limits() {
        let long = "x".repeat(MAX_CONTENT_CHARS + 1);
        let text = format!(
            "id = \"a\"\nserver = 1\n[[actions]]\ntype = \"send_message\"\nchannel = \"#x\"\ncontent = \"{long}\"\n"
        );
        assert_eq!(
            problems(&text),
            ["6:11: content is 2001 characters long; Discord allows at most 2000"]
        );
        // With a placeholder the length is judged after rendering.
        let text = text.replace(&long, &format!("{long}{{x}}"));
        assert!(parse(&text).is_ok());

        let at_limit = "é".repeat(MAX_CONTENT_CHARS);
        let text = format!(
            "id = \"a\"\nserver = 1\n[[actions]]\ntype = \"send_message\"\nchannel = \"#x\"\ncontent = \"{at_limit}\"\n"
        );
        assert!(parse(&text).is_ok());

        let embeds = ["{ title = \"t\" }"; 11].join(", ");
        let text = format!(
            "id = \"a\"\nserver = 1\n[[actions]]\ntype = \"send_message\"\nchannel = \"#x\"\nembeds = [{embeds}]\n"
        );
        assert_eq!(
            problems(&text),
            ["6:10: embeds has 11 embeds; Discord allows at most 10"]
        );

        let fields = ["{ name = \"n\", value = \"v\" }"; 26].join(", ");
        let text = format!(
            "id = \"a\"\nserver = 1\n[[actions]]\ntype = \"send_message\"\nchannel = \"#x\"\n[[actions.embeds]]\nfields = [{fields}]\n"
        );
        assert_eq!(
            problems(&text),
            ["7:10: fields has 26 fields; Discord allows at most 25"]
        );
    }

    #[test]
    fn needs_content_or_embeds() {
        let base =
            "id = \"a\"\nserver = 1\n[[actions]]\ntype = \"send_message\"\nchannel = \"#x\"\n";
        assert_eq!(
            problems(base),
            ["3:1: send_message needs content or embeds"]
        );
        assert_eq!(
            problems(&format!("{base}embeds = []\n")),
            ["3:1: send_message needs content or embeds"]
        );
        assert_eq!(
            problems(&format!("{base}content = \"\"\n")),
            ["6:11: content must not be empty"]
        );
    }

    #[test]
    fn embed_problems() {
        let text = r##"id = "a"
server = 1
[[actions]]
type = "send_message"
channel = "#x"

[[actions.embeds]]
color = "red"
titel = "x"

[[actions.embeds]]
title = "ok"
color = 16777216
timestamp = 2024-05-01
footer = { icon_url = "x" }
author = "me"
image = { link = "x" }
fields = [{ name = "n", value = "", inline = "yes" }, 3]

[[actions.embeds]]
description = "ok"
timestamp = "yesterday"
color = 1.5
"##;
        assert_eq!(
            problems(text),
            [
                r#"7:1: embed has nothing to show; give it at least one of: title, description, fields, author, footer, image, thumbnail, timestamp"#,
                r##"8:9: color must be an integer from 0 to 16777215 (0xFFFFFF), "#rrggbb" or text with {placeholders}, got "red""##,
                r#"9:1: unknown key "titel" in embed; expected one of: title, description, url, color, timestamp, footer, author, image, thumbnail, fields"#,
                r##"13:9: color must be an integer from 0 to 16777215 (0xFFFFFF), "#rrggbb" or text with {placeholders}, got 16777216"##,
                r#"14:13: timestamp must be a date and time with an offset, such as 2024-05-01T12:00:00Z, or text with {placeholders}, got 2024-05-01"#,
                r#"15:10: missing required key "text" in embed footer"#,
                r#"16:10: author must be a table, got "me""#,
                r#"17:9: missing required key "url" in embed image"#,
                r#"17:11: unknown key "link" in embed image; expected one of: url"#,
                r#"18:33: field.value must not be empty"#,
                r#"18:46: field.inline must be true or false, got "yes""#,
                r#"18:55: fields[1] must be a table, got 3"#,
                r#"22:13: timestamp must be a date and time with an offset, such as 2024-05-01T12:00:00Z, or text with {placeholders}, got "yesterday""#,
                r##"23:9: color must be an integer from 0 to 16777215 (0xFFFFFF), "#rrggbb" or text with {placeholders}, got 1.5"##,
            ]
        );
    }

    #[test]
    fn hex_colors() {
        assert_eq!(parse_hex_color("#2ecc71"), Some(0x2ecc71));
        assert_eq!(parse_hex_color("#FFFFFF"), Some(0xFFFFFF));
        for bad in ["2ecc71", "#2ecc7", "#2ecc711", "#gggggg", "#+12345"] {
            assert_eq!(parse_hex_color(bad), None, "{bad}");
        }
    }

    #[test]
    fn snowflakes() {
        assert_eq!(
            parse_snowflake("123456789012345678"),
            Some(123456789012345678)
        );
        for bad in ["", "0", "+1", "-1", "1 ", "abc", "18446744073709551616"] {
            assert_eq!(parse_snowflake(bad), None, "{bad}");
        }
    }

    #[test]
    fn syntax_error_is_reported_with_its_position() {
        assert_eq!(
            problems("id = \"a\"\nserver = \n"),
            ["2:10: TOML syntax error: string values must be quoted, expected literal string"]
        );
    }
}
