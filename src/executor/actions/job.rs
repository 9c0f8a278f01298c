//! One action on its way ([`Job`]): rendering its templates, resolving what it names, and
//! shaping what it did ([`Performed`]). Shared by every action family; uses none of them.

use serde_json::{Map, Value};
use serenity::all::{GuildId, RoleId, UserId};

use super::{render, values};
use crate::discord::{CallError, ChannelRef, Discord, Writer};
use crate::events::ActionKind;
use crate::lang::templates::{Lookup, Template};

/// What an action did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq)]
pub struct Performed {
    /// Plain words: `sent message 123 to #deploys`; in a dry run `would send to #deploys …`.
    pub summary: String,
    /// Exactly the fields of [`ActionKind::output_fields`], as strings; `"dry-run"` in a dry run.
    pub output: Map<String, Value>,
    /// What was changed to make the action possible: `content was 2345 characters; cut to 2000`.
    pub warnings: Vec<String>,
    /// The channel the action touched, `(id, name)`, for `{channel_id}` and `{channel_name}`.
    pub channel: Option<(u64, String)>,
}

/// The value of every output field in a dry run.
pub const DRY_RUN_VALUE: &str = "dry-run";

/// A member or user an action names, with the name it goes by when known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UserRef {
    pub id: UserId,
    pub name: Option<String>,
}

impl std::fmt::Display for UserRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "@{name} ({})", self.id),
            None => write!(f, "user {}", self.id),
        }
    }
}

/// A role an action names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RoleRef {
    pub id: RoleId,
    pub name: String,
}

impl std::fmt::Display for RoleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.name == self.id.to_string() {
            write!(f, "role {}", self.id)
        } else {
            write!(f, "@{} ({})", self.name, self.id)
        }
    }
}

/// `#deploys (123)`, for summaries.
pub(crate) fn channel_words(channel: &ChannelRef) -> String {
    match &channel.name {
        Some(name) => format!("#{name} ({})", channel.id),
        None => format!("channel {}", channel.id),
    }
}

/// One action on its way: what it needs to render and resolve, and the warnings so far.
pub(crate) struct Job<'a, L> {
    pub discord: &'a Discord,
    pub guild: GuildId,
    pub dry_run: bool,
    /// Every write goes through it: paced, with the audit-log reason.
    pub writer: Writer<'a>,
    pub nonce: Option<&'a str>,
    pub repeat: bool,
    /// Where long button values are kept (`None` in a trial).
    pub store: Option<&'a crate::engine::Store>,
    pub vars: &'a L,
    pub kind: &'a ActionKind,
    pub warnings: Vec<String>,
}

impl<L: Lookup> Job<'_, L> {
    pub fn render(&self, template: &Template) -> String {
        template.render(self.vars)
    }

    /// Rendered and trimmed; `None` when not given or empty after rendering.
    pub fn optional(&self, template: &Option<Template>) -> Option<String> {
        template
            .as_ref()
            .map(|t| t.render(self.vars).trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    /// The audit-log reason, at most 512 characters; `None` when empty.
    pub fn reason(&mut self, reason: &Option<Template>) -> Option<String> {
        let text = self.optional(reason)?;
        Some(render::cut(
            "reason",
            text,
            values::MAX_REASON_CHARS,
            &mut self.warnings,
        ))
    }

    /// A rendered text that must not be empty, cut to `max` characters with a warning.
    pub fn required(
        &mut self,
        template: &Template,
        what: &str,
        max: usize,
    ) -> Result<String, CallError> {
        let text = self.render(template).trim().to_owned();
        if text.is_empty() {
            return Err(CallError::Invalid(format!(
                "{what} is empty after filling in the variables"
            )));
        }
        Ok(render::cut(what, text, max, &mut self.warnings))
    }

    pub fn id(&self, template: &Template, what: &str) -> Result<u64, CallError> {
        values::snowflake(&self.render(template), what)
    }

    pub async fn channel(&self, template: &Template) -> Result<ChannelRef, CallError> {
        self.discord
            .resolve_channel(self.guild, &self.render(template))
            .await
    }

    /// The user, with a name from the cache or the name look-up; a dry run also asks Discord.
    pub async fn user(&self, template: &Template) -> Result<UserRef, CallError> {
        let (id, name) = self
            .discord
            .resolve_user_named(self.guild, &self.render(template))
            .await?;
        let name = match name {
            Some(name) => Some(name),
            None if self.dry_run => self.discord.user_name(self.guild, id).await,
            None => None,
        };
        Ok(UserRef { id, name })
    }

    pub async fn role(&self, template: &Template) -> Result<RoleRef, CallError> {
        let (id, name) = self
            .discord
            .resolve_role(self.guild, &self.render(template))
            .await?;
        Ok(RoleRef { id, name })
    }

    /// ` (reason: "…")` for summaries, or nothing.
    pub fn reason_words(reason: &Option<String>) -> String {
        reason
            .as_ref()
            .map(|r| format!(" (reason: {})", render::quote(r, 80)))
            .unwrap_or_default()
    }

    /// The result of a write: `values` must be exactly the action's output fields.
    pub fn done(
        self,
        summary: String,
        values: Vec<(&str, String)>,
        channel: Option<&ChannelRef>,
    ) -> Performed {
        let output: Map<String, Value> = values
            .into_iter()
            .map(|(key, value)| (key.to_owned(), Value::String(value)))
            .collect();
        if cfg!(debug_assertions) {
            let mut keys: Vec<&str> = output.keys().map(String::as_str).collect();
            let mut fields = self.kind.output_fields().to_vec();
            keys.sort_unstable();
            fields.sort_unstable();
            assert_eq!(keys, fields, "the output of {}", self.kind.name());
        }
        Performed {
            summary,
            output,
            warnings: self.warnings,
            channel: channel.map(channel_pair),
        }
    }

    /// The result of a dry run: `summary` says what would happen.
    pub fn would(self, summary: String, channel: Option<&ChannelRef>) -> Performed {
        let output = self
            .kind
            .output_fields()
            .iter()
            .map(|field| ((*field).to_owned(), Value::String(DRY_RUN_VALUE.to_owned())))
            .collect();
        Performed {
            summary,
            output,
            warnings: self.warnings,
            channel: channel.map(channel_pair),
        }
    }
}

fn channel_pair(channel: &ChannelRef) -> (u64, String) {
    (
        channel.id.get(),
        channel
            .name
            .clone()
            .unwrap_or_else(|| channel.id.to_string()),
    )
}

/// `https://discord.com/channels/GUILD/CHANNEL`, or with `/MESSAGE`.
pub(crate) fn discord_link(guild: Option<GuildId>, channel: u64, message: Option<u64>) -> String {
    let guild = guild.map_or_else(|| "@me".to_owned(), |g| g.to_string());
    match message {
        Some(message) => format!("https://discord.com/channels/{guild}/{channel}/{message}"),
        None => format!("https://discord.com/channels/{guild}/{channel}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_names_in_summaries() {
        assert_eq!(
            discord_link(Some(GuildId::new(1)), 2, Some(3)),
            "https://discord.com/channels/1/2/3"
        );
        assert_eq!(
            discord_link(None, 2, Some(3)),
            "https://discord.com/channels/@me/2/3"
        );
        let alice = UserRef {
            id: UserId::new(789),
            name: Some("alice".into()),
        };
        assert_eq!(alice.to_string(), "@alice (789)");
        let role = RoleRef {
            id: RoleId::new(456),
            name: "Deployer".into(),
        };
        assert_eq!(role.to_string(), "@Deployer (456)");
    }
}
