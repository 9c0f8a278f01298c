//! The world the stand-in starts with: the bot, its servers, their channels, roles and members.

use std::collections::HashSet;
use std::io;

use crate::ids::now_rfc3339;

/// Everything Discord "knows" when the stand-in starts.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// The bot's own user; it is a member of every guild.
    pub bot: FixtureUser,
    /// The guilds the bot is in, in the order READY lists them.
    pub guilds: Vec<FixtureGuild>,
    /// Users known to Discord but in no guild (DM-able).
    pub users: Vec<FixtureUser>,
}

/// A Discord user: a guild member, a DM-able stranger, or the bot itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureUser {
    /// The user's snowflake.
    pub id: u64,
    /// The unique handle, `alice`.
    pub username: String,
    /// The display name, when it differs from the username.
    pub global_name: Option<String>,
    /// Bots get `"bot": true` in every user object.
    pub bot: bool,
    /// Whether the user accepts DMs from the bot (default true).
    pub dms_open: bool,
}

/// A guild (server) and everything in it.
#[derive(Clone, Debug)]
pub struct FixtureGuild {
    /// The guild's snowflake.
    pub id: u64,
    /// The guild's name, as the plain-words log and `GET /guilds/{id}` show it.
    pub name: String,
    /// `0` means "the first human member, else the bot".
    pub owner_id: u64,
    /// Channels and threads, in the order `GET /guilds/{id}/channels` lists them.
    pub channels: Vec<FixtureChannel>,
    /// Roles besides @everyone, which the stand-in adds itself (id = the guild's id).
    pub roles: Vec<FixtureRole>,
    /// Members besides the bot, which the stand-in adds itself.
    pub members: Vec<FixtureMember>,
    /// The guild icon's hash (`a_…` for an animated one), as Discord's CDN names it.
    pub icon: Option<String>,
    /// The guild's custom emojis, usable in reactions as `name:id`.
    pub emojis: Vec<FixtureEmoji>,
    /// Whether the bot holds KICK_MEMBERS, BAN_MEMBERS, MODERATE_MEMBERS and MANAGE_NICKNAMES
    /// (default true); false answers 403 Missing Permissions to kicks, bans, timeouts and
    /// nickname changes of others, and to deleting other users' messages.
    pub bot_can_moderate: bool,
    /// Whether the bot holds MANAGE_ROLES (default true); false answers 403 to creating,
    /// editing and deleting roles and to giving or taking any role.
    pub bot_can_manage_roles: bool,
    /// Whether the bot holds MANAGE_CHANNELS and MANAGE_THREADS (default true); false answers
    /// 403 to creating, editing and deleting channels, and to locking threads.
    pub bot_can_manage_channels: bool,
}

/// A custom emoji of a guild.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureEmoji {
    /// The emoji's snowflake.
    pub id: u64,
    /// The name used in `:name:` and in reactions as `name:id`.
    pub name: String,
    /// Whether it is a GIF (`<a:name:id>`).
    pub animated: bool,
}

impl FixtureEmoji {
    /// A still custom emoji.
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        FixtureEmoji {
            id,
            name: name.into(),
            animated: false,
        }
    }

    /// Makes it an animated (GIF) emoji.
    pub fn animated(mut self) -> Self {
        self.animated = true;
        self
    }
}

/// What a channel is, with Discord's channel type numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// A guild text channel (type 0).
    Text,
    /// A voice channel (type 2); it holds no messages the bot can post.
    Voice,
    /// A category (type 4), the parent of other channels.
    Category,
    /// An announcement channel (type 5), whose messages can be crossposted.
    Announcement,
    /// A thread in an announcement channel (type 10).
    AnnouncementThread,
    /// Type 11.
    PublicThread,
    /// Type 12.
    PrivateThread,
}

impl ChannelKind {
    /// Discord's channel type number.
    pub fn discord_type(self) -> u8 {
        match self {
            ChannelKind::Text => 0,
            ChannelKind::Voice => 2,
            ChannelKind::Category => 4,
            ChannelKind::Announcement => 5,
            ChannelKind::AnnouncementThread => 10,
            ChannelKind::PublicThread => 11,
            ChannelKind::PrivateThread => 12,
        }
    }

    /// The kind for Discord's channel type number, if the stand-in knows it.
    pub fn from_discord_type(number: u64) -> Option<ChannelKind> {
        Some(match number {
            0 => ChannelKind::Text,
            2 => ChannelKind::Voice,
            4 => ChannelKind::Category,
            5 => ChannelKind::Announcement,
            10 => ChannelKind::AnnouncementThread,
            11 => ChannelKind::PublicThread,
            12 => ChannelKind::PrivateThread,
            _ => return None,
        })
    }

    /// Whether this kind is one of the three thread types.
    pub fn is_thread(self) -> bool {
        matches!(
            self,
            ChannelKind::AnnouncementThread
                | ChannelKind::PublicThread
                | ChannelKind::PrivateThread
        )
    }

    /// Text, announcement channels and threads: where messages live.
    pub fn holds_messages(self) -> bool {
        !matches!(self, ChannelKind::Category)
    }
}

/// A guild channel or thread.
#[derive(Clone, Debug)]
pub struct FixtureChannel {
    /// The channel's snowflake.
    pub id: u64,
    /// Its name without the `#`.
    pub name: String,
    /// Text, voice, category, announcement or a thread.
    pub kind: ChannelKind,
    /// Whether the bot may post here (default true); false answers 403 Missing Permissions.
    pub bot_can_send: bool,
    /// The channel topic, or `None`.
    pub topic: Option<String>,
    /// The category a channel sits in, or the channel a thread belongs to.
    pub parent_id: Option<u64>,
    /// Set for threads.
    pub thread: Option<FixtureThread>,
}

/// What a thread has beyond a channel: Discord's `thread_metadata` and its creator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureThread {
    /// Who started the thread; `0` means the guild owner.
    pub owner_id: u64,
    /// Whether the thread is archived.
    pub archived: bool,
    /// Whether only moderators may unarchive it.
    pub locked: bool,
    /// Minutes: 60, 1440, 4320 or 10080.
    pub auto_archive_duration: u16,
    /// When it was last archived or unarchived (its creation time until then), RFC 3339.
    pub archive_timestamp: String,
    /// When the thread was created, RFC 3339.
    pub create_timestamp: String,
    /// Private threads only: whether non-moderators may add others.
    pub invitable: bool,
}

/// A guild role besides @everyone.
#[derive(Clone, Debug)]
pub struct FixtureRole {
    /// The role's snowflake.
    pub id: u64,
    /// Its name without the `@`.
    pub name: String,
    /// Its place in the hierarchy; higher outranks lower, the bot's own role sits on top.
    pub position: u16,
    /// Whether the bot may give and take this role (default true); false answers 403.
    pub bot_can_manage: bool,
    /// RGB, 0 for none.
    pub color: u32,
    /// Whether members with it are listed apart.
    pub hoist: bool,
    /// Whether anyone may ping it.
    pub mentionable: bool,
    /// The permission bit set, as Discord's decimal string.
    pub permissions: String,
}

/// A guild member.
#[derive(Clone, Debug)]
pub struct FixtureMember {
    /// The user behind the membership.
    pub user: FixtureUser,
    /// The ids of the roles the member holds, @everyone not included.
    pub roles: Vec<u64>,
    /// The member's guild nickname, or `None`.
    pub nick: Option<String>,
    /// When a timeout ends (RFC 3339), or `None` when the member is not timed out.
    pub communication_disabled_until: Option<String>,
    /// Whether the bot ranks above this member (default true); false answers 403 Missing
    /// Permissions to kicking, banning, timing out or renaming them.
    pub bot_can_moderate: bool,
}

impl Fixture {
    /// A world holding only the bot user, with no guilds yet.
    pub fn new(bot_id: u64, bot_username: impl Into<String>) -> Self {
        let mut bot = FixtureUser::new(bot_id, bot_username);
        bot.bot = true;
        Fixture {
            bot,
            guilds: Vec::new(),
            users: Vec::new(),
        }
    }

    /// The bot is a member of `guild`.
    pub fn guild(mut self, guild: FixtureGuild) -> Self {
        self.guilds.push(guild);
        self
    }

    /// A user in no guild whom the bot can still DM.
    pub fn user(mut self, user: FixtureUser) -> Self {
        self.users.push(user);
        self
    }

    /// Fills in what Discord always has (owner, the bot's membership) and rejects worlds Discord
    /// could not hold, so that a typo in a test fixture fails loudly instead of oddly.
    pub(crate) fn completed(mut self) -> io::Result<Fixture> {
        let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
        let mut seen_ids = HashSet::new();
        let mut claim = |id: u64, what: &str| {
            if id == 0 {
                return Err(invalid(format!("{what} has id 0; Discord ids are never 0")));
            }
            if !seen_ids.insert((what.to_owned(), id)) {
                return Err(invalid(format!("two {what}s share the id {id}")));
            }
            Ok(())
        };
        claim(self.bot.id, "user")?;
        for user in &self.users {
            claim(user.id, "user")?;
        }
        for guild in &mut self.guilds {
            claim(guild.id, "guild")?;
            for channel in &guild.channels {
                claim(channel.id, "channel")?;
            }
            if let Some(icon) = &guild.icon {
                let hash = icon.strip_prefix("a_").unwrap_or(icon);
                if hash.len() != 32 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(format!(
                        "guild {} has icon {icon:?}; Discord's are 32 hex digits, `a_` first \
                         when animated",
                        guild.id
                    )));
                }
            }
            for emoji in &guild.emojis {
                claim(emoji.id, "emoji")?;
            }
            for channel in &guild.channels {
                let Some(parent_id) = channel.parent_id else {
                    if channel.kind.is_thread() {
                        return Err(invalid(format!(
                            "thread {:?} of guild {} has no parent channel",
                            channel.name, guild.id
                        )));
                    }
                    continue;
                };
                let parent = guild.channels.iter().find(|c| c.id == parent_id);
                let fits = match parent.map(|parent| parent.kind) {
                    None => false,
                    Some(kind) if channel.kind.is_thread() => {
                        matches!(kind, ChannelKind::Text | ChannelKind::Announcement)
                    }
                    Some(kind) => kind == ChannelKind::Category && channel.kind != kind,
                };
                if !fits {
                    return Err(invalid(format!(
                        "channel {:?} of guild {} has parent {parent_id}, which is not a {}",
                        channel.name,
                        guild.id,
                        if channel.kind.is_thread() {
                            "text or announcement channel of the guild"
                        } else {
                            "category of the guild"
                        }
                    )));
                }
            }
            for role in &guild.roles {
                claim(role.id, "role")?;
                if role.id == guild.id {
                    return Err(invalid(format!(
                        "role {:?} uses the guild id {}, which is reserved for @everyone",
                        role.name, guild.id
                    )));
                }
            }
            let mut member_ids = HashSet::new();
            for member in &guild.members {
                if !member_ids.insert(member.user.id) {
                    return Err(invalid(format!(
                        "user {} is a member of guild {} twice",
                        member.user.id, guild.id
                    )));
                }
                for role_id in &member.roles {
                    if !guild.roles.iter().any(|role| role.id == *role_id) {
                        return Err(invalid(format!(
                            "member {} of guild {} has role {role_id}, which the guild lacks",
                            member.user.username, guild.id
                        )));
                    }
                }
            }
            if !member_ids.contains(&self.bot.id) {
                guild.members.push(FixtureMember::new(self.bot.clone()));
            }
            if guild.owner_id == 0 {
                guild.owner_id = guild
                    .members
                    .iter()
                    .find(|member| !member.user.bot)
                    .map_or(self.bot.id, |member| member.user.id);
            }
            let owner_id = guild.owner_id;
            for channel in &mut guild.channels {
                if channel.kind.is_thread() && channel.thread.is_none() {
                    let parent_id = channel.parent_id.unwrap_or(0);
                    channel.thread = FixtureChannel::thread(0, "", parent_id).thread;
                }
                if let Some(thread) = &mut channel.thread {
                    if thread.owner_id == 0 {
                        thread.owner_id = owner_id;
                    }
                }
            }
        }
        Ok(self)
    }
}

impl FixtureUser {
    /// A human user with open DMs.
    pub fn new(id: u64, username: impl Into<String>) -> Self {
        FixtureUser {
            id,
            username: username.into(),
            global_name: None,
            bot: false,
            dms_open: true,
        }
    }

    /// Sets the display name.
    pub fn global_name(mut self, global_name: impl Into<String>) -> Self {
        self.global_name = Some(global_name.into());
        self
    }

    /// Marks the user as a bot.
    pub fn bot(mut self) -> Self {
        self.bot = true;
        self
    }

    /// The user refuses DMs from the bot (Discord answers 403 50007).
    pub fn dms_closed(mut self) -> Self {
        self.dms_open = false;
        self
    }
}

impl FixtureGuild {
    /// An empty guild; the bot joins it and @everyone is added when the stand-in starts.
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        FixtureGuild {
            id,
            name: name.into(),
            owner_id: 0,
            channels: Vec::new(),
            roles: Vec::new(),
            members: Vec::new(),
            icon: None,
            emojis: Vec::new(),
            bot_can_moderate: true,
            bot_can_manage_roles: true,
            bot_can_manage_channels: true,
        }
    }

    /// The guild icon's hash: 32 hex digits, with `a_` first for an animated icon.
    pub fn icon(mut self, hash: impl Into<String>) -> Self {
        self.icon = Some(hash.into());
        self
    }

    /// A custom emoji, usable in reactions as `name:id`.
    pub fn emoji(self, id: u64, name: impl Into<String>) -> Self {
        self.add_emoji(FixtureEmoji::new(id, name))
    }

    /// A custom emoji built with [`FixtureEmoji`], e.g. an animated one.
    pub fn add_emoji(mut self, emoji: FixtureEmoji) -> Self {
        self.emojis.push(emoji);
        self
    }

    /// The bot lacks KICK_MEMBERS, BAN_MEMBERS, MODERATE_MEMBERS and MANAGE_NICKNAMES.
    pub fn bot_cannot_moderate(mut self) -> Self {
        self.bot_can_moderate = false;
        self
    }

    /// The bot lacks MANAGE_ROLES.
    pub fn bot_cannot_manage_roles(mut self) -> Self {
        self.bot_can_manage_roles = false;
        self
    }

    /// The bot lacks MANAGE_CHANNELS and MANAGE_THREADS.
    pub fn bot_cannot_manage_channels(mut self) -> Self {
        self.bot_can_manage_channels = false;
        self
    }

    /// Who owns the guild; by default the first human member, else the bot.
    pub fn owner(mut self, owner_id: u64) -> Self {
        self.owner_id = owner_id;
        self
    }

    /// A text channel the bot can post in.
    pub fn channel(self, id: u64, name: impl Into<String>) -> Self {
        self.add_channel(FixtureChannel::text(id, name))
    }

    /// A channel or thread built with [`FixtureChannel`].
    pub fn add_channel(mut self, channel: FixtureChannel) -> Self {
        self.channels.push(channel);
        self
    }

    /// A role the bot can manage, placed above the roles added before it.
    pub fn role(self, id: u64, name: impl Into<String>) -> Self {
        let position = self
            .roles
            .iter()
            .map(|role| role.position)
            .max()
            .unwrap_or(0)
            + 1;
        self.add_role(FixtureRole::new(id, name).position(position))
    }

    /// A role built with [`FixtureRole`], at the position it says.
    pub fn add_role(mut self, role: FixtureRole) -> Self {
        self.roles.push(role);
        self
    }

    /// A human member with no roles and no nickname.
    pub fn member(self, user_id: u64, username: impl Into<String>) -> Self {
        self.add_member(FixtureMember::new(FixtureUser::new(user_id, username)))
    }

    /// A member built with [`FixtureMember`] (roles, nickname, timeout, rank).
    pub fn add_member(mut self, member: FixtureMember) -> Self {
        self.members.push(member);
        self
    }
}

impl FixtureChannel {
    /// A channel of any kind the bot can post in, with no topic and no parent.
    pub fn new(id: u64, name: impl Into<String>, kind: ChannelKind) -> Self {
        FixtureChannel {
            id,
            name: name.into(),
            kind,
            bot_can_send: true,
            topic: None,
            parent_id: None,
            thread: None,
        }
    }

    /// A public thread of `parent_id` (a text channel), started by the guild owner.
    pub fn thread(id: u64, name: impl Into<String>, parent_id: u64) -> Self {
        let now = now_rfc3339();
        let mut channel = Self::new(id, name, ChannelKind::PublicThread);
        channel.parent_id = Some(parent_id);
        channel.thread = Some(FixtureThread {
            owner_id: 0,
            archived: false,
            locked: false,
            auto_archive_duration: 1440,
            archive_timestamp: now.clone(),
            create_timestamp: now,
            invitable: true,
        });
        channel
    }

    /// The category this channel sits in.
    pub fn parent(mut self, category_id: u64) -> Self {
        self.parent_id = Some(category_id);
        self
    }

    /// Sets the channel topic.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// For a thread: it is archived (and `locked` too if asked).
    pub fn archived(mut self, locked: bool) -> Self {
        if let Some(thread) = &mut self.thread {
            thread.archived = true;
            thread.locked = locked;
        }
        self
    }

    /// A text channel the bot can post in.
    pub fn text(id: u64, name: impl Into<String>) -> Self {
        Self::new(id, name, ChannelKind::Text)
    }

    /// The bot lacks SEND_MESSAGES here.
    pub fn bot_cannot_send(mut self) -> Self {
        self.bot_can_send = false;
        self
    }
}

impl FixtureRole {
    /// A role at position 1 with no color, no permissions, and the bot able to manage it.
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        FixtureRole {
            id,
            name: name.into(),
            position: 1,
            bot_can_manage: true,
            color: 0,
            hoist: false,
            mentionable: false,
            permissions: "0".to_owned(),
        }
    }

    /// Sets the color (RGB).
    pub fn color(mut self, color: u32) -> Self {
        self.color = color;
        self
    }

    /// Sets the position; higher outranks lower.
    pub fn position(mut self, position: u16) -> Self {
        self.position = position;
        self
    }

    /// The role sits above the bot's own role, so the bot may not give or take it.
    pub fn bot_cannot_manage(mut self) -> Self {
        self.bot_can_manage = false;
        self
    }
}

impl FixtureMember {
    /// A member with no roles, no nickname and no timeout, whom the bot outranks.
    pub fn new(user: FixtureUser) -> Self {
        FixtureMember {
            user,
            roles: Vec::new(),
            nick: None,
            communication_disabled_until: None,
            bot_can_moderate: true,
        }
    }

    /// The member ranks above the bot (or holds Administrator): the bot may not kick, ban,
    /// time out or rename them (403 Missing Permissions).
    pub fn protected(mut self) -> Self {
        self.bot_can_moderate = false;
        self
    }

    /// The member is timed out until `until` (RFC 3339).
    pub fn timed_out_until(mut self, until: impl Into<String>) -> Self {
        self.communication_disabled_until = Some(until.into());
        self
    }

    /// Gives the member a role (its id).
    pub fn role(mut self, role_id: u64) -> Self {
        self.roles.push(role_id);
        self
    }

    /// Sets the member's guild nickname.
    pub fn nick(mut self, nick: impl Into<String>) -> Self {
        self.nick = Some(nick.into());
        self
    }
}
