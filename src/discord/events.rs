//! What Discord reports that can start a run, turned from serenity's types into plain data
//! ([`DiscordEvent`]) and handed to whoever starts the runs, over a bounded channel: messages,
//! members joining and leaving, reactions, slash commands and button clicks; each with the
//! occurrence that tells it from the same dispatch delivered again.

use serenity::all::{
    CommandDataOptionValue, Context, EventHandler, GuildId, Interaction, Member, Message, Reaction,
    ReactionType, User,
};
use serenity::async_trait;
use tokio::sync::mpsc;

use super::occurrences::Occurrences;
use crate::run::InteractionRef;

/// How many reported events may wait for the run starter; past it, gateway events are dropped
/// with a warning (an interaction waits for room instead: it must be acknowledged).
pub const EVENT_QUEUE: usize = 1024;

/// One thing that happened in a server, as the run starter needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscordEvent {
    Message {
        guild: u64,
        channel: u64,
        channel_name: Option<String>,
        message: u64,
        author: u64,
        author_name: String,
        /// Bots (hookbot itself included) and webhooks never start `message` events.
        author_is_bot: bool,
        content: String,
    },
    MemberJoin {
        guild: u64,
        user: u64,
        user_name: String,
        /// The membership: when the user joined (a re-join has its own time).
        occurrence: String,
    },
    MemberLeave {
        guild: u64,
        user: u64,
        user_name: String,
        /// Which leave of this member (see `occurrences`).
        occurrence: String,
    },
    Reaction {
        added: bool,
        guild: u64,
        channel: u64,
        message: u64,
        user: u64,
        emoji_name: Option<String>,
        emoji_id: Option<u64>,
        /// Which add or remove of this user's emoji on this message (see `occurrences`).
        occurrence: String,
    },
    Command {
        guild: u64,
        channel: u64,
        user: u64,
        user_name: String,
        name: String,
        /// Each option given, as text (users, channels and roles as ids).
        options: Vec<(String, String)>,
        interaction: InteractionRef,
    },
    Click {
        guild: u64,
        channel: u64,
        message: u64,
        user: u64,
        user_name: String,
        custom_id: String,
        interaction: InteractionRef,
    },
}

/// The serenity event handler that forwards [`DiscordEvent`]s.
pub(super) struct Forwarder {
    events: mpsc::Sender<DiscordEvent>,
    occurrences: std::sync::Mutex<Occurrences>,
}

impl Forwarder {
    pub fn new(events: mpsc::Sender<DiscordEvent>) -> Forwarder {
        Forwarder {
            events,
            occurrences: std::sync::Mutex::new(Occurrences::new()),
        }
    }

    fn occurrence(&self, subject: &str, direction: bool) -> String {
        self.occurrences
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .occurrence(subject, direction)
    }

    fn forward(&self, event: DiscordEvent) {
        if let Err(error) = self.events.try_send(event) {
            tracing::warn!(%error, "a Discord event was dropped: the run starter is {} events behind", EVENT_QUEUE);
        }
    }
}

fn interaction_ref(id: u64, application_id: u64, token: &str) -> InteractionRef {
    InteractionRef {
        id,
        application_id,
        token: token.to_owned(),
        deferred: false,
        thinking: false,
    }
}

/// An option's value as `{option_NAME}` shows it.
fn option_text(value: &CommandDataOptionValue) -> Option<String> {
    Some(match value {
        CommandDataOptionValue::String(text) => text.clone(),
        CommandDataOptionValue::Integer(number) => number.to_string(),
        CommandDataOptionValue::Number(number) => number.to_string(),
        CommandDataOptionValue::Boolean(flag) => flag.to_string(),
        CommandDataOptionValue::User(id) => id.to_string(),
        CommandDataOptionValue::Channel(id) => id.to_string(),
        CommandDataOptionValue::Role(id) => id.to_string(),
        CommandDataOptionValue::Mentionable(id) => id.to_string(),
        _ => return None,
    })
}

#[async_trait]
impl EventHandler for Forwarder {
    async fn message(&self, ctx: Context, message: Message) {
        let Some(guild) = message.guild_id else {
            return;
        };
        let channel_name = ctx.cache.guild(guild).and_then(|cached| {
            cached
                .channels
                .get(&message.channel_id)
                .map(|channel| channel.name.clone())
        });
        self.forward(DiscordEvent::Message {
            guild: guild.get(),
            channel: message.channel_id.get(),
            channel_name,
            message: message.id.get(),
            author: message.author.id.get(),
            author_name: message.author.name.clone(),
            author_is_bot: message.author.bot || message.webhook_id.is_some(),
            content: message.content,
        });
    }

    async fn guild_member_addition(&self, _ctx: Context, member: Member) {
        let subject = format!("{}:{}", member.guild_id, member.user.id);
        // A leave after this join is a new occurrence of leaving.
        let counted = self.occurrence(&subject, true);
        let occurrence = match member.joined_at.and_then(|at| at.to_rfc3339()) {
            Some(joined_at) => format!("{subject}:{joined_at}"),
            None => counted,
        };
        self.forward(DiscordEvent::MemberJoin {
            guild: member.guild_id.get(),
            user: member.user.id.get(),
            user_name: member.user.name,
            occurrence,
        });
    }

    async fn guild_member_removal(
        &self,
        _ctx: Context,
        guild: GuildId,
        user: User,
        _member: Option<Member>,
    ) {
        let occurrence = self.occurrence(&format!("{guild}:{}", user.id), false);
        self.forward(DiscordEvent::MemberLeave {
            guild: guild.get(),
            user: user.id.get(),
            user_name: user.name,
            occurrence,
        });
    }

    async fn reaction_add(&self, _ctx: Context, reaction: Reaction) {
        self.reaction(reaction, true);
    }

    async fn reaction_remove(&self, _ctx: Context, reaction: Reaction) {
        self.reaction(reaction, false);
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        let event = match interaction {
            Interaction::Command(command) => {
                let Some(guild) = command.guild_id else {
                    return;
                };
                DiscordEvent::Command {
                    guild: guild.get(),
                    channel: command.channel_id.get(),
                    user: command.user.id.get(),
                    user_name: command.user.name.clone(),
                    name: command.data.name.clone(),
                    options: command
                        .data
                        .options
                        .iter()
                        .filter_map(|option| {
                            Some((option.name.clone(), option_text(&option.value)?))
                        })
                        .collect(),
                    interaction: interaction_ref(
                        command.id.get(),
                        command.application_id.get(),
                        &command.token,
                    ),
                }
            }
            Interaction::Component(click) => {
                let Some(guild) = click.guild_id else {
                    return;
                };
                DiscordEvent::Click {
                    guild: guild.get(),
                    channel: click.channel_id.get(),
                    message: click.message.id.get(),
                    user: click.user.id.get(),
                    user_name: click.user.name.clone(),
                    custom_id: click.data.custom_id.clone(),
                    interaction: interaction_ref(
                        click.id.get(),
                        click.application_id.get(),
                        &click.token,
                    ),
                }
            }
            _ => return,
        };
        // An interaction must be acknowledged within 3 s: wait for room rather than drop it.
        if self.events.send(event).await.is_err() {
            tracing::warn!(
                "an interaction arrived while hookbot stops; Discord will show it failed"
            );
        }
    }
}

impl Forwarder {
    fn reaction(&self, reaction: Reaction, added: bool) {
        let (Some(guild), Some(user)) = (reaction.guild_id, reaction.user_id) else {
            return;
        };
        let (emoji_name, emoji_id) = match &reaction.emoji {
            ReactionType::Unicode(name) => (Some(name.clone()), None),
            ReactionType::Custom { id, name, .. } => (name.clone(), Some(id.get())),
            _ => (None, None),
        };
        // A super reaction is a reaction of its own beside the normal one of the same emoji.
        let subject = format!(
            "{}:{user}:{}:{}",
            reaction.message_id,
            crate::events::emoji_text(emoji_name.as_deref(), emoji_id),
            if reaction.burst { "burst" } else { "normal" }
        );
        let occurrence = self.occurrence(&subject, added);
        self.forward(DiscordEvent::Reaction {
            occurrence,
            added,
            guild: guild.get(),
            channel: reaction.channel_id.get(),
            message: reaction.message_id.get(),
            user: user.get(),
            emoji_name,
            emoji_id,
        });
    }
}
