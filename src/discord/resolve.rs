//! Finding what an action names in the event's server: channels, threads, categories, roles,
//! users and custom emoji, by id, mention or name; from the cache, else with read-only look-ups.

use std::future::Future;

use serenity::all::{
    Channel, ChannelId, ChannelType, EmojiId, GuildChannel, GuildId, Member, PartialGuild, RoleId,
    UserId,
};

use super::client::Discord;
use super::error::CallError;

/// A channel as an action found it: its id and, when known, its name for messages and logs.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRef {
    pub id: ChannelId,
    pub name: Option<String>,
}

impl std::fmt::Display for ChannelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "#{name}"),
            None => write!(f, "channel {}", self.id),
        }
    }
}

impl Discord {
    /// The server's name, from the cache, else from Discord.
    pub async fn server_name(&self, guild: GuildId) -> Option<String> {
        let cached = self.cache.guild(guild).map(|g| g.name.clone());
        match cached {
            Some(name) => Some(name),
            None => self.http.get_guild(guild).await.ok().map(|g| g.name),
        }
    }

    /// A member of `guild`, asked of Discord (the cache is the caller's first stop).
    pub async fn member(&self, guild: GuildId, user: UserId) -> Result<Member, CallError> {
        Ok(self.http.get_member(guild, user).await?)
    }

    /// The server as Discord describes it, with its approximate member count; `None` when
    /// Discord does not answer with it.
    pub async fn server_with_counts(&self, guild: GuildId) -> Option<PartialGuild> {
        self.http.get_guild_with_counts(guild).await.ok()
    }

    /// `123`, `<#123>`, `#name` or `name` → a channel (or thread) of `guild`. An id must belong
    /// to `guild`: a caller's variable cannot send into another server the bot is in.
    pub async fn resolve_channel(
        &self,
        guild: GuildId,
        reference: &str,
    ) -> Result<ChannelRef, CallError> {
        let reference = reference.trim();
        if let Some(id) = parse_id(reference, &["<#"], ">") {
            return self.channel_of(guild, ChannelId::new(id)).await;
        }
        let wanted = reference.strip_prefix('#').unwrap_or(reference);
        if wanted.is_empty() {
            return Err(CallError::Invalid(format!(
                "channel {reference:?} is neither a channel id nor a #name"
            )));
        }
        let cached = self.cache.guild(guild).map(|g| {
            let channels = g.channels.values().map(|c| (c.id, c.name.clone()));
            let threads = g.threads.iter().map(|t| (t.id, t.name.clone()));
            channels.chain(threads).collect()
        });
        let fetch = || async {
            let channels = guild.channels(&self.http).await?;
            Ok(channels.into_values().map(|c| (c.id, c.name)).collect())
        };
        match find_by_name(cached, fetch, wanted).await? {
            Some((id, name)) => Ok(ChannelRef {
                id,
                name: Some(name),
            }),
            None => Err(CallError::NotFound(format!(
                "no channel named #{wanted} in server {guild}"
            ))),
        }
    }

    /// The channel `id` if it is one of `guild`'s, from the cache or else from Discord.
    async fn channel_of(&self, guild: GuildId, id: ChannelId) -> Result<ChannelRef, CallError> {
        let cached = self.cache.guild(guild).and_then(|g| {
            g.channels.get(&id).map(|c| c.name.clone()).or_else(|| {
                g.threads
                    .iter()
                    .find(|t| t.id == id)
                    .map(|t| t.name.clone())
            })
        });
        if let Some(name) = cached {
            return Ok(ChannelRef {
                id,
                name: Some(name),
            });
        }
        match self.http.get_channel(id).await? {
            Channel::Guild(channel) if channel.guild_id == guild => Ok(ChannelRef {
                id,
                name: Some(channel.name),
            }),
            _ => Err(CallError::NotFound(format!(
                "channel {id} is not in server {guild}, the server this event runs in"
            ))),
        }
    }

    /// `123`, `<@&123>`, `@name` or `name` → a role of `guild`, with its name.
    pub async fn resolve_role(
        &self,
        guild: GuildId,
        reference: &str,
    ) -> Result<(RoleId, String), CallError> {
        let reference = reference.trim();
        if let Some(id) = parse_id(reference, &["<@&"], ">") {
            let id = RoleId::new(id);
            let name = self
                .cache
                .guild(guild)
                .and_then(|g| g.roles.get(&id).map(|r| r.name.clone()))
                .unwrap_or_else(|| id.to_string());
            return Ok((id, name));
        }
        let wanted = reference.strip_prefix('@').unwrap_or(reference);
        if wanted.is_empty() {
            return Err(CallError::Invalid(format!(
                "role {reference:?} is neither a role id nor a role name"
            )));
        }
        let cached = self
            .cache
            .guild(guild)
            .map(|g| g.roles.values().map(|r| (r.id, r.name.clone())).collect());
        let fetch = || async {
            let roles = guild.roles(&self.http).await?;
            Ok(roles.into_values().map(|r| (r.id, r.name)).collect())
        };
        find_by_name(cached, fetch, wanted).await?.ok_or_else(|| {
            CallError::NotFound(format!("no role named {wanted:?} in server {guild}"))
        })
    }

    /// `123`, `<@123>`, `<@!123>`, `@name` or `name` (user name, display name or nickname of a
    /// member of `guild`) → a user.
    pub async fn resolve_user(&self, guild: GuildId, reference: &str) -> Result<UserId, CallError> {
        self.resolve_user_named(guild, reference)
            .await
            .map(|(id, _)| id)
    }

    /// As [`resolve_user`](Self::resolve_user), with the name the user goes by when the cache
    /// or the look-up told it (no extra request is made for it).
    pub async fn resolve_user_named(
        &self,
        guild: GuildId,
        reference: &str,
    ) -> Result<(UserId, Option<String>), CallError> {
        let reference = reference.trim();
        if let Some(id) = parse_id(reference, &["<@!", "<@"], ">") {
            let id = UserId::new(id);
            return Ok((id, self.cached_user_name(guild, id)));
        }
        let wanted = reference.strip_prefix('@').unwrap_or(reference);
        if wanted.is_empty() {
            return Err(CallError::Invalid(format!(
                "user {reference:?} is neither a user id nor a user name"
            )));
        }
        // The cache holds members only when the gateway sent them; otherwise Discord's member
        // search (no privileged intent needed) finds them.
        let cached = self
            .cache
            .guild(guild)
            .map(|g| g.members.values().flat_map(member_names).collect());
        let fetch = || async {
            let members = guild.search_members(&self.http, wanted, Some(100)).await?;
            Ok(members.iter().flat_map(member_names).collect())
        };
        match find_by_name(cached, fetch, wanted).await? {
            Some((id, name)) => Ok((id, Some(name))),
            None => Err(CallError::NotFound(format!(
                "no member named {wanted:?} in server {guild}"
            ))),
        }
    }

    /// The name a user goes by in `guild` (nickname, display name, user name), from the cache.
    pub fn cached_user_name(&self, guild: GuildId, user: UserId) -> Option<String> {
        if let Some(name) = self.cache.guild(guild).and_then(|g| {
            g.members
                .get(&user)
                .map(|m| m.nick.clone().unwrap_or_else(|| m.user.name.clone()))
        }) {
            return Some(name);
        }
        if self.is_bot(user) {
            if let Some(name) = self.bot_name() {
                return Some(name);
            }
        }
        self.cache.user(user).map(|u| u.name.clone())
    }

    /// The name a user goes by in `guild`: from the cache, else asking Discord for the member,
    /// else for the user. `None` when neither knows them (read-only look-ups only).
    pub async fn user_name(&self, guild: GuildId, user: UserId) -> Option<String> {
        if let Some(name) = self.cached_user_name(guild, user) {
            return Some(name);
        }
        if let Ok(member) = self.http.get_member(guild, user).await {
            return Some(member.nick.unwrap_or(member.user.name));
        }
        self.http.get_user(user).await.ok().map(|u| u.name)
    }

    /// `123`, `<#123>`, `#name` or `name` → a category of `guild`, with its name.
    pub async fn resolve_category(
        &self,
        guild: GuildId,
        reference: &str,
    ) -> Result<ChannelRef, CallError> {
        let reference = reference.trim();
        let categories = |channels: Vec<GuildChannel>| -> Vec<(ChannelId, String)> {
            channels
                .into_iter()
                .filter(|c| c.kind == ChannelType::Category)
                .map(|c| (c.id, c.name))
                .collect()
        };
        if let Some(id) = parse_id(reference, &["<#"], ">") {
            let id = ChannelId::new(id);
            let cached = self
                .cache
                .guild(guild)
                .and_then(|g| g.channels.get(&id).map(|c| (c.kind, c.name.clone())));
            let (kind, name) = match cached {
                Some(found) => found,
                None => match self.http.get_channel(id).await? {
                    Channel::Guild(c) if c.guild_id == guild => (c.kind, c.name),
                    _ => {
                        return Err(CallError::NotFound(format!(
                            "channel {id} is not in server {guild}, the server this event runs in"
                        )))
                    }
                },
            };
            if kind != ChannelType::Category {
                return Err(CallError::Invalid(format!(
                    "#{name} ({id}) is not a category"
                )));
            }
            return Ok(ChannelRef {
                id,
                name: Some(name),
            });
        }
        let wanted = reference.strip_prefix('#').unwrap_or(reference);
        if wanted.is_empty() {
            return Err(CallError::Invalid(format!(
                "category {reference:?} is neither a channel id nor a name"
            )));
        }
        let cached = self
            .cache
            .guild(guild)
            .map(|g| categories(g.channels.values().cloned().collect()));
        let fetch = || async {
            let channels = guild.channels(&self.http).await?;
            Ok(categories(channels.into_values().collect()))
        };
        match find_by_name(cached, fetch, wanted).await? {
            Some((id, name)) => Ok(ChannelRef {
                id,
                name: Some(name),
            }),
            None => Err(CallError::NotFound(format!(
                "no category named {wanted:?} in server {guild}"
            ))),
        }
    }

    /// What the cache says of a channel of `guild`: `Some(true)` for a thread, `Some(false)` for
    /// another channel, `None` when it does not know.
    pub fn cached_is_thread(&self, guild: GuildId, channel: ChannelId) -> Option<bool> {
        let g = self.cache.guild(guild)?;
        if g.threads.iter().any(|t| t.id == channel) {
            return Some(true);
        }
        g.channels.get(&channel).map(|c| {
            matches!(
                c.kind,
                ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread
            )
        })
    }

    /// A custom emoji of `guild` by name: `(id, name, animated)`, from the cache, else Discord.
    pub async fn find_emoji(
        &self,
        guild: GuildId,
        name: &str,
    ) -> Result<(EmojiId, String, bool), CallError> {
        let cached: Option<Vec<(EmojiId, String)>> = self
            .cache
            .guild(guild)
            .map(|g| g.emojis.values().map(|e| (e.id, e.name.clone())).collect());
        let animated_in_cache = |id: EmojiId| {
            self.cache
                .guild(guild)
                .and_then(|g| g.emojis.get(&id).map(|e| e.animated))
        };
        if let Some((id, found)) = cached.and_then(|items| pick_by_name(items, name)) {
            let animated = animated_in_cache(id).unwrap_or(false);
            return Ok((id, found, animated));
        }
        let emojis = self.http.get_emojis(guild).await?;
        let items = emojis.iter().map(|e| (e.id, e.name.clone())).collect();
        match pick_by_name(items, name) {
            Some((id, found)) => {
                let animated = emojis.iter().any(|e| e.id == id && e.animated);
                Ok((id, found, animated))
            }
            None => Err(CallError::NotFound(format!(
                "no custom emoji named {name:?} in server {guild}"
            ))),
        }
    }
}

/// Every name a member answers to: user name, display name, server nickname.
fn member_names(member: &Member) -> Vec<(UserId, String)> {
    [
        Some(member.user.name.clone()),
        member.user.global_name.clone(),
        member.nick.clone(),
    ]
    .into_iter()
    .flatten()
    .map(|name| (member.user.id, name))
    .collect()
}

/// Looks `wanted` up in what the cache knows, then in what Discord says.
async fn find_by_name<I, Fetch, Fut>(
    cached: Option<Vec<(I, String)>>,
    fetch: Fetch,
    wanted: &str,
) -> Result<Option<(I, String)>, CallError>
where
    I: Copy,
    Fetch: FnOnce() -> Fut,
    Fut: Future<Output = Result<Vec<(I, String)>, serenity::Error>>,
{
    if let Some(found) = cached.and_then(|items| pick_by_name(items, wanted)) {
        return Ok(Some(found));
    }
    Ok(pick_by_name(fetch().await?, wanted))
}

/// Exact name first, then the only case-insensitive match.
fn pick_by_name<I: Copy>(items: Vec<(I, String)>, wanted: &str) -> Option<(I, String)> {
    if let Some(found) = items.iter().find(|(_, name)| name == wanted) {
        return Some(found.clone());
    }
    let wanted = wanted.to_lowercase();
    let mut folded = items
        .into_iter()
        .filter(|(_, name)| name.to_lowercase() == wanted);
    let first = folded.next()?;
    folded.next().is_none().then_some(first)
}

/// A snowflake written bare or inside one of the mention forms.
fn parse_id(text: &str, prefixes: &[&str], suffix: &str) -> Option<u64> {
    let inner = prefixes
        .iter()
        .find_map(|p| {
            text.strip_prefix(p)
                .and_then(|rest| rest.strip_suffix(suffix))
        })
        .unwrap_or(text);
    if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    inner.parse().ok().filter(|id| *id != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_mentions() {
        assert_eq!(parse_id("123", &["<#"], ">"), Some(123));
        assert_eq!(parse_id("<#123>", &["<#"], ">"), Some(123));
        assert_eq!(parse_id("<@!42>", &["<@!", "<@"], ">"), Some(42));
        assert_eq!(parse_id("<@42>", &["<@!", "<@"], ">"), Some(42));
        assert_eq!(parse_id("#general", &["<#"], ">"), None);
        assert_eq!(parse_id("0", &["<#"], ">"), None);
        assert_eq!(parse_id("99999999999999999999999", &["<#"], ">"), None);
    }

    #[test]
    fn names_match_exactly_then_unambiguously_ignoring_case() {
        let items = vec![
            (1, "Deploys".to_owned()),
            (2, "deploys".to_owned()),
            (3, "Ops".to_owned()),
        ];
        assert_eq!(
            pick_by_name(items.clone(), "deploys"),
            Some((2, "deploys".to_owned()))
        );
        assert_eq!(pick_by_name(items.clone(), "DEPLOYS"), None, "ambiguous");
        assert_eq!(
            pick_by_name(items.clone(), "ops"),
            Some((3, "Ops".to_owned()))
        );
        assert_eq!(pick_by_name(items, "nope"), None);
    }
}
