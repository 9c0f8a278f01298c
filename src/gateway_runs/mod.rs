//! Discord's events into trigger runs: each [`DiscordEvent`] is matched against the loaded
//! events of its server (the trigger's kind and filters; bots never start `message` events)
//! and each match starts a run through [`triggers::start_run`]; an interaction is acknowledged
//! at once, alongside (never after) the durable write of its run, so Discord's 3 seconds hold
//! however slow the store or the run. `sync` keeps the gateway intents and every server's slash
//! commands as the events want them.

mod interactions;
mod sync;

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::discord::{Discord, DiscordEvent};
use crate::engine::Store;
use crate::events::{walk_actions, ActionKind, Event, Trigger, TriggerKind};
use crate::lang::templates::Variables;
use crate::queue::Queue;
use crate::triggers::{self, Fire, Started};

pub use sync::sync_until_shutdown;

/// How many Discord events are turned into runs at once; more wait in the event channel.
pub const CONCURRENT_STARTS: usize = 64;

/// A member who joined or left a server, and which time.
struct Member {
    guild: u64,
    user: u64,
    user_name: String,
    occurrence: String,
}

/// What starting runs needs.
#[derive(Clone)]
pub struct Starter {
    pub store: Store,
    pub queue: Queue,
    pub discord: Arc<Discord>,
}

/// Turns every event from `events` into runs until `shutdown` (or the channel closes).
pub async fn start_runs_until_shutdown(
    starter: Starter,
    mut events: mpsc::Receiver<DiscordEvent>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(CONCURRENT_STARTS));
    loop {
        let event = tokio::select! {
            event = events.recv() => match event {
                Some(event) => event,
                None => return,
            },
            _ = shutdown.cancelled() => return,
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let starter = starter.clone();
        tokio::spawn(async move {
            starter.handle(event).await;
            drop(slot);
        });
    }
}

/// The run's first `reply` (in action order) and whether it is ephemeral; `None` when the event
/// never replies.
fn first_reply(event: &Event) -> Option<bool> {
    let mut first = None;
    walk_actions(&event.actions, &mut |action| {
        if let (None, ActionKind::Reply { ephemeral, .. }) = (first, &action.kind) {
            first = Some(*ephemeral);
        }
    });
    first
}

fn vars(pairs: &[(&str, String)]) -> Variables {
    let mut variables = Variables::new();
    for (name, value) in pairs {
        variables.insert(*name, value.clone());
    }
    variables
}

impl Starter {
    async fn events_of(&self, guild: u64, kind: TriggerKind) -> Vec<Event> {
        match self.store.events().await {
            Ok(events) => events
                .into_iter()
                .filter(|event| event.enabled && event.server == guild)
                .filter(|event| event.trigger.kind() == kind)
                .collect(),
            Err(error) => {
                tracing::error!(%error, "cannot read the events to start a run");
                Vec::new()
            }
        }
    }

    async fn start(&self, event: &Event, fire: Fire) -> Result<Started, String> {
        let kind = fire.kind;
        match triggers::start_run(&self.queue, event, fire).await {
            Ok(Started::Skipped) => {
                tracing::info!(event = %event.id, trigger = %kind, "a [[when]] filter did not hold; no run");
                Ok(Started::Skipped)
            }
            Ok(Started::Repeat(run)) => {
                tracing::info!(event = %event.id, trigger = %kind, %run, "the same {kind} arrived again (Discord delivered it twice); no second run");
                Ok(Started::Repeat(run))
            }
            Ok(started) => Ok(started),
            Err(error) => {
                tracing::error!(event = %event.id, %error, "could not start a run");
                Err(error.to_string())
            }
        }
    }

    async fn handle(&self, happened: DiscordEvent) {
        match happened {
            DiscordEvent::Message {
                guild,
                channel,
                channel_name,
                message,
                author,
                author_name,
                author_is_bot,
                content,
            } => {
                if author_is_bot {
                    return;
                }
                for event in self.events_of(guild, TriggerKind::Message).await {
                    if let Trigger::Message {
                        channel: Some(filter),
                    } = &event.trigger
                    {
                        if !filter.matches(channel, channel_name.as_deref()) {
                            continue;
                        }
                    }
                    let variables = vars(&[
                        ("message_content", content.clone()),
                        ("message_id", message.to_string()),
                        ("user_id", author.to_string()),
                        ("user_name", author_name.clone()),
                        ("channel_id", channel.to_string()),
                    ]);
                    let fire = Fire::new(TriggerKind::Message, variables)
                        .with_occurrence(message.to_string());
                    let _ = self.start(&event, fire).await;
                }
            }
            DiscordEvent::MemberJoin {
                guild,
                user,
                user_name,
                occurrence,
            } => {
                let member = Member {
                    guild,
                    user,
                    user_name,
                    occurrence,
                };
                self.member(member, TriggerKind::MemberJoin).await
            }
            DiscordEvent::MemberLeave {
                guild,
                user,
                user_name,
                occurrence,
            } => {
                let member = Member {
                    guild,
                    user,
                    user_name,
                    occurrence,
                };
                self.member(member, TriggerKind::MemberLeave).await
            }
            DiscordEvent::Reaction {
                added,
                guild,
                channel,
                message,
                user,
                emoji_name,
                emoji_id,
                occurrence,
            } => {
                // hookbot's own `react` actions never start reaction events: no loops.
                if self.discord.bot_id() == Some(user) {
                    return;
                }
                let kind = if added {
                    TriggerKind::ReactionAdd
                } else {
                    TriggerKind::ReactionRemove
                };
                for event in self.events_of(guild, kind).await {
                    let filter = match &event.trigger {
                        Trigger::ReactionAdd { emoji } | Trigger::ReactionRemove { emoji } => {
                            emoji.as_ref()
                        }
                        _ => None,
                    };
                    if filter.is_some_and(|f| !f.matches(emoji_name.as_deref(), emoji_id)) {
                        continue;
                    }
                    let variables = vars(&[
                        (
                            "emoji",
                            crate::events::emoji_text(emoji_name.as_deref(), emoji_id),
                        ),
                        ("message_id", message.to_string()),
                        ("user_id", user.to_string()),
                        ("channel_id", channel.to_string()),
                    ]);
                    let fire = Fire::new(kind, variables).with_occurrence(occurrence.clone());
                    let _ = self.start(&event, fire).await;
                }
            }
            interaction @ (DiscordEvent::Command { .. } | DiscordEvent::Click { .. }) => {
                self.interaction(interaction).await
            }
        }
    }

    async fn member(&self, member: Member, kind: TriggerKind) {
        for event in self.events_of(member.guild, kind).await {
            let variables = vars(&[
                ("user_id", member.user.to_string()),
                ("user_name", member.user_name.clone()),
            ]);
            let fire = Fire::new(kind, variables).with_occurrence(member.occurrence.clone());
            let _ = self.start(&event, fire).await;
        }
    }
}
