//! One function per action type, against serenity's Http and cache.

use serde_json::{json, Map, Value};
use serenity::all::{
    Colour, CreateAllowedMentions, CreateEmbed, CreateEmbedAuthor, CreateEmbedFooter,
    CreateMessage, GuildId, Timestamp,
};

use crate::discord::{CallError, Discord};
use crate::events::{
    Action, ActionKind, AllowedMentions, ColorSpec, EmbedSpec, MessageSpec, MAX_CONTENT_CHARS,
};
use crate::run::ActionOutcome;
use crate::templates::{Lookup, Template};

/// Carries out one action in `guild` with `vars` filled in.
pub async fn execute(
    discord: &Discord,
    guild: GuildId,
    action: &Action,
    vars: &impl Lookup,
) -> Result<ActionOutcome, CallError> {
    match &action.kind {
        ActionKind::SendMessage {
            channel, message, ..
        } => {
            let channel = discord
                .resolve_channel(guild, &channel.render(vars))
                .await?;
            let builder = build_message(message, vars)?;
            let sent = channel
                .id
                .send_message(discord.http.as_ref(), builder)
                .await?;
            Ok(outcome(
                action,
                format!("sent message {} to {channel}", sent.id),
                json!({"message_id": sent.id.to_string(), "channel_id": sent.channel_id.to_string(),
                       "message_url": sent.link()}),
            ))
        }
        ActionKind::SendDm { user, message } => {
            let user = discord.resolve_user(guild, &user.render(vars)).await?;
            let builder = build_message(message, vars)?;
            let dm = user.create_dm_channel(discord.http.as_ref()).await?;
            let sent = dm.id.send_message(discord.http.as_ref(), builder).await?;
            Ok(outcome(
                action,
                format!("sent DM {} to user {user}", sent.id),
                json!({"message_id": sent.id.to_string(), "channel_id": sent.channel_id.to_string(),
                       "user_id": user.to_string()}),
            ))
        }
        ActionKind::AddRole { user, role, .. } | ActionKind::RemoveRole { user, role, .. } => {
            let user = discord.resolve_user(guild, &user.render(vars)).await?;
            let (role, role_name) = discord.resolve_role(guild, &role.render(vars)).await?;
            let adding = matches!(action.kind, ActionKind::AddRole { .. });
            if adding {
                discord
                    .http
                    .add_member_role(guild, user, role, None)
                    .await?;
            } else {
                discord
                    .http
                    .remove_member_role(guild, user, role, None)
                    .await?;
            }
            let (verb, preposition) = if adding {
                ("added", "to")
            } else {
                ("removed", "from")
            };
            Ok(outcome(
                action,
                format!("{verb} role {role_name} {preposition} user {user}"),
                json!({"user_id": user.to_string(), "role_id": role.to_string()}),
            ))
        }
        other => Err(CallError::Invalid(format!(
            "{} is not supported yet",
            other.name()
        ))),
    }
}

fn outcome(action: &Action, summary: String, output: Value) -> ActionOutcome {
    let output = match output {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    ActionOutcome {
        action: action.kind().to_owned(),
        summary,
        output,
    }
}

/// Renders a message. Never sends an empty one: Discord would refuse it with a less helpful error.
fn build_message(spec: &MessageSpec, vars: &impl Lookup) -> Result<CreateMessage, CallError> {
    let mut builder =
        CreateMessage::new().allowed_mentions(allowed_mentions(spec.allowed_mentions));
    let content = spec
        .content
        .as_ref()
        .map(|c| truncate(&c.render(vars), MAX_CONTENT_CHARS))
        .filter(|c| !c.trim().is_empty());
    let embeds = spec
        .embeds
        .iter()
        .map(|e| build_embed(e, vars))
        .collect::<Result<Vec<_>, _>>()?;
    if content.is_none() && embeds.is_empty() {
        return Err(CallError::Invalid(
            "the message is empty after filling in the variables; nothing was sent".to_owned(),
        ));
    }
    if let Some(content) = content {
        builder = builder.content(content);
    }
    if !embeds.is_empty() {
        builder = builder.embeds(embeds);
    }
    Ok(builder)
}

/// Explicit on every message: only the kinds the event's author listed may ping.
pub fn allowed_mentions(kinds: AllowedMentions) -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .all_users(kinds.users)
        .all_roles(kinds.roles)
        .everyone(kinds.everyone)
}

fn build_embed(spec: &EmbedSpec, vars: &impl Lookup) -> Result<CreateEmbed, CallError> {
    let text = |t: &Option<Template>| t.as_ref().map(|t| t.render(vars)).filter(|s| !s.is_empty());
    let mut embed = CreateEmbed::new();
    if let Some(title) = text(&spec.title) {
        embed = embed.title(title);
    }
    if let Some(description) = text(&spec.description) {
        embed = embed.description(description);
    }
    if let Some(url) = text(&spec.url) {
        embed = embed.url(url);
    }
    if let Some(color) = &spec.color {
        embed = embed.colour(Colour::new(render_color(color, vars)?));
    }
    if let Some(timestamp) = text(&spec.timestamp) {
        let parsed = Timestamp::parse(&timestamp).map_err(|_| {
            CallError::Invalid(format!(
                "embed timestamp {timestamp:?} is not an RFC 3339 date such as 2024-05-01T12:00:00Z"
            ))
        })?;
        embed = embed.timestamp(parsed);
    }
    if let Some(footer) = &spec.footer {
        let mut built = CreateEmbedFooter::new(footer.text.render(vars));
        if let Some(icon) = text(&footer.icon_url) {
            built = built.icon_url(icon);
        }
        embed = embed.footer(built);
    }
    if let Some(author) = &spec.author {
        let mut built = CreateEmbedAuthor::new(author.name.render(vars));
        if let Some(url) = text(&author.url) {
            built = built.url(url);
        }
        if let Some(icon) = text(&author.icon_url) {
            built = built.icon_url(icon);
        }
        embed = embed.author(built);
    }
    if let Some(image) = text(&spec.image) {
        embed = embed.image(image);
    }
    if let Some(thumbnail) = text(&spec.thumbnail) {
        embed = embed.thumbnail(thumbnail);
    }
    for field in &spec.fields {
        embed = embed.field(
            field.name.render(vars),
            field.value.render(vars),
            field.inline,
        );
    }
    Ok(embed)
}

/// `#rrggbb` or a decimal integer, after rendering.
fn render_color(color: &ColorSpec, vars: &impl Lookup) -> Result<u32, CallError> {
    let text = match color {
        ColorSpec::Fixed(value) => return Ok(*value),
        ColorSpec::Template(t) => t.render(vars),
    };
    let trimmed = text.trim();
    let parsed = match trimmed.strip_prefix('#') {
        Some(hex) if hex.len() == 6 => u32::from_str_radix(hex, 16).ok(),
        Some(_) => None,
        None => trimmed.parse::<u32>().ok().filter(|v| *v <= 0xFF_FFFF),
    };
    parsed.ok_or_else(|| {
        CallError::Invalid(format!(
            "embed color {text:?} is neither #rrggbb nor an integer up to 16777215"
        ))
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::Variables;

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
    fn empty_messages_are_refused_before_sending() {
        let spec = MessageSpec {
            content: Some(Template::new("{nothing}")),
            ..MessageSpec::default()
        };
        let mut vars = Variables::new();
        vars.insert("nothing", "  ");
        assert!(matches!(
            build_message(&spec, &vars),
            Err(CallError::Invalid(_))
        ));
    }

    #[test]
    fn allowed_mentions_are_explicit_and_empty_by_default() {
        let json = serde_json::to_value(allowed_mentions(AllowedMentions::default())).unwrap();
        assert_eq!(json["parse"], serde_json::json!([]));
        let json = serde_json::to_value(allowed_mentions(AllowedMentions {
            users: true,
            roles: false,
            everyone: true,
        }))
        .unwrap();
        assert_eq!(json["parse"], serde_json::json!(["users", "everyone"]));
    }
}
