//! Answering interactions: the acknowledgement that must reach Discord within 3 seconds
//! (sent at once, never behind the pacer or a run), and the follow-ups a `reply` sends with
//! the interaction's token for 15 minutes after.

use serde_json::{json, Map, Value};
use serenity::all::{ApplicationId, InteractionId, Message};

use super::client::Discord;
use super::error::CallError;
use crate::run::InteractionRef;

/// How hookbot acknowledges an interaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Ack {
    /// A command whose run will `reply`: "hookbot is thinking…", which the first reply
    /// replaces (ephemeral when that reply is).
    Thinking { ephemeral: bool },
    /// A click: taken without a message; replies follow as new messages.
    Quiet,
    /// A short answer at once, only for the user who asked (a command whose run never
    /// replies, or one nothing can run).
    Notice(String),
}

/// Only the user who started the interaction sees the message.
pub const EPHEMERAL: u64 = 64;

impl Discord {
    /// Sends the acknowledgement for `interaction`. Not paced: Discord's 3 seconds do not wait.
    pub async fn acknowledge(
        &self,
        interaction: &InteractionRef,
        ack: &Ack,
    ) -> Result<(), CallError> {
        let body = match ack {
            Ack::Thinking { ephemeral } => {
                json!({ "type": 5, "data": { "flags": if *ephemeral { EPHEMERAL } else { 0 } } })
            }
            Ack::Quiet => json!({ "type": 6 }),
            Ack::Notice(text) => json!({ "type": 4, "data": {
                "content": text,
                "flags": EPHEMERAL,
                "allowed_mentions": { "parse": [] },
            } }),
        };
        self.http
            .create_interaction_response(
                InteractionId::new(interaction.id),
                &interaction.token,
                &body,
                Vec::new(),
            )
            .await?;
        Ok(())
    }

    /// A follow-up message on `interaction` (the first one after [`Ack::Thinking`] replaces
    /// the "thinking…" message): `body` as a message send renders it, `allowed_mentions`
    /// included; `ephemeral` shows it only to the user.
    pub async fn follow_up(
        &self,
        interaction: &InteractionRef,
        body: &Map<String, Value>,
        ephemeral: bool,
    ) -> Result<Message, CallError> {
        let mut body = body.clone();
        if ephemeral {
            body.insert("flags".into(), json!(EPHEMERAL));
        }
        if interaction.application_id != 0 {
            self.http
                .set_application_id(ApplicationId::new(interaction.application_id));
        }
        Ok(self
            .http
            .create_followup_message(&interaction.token, &body, Vec::new())
            .await?)
    }
}
