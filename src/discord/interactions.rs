//! Answering interactions: the acknowledgement that must reach Discord within 3 seconds
//! (sent at once, never behind the pacer or a run), and what a `reply` sends with the
//! interaction's token for 15 minutes after: the deferred answer edited into the first reply
//! (an edit, so a reply repeated after a crash lands once), follow-ups for the others.

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

    /// Edits the answer to `interaction` (the "thinking…" of [`Ack::Thinking`]) into `body`,
    /// as a message send renders it, `allowed_mentions` included. Idempotent: sending it again
    /// (a run resumed after a crash) leaves one message. Its ephemerality is the
    /// acknowledgement's.
    pub async fn edit_original(
        &self,
        interaction: &InteractionRef,
        body: &Map<String, Value>,
    ) -> Result<Message, CallError> {
        let mut body = body.clone();
        body.remove("flags");
        if interaction.application_id != 0 {
            self.http
                .set_application_id(ApplicationId::new(interaction.application_id));
        }
        Ok(self
            .http
            .edit_original_interaction_response(&interaction.token, &body, Vec::new())
            .await?)
    }

    /// A follow-up message on `interaction`: `body` as a message send renders it,
    /// `allowed_mentions` included; `ephemeral` shows it only to the user.
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
