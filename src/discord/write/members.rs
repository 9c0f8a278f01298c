//! Members: roles given and taken, nickname, timeout, kick, ban and unban.

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;
use serenity::all::{GuildId, RoleId, UserId};
use serenity::http::{LightMethod, Request, Route as Endpoint};

use super::Writer;
use crate::discord::error::CallError;
use crate::discord::pacer::Route;

impl Writer<'_> {
    pub async fn add_member_role(
        &self,
        guild: GuildId,
        user: UserId,
        role: RoleId,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("PUT", "member_roles", guild.get()),
            self.discord.http.add_member_role(guild, user, role, reason),
        )
        .await
    }

    pub async fn remove_member_role(
        &self,
        guild: GuildId,
        user: UserId,
        role: RoleId,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("DELETE", "member_roles", guild.get()),
            self.discord
                .http
                .remove_member_role(guild, user, role, reason),
        )
        .await
    }

    /// Sets `user`'s nickname in `guild`, or removes it with `None`.
    pub async fn set_nickname(
        &self,
        guild: GuildId,
        user: UserId,
        nickname: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        let route = Route::new("PATCH", "members", guild.get());
        let http = &self.discord.http;
        if self.discord.is_bot(user) {
            // Discord lets a bot change its own nickname only through `members/@me`.
            self.paced(route, http.edit_nickname(guild, nickname, reason))
                .await
        } else {
            let body = json!({ "nick": nickname });
            self.paced(route, http.edit_member(guild, user, &body, reason))
                .await
                .map(drop)
        }
    }

    /// Times `user` out until `until` (an RFC 3339 instant), or ends their timeout with `None`.
    pub async fn set_timeout(
        &self,
        guild: GuildId,
        user: UserId,
        until: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        let body = json!({ "communication_disabled_until": until });
        self.paced(
            Route::new("PATCH", "members", guild.get()),
            self.discord.http.edit_member(guild, user, &body, reason),
        )
        .await
        .map(drop)
    }

    pub async fn kick_member(
        &self,
        guild: GuildId,
        user: UserId,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("DELETE", "members", guild.get()),
            self.discord.http.kick_member(guild, user, reason),
        )
        .await
    }

    /// Bans `user`, deleting their messages of the last `delete_seconds` when given.
    pub async fn ban_member(
        &self,
        guild: GuildId,
        user: UserId,
        delete_seconds: Option<u64>,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("PUT", "bans", guild.get()),
            self.ban(guild, user, delete_seconds, reason),
        )
        .await
    }

    pub async fn unban_member(
        &self,
        guild: GuildId,
        user: UserId,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("DELETE", "bans", guild.get()),
            self.discord.http.remove_ban(guild, user, reason),
        )
        .await
    }

    /// `PUT /guilds/{guild}/bans/{user}` with `delete_message_seconds` in the body, as Discord
    /// documents it (serenity's `ban_user` only counts whole days, in the query).
    async fn ban(
        &self,
        guild: GuildId,
        user: UserId,
        delete_seconds: Option<u64>,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        let body = delete_seconds
            .map(|seconds| serde_json::to_vec(&json!({ "delete_message_seconds": seconds })))
            .transpose()
            .map_err(|e| CallError::Invalid(e.to_string()))?;
        let headers = reason
            .map(|reason| -> Result<HeaderMap, CallError> {
                let mut headers = HeaderMap::new();
                let value = HeaderValue::from_str(&percent_encode(reason))
                    .map_err(|e| CallError::Invalid(format!("the reason cannot be sent: {e}")))?;
                headers.insert("X-Audit-Log-Reason", value);
                Ok(headers)
            })
            .transpose()?;
        let request = Request::new(
            Endpoint::GuildBan {
                guild_id: guild,
                user_id: user,
            },
            LightMethod::Put,
        )
        .body(body)
        .headers(headers);
        self.discord.http.request(request).await?;
        Ok(())
    }
}

/// `text` percent-encoded for a header, as Discord wants the audit-log reason.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_percent_encoded() {
        assert_eq!(percent_encode("spam bot!"), "spam%20bot%21");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }
}
