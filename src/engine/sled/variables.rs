//! Variables by scope: one tree, keyed so that no two scopes can share a key.

use super::SledEngine;
use crate::engine::error::StoreError;
use crate::engine::records::{check_variable, VariableScope};

impl SledEngine {
    pub(super) fn variable(
        &self,
        scope: &VariableScope,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        match self.variables.get(variable_key(scope, name))? {
            Some(bytes) => Ok(Some(
                String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::CorruptVariable)?,
            )),
            None => Ok(None),
        }
    }

    /// Sets a variable, checking the name and value against the limits.
    pub(super) fn set_variable(
        &self,
        scope: &VariableScope,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        check_variable(name, value)?;
        self.variables
            .insert(variable_key(scope, name), value.as_bytes())?;
        Ok(())
    }

    /// Removes a variable; false when there was none.
    pub(super) fn delete_variable(
        &self,
        scope: &VariableScope,
        name: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.variables.remove(variable_key(scope, name))?.is_some())
    }

    /// Every variable, ordered by scope (global, servers, users, channels) and then name.
    pub(super) fn variables(&self) -> Result<Vec<(VariableScope, String, String)>, StoreError> {
        self.variables
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                let (scope, name) = decode_variable_key(&key).ok_or(StoreError::CorruptVariable)?;
                let value =
                    String::from_utf8(value.to_vec()).map_err(|_| StoreError::CorruptVariable)?;
                Ok((scope, name, value))
            })
            .collect()
    }
}

// A variable's key is a scope tag byte, the scope's ids as fixed-width big-endian integers, then
// the name. The tag tells how many id bytes follow, so the name starts at a known offset and no
// two scopes can produce the same key, whatever the name holds.
const GLOBAL_TAG: u8 = 0;
const SERVER_TAG: u8 = 1;
const USER_TAG: u8 = 2;
const CHANNEL_TAG: u8 = 3;

fn variable_key(scope: &VariableScope, name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + 16 + name.len());
    match scope {
        VariableScope::Global => key.push(GLOBAL_TAG),
        VariableScope::Server(server) => {
            key.push(SERVER_TAG);
            key.extend_from_slice(&server.to_be_bytes());
        }
        VariableScope::User { server, user } => {
            key.push(USER_TAG);
            key.extend_from_slice(&server.to_be_bytes());
            key.extend_from_slice(&user.to_be_bytes());
        }
        VariableScope::Channel(channel) => {
            key.push(CHANNEL_TAG);
            key.extend_from_slice(&channel.to_be_bytes());
        }
    }
    key.extend_from_slice(name.as_bytes());
    key
}

fn decode_variable_key(key: &[u8]) -> Option<(VariableScope, String)> {
    fn id(bytes: &[u8]) -> Option<u64> {
        Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
    }
    let (&tag, rest) = key.split_first()?;
    let (scope, name) = match tag {
        GLOBAL_TAG => (VariableScope::Global, rest),
        SERVER_TAG => (VariableScope::Server(id(rest)?), rest.get(8..)?),
        USER_TAG => (
            VariableScope::User {
                server: id(rest)?,
                user: id(rest.get(8..)?)?,
            },
            rest.get(16..)?,
        ),
        CHANNEL_TAG => (VariableScope::Channel(id(rest)?), rest.get(8..)?),
        _ => return None,
    };
    Some((scope, String::from_utf8(name.to_vec()).ok()?))
}
