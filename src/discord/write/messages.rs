//! Messages: send (to a channel or a DM), edit, delete, pin, unpin, react, publish.

use serde_json::{Map, Value};
use serenity::all::{ChannelId, Message, MessageId, PrivateChannel, ReactionType, UserId};
use serenity::http::{LightMethod, Request, Route as Endpoint};

use super::Writer;
use crate::discord::client::Discord;
use crate::discord::error::{discord_error, root_cause, CallError};
use crate::discord::pacer::{RateLimitHeaders, Route};

impl Writer<'_> {
    /// `POST /channels/{channel}/messages` with `body` as the action rendered it (its
    /// `allowed_mentions` and `nonce` included).
    pub async fn send_message(
        &self,
        channel: ChannelId,
        body: &Map<String, Value>,
    ) -> Result<Message, CallError> {
        self.paced_with_headers(
            Route::message_send(channel.get()),
            post_message(self.discord, channel, body),
        )
        .await
    }

    /// The DM channel with `user` (Discord answers the existing one when there is one).
    pub async fn open_dm(&self, user: UserId) -> Result<PrivateChannel, CallError> {
        self.paced(
            Route::new("POST", "dm_channels", user.get()),
            user.create_dm_channel(self.discord.http.as_ref()),
        )
        .await
    }

    pub async fn edit_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        body: &Map<String, Value>,
    ) -> Result<Message, CallError> {
        self.paced(
            Route::new("PATCH", "messages", channel.get()),
            self.discord
                .http
                .edit_message(channel, message, body, Vec::new()),
        )
        .await
    }

    pub async fn delete_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("DELETE", "messages", channel.get()),
            self.discord.http.delete_message(channel, message, reason),
        )
        .await
    }

    pub async fn pin_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("PUT", "pins", channel.get()),
            self.discord.http.pin_message(channel, message, reason),
        )
        .await
    }

    pub async fn unpin_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("DELETE", "pins", channel.get()),
            self.discord.http.unpin_message(channel, message, reason),
        )
        .await
    }

    /// The bot's own reaction with `emoji` on a message.
    pub async fn react(
        &self,
        channel: ChannelId,
        message: MessageId,
        emoji: &ReactionType,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("PUT", "reactions", channel.get()),
            self.discord.http.create_reaction(channel, message, emoji),
        )
        .await
    }

    /// Publishes a message of an announcement channel to the servers following it.
    pub async fn crosspost(
        &self,
        channel: ChannelId,
        message: MessageId,
    ) -> Result<Message, CallError> {
        self.paced(
            Route::new("POST", "crosspost", channel.get()),
            self.discord.http.crosspost_message(channel, message),
        )
        .await
    }
}

/// The send itself, made by hookbot rather than serenity's `send_message` so that an error keeps
/// Discord's `retry_after` and the pacer reads the answer's rate-limit headers. With serenity's
/// ratelimiter on, the call goes through it (it waits out 429s itself, and tells the pacer).
async fn post_message(
    discord: &Discord,
    channel: ChannelId,
    body: &Map<String, Value>,
) -> (Result<Message, CallError>, Option<RateLimitHeaders>) {
    let mut headers = None;
    let result = send_post(discord, channel, body, &mut headers).await;
    (result, headers)
}

async fn send_post(
    discord: &Discord,
    channel: ChannelId,
    body: &Map<String, Value>,
    headers: &mut Option<RateLimitHeaders>,
) -> Result<Message, CallError> {
    let bytes = serde_json::to_vec(body).map_err(|e| CallError::Invalid(e.to_string()))?;
    let request = Request::new(
        Endpoint::ChannelMessages {
            channel_id: channel,
        },
        LightMethod::Post,
    )
    .body(Some(bytes));
    let http = &discord.http;
    let response = match &http.ratelimiter {
        Some(ratelimiter) => ratelimiter.perform(request).await?,
        None => {
            let built = request
                .build(&discord.raw, http.token(), http.proxy.as_deref())?
                .build()
                .map_err(|e| CallError::Transport(root_cause(&e)))?;
            discord
                .raw
                .execute(built)
                .await
                .map_err(|e| CallError::Transport(root_cause(&e)))?
        }
    };
    let status = response.status().as_u16();
    *headers = RateLimitHeaders::from_map(response.headers());
    let header = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok());
    let body = response
        .bytes()
        .await
        .map_err(|e| CallError::Transport(root_cause(&e)))?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&body).map_err(|e| {
            CallError::Invalid(format!(
                "Discord's answer to a message send did not parse: {e}"
            ))
        });
    }
    Err(discord_error(status, &body, header))
}
