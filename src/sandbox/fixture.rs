//! The world the stand-in starts with: the bot, its servers, their channels, roles and members.

use std::collections::HashSet;
use std::io;

/// Everything Discord "knows" when the stand-in starts.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// The bot's own user; it is a member of every guild.
    pub bot: FixtureUser,
    pub guilds: Vec<FixtureGuild>,
    /// Users known to Discord but in no guild (DM-able).
    pub users: Vec<FixtureUser>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureUser {
    pub id: u64,
    pub username: String,
    pub global_name: Option<String>,
    pub bot: bool,
    /// Whether the user accepts DMs from the bot (default true).
    pub dms_open: bool,
}

#[derive(Clone, Debug)]
pub struct FixtureGuild {
    pub id: u64,
    pub name: String,
    /// `0` means "the first human member, else the bot".
    pub owner_id: u64,
    pub channels: Vec<FixtureChannel>,
    pub roles: Vec<FixtureRole>,
    pub members: Vec<FixtureMember>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    Text,
    Voice,
    Category,
    Announcement,
}

impl ChannelKind {
    /// Discord's channel type number.
    pub fn discord_type(self) -> u8 {
        match self {
            ChannelKind::Text => 0,
            ChannelKind::Voice => 2,
            ChannelKind::Category => 4,
            ChannelKind::Announcement => 5,
        }
    }
}

#[derive(Clone, Debug)]
pub struct FixtureChannel {
    pub id: u64,
    pub name: String,
    pub kind: ChannelKind,
    /// Whether the bot may post here (default true); false answers 403 Missing Permissions.
    pub bot_can_send: bool,
}

#[derive(Clone, Debug)]
pub struct FixtureRole {
    pub id: u64,
    pub name: String,
    pub position: u16,
    /// Whether the bot may give and take this role (default true); false answers 403.
    pub bot_can_manage: bool,
}

#[derive(Clone, Debug)]
pub struct FixtureMember {
    pub user: FixtureUser,
    pub roles: Vec<u64>,
    pub nick: Option<String>,
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

    pub fn global_name(mut self, global_name: impl Into<String>) -> Self {
        self.global_name = Some(global_name.into());
        self
    }

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
        }
    }

    pub fn owner(mut self, owner_id: u64) -> Self {
        self.owner_id = owner_id;
        self
    }

    /// A text channel the bot can post in.
    pub fn channel(self, id: u64, name: impl Into<String>) -> Self {
        self.add_channel(FixtureChannel::text(id, name))
    }

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

    pub fn add_role(mut self, role: FixtureRole) -> Self {
        self.roles.push(role);
        self
    }

    /// A human member with no roles and no nickname.
    pub fn member(self, user_id: u64, username: impl Into<String>) -> Self {
        self.add_member(FixtureMember::new(FixtureUser::new(user_id, username)))
    }

    pub fn add_member(mut self, member: FixtureMember) -> Self {
        self.members.push(member);
        self
    }
}

impl FixtureChannel {
    pub fn new(id: u64, name: impl Into<String>, kind: ChannelKind) -> Self {
        FixtureChannel {
            id,
            name: name.into(),
            kind,
            bot_can_send: true,
        }
    }

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
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        FixtureRole {
            id,
            name: name.into(),
            position: 1,
            bot_can_manage: true,
        }
    }

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
    pub fn new(user: FixtureUser) -> Self {
        FixtureMember {
            user,
            roles: Vec::new(),
            nick: None,
        }
    }

    pub fn role(mut self, role_id: u64) -> Self {
        self.roles.push(role_id);
        self
    }

    pub fn nick(mut self, nick: impl Into<String>) -> Self {
        self.nick = Some(nick.into());
        self
    }
}
