//! Roles of a server: create, edit, delete.

use serde_json::{Map, Value};
use serenity::all::{GuildId, Role, RoleId};

use super::Writer;
use crate::discord::error::CallError;
use crate::discord::pacer::Route;

impl Writer<'_> {
    pub async fn create_role(
        &self,
        guild: GuildId,
        body: &Map<String, Value>,
        reason: Option<&str>,
    ) -> Result<Role, CallError> {
        self.paced(
            Route::new("POST", "roles", guild.get()),
            self.discord.http.create_role(guild, body, reason),
        )
        .await
    }

    pub async fn edit_role(
        &self,
        guild: GuildId,
        role: RoleId,
        body: &Map<String, Value>,
        reason: Option<&str>,
    ) -> Result<Role, CallError> {
        self.paced(
            Route::new("PATCH", "roles", guild.get()),
            self.discord.http.edit_role(guild, role, body, reason),
        )
        .await
    }

    pub async fn delete_role(
        &self,
        guild: GuildId,
        role: RoleId,
        reason: Option<&str>,
    ) -> Result<(), CallError> {
        self.paced(
            Route::new("DELETE", "roles", guild.get()),
            self.discord.http.delete_role(guild, role, reason),
        )
        .await
    }
}
