//! The stand-in's mutable world (members' roles, DM channels, messages, the request log) and
//! the handles its REST and gateway halves share.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::{broadcast, Notify};

use crate::failure::Failure;
use crate::fixture::{
    Fixture, FixtureChannel, FixtureGuild, FixtureMember, FixtureRole, FixtureUser,
};
use crate::ids::{now_rfc3339, Snowflakes};
use crate::rate_limits::{Limiter, RateLimits};
use crate::wire::RecordedRequest;

/// A guild as the stand-in holds it: the fixture, plus the role Discord made for the bot.
#[derive(Clone, Debug)]
pub(crate) struct GuildState {
    pub guild: FixtureGuild,
    pub bot_role: FixtureRole,
    pub bans: Vec<StoredBan>,
}

/// A ban: the user (who may have left every guild) and the audit-log reason given.
#[derive(Clone, Debug)]
pub(crate) struct StoredBan {
    pub user: FixtureUser,
    pub reason: Option<String>,
}

/// An invite the bot created, as Discord's invite object.
#[derive(Clone, Debug)]
pub(crate) struct StoredInvite {
    pub channel_id: u64,
    pub object: Value,
}

/// Gateway intents (Discord's bits): a dispatch reaches sessions that identified with its intent.
pub(crate) mod intent {
    pub const GUILDS: u64 = 1;
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    pub const GUILD_MODERATION: u64 = 1 << 2;
    pub const GUILD_INVITES: u64 = 1 << 6;
    pub const GUILD_PRESENCES: u64 = 1 << 8;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    pub const DIRECT_MESSAGE_REACTIONS: u64 = 1 << 13;
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
    /// Dispatches every session gets, whatever it asked for (INTERACTION_CREATE).
    pub const NONE: u64 = 0;
}

/// Permission bits (Discord's numbers).
pub(crate) mod permission {
    pub const CREATE_INSTANT_INVITE: u64 = 1;
    pub const KICK_MEMBERS: u64 = 1 << 1;
    pub const BAN_MEMBERS: u64 = 1 << 2;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const ADD_REACTIONS: u64 = 1 << 6;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const CHANGE_NICKNAME: u64 = 1 << 26;
    pub const MANAGE_NICKNAMES: u64 = 1 << 27;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    pub const MANAGE_THREADS: u64 = 1 << 34;
    pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
    pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
    pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
    pub const MODERATE_MEMBERS: u64 = 1 << 40;
}

impl GuildState {
    /// What the bot's own role grants, by the fixture's flags.
    pub fn bot_permissions(&self) -> u64 {
        use permission::*;
        let mut bits = CREATE_INSTANT_INVITE
            | ADD_REACTIONS
            | VIEW_CHANNEL
            | SEND_MESSAGES
            | MANAGE_MESSAGES
            | EMBED_LINKS
            | ATTACH_FILES
            | READ_MESSAGE_HISTORY
            | CHANGE_NICKNAME
            | CREATE_PUBLIC_THREADS
            | CREATE_PRIVATE_THREADS
            | SEND_MESSAGES_IN_THREADS;
        if self.guild.bot_can_manage_roles {
            bits |= MANAGE_ROLES;
        }
        if self.guild.bot_can_moderate {
            bits |= KICK_MEMBERS | BAN_MEMBERS | MANAGE_NICKNAMES | MODERATE_MEMBERS;
        }
        if self.guild.bot_can_manage_channels {
            bits |= MANAGE_CHANNELS | MANAGE_THREADS;
        }
        bits
    }

    pub fn channel_mut(&mut self, channel_id: u64) -> Option<&mut FixtureChannel> {
        self.guild
            .channels
            .iter_mut()
            .find(|channel| channel.id == channel_id)
    }

    pub fn role_mut(&mut self, role_id: u64) -> Option<&mut FixtureRole> {
        self.guild.roles.iter_mut().find(|role| role.id == role_id)
    }

    pub fn ban(&self, user_id: u64) -> Option<&StoredBan> {
        self.bans.iter().find(|ban| ban.user.id == user_id)
    }

    pub fn channel(&self, channel_id: u64) -> Option<&FixtureChannel> {
        self.guild
            .channels
            .iter()
            .find(|channel| channel.id == channel_id)
    }

    pub fn role(&self, role_id: u64) -> Option<&FixtureRole> {
        self.guild
            .roles
            .iter()
            .chain(std::iter::once(&self.bot_role))
            .find(|role| role.id == role_id)
    }

    pub fn member(&self, user_id: u64) -> Option<&FixtureMember> {
        self.guild
            .members
            .iter()
            .find(|member| member.user.id == user_id)
    }

    pub fn member_mut(&mut self, user_id: u64) -> Option<&mut FixtureMember> {
        self.guild
            .members
            .iter_mut()
            .find(|member| member.user.id == user_id)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct DmChannel {
    pub id: u64,
    pub recipient_id: u64,
}

/// A message the stand-in created.
#[derive(Clone, Debug)]
pub(crate) struct StoredMessage {
    pub channel_id: u64,
    /// The message object Discord answered with.
    pub object: Value,
    /// The request body the bot sent (content, embeds, allowed_mentions, nonce, …).
    pub sent: Value,
    pub created: Instant,
}

impl StoredMessage {
    pub fn id(&self) -> u64 {
        self.object["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or(0)
    }

    pub fn author_id(&self) -> u64 {
        self.object["author"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or(0)
    }

    /// The message object with the sent fields Discord does not echo (allowed_mentions,
    /// enforce_nonce, …) added, so tests can check what the bot asked for.
    pub fn with_sent_fields(&self) -> Value {
        let mut merged = self.object.clone();
        if let (Some(merged), Some(sent)) = (merged.as_object_mut(), self.sent.as_object()) {
            for (key, value) in sent {
                merged.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
        merged
    }
}

/// Where a channel id leads.
pub(crate) enum ChannelRef<'a> {
    Guild(&'a GuildState, &'a FixtureChannel),
    Dm(&'a DmChannel),
}

#[derive(Debug)]
pub(crate) struct World {
    pub bot: FixtureUser,
    pub guilds: Vec<GuildState>,
    /// Users in no guild.
    pub loose_users: Vec<FixtureUser>,
    pub dm_channels: Vec<DmChannel>,
    pub messages: Vec<StoredMessage>,
    pub invites: Vec<StoredInvite>,
    /// Pinned messages in the order they were pinned: (channel, message, pinned_at).
    pub pins: Vec<(u64, u64, String)>,
    pub requests: Vec<RecordedRequest>,
    /// The calls the HTTP echo answered (`echo`), kept apart from Discord's REST requests.
    pub echoed: Vec<RecordedRequest>,
    pub failures: Vec<Failure>,
    /// While set, an outage: every REST request and every new gateway connection is answered
    /// with this status ([`crate::Sandbox::begin_outage`]).
    pub outage: Option<u16>,
    /// Discord's rate limits, when the stand-in was asked to enforce them.
    pub limiter: Option<Limiter>,
    /// Requests answered 429, by the limiter or an injected failure.
    pub rate_limited: usize,
    /// IDENTIFYs and RESUMEs answered.
    pub gateway_sessions_started: usize,
    /// Of those, the RESUMEs.
    pub gateway_resumes: usize,
    /// Connections with an identified (or resumed) session now, and the most there ever were
    /// at once: one bot should hold one.
    pub gateway_sessions_live: usize,
    pub gateway_sessions_peak: usize,
    pub heartbeats_acked: usize,
    /// Live and past gateway sessions by id, so a RESUME can carry on where one stopped.
    pub sessions: HashMap<String, SessionRecord>,
    pub snowflakes: Snowflakes,
    /// When the bot joined every guild (and every member joined it).
    pub joined_at: String,
    /// Privileged intents the developer portal does not enable: an IDENTIFY asking for one is
    /// closed with 4014.
    pub disallowed_intents: u64,
    /// The intents of the last IDENTIFY, refused or not.
    pub last_identify_intents: Option<u64>,
    /// The application's `flags` as `GET /applications/@me` answers them, when a test set them;
    /// else they follow the portal's switches ([`World::application_flags`]).
    pub application_flags: Option<u64>,
    /// The application commands registered in each guild, as Discord's command objects.
    pub commands: Vec<StoredCommand>,
    /// Interactions a user started, with what the bot answered.
    pub interactions: Vec<StoredInteraction>,
    /// Which user reacted with which emoji on which message: (channel, message, emoji, user).
    pub user_reactions: Vec<(u64, u64, String, u64)>,
}

/// A guild application command the bot registered.
#[derive(Clone, Debug)]
pub(crate) struct StoredCommand {
    pub guild_id: u64,
    /// Discord's application command object.
    pub object: Value,
}

impl StoredCommand {
    pub fn name(&self) -> &str {
        self.object["name"].as_str().unwrap_or("")
    }
}

/// How the bot acknowledged an interaction (the callback's `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acknowledged {
    /// 4: a message at once.
    Message,
    /// 5: "thinking…", the message comes later.
    DeferredMessage,
    /// 6: a click acknowledged without a message.
    DeferredUpdate,
    /// 7: the clicked message edited at once.
    UpdateMessage,
}

/// An interaction a user started: a slash command or a button click.
#[derive(Clone, Debug)]
pub(crate) struct StoredInteraction {
    pub id: u64,
    pub token: String,
    pub guild_id: u64,
    pub channel_id: u64,
    pub user_id: u64,
    /// `/deploy` or `button "Approve"`, for the plain-words log.
    pub label: String,
    /// When the user started it: the callback must come within 3 s, follow-ups within 15 min.
    pub created: tokio::time::Instant,
    pub acknowledged: Option<Acknowledged>,
    /// How long after the user started it the callback came.
    pub acknowledged_after: Option<std::time::Duration>,
    /// Whether the callback said ephemeral (flags 64).
    pub ephemeral: bool,
    /// The response message (the immediate one, or the deferred one once edited).
    pub original: Option<u64>,
    /// For a click: the message whose button was clicked.
    pub clicked_message: Option<u64>,
    /// Every answer, in order: `{"route": "callback"|"followup"|"edit_original"|…, "body": …}`.
    pub answers: Vec<Value>,
}

impl World {
    #[cfg(test)]
    pub fn new(fixture: Fixture) -> Self {
        Self::with_rate_limits(fixture, None)
    }

    pub fn with_rate_limits(fixture: Fixture, rate_limits: Option<RateLimits>) -> Self {
        let mut snowflakes = Snowflakes::new();
        let bot = fixture.bot;
        let guilds = fixture
            .guilds
            .into_iter()
            .map(|mut guild| {
                let bot_role = bot_role_for(&guild, &bot, snowflakes.next());
                if let Some(member) = guild.members.iter_mut().find(|m| m.user.id == bot.id) {
                    member.roles.push(bot_role.id);
                }
                GuildState {
                    guild,
                    bot_role,
                    bans: Vec::new(),
                }
            })
            .collect();
        World {
            bot,
            guilds,
            loose_users: fixture.users,
            dm_channels: Vec::new(),
            messages: Vec::new(),
            invites: Vec::new(),
            pins: Vec::new(),
            requests: Vec::new(),
            echoed: Vec::new(),
            failures: Vec::new(),
            outage: None,
            limiter: rate_limits.map(Limiter::new),
            rate_limited: 0,
            gateway_sessions_started: 0,
            gateway_resumes: 0,
            gateway_sessions_live: 0,
            gateway_sessions_peak: 0,
            heartbeats_acked: 0,
            sessions: HashMap::new(),
            snowflakes,
            joined_at: now_rfc3339(),
            disallowed_intents: 0,
            last_identify_intents: None,
            application_flags: None,
            commands: Vec::new(),
            interactions: Vec::new(),
            user_reactions: Vec::new(),
        }
    }

    /// The application's flags: as a test set them, else the privileged-intent flags of
    /// every switch the portal has on (GATEWAY_PRESENCE 1 << 12, GATEWAY_GUILD_MEMBERS 1 << 14,
    /// GATEWAY_MESSAGE_CONTENT 1 << 18).
    pub fn application_flags(&self) -> u64 {
        self.application_flags.unwrap_or_else(|| {
            [
                (intent::GUILD_PRESENCES, 1 << 12),
                (intent::GUILD_MEMBERS, 1 << 14),
                (intent::MESSAGE_CONTENT, 1 << 18),
            ]
            .into_iter()
            .filter(|(bit, _)| self.disallowed_intents & bit == 0)
            .fold(0, |flags, (_, flag)| flags | flag)
        })
    }

    pub fn guild(&self, guild_id: u64) -> Option<&GuildState> {
        self.guilds.iter().find(|guild| guild.guild.id == guild_id)
    }

    pub fn guild_mut(&mut self, guild_id: u64) -> Option<&mut GuildState> {
        self.guilds
            .iter_mut()
            .find(|guild| guild.guild.id == guild_id)
    }

    pub fn channel(&self, channel_id: u64) -> Option<ChannelRef<'_>> {
        for guild in &self.guilds {
            if let Some(channel) = guild.channel(channel_id) {
                return Some(ChannelRef::Guild(guild, channel));
            }
        }
        self.dm_channels
            .iter()
            .find(|dm| dm.id == channel_id)
            .map(ChannelRef::Dm)
    }

    /// Any user Discord knows: the bot, a member of some guild, or a loose user.
    pub fn user(&self, user_id: u64) -> Option<&FixtureUser> {
        std::iter::once(&self.bot)
            .chain(&self.loose_users)
            .chain(
                self.guilds
                    .iter()
                    .flat_map(|guild| guild.guild.members.iter().map(|m| &m.user)),
            )
            .find(|user| user.id == user_id)
    }

    /// A message in a channel, by id.
    pub fn message(&self, channel_id: u64, message_id: u64) -> Option<&StoredMessage> {
        self.messages
            .iter()
            .find(|m| m.channel_id == channel_id && m.id() == message_id)
    }

    pub fn message_mut(&mut self, channel_id: u64, message_id: u64) -> Option<&mut StoredMessage> {
        self.messages
            .iter_mut()
            .find(|m| m.channel_id == channel_id && m.id() == message_id)
    }

    /// The guild a guild channel (or thread) belongs to.
    pub fn guild_of_channel(&self, channel_id: u64) -> Option<u64> {
        match self.channel(channel_id)? {
            ChannelRef::Guild(guild, _) => Some(guild.guild.id),
            ChannelRef::Dm(_) => None,
        }
    }

    /// Keeps a user Discord knows after they leave a guild (kicked or banned), so `GET
    /// /users/{id}` and DMs still find them.
    pub fn remember_user(&mut self, user: FixtureUser) {
        if self.user(user.id).is_none() {
            self.loose_users.push(user);
        }
    }

    pub fn record_session(&mut self, session_id: &str, seq: u64, intents: u64) {
        self.sessions
            .insert(session_id.to_owned(), SessionRecord { seq, intents });
    }

    pub fn dm_channel_with(&self, user_id: u64) -> Option<&DmChannel> {
        self.dm_channels
            .iter()
            .find(|dm| dm.recipient_id == user_id)
    }
}

/// What a gateway session needs to be resumed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionRecord {
    /// The last sequence number sent in it.
    pub seq: u64,
    pub intents: u64,
}

/// The role Discord creates for a bot that joins with permissions: named after the bot, managed,
/// and placed just above the roles the fixture lets it manage (Discord only lets a bot manage
/// roles below its own highest role).
fn bot_role_for(guild: &FixtureGuild, bot: &FixtureUser, id: u64) -> FixtureRole {
    let highest_manageable = guild
        .roles
        .iter()
        .filter(|role| role.bot_can_manage)
        .map(|role| role.position)
        .max()
        .unwrap_or(0);
    FixtureRole::new(id, bot.username.clone())
        .position(highest_manageable + 1)
        .bot_cannot_manage()
}

/// A gateway event for every connection whose intents include `intent` (every connection for
/// [`intent::NONE`]).
#[derive(Clone, Debug)]
pub(crate) struct Dispatch {
    pub event: &'static str,
    pub data: Value,
    pub intent: u64,
}

/// What the REST side, the gateway side and the `Sandbox` handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub token: String,
    pub gateway_url: String,
    pub heartbeat_interval_ms: u64,
    /// Events the REST side causes (MESSAGE_CREATE, GUILD_MEMBER_UPDATE) for live connections.
    pub dispatches: broadcast::Sender<Dispatch>,
    /// A close code every live gateway connection should close with.
    pub gateway_closes: broadcast::Sender<u16>,
    /// Woken whenever something observable happens, for `Sandbox::wait_until`.
    pub changed: Notify,
    /// The last dispatch of each event name, for a test to deliver it again (its own lock:
    /// events are dispatched while the world is held).
    pub last_dispatches: Mutex<HashMap<&'static str, Dispatch>>,
}

impl Shared {
    /// The world; a panic elsewhere while it was held leaves it usable for the test's report.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn dispatch(&self, event: &'static str, data: Value, intent: u64) {
        let dispatch = Dispatch {
            event,
            data,
            intent,
        };
        self.last_dispatches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(event, dispatch.clone());
        // No live connection is not an error: the bot may be REST-only.
        let _ = self.dispatches.send(dispatch);
    }

    /// Sends the last `event` dispatched again, as Discord may (a replay after a RESUME, a
    /// reconnect); false when there was none.
    pub fn dispatch_again(&self, event: &str) -> bool {
        let last = self
            .last_dispatches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(event)
            .cloned();
        match last {
            Some(dispatch) => {
                let _ = self.dispatches.send(dispatch);
                true
            }
            None => false,
        }
    }
}
