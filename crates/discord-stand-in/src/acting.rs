//! The knobs that make people act in the stand-in's servers, as a test or a sandbox user
//! drives them: join and leave, react, use a slash command, click a button; the developer
//! portal's privileged-intent switches; and read-back of commands, interactions and the
//! intents the bot asked for.

use serde_json::Value;

use crate::fixture::FixtureUser;
use crate::people::Event;
use crate::sandbox::Sandbox;
use crate::state::intent;
use crate::{interactions, invoke, people};

/// An intent Discord only grants to a bot whose developer portal switches it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivilegedIntent {
    /// GUILD_MEMBERS, "Server Members Intent": members joining and leaving.
    GuildMembers,
    /// GUILD_PRESENCES, "Presence Intent".
    GuildPresences,
    /// MESSAGE_CONTENT, "Message Content Intent": the text of other people's messages.
    MessageContent,
}

impl PrivilegedIntent {
    fn bit(self) -> u64 {
        match self {
            PrivilegedIntent::GuildMembers => intent::GUILD_MEMBERS,
            PrivilegedIntent::GuildPresences => intent::GUILD_PRESENCES,
            PrivilegedIntent::MessageContent => intent::MESSAGE_CONTENT,
        }
    }
}

impl Sandbox {
    fn send_event(&self, event: Event) {
        let (name, data, needed) = event;
        self.shared.dispatch(name, data, needed);
        self.shared.changed.notify_waiters();
    }

    /// Turns these privileged intents off in the "developer portal": an IDENTIFY that asks for
    /// one is closed with 4014 (Disallowed intent(s)), as Discord does. Connections already
    /// identified keep going.
    pub fn disable_privileged_intents(&self, intents: &[PrivilegedIntent]) {
        let bits = intents.iter().fold(0, |bits, intent| bits | intent.bit());
        self.shared.world().disallowed_intents = bits;
    }

    /// Makes `GET /applications/@me` answer these `flags` (`None`: the privileged-intent flags
    /// of the portal's switches that are on, the default), e.g. to say a switch is on while
    /// the gateway still refuses it.
    pub fn set_application_flags(&self, flags: Option<u64>) {
        self.shared.world().application_flags = flags;
    }

    /// Delivers the last gateway event named `event` (`"GUILD_MEMBER_ADD"`,
    /// `"MESSAGE_REACTION_ADD"`…) again, as Discord does when it replays events after a
    /// RESUME or a reconnect; an error when there was none.
    pub fn dispatch_again(&self, event: &str) -> Result<(), String> {
        if !self.shared.dispatch_again(event) {
            return Err(format!("no {event} was dispatched yet"));
        }
        self.shared.changed.notify_waiters();
        Ok(())
    }

    /// The intents the bot's last IDENTIFY asked for (Discord's bits), refused or not.
    pub fn identified_intents(&self) -> Option<u64> {
        self.shared.world().last_identify_intents
    }

    /// A user joins a server (GUILD_MEMBER_ADD): the user Discord already knows by that id, or
    /// a new one named `username`.
    pub fn member_joins(&self, guild_id: u64, user_id: u64, username: &str) -> Result<(), String> {
        let mut world = self.shared.world();
        let user = world
            .user(user_id)
            .cloned()
            .unwrap_or_else(|| FixtureUser::new(user_id, username));
        let event = people::join(&mut world, guild_id, user)?;
        drop(world);
        self.send_event(event);
        Ok(())
    }

    /// A member leaves a server (GUILD_MEMBER_REMOVE).
    pub fn member_leaves(&self, guild_id: u64, user_id: u64) -> Result<(), String> {
        let event = people::leave(&mut self.shared.world(), guild_id, user_id)?;
        self.send_event(event);
        Ok(())
    }

    /// A member reacts to a message (MESSAGE_REACTION_ADD), or takes the reaction back
    /// (`add` false, MESSAGE_REACTION_REMOVE). `emoji` is `👍`, a custom emoji's name or
    /// `name:id`.
    pub fn react_as(
        &self,
        channel_id: u64,
        message_id: u64,
        user_id: u64,
        emoji: &str,
        add: bool,
    ) -> Result<(), String> {
        let event = people::react(
            &mut self.shared.world(),
            channel_id,
            message_id,
            user_id,
            emoji,
            add,
        )?;
        self.send_event(event);
        Ok(())
    }

    /// A member uses the bot's slash command `/name` in a channel, with options written as a
    /// person types them (`("count", "3")`, `("who", "alice")`, `("where", "#deploys")`):
    /// INTERACTION_CREATE reaches the bot; the interaction's id, or why Discord's client would
    /// not send it (no such command, a missing required option, a value of the wrong type).
    pub fn use_command(
        &self,
        channel_id: u64,
        user_id: u64,
        name: &str,
        options: &[(&str, &str)],
    ) -> Result<u64, String> {
        let options: Vec<(String, String)> = options
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let mut world = self.shared.world();
        let (payload, id) = invoke::use_command(&mut world, channel_id, user_id, name, &options)?;
        let user = world
            .user(user_id)
            .map_or_else(String::new, |u| u.username.clone());
        drop(world);
        crate::describe::announce(&format!("@{user} used /{name}"));
        self.send_event(("INTERACTION_CREATE", payload, intent::NONE));
        Ok(id)
    }

    /// A member clicks a button of a message (`button` is its custom_id or its label):
    /// INTERACTION_CREATE reaches the bot; the interaction's id.
    pub fn click(
        &self,
        channel_id: u64,
        message_id: u64,
        user_id: u64,
        button: &str,
    ) -> Result<u64, String> {
        let mut world = self.shared.world();
        let (payload, id) = invoke::click(&mut world, channel_id, message_id, user_id, button)?;
        let user = world
            .user(user_id)
            .map_or_else(String::new, |u| u.username.clone());
        let label = world
            .interactions
            .last()
            .map(|i| i.label.clone())
            .unwrap_or_default();
        drop(world);
        crate::describe::announce(&format!("@{user} clicked the {label}"));
        self.send_event(("INTERACTION_CREATE", payload, intent::NONE));
        Ok(id)
    }

    /// An interaction and what the bot answered: `acknowledged` (`"Message"`,
    /// `"DeferredMessage"`, `"DeferredUpdate"`, `"UpdateMessage"` or null),
    /// `acknowledged_after_ms`, `ephemeral`, `original` (the answer's message object, as it is
    /// now), `follow_ups` and every `answers` call in order.
    pub fn interaction(&self, interaction_id: u64) -> Option<Value> {
        interactions::describe(&self.shared.world(), interaction_id)
    }

    /// The slash commands the bot registered in a server, as Discord's command objects.
    pub fn commands(&self, guild_id: u64) -> Vec<Value> {
        self.shared
            .world()
            .commands
            .iter()
            .filter(|command| command.guild_id == guild_id)
            .map(|command| command.object.clone())
            .collect()
    }
}
