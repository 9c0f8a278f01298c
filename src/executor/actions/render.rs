//! Messages and embeds rendered into the JSON Discord takes, cut to Discord's limits with a
//! warning for each cut, never a failed send.

use serde_json::{json, Map, Value};
use serenity::all::{CreateAllowedMentions, Timestamp};

use crate::discord::CallError;
use crate::events::{
    AllowedMentions, ColorSpec, EmbedSpec, MessageSpec, MAX_AUTHOR_NAME_CHARS, MAX_CONTENT_CHARS,
    MAX_DESCRIPTION_CHARS, MAX_EMBEDS, MAX_EMBED_FIELDS, MAX_EMBED_TOTAL_CHARS,
    MAX_FIELD_NAME_CHARS, MAX_FIELD_VALUE_CHARS, MAX_FOOTER_TEXT_CHARS, MAX_TITLE_CHARS,
};
use crate::lang::templates::{Lookup, Template};

/// Explicit on every message: only the kinds the event's author listed may ping.
/// Ids listed by the event go as Discord's `users` / `roles` arrays: those alone may be pinged.
pub fn allowed_mentions(kinds: &AllowedMentions) -> CreateAllowedMentions {
    let mut allowed = CreateAllowedMentions::new()
        .all_users(kinds.users)
        .all_roles(kinds.roles)
        .everyone(kinds.everyone);
    if !kinds.user_ids.is_empty() {
        allowed = allowed.users(
            kinds
                .user_ids
                .iter()
                .map(|&id| serenity::all::UserId::new(id)),
        );
    }
    if !kinds.role_ids.is_empty() {
        allowed = allowed.roles(
            kinds
                .role_ids
                .iter()
                .map(|&id| serenity::all::RoleId::new(id)),
        );
    }
    allowed
}

/// A field's name or value that renders empty: Discord refuses empty ones.
const BLANK: &str = "\u{200b}";

/// A message ready to send: the parts of Discord's message body hookbot fills in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RenderedMessage {
    pub content: Option<String>,
    pub embeds: Vec<RenderedEmbed>,
    pub allowed_mentions: Value,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RenderedEmbed {
    pub title: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub color: Option<u32>,
    pub timestamp: Option<String>,
    pub footer: Option<(String, Option<String>)>,
    /// Name, url, icon url.
    pub author: Option<(String, Option<String>, Option<String>)>,
    pub image: Option<String>,
    pub thumbnail: Option<String>,
    /// Name, value, inline.
    pub fields: Vec<(String, String, bool)>,
}

/// Renders `spec`: empty texts are left out, long ones cut with a warning in `warnings`.
/// An embed with nothing left in it is dropped with a warning. Does not refuse an empty
/// message: a send and an edit treat that differently.
pub(crate) fn render_message(
    spec: &MessageSpec,
    vars: &impl Lookup,
    warnings: &mut Vec<String>,
) -> Result<RenderedMessage, CallError> {
    let content = spec
        .content
        .as_ref()
        .map(|c| c.render(vars))
        .filter(|c| !c.trim().is_empty())
        .map(|c| cut("content", c, MAX_CONTENT_CHARS, warnings));
    let mut embeds = Vec::new();
    for (index, embed) in spec.embeds.iter().enumerate() {
        let label = format!("embed {}", index + 1);
        let rendered = render_embed(embed, vars, &label, warnings)?;
        if rendered.is_empty() {
            warnings.push(format!(
                "{label} is empty after filling in the variables; it was left out"
            ));
        } else {
            embeds.push(rendered);
        }
    }
    if embeds.len() > MAX_EMBEDS {
        warnings.push(format!(
            "the message had {} embeds; only the first {MAX_EMBEDS} were sent",
            embeds.len()
        ));
        embeds.truncate(MAX_EMBEDS);
    }
    fit_embed_total(&mut embeds, warnings);
    let allowed_mentions = serde_json::to_value(allowed_mentions(&spec.allowed_mentions))
        .unwrap_or_else(|_| json!({ "parse": [] }));
    Ok(RenderedMessage {
        content,
        embeds,
        allowed_mentions,
    })
}

impl RenderedMessage {
    pub fn is_empty(&self) -> bool {
        self.content.is_none() && self.embeds.is_empty()
    }

    /// The body of `POST /channels/{id}/messages` (and, without `tts`, of an edit).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut body = Map::new();
        if let Some(content) = &self.content {
            body.insert("content".into(), json!(content));
        }
        if !self.embeds.is_empty() {
            let embeds: Vec<Value> = self.embeds.iter().map(RenderedEmbed::to_json).collect();
            body.insert("embeds".into(), Value::Array(embeds));
        }
        body.insert("allowed_mentions".into(), self.allowed_mentions.clone());
        body
    }

    /// `"text" + 1 embed "title"`, for summaries.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(content) = &self.content {
            parts.push(quote(content, 80));
        }
        match self.embeds.len() {
            0 => {}
            n => {
                let mut text = if n == 1 {
                    "1 embed".to_owned()
                } else {
                    format!("{n} embeds")
                };
                if let Some(title) = self.embeds.iter().find_map(|e| e.title.as_ref()) {
                    text.push(' ');
                    text.push_str(&quote(title, 60));
                }
                parts.push(text);
            }
        }
        parts.join(" + ")
    }
}

impl RenderedEmbed {
    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.footer.is_none()
            && self.author.is_none()
            && self.image.is_none()
            && self.thumbnail.is_none()
            && self.fields.is_empty()
    }

    /// The characters Discord counts toward the 6000 of a message's embeds.
    pub fn text_chars(&self) -> usize {
        let count = |s: &Option<String>| s.as_ref().map_or(0, |s| s.chars().count());
        count(&self.title)
            + count(&self.description)
            + self.footer.as_ref().map_or(0, |f| f.0.chars().count())
            + self.author.as_ref().map_or(0, |a| a.0.chars().count())
            + self
                .fields
                .iter()
                .map(|(n, v, _)| n.chars().count() + v.chars().count())
                .sum::<usize>()
    }

    pub fn to_json(&self) -> Value {
        let mut embed = Map::new();
        let mut put = |key: &str, value: Value| {
            embed.insert(key.to_owned(), value);
        };
        if let Some(title) = &self.title {
            put("title", json!(title));
        }
        if let Some(description) = &self.description {
            put("description", json!(description));
        }
        if let Some(url) = &self.url {
            put("url", json!(url));
        }
        if let Some(color) = self.color {
            put("color", json!(color));
        }
        if let Some(timestamp) = &self.timestamp {
            put("timestamp", json!(timestamp));
        }
        if let Some((text, icon)) = &self.footer {
            let mut footer = json!({ "text": text });
            if let Some(icon) = icon {
                footer["icon_url"] = json!(icon);
            }
            put("footer", footer);
        }
        if let Some((name, url, icon)) = &self.author {
            let mut author = json!({ "name": name });
            if let Some(url) = url {
                author["url"] = json!(url);
            }
            if let Some(icon) = icon {
                author["icon_url"] = json!(icon);
            }
            put("author", author);
        }
        if let Some(image) = &self.image {
            put("image", json!({ "url": image }));
        }
        if let Some(thumbnail) = &self.thumbnail {
            put("thumbnail", json!({ "url": thumbnail }));
        }
        if !self.fields.is_empty() {
            let fields: Vec<Value> = self
                .fields
                .iter()
                .map(
                    |(name, value, inline)| json!({"name": name, "value": value, "inline": inline}),
                )
                .collect();
            put("fields", Value::Array(fields));
        }
        Value::Object(embed)
    }
}

fn render_embed(
    spec: &EmbedSpec,
    vars: &impl Lookup,
    label: &str,
    warnings: &mut Vec<String>,
) -> Result<RenderedEmbed, CallError> {
    let text = |t: &Option<Template>| {
        t.as_ref()
            .map(|t| t.render(vars))
            .filter(|s| !s.trim().is_empty())
    };
    let link = |t: &Option<Template>, what: &str| -> Result<Option<String>, CallError> {
        match text(t) {
            Some(url) => check_url(url.trim(), &format!("{label} {what}")).map(Some),
            None => Ok(None),
        }
    };
    let mut embed = RenderedEmbed {
        title: text(&spec.title)
            .map(|t| cut(&format!("{label} title"), t, MAX_TITLE_CHARS, warnings)),
        description: text(&spec.description).map(|t| {
            cut(
                &format!("{label} description"),
                t,
                MAX_DESCRIPTION_CHARS,
                warnings,
            )
        }),
        url: link(&spec.url, "url")?,
        color: spec
            .color
            .as_ref()
            .map(|c| render_color(c, vars))
            .transpose()?,
        image: link(&spec.image, "image")?,
        thumbnail: link(&spec.thumbnail, "thumbnail")?,
        ..RenderedEmbed::default()
    };
    if let Some(timestamp) = text(&spec.timestamp) {
        let parsed = Timestamp::parse(timestamp.trim()).map_err(|_| {
            CallError::Invalid(format!(
                "{label} timestamp {timestamp:?} is not an RFC 3339 date such as 2024-05-01T12:00:00Z"
            ))
        })?;
        embed.timestamp = Some(parsed.to_string());
    }
    if let Some(footer) = &spec.footer {
        if let Some(footer_text) = text(&Some(footer.text.clone())) {
            let footer_text = cut(
                &format!("{label} footer"),
                footer_text,
                MAX_FOOTER_TEXT_CHARS,
                warnings,
            );
            embed.footer = Some((footer_text, link(&footer.icon_url, "footer icon")?));
        }
    }
    if let Some(author) = &spec.author {
        if let Some(name) = text(&Some(author.name.clone())) {
            let name = cut(
                &format!("{label} author"),
                name,
                MAX_AUTHOR_NAME_CHARS,
                warnings,
            );
            embed.author = Some((
                name,
                link(&author.url, "author url")?,
                link(&author.icon_url, "author icon")?,
            ));
        }
    }
    for (index, field) in spec.fields.iter().enumerate() {
        let field_label = format!("{label} field {}", index + 1);
        let name = field.name.render(vars);
        let value = field.value.render(vars);
        if name.trim().is_empty() && value.trim().is_empty() {
            continue;
        }
        let blank_or = |s: String| {
            if s.trim().is_empty() {
                BLANK.to_owned()
            } else {
                s
            }
        };
        let name = cut(
            &format!("{field_label} name"),
            blank_or(name),
            MAX_FIELD_NAME_CHARS,
            warnings,
        );
        let value = cut(
            &format!("{field_label} value"),
            blank_or(value),
            MAX_FIELD_VALUE_CHARS,
            warnings,
        );
        embed.fields.push((name, value, field.inline));
    }
    if embed.fields.len() > MAX_EMBED_FIELDS {
        warnings.push(format!(
            "{label} had {} fields; only the first {MAX_EMBED_FIELDS} were sent",
            embed.fields.len()
        ));
        embed.fields.truncate(MAX_EMBED_FIELDS);
    }
    Ok(embed)
}

/// Keeps the embeds' text within [`MAX_EMBED_TOTAL_CHARS`], cutting the longest texts first:
/// descriptions, then field values, then footers, from the last embed back.
pub(crate) fn fit_embed_total(embeds: &mut [RenderedEmbed], warnings: &mut Vec<String>) {
    let total: usize = embeds.iter().map(RenderedEmbed::text_chars).sum();
    if total <= MAX_EMBED_TOTAL_CHARS {
        return;
    }
    let mut excess = total - MAX_EMBED_TOTAL_CHARS;
    // Each pass shortens one kind of text; a text is never cut below 1 character plus `…`.
    let shorten = |text: &mut String, excess: &mut usize| {
        let chars = text.chars().count();
        if *excess == 0 || chars <= 2 {
            return;
        }
        let keep = chars.saturating_sub(*excess).max(2);
        let removed = chars - keep;
        *text = truncate(text, keep);
        *excess -= removed;
    };
    for embed in embeds.iter_mut().rev() {
        if let Some(description) = embed.description.as_mut() {
            shorten(description, &mut excess);
        }
    }
    for embed in embeds.iter_mut().rev() {
        for (_, value, _) in embed.fields.iter_mut().rev() {
            shorten(value, &mut excess);
        }
    }
    for embed in embeds.iter_mut().rev() {
        if let Some((text, _)) = embed.footer.as_mut() {
            shorten(text, &mut excess);
        }
    }
    for embed in embeds.iter_mut().rev() {
        for (name, _, _) in embed.fields.iter_mut().rev() {
            shorten(name, &mut excess);
        }
        if let Some(title) = embed.title.as_mut() {
            shorten(title, &mut excess);
        }
        if let Some((name, _, _)) = embed.author.as_mut() {
            shorten(name, &mut excess);
        }
    }
    warnings.push(format!(
        "the embeds had {total} characters of text together; cut to {MAX_EMBED_TOTAL_CHARS}"
    ));
}

/// `#rrggbb` or a decimal integer, after rendering.
pub(crate) fn render_color(color: &ColorSpec, vars: &impl Lookup) -> Result<u32, CallError> {
    let text = match color {
        ColorSpec::Fixed(value) => return Ok(*value),
        ColorSpec::Template(t) => t.render(vars),
    };
    let trimmed = text.trim();
    let parsed = match trimmed.strip_prefix('#') {
        Some(_) => crate::events::parse_hex_color(trimmed),
        None => trimmed.parse::<u32>().ok().filter(|v| *v <= 0xFF_FFFF),
    };
    parsed.ok_or_else(|| {
        CallError::Invalid(format!(
            "color {text:?} is neither #rrggbb nor an integer up to 16777215"
        ))
    })
}

/// An http(s) link (or an `attachment://` name), as Discord accepts in embeds.
fn check_url(url: &str, what: &str) -> Result<String, CallError> {
    let ok = ["https://", "http://", "attachment://"]
        .iter()
        .any(|scheme| url.len() > scheme.len() && url.to_ascii_lowercase().starts_with(scheme))
        && !url.chars().any(char::is_whitespace);
    if ok {
        Ok(url.to_owned())
    } else {
        Err(CallError::Invalid(format!(
            "{what} {url:?} is not an http:// or https:// link"
        )))
    }
}

/// `text` cut to `max` characters with a warning naming `what` when it was longer.
pub(crate) fn cut(what: &str, text: String, max: usize, warnings: &mut Vec<String>) -> String {
    let chars = text.chars().count();
    if chars <= max {
        return text;
    }
    warnings.push(format!("{what} was {chars} characters; cut to {max}"));
    truncate(&text, max)
}

/// Cuts `text` to `max` characters, the last one an ellipsis, so a long value never fails a send.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `"text"` for a summary, shortened to `max` characters, on one line.
pub(crate) fn quote(text: &str, max: usize) -> String {
    let one_line = text.replace('\n', " ⏎ ");
    format!("\"{}\"", truncate(&one_line, max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EmbedFieldSpec, EmbedFooterSpec};
    use crate::lang::templates::Variables;

    fn t(s: &str) -> Option<Template> {
        Some(Template::new(s))
    }

    #[test]
    fn colors_render_from_hex_or_integer() {
        let mut vars = Variables::new();
        vars.insert("c", "#ff8800");
        let t = |s: &str| ColorSpec::Template(Template::new(s));
        assert_eq!(render_color(&t("{c}"), &vars), Ok(0xff8800));
        assert_eq!(render_color(&t("255"), &vars), Ok(255));
        assert_eq!(render_color(&ColorSpec::Fixed(7), &vars), Ok(7));
        assert!(render_color(&t("#12"), &vars).is_err());
        assert!(render_color(&t("red"), &vars).is_err());
        assert!(render_color(&t("16777216"), &vars).is_err());
    }

    #[test]
    fn truncation_keeps_the_limit_in_characters() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        let long = "é".repeat(2500);
        assert_eq!(
            truncate(&long, MAX_CONTENT_CHARS).chars().count(),
            MAX_CONTENT_CHARS
        );
    }

    #[test]
    fn long_content_is_cut_with_a_warning() {
        let mut vars = Variables::new();
        vars.insert("log", "x".repeat(2345));
        let spec = MessageSpec {
            content: t("{log}"),
            ..MessageSpec::default()
        };
        let mut warnings = Vec::new();
        let message = render_message(&spec, &vars, &mut warnings).unwrap();
        let content = message.content.unwrap();
        assert_eq!(content.chars().count(), 2000);
        assert!(content.ends_with('…'));
        assert_eq!(warnings, vec!["content was 2345 characters; cut to 2000"]);
    }

    #[test]
    fn every_embed_text_is_cut_to_its_own_limit() {
        let mut vars = Variables::new();
        vars.insert("long", "y".repeat(5000));
        let spec = MessageSpec {
            embeds: vec![EmbedSpec {
                title: t("{long}"),
                footer: Some(EmbedFooterSpec {
                    text: Template::new("{long}"),
                    icon_url: None,
                }),
                fields: vec![EmbedFieldSpec {
                    name: Template::new("{long}"),
                    value: Template::new("{long}"),
                    inline: false,
                }],
                ..EmbedSpec::default()
            }],
            ..MessageSpec::default()
        };
        let mut warnings = Vec::new();
        let message = render_message(&spec, &vars, &mut warnings).unwrap();
        let embed = &message.embeds[0];
        assert_eq!(embed.title.as_ref().unwrap().chars().count(), 256);
        assert_eq!(embed.fields[0].0.chars().count(), 256);
        assert!(embed.text_chars() <= MAX_EMBED_TOTAL_CHARS);
        assert!(warnings.contains(&"embed 1 title was 5000 characters; cut to 256".to_owned()));
        assert!(
            warnings.contains(&"embed 1 field 1 value was 5000 characters; cut to 1024".to_owned())
        );
        assert!(warnings.contains(&"embed 1 footer was 5000 characters; cut to 2048".to_owned()));
    }

    #[test]
    fn the_embeds_together_stay_within_6000_characters() {
        let mut embeds: Vec<RenderedEmbed> = (0..3)
            .map(|_| RenderedEmbed {
                title: Some("t".repeat(200)),
                description: Some("d".repeat(4000)),
                ..RenderedEmbed::default()
            })
            .collect();
        let mut warnings = Vec::new();
        fit_embed_total(&mut embeds, &mut warnings);
        let total: usize = embeds.iter().map(RenderedEmbed::text_chars).sum();
        assert_eq!(total, MAX_EMBED_TOTAL_CHARS);
        assert_eq!(
            warnings,
            vec!["the embeds had 12600 characters of text together; cut to 6000"]
        );
        // The first embed's description is cut last.
        assert_eq!(
            embeds[0].description.as_ref().unwrap().chars().count(),
            4000
        );
        assert!(embeds[2].description.as_ref().unwrap().ends_with('…'));

        let mut small = vec![RenderedEmbed {
            title: Some("ok".into()),
            ..RenderedEmbed::default()
        }];
        let mut none = Vec::new();
        fit_embed_total(&mut small, &mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn empty_parts_are_left_out_and_bad_links_refused() {
        let mut vars = Variables::new();
        vars.insert("nothing", " ");
        let spec = MessageSpec {
            content: t("{nothing}"),
            embeds: vec![EmbedSpec {
                title: t("{nothing}"),
                ..EmbedSpec::default()
            }],
            ..MessageSpec::default()
        };
        let mut warnings = Vec::new();
        let message = render_message(&spec, &vars, &mut warnings).unwrap();
        assert!(message.is_empty());
        assert_eq!(
            warnings,
            vec!["embed 1 is empty after filling in the variables; it was left out"]
        );

        let spec = MessageSpec {
            embeds: vec![EmbedSpec {
                title: t("x"),
                url: t("javascript:alert(1)"),
                ..EmbedSpec::default()
            }],
            ..MessageSpec::default()
        };
        let error = render_message(&spec, &vars, &mut Vec::new()).unwrap_err();
        assert!(error.to_string().contains("embed 1 url"), "{error}");
    }

    #[test]
    fn message_json_and_description() {
        let spec = MessageSpec {
            content: t("Deployed"),
            embeds: vec![EmbedSpec {
                title: t("billing 2.4.1"),
                color: Some(ColorSpec::Fixed(0x00ff00)),
                timestamp: t("2024-05-01T12:00:00Z"),
                ..EmbedSpec::default()
            }],
            ..MessageSpec::default()
        };
        let message = render_message(&spec, &Variables::new(), &mut Vec::new()).unwrap();
        let body = Value::Object(message.to_json());
        assert_eq!(body["content"], "Deployed");
        assert_eq!(body["embeds"][0]["title"], "billing 2.4.1");
        assert_eq!(body["embeds"][0]["color"], 0x00ff00);
        assert_eq!(body["allowed_mentions"]["parse"], json!([]));
        assert!(Timestamp::parse(body["embeds"][0]["timestamp"].as_str().unwrap()).is_ok());
        assert_eq!(
            message.describe(),
            "\"Deployed\" + 1 embed \"billing 2.4.1\""
        );
    }

    #[test]
    fn allowed_mentions_are_explicit_and_empty_by_default() {
        let json = serde_json::to_value(allowed_mentions(&AllowedMentions::default())).unwrap();
        assert_eq!(json["parse"], serde_json::json!([]));
        let json = serde_json::to_value(allowed_mentions(&AllowedMentions {
            users: true,
            everyone: true,
            ..AllowedMentions::default()
        }))
        .unwrap();
        assert_eq!(json["parse"], serde_json::json!(["users", "everyone"]));
        // Listed ids go as Discord's arrays: those alone may be pinged.
        let json = serde_json::to_value(allowed_mentions(&AllowedMentions {
            role_ids: vec![223456789012345678],
            user_ids: vec![5],
            ..AllowedMentions::default()
        }))
        .unwrap();
        assert_eq!(json["parse"], serde_json::json!([]));
        assert_eq!(json["roles"], serde_json::json!(["223456789012345678"]));
        assert_eq!(json["users"], serde_json::json!(["5"]));
    }
}
