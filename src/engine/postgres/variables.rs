//! Variables by scope (`hookbot.variables`): the scope as a number and up to two ids, then the
//! name, so no two scopes can share a row whatever the name holds. Names and values are kept as
//! UTF-8 bytes: PostgreSQL's text cannot hold U+0000, which a webhook's value may.

use super::PostgresEngine;
use crate::engine::error::StoreError;
use crate::engine::records::{check_variable, VariableScope};

const GLOBAL: i16 = 0;
const SERVER: i16 = 1;
const USER: i16 = 2;
const CHANNEL: i16 = 3;

/// The scope's columns: its number and its two ids (0 where unused). Discord ids stay below
/// 2^63, so they are stored as they are.
fn columns(scope: &VariableScope) -> (i16, i64, i64) {
    match *scope {
        VariableScope::Global => (GLOBAL, 0, 0),
        VariableScope::Server(server) => (SERVER, server as i64, 0),
        VariableScope::User { server, user } => (USER, server as i64, user as i64),
        VariableScope::Channel(channel) => (CHANNEL, channel as i64, 0),
    }
}

fn scope_of(kind: i16, first: i64, second: i64) -> Option<VariableScope> {
    Some(match kind {
        GLOBAL => VariableScope::Global,
        SERVER => VariableScope::Server(first as u64),
        USER => VariableScope::User {
            server: first as u64,
            user: second as u64,
        },
        CHANNEL => VariableScope::Channel(first as u64),
        _ => return None,
    })
}

fn text(bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|_| StoreError::CorruptVariable)
}

impl PostgresEngine {
    pub(super) async fn variable(
        &self,
        scope: &VariableScope,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let (kind, first, second) = columns(scope);
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT value FROM hookbot.variables
                 WHERE scope = $1 AND first = $2 AND second = $3 AND name = $4",
                &[&kind, &first, &second, &name.as_bytes()],
            )
            .await?;
        row.map(|row| text(row.get(0))).transpose()
    }

    /// Sets a variable, checking the name and value against the limits.
    pub(super) async fn set_variable(
        &self,
        scope: &VariableScope,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        check_variable(name, value)?;
        let (kind, first, second) = columns(scope);
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO hookbot.variables (scope, first, second, name, value)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (scope, first, second, name) DO UPDATE SET value = excluded.value",
                &[&kind, &first, &second, &name.as_bytes(), &value.as_bytes()],
            )
            .await?;
        Ok(())
    }

    /// Removes a variable; false when there was none.
    pub(super) async fn delete_variable(
        &self,
        scope: &VariableScope,
        name: &str,
    ) -> Result<bool, StoreError> {
        let (kind, first, second) = columns(scope);
        let client = self.client().await?;
        let deleted = client
            .execute(
                "DELETE FROM hookbot.variables
                 WHERE scope = $1 AND first = $2 AND second = $3 AND name = $4",
                &[&kind, &first, &second, &name.as_bytes()],
            )
            .await?;
        Ok(deleted > 0)
    }

    /// Every variable, ordered by scope (global, servers, users, channels) and then name.
    pub(super) async fn variables(
        &self,
    ) -> Result<Vec<(VariableScope, String, String)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT scope, first, second, name, value FROM hookbot.variables
                 ORDER BY scope, first, second, name",
                &[],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let scope = scope_of(row.get(0), row.get(1), row.get(2))
                    .ok_or(StoreError::CorruptVariable)?;
                Ok((scope, text(row.get(3))?, text(row.get(4))?))
            })
            .collect()
    }
}
