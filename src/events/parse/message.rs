//! `content`, `embeds` and `allowed_mentions` of the message actions.

use toml::de::DeValue;
use toml::value::Datetime;

use super::ctx::Ctx;
use super::fields::{
    check_count, optional_text, parse_snowflake, read_color, read_list, required_text,
};
use super::limits::*;
use crate::events::message::{
    AllowedMentions, EmbedAuthorSpec, EmbedFieldSpec, EmbedFooterSpec, EmbedSpec, MessageSpec,
};
use crate::lang::templates::Template;
use crate::problem::{describe, Checked, TableReader};

/// The `allowed_mentions` entries, as Discord names its `parse` values.
pub const MENTION_KINDS: [&str; 3] = ["users", "roles", "everyone"];

/// Discord takes at most 100 ids in each of `allowed_mentions.users` and `.roles`.
pub const MAX_MENTION_IDS: usize = 100;

/// `content`, `embeds` and `allowed_mentions` of a `send_message` or `send_dm`.
pub(super) fn read_message(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    kind: &str,
) -> Checked<MessageSpec> {
    let content = optional_text(ctx, table, "content", MAX_CONTENT_CHARS);
    let embeds = read_embeds(ctx, table);
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

fn read_embeds(ctx: &Ctx<'_, '_>, table: &mut TableReader<'_, '_>) -> Checked<Vec<EmbedSpec>> {
    let embeds =
        read_list(table, "embeds", "embed", |embed| read_embed(ctx, embed))?.unwrap_or_default();
    check_count(table, "embeds", "embeds", embeds.len(), MAX_EMBEDS)?;
    let total: usize = embeds.iter().map(static_embed_chars).sum();
    if total > MAX_EMBED_TOTAL_CHARS {
        if let Some(list) = table.optional("embeds") {
            return Err(table.report(
                list.span(),
                format!(
                    "embeds have {total} characters of text together; Discord allows at most \
                     {MAX_EMBED_TOTAL_CHARS}"
                ),
            ));
        }
    }
    Ok(embeds)
}

/// The characters of an embed's fixed texts that count toward Discord's total: title,
/// description, field names and values, footer text and author name.
fn static_embed_chars(embed: &EmbedSpec) -> usize {
    let texts = [&embed.title, &embed.description]
        .into_iter()
        .flatten()
        .chain(embed.footer.as_ref().map(|footer| &footer.text))
        .chain(embed.author.as_ref().map(|author| &author.name))
        .chain(
            embed
                .fields
                .iter()
                .flat_map(|field| [&field.name, &field.value]),
        );
    texts
        .filter(|text| text.is_static())
        .map(|text| text.as_str().chars().count())
        .sum()
}

fn read_allowed_mentions(table: &mut TableReader<'_, '_>) -> Checked<AllowedMentions> {
    let mut allowed = AllowedMentions::default();
    if let Some(value) = table.optional("allowed_mentions") {
        if matches!(value.get_ref(), DeValue::Table(_)) {
            return read_mentions_by_id(table, allowed);
        }
    }
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

/// `allowed_mentions = { users = ["…"], roles = ["…"], everyone = false }`: only the listed
/// users and roles may be pinged. Each id is checked here, with its position.
fn read_mentions_by_id(
    table: &mut TableReader<'_, '_>,
    mut allowed: AllowedMentions,
) -> Checked<AllowedMentions> {
    let Some(mut mentions) = table.optional_table("allowed_mentions", "allowed_mentions")? else {
        return Ok(allowed);
    };
    let mut outcome = Ok(());
    for key in ["users", "roles"] {
        let ids = match mentions.optional_array(key) {
            Ok(Some(ids)) => ids,
            Ok(None) => continue,
            Err(reported) => {
                outcome = Err(reported);
                continue;
            }
        };
        if ids.get_ref().len() > MAX_MENTION_IDS {
            outcome = Err(mentions.report(
                ids.span(),
                format!("allowed_mentions.{key} lists more than {MAX_MENTION_IDS} ids (Discord's limit)"),
            ));
        }
        for entry in ids.get_ref().iter() {
            match entry.get_ref() {
                DeValue::String(text) if parse_snowflake(text).is_some() => {
                    let id = parse_snowflake(text).unwrap_or_default();
                    match key {
                        "users" => allowed.user_ids.push(id),
                        _ => allowed.role_ids.push(id),
                    }
                }
                other => {
                    outcome = Err(mentions.report(
                        entry.span(),
                        format!(
                            "allowed_mentions.{key} takes ids in quotes, like \"223456789012345678\"; {} is not one",
                            describe(other)
                        ),
                    ));
                }
            }
        }
    }
    match mentions.optional_bool("everyone") {
        Ok(everyone) => allowed.everyone = everyone.unwrap_or(false),
        Err(reported) => outcome = Err(reported),
    }
    mentions.finish();
    outcome.map(|()| allowed)
}

fn read_embed(ctx: &Ctx<'_, '_>, mut table: TableReader<'_, '_>) -> Checked<EmbedSpec> {
    let title = optional_text(ctx, &mut table, "title", MAX_TITLE_CHARS);
    let description = optional_text(ctx, &mut table, "description", MAX_DESCRIPTION_CHARS);
    let url = optional_text(ctx, &mut table, "url", usize::MAX);
    let color = read_color(ctx, &mut table);
    let timestamp = read_timestamp(ctx, &mut table);
    let footer = read_footer(ctx, &mut table);
    let author = read_author(ctx, &mut table);
    let image = read_url_table(ctx, &mut table, "image");
    let thumbnail = read_url_table(ctx, &mut table, "thumbnail");
    let fields = read_fields(ctx, &mut table);
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

fn read_footer(
    ctx: &Ctx<'_, '_>,
    embed: &mut TableReader<'_, '_>,
) -> Checked<Option<EmbedFooterSpec>> {
    let Some(mut table) = embed_part(embed, "footer")? else {
        return Ok(None);
    };
    let text = required_text(ctx, &mut table, "text", MAX_FOOTER_TEXT_CHARS);
    let icon_url = optional_text(ctx, &mut table, "icon_url", usize::MAX);
    table.finish();
    Ok(Some(EmbedFooterSpec {
        text: text?,
        icon_url: icon_url?,
    }))
}

fn read_author(
    ctx: &Ctx<'_, '_>,
    embed: &mut TableReader<'_, '_>,
) -> Checked<Option<EmbedAuthorSpec>> {
    let Some(mut table) = embed_part(embed, "author")? else {
        return Ok(None);
    };
    let name = required_text(ctx, &mut table, "name", MAX_AUTHOR_NAME_CHARS);
    let url = optional_text(ctx, &mut table, "url", usize::MAX);
    let icon_url = optional_text(ctx, &mut table, "icon_url", usize::MAX);
    table.finish();
    Ok(Some(EmbedAuthorSpec {
        name: name?,
        url: url?,
        icon_url: icon_url?,
    }))
}

/// `image = { url }` or `thumbnail = { url }`.
fn read_url_table(
    ctx: &Ctx<'_, '_>,
    embed: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Checked<Option<Template>> {
    let Some(mut table) = embed_part(embed, key)? else {
        return Ok(None);
    };
    let url = required_text(ctx, &mut table, "url", usize::MAX);
    table.finish();
    url.map(Some)
}

fn read_fields(ctx: &Ctx<'_, '_>, embed: &mut TableReader<'_, '_>) -> Checked<Vec<EmbedFieldSpec>> {
    let fields = read_list(embed, "fields", "embed field", |field| {
        read_field(ctx, field)
    })?
    .unwrap_or_default();
    check_count(embed, "fields", "fields", fields.len(), MAX_EMBED_FIELDS)?;
    Ok(fields)
}

fn read_field(ctx: &Ctx<'_, '_>, table: TableReader<'_, '_>) -> Checked<EmbedFieldSpec> {
    let mut table = table.with_key_prefix("field.");
    let name = required_text(ctx, &mut table, "name", MAX_FIELD_NAME_CHARS);
    let value = required_text(ctx, &mut table, "value", MAX_FIELD_VALUE_CHARS);
    let inline = table.optional_bool("inline");
    table.finish();
    Ok(EmbedFieldSpec {
        name: name?,
        value: value?,
        inline: inline?.unwrap_or(false),
    })
}

/// A string (a template, or a fixed RFC 3339 date and time) or a TOML offset date-time.
fn read_timestamp(ctx: &Ctx<'_, '_>, table: &mut TableReader<'_, '_>) -> Checked<Option<Template>> {
    let Some(value) = table.optional("timestamp") else {
        return Ok(None);
    };
    let timestamp = match value.get_ref() {
        DeValue::String(text) => {
            let template = ctx.template(text, value.span());
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
