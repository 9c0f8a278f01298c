//! Channels, threads and invites: create, edit, delete.

use serde_json::{Map, Value};
use serenity::all::{ChannelId, GuildChannel, GuildId, MessageId, RichInvite};

use super::Writer;
use crate::discord::error::CallError;
use crate::discord::pacer::Route;

impl Writer<'_> {
    pub async fn create_channel(
        &self,
        guild: GuildId,
        body: &Map<String, Value>,
        reason: Option<&str>,
    ) -> Result<GuildChannel, CallError> {
        self.paced(
            Route::new("POST", "channels", guild.get()),
            self.discord.http.create_channel(guild, body, reason),
        )
        .await
    }

    pub async fn edit_channel(
        &self,
        channel: ChannelId,
        body: &Map<String, Value>,
        reason: Option<&str>,
    ) -> Result<GuildChannel, CallError> {
        self.paced(
            Route::new("PATCH", "channel", channel.get()),
            self.discord.http.edit_channel(channel, body, reason),
        )
        .await
    }

    pub async fn edit_thread(
        &self,
        thread: ChannelId,
        body: &Map<String, Value>,
        reason: Option<&str>,
    ) -> Result<GuildChannel, CallError> {
        self.paced(
            Route::new("PATCH", "channel", thread.get()),
            self.discord.http.edit_thread(thread, body, reason),
        )
        .await
    }

    /// Deletes a channel or thread.
    pub async fn delete_channel(
        &self,
        channel: ChannelId,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("DELETE", "channel", channel.get()),
            self.discord.http.delete_channel(channel, reason),
        )
        .await
        .map(drop)
    }

    /// A thread in `parent`: started from `message` when given, else on its own.
    pub async fn create_thread(
        &self,
        parent: ChannelId,
        message: Option<MessageId>,
        body: &Map<String, Value>,
        reason: Option<&str>,
    ) -> Result<GuildChannel, CallError> {
        let route = Route::new("POST", "threads", parent.get());
        let http = &self.discord.http;
        match message {
            Some(message) => {
                self.paced(
                    route,
                    http.create_thread_from_message(parent, message, body, reason),
                )
                .await
            }
            None => {
                self.paced(route, http.create_thread(parent, body, reason))
                    .await
            }
        }
    }

    pub async fn create_invite(
        &self,
        channel: ChannelId,
        body: &Map<String, Value>,
        reason: Option<&str>,
    ) -> Result<RichInvite, CallError> {
        self.paced(
            Route::new("POST", "invites", channel.get()),
            self.discord.http.create_invite(channel, body, reason),
        )
        .await
    }
}
