//! A slash command or a button click into a run: the event it names, the acknowledgement sent
//! at once (in parallel with the run's durable write, so Discord's 3 seconds never wait on the
//! store), and the run started with the interaction, which its `reply` actions answer.

use crate::discord::{Ack, DiscordEvent};
use crate::events::{Event, Trigger, TriggerKind};
use crate::run::InteractionRef;
use crate::triggers::{Fire, Started};

use super::{first_reply, vars, Starter};

/// A slash command a member used.
struct Used {
    pub guild: u64,
    pub channel: u64,
    pub user: u64,
    pub user_name: String,
    pub name: String,
    pub options: Vec<(String, String)>,
}

/// A button a member clicked.
struct Click {
    pub guild: u64,
    pub channel: u64,
    pub message: u64,
    pub user: u64,
    pub user_name: String,
    pub custom_id: String,
}

/// Said to a member whose command no event handles any more (its file was deleted or
/// disabled since Discord showed it).
const GONE: &str = "This command is not available any more.";

impl Starter {
    /// A slash command or a click: acknowledged and started; other events are not theirs.
    pub(super) async fn interaction(&self, happened: DiscordEvent) {
        match happened {
            DiscordEvent::Command {
                guild,
                channel,
                user,
                user_name,
                name,
                options,
                interaction,
            } => {
                let used = Used {
                    guild,
                    channel,
                    user,
                    user_name,
                    name,
                    options,
                };
                self.command(used, interaction).await
            }
            DiscordEvent::Click {
                guild,
                channel,
                message,
                user,
                user_name,
                custom_id,
                interaction,
            } => {
                let click = Click {
                    guild,
                    channel,
                    message,
                    user,
                    user_name,
                    custom_id,
                };
                self.click(click, interaction).await
            }
            _ => {}
        }
    }

    async fn acknowledge(&self, interaction: &InteractionRef, ack: &Ack) {
        if let Err(error) = self.discord.acknowledge(interaction, ack).await {
            tracing::warn!(%error, interaction = interaction.id, "could not acknowledge an interaction; Discord shows it failed");
        }
    }

    /// Acknowledges and starts the run side by side; a run that cannot start is said to the
    /// member when the acknowledgement left room for it.
    async fn acknowledge_and_start(
        &self,
        event: &Event,
        ack: Ack,
        fire: Fire,
        interaction: &InteractionRef,
    ) {
        let (_, started) =
            tokio::join!(self.acknowledge(interaction, &ack), self.start(event, fire));
        let said = match (&ack, started) {
            (Ack::Notice(_), _) | (_, Ok(Started::New(_) | Started::Repeat(_))) => return,
            (_, Ok(Started::Skipped)) => {
                "Nothing to do: this event's filters did not match.".to_owned()
            }
            (_, Err(error)) => format!("hookbot could not start this: {error}"),
        };
        let body = serde_json::json!({ "content": said, "allowed_mentions": { "parse": [] } });
        let body = body.as_object().cloned().unwrap_or_default();
        // After "thinking…", the answer itself says it (nothing else will replace it).
        let told = match ack {
            Ack::Thinking { .. } => self.discord.edit_original(interaction, &body).await,
            _ => self.discord.follow_up(interaction, &body, true).await,
        };
        if let Err(error) = told {
            tracing::warn!(%error, "could not tell the member why nothing runs");
        }
    }

    async fn command(&self, used: Used, mut interaction: InteractionRef) {
        let events = self.events_of(used.guild, TriggerKind::Command).await;
        let found = events.iter().find(
            |event| matches!(&event.trigger, Trigger::Command(spec) if spec.name == used.name),
        );
        let Some(event) = found else {
            tracing::warn!(command = %used.name, server = used.guild, "a slash command no event handles was used");
            self.acknowledge(&interaction, &Ack::Notice(GONE.to_owned()))
                .await;
            return;
        };
        let spec = event.trigger.command().expect("matched a command trigger");
        let mut pairs = vec![
            ("user_id", used.user.to_string()),
            ("user_name", used.user_name.clone()),
            ("channel_id", used.channel.to_string()),
        ];
        let option_names: Vec<String> = spec
            .options
            .iter()
            .map(|o| format!("option_{}", o.name))
            .collect();
        for (option, name) in spec.options.iter().zip(&option_names) {
            let given = used
                .options
                .iter()
                .find(|(given, _)| *given == option.name)
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            pairs.push((name.as_str(), given));
        }
        let ack = match first_reply(event) {
            Some(ephemeral) => Ack::Thinking { ephemeral },
            None => Ack::Notice(format!("/{} is running.", used.name)),
        };
        interaction.deferred = matches!(ack, Ack::Thinking { .. });
        interaction.thinking = interaction.deferred;
        let fire = Fire::new(TriggerKind::Command, vars(&pairs))
            .with_interaction(interaction.clone())
            .with_occurrence(interaction.id.to_string());
        self.acknowledge_and_start(event, ack, fire, &interaction)
            .await;
    }

    async fn click(&self, click: Click, mut interaction: InteractionRef) {
        // The button carries its event and value (or the key of a long value in the store).
        let decoded =
            match crate::triggers::buttons::read_click(&self.store, &click.custom_id).await {
                Ok(decoded) => decoded,
                Err(error) => {
                    tracing::error!(%error, "cannot read a button's value");
                    None
                }
            };
        let events = self.events_of(click.guild, TriggerKind::Button).await;
        let found = decoded
            .as_ref()
            .and_then(|decoded| events.iter().find(|event| event.id == decoded.event_id));
        let (Some(decoded), Some(event)) = (decoded.as_ref(), found) else {
            tracing::warn!(custom_id = %click.custom_id, server = click.guild, "a button no button event of its server handles was clicked");
            let gone = "This button does not do anything any more.".to_owned();
            self.acknowledge(&interaction, &Ack::Notice(gone)).await;
            return;
        };
        interaction.deferred = true;
        let variables = vars(&[
            ("button_value", decoded.value.clone()),
            ("user_id", click.user.to_string()),
            ("user_name", click.user_name.clone()),
            ("channel_id", click.channel.to_string()),
            ("message_id", click.message.to_string()),
        ]);
        let fire = Fire::new(TriggerKind::Button, variables)
            .with_interaction(interaction.clone())
            .with_occurrence(interaction.id.to_string());
        self.acknowledge_and_start(event, Ack::Quiet, fire, &interaction)
            .await;
    }
}
