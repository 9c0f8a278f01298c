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

#[cfg(test)]
mod tests {
    use super::super::testing::temp_engine;
    use super::*;
    use crate::engine::limits::{MAX_VARIABLE_NAME_CHARS, MAX_VARIABLE_VALUE_BYTES};

    const EVERY_SCOPE: [VariableScope; 6] = [
        VariableScope::Global,
        VariableScope::Server(1),
        VariableScope::Server(2),
        VariableScope::User { server: 1, user: 2 },
        VariableScope::User { server: 2, user: 1 },
        VariableScope::Channel(1),
    ];

    #[test]
    fn variables_set_get_delete_in_every_scope() {
        let (_dir, store) = temp_engine();
        for scope in &EVERY_SCOPE {
            assert_eq!(store.variable(scope, "count").unwrap(), None);
            store.set_variable(scope, "count", "1").unwrap();
            assert_eq!(
                store.variable(scope, "count").unwrap().as_deref(),
                Some("1")
            );
            store.set_variable(scope, "count", "2").unwrap();
            assert_eq!(
                store.variable(scope, "count").unwrap().as_deref(),
                Some("2")
            );
            assert!(store.delete_variable(scope, "count").unwrap());
            assert!(!store.delete_variable(scope, "count").unwrap());
            assert_eq!(store.variable(scope, "count").unwrap(), None);
        }
    }

    #[test]
    fn scopes_do_not_collide() {
        let (_dir, store) = temp_engine();
        for (i, scope) in EVERY_SCOPE.iter().enumerate() {
            store.set_variable(scope, "x", &i.to_string()).unwrap();
        }
        // A name that spells another scope's ids must not reach that scope's value.
        let mut spelled = String::from_utf8(vec![0; 7]).unwrap();
        spelled.push('\u{1}');
        spelled.push('x');
        store
            .set_variable(&VariableScope::Global, &spelled, "global")
            .unwrap();
        for (i, scope) in EVERY_SCOPE.iter().enumerate() {
            assert_eq!(store.variable(scope, "x").unwrap(), Some(i.to_string()));
        }
        let all = store.variables().unwrap();
        assert_eq!(all.len(), EVERY_SCOPE.len() + 1);
        assert!(all.contains(&(VariableScope::Global, spelled, "global".into())));
        for (i, scope) in EVERY_SCOPE.iter().enumerate() {
            assert!(all.contains(&(*scope, "x".into(), i.to_string())));
        }
    }

    #[test]
    fn variable_limits() {
        let (_dir, store) = temp_engine();
        let scope = VariableScope::Global;
        let longest = "n".repeat(MAX_VARIABLE_NAME_CHARS);
        store.set_variable(&scope, &longest, "ok").unwrap();
        let error = store
            .set_variable(&scope, &format!("{longest}n"), "v")
            .unwrap_err();
        assert!(matches!(
            error,
            StoreError::VariableNameTooLong { chars: 65, .. }
        ));
        assert!(error.to_string().contains("at most 64"), "{error}");
        assert!(matches!(
            store.set_variable(&scope, "", "v"),
            Err(StoreError::EmptyVariableName)
        ));
        let biggest = "v".repeat(MAX_VARIABLE_VALUE_BYTES);
        store.set_variable(&scope, "big", &biggest).unwrap();
        let error = store
            .set_variable(&scope, "big", &format!("{biggest}v"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the value for variable \"big\" is 16385 bytes; at most 16384 are allowed"
        );
        assert_eq!(store.variable(&scope, "big").unwrap(), Some(biggest));
    }

    #[tokio::test]
    async fn variables_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = SledEngine::open(&path).unwrap();
        for scope in &EVERY_SCOPE {
            store
                .set_variable(scope, "greeting", &format!("hello {scope}"))
                .unwrap();
        }
        store
            .delete_variable(&VariableScope::Global, "greeting")
            .unwrap();
        store.flush().await.unwrap();
        let before = store.variables().unwrap();
        drop(store);

        let store = SledEngine::open(&path).unwrap();
        assert_eq!(store.variables().unwrap(), before);
        assert_eq!(
            store.variable(&VariableScope::Global, "greeting").unwrap(),
            None
        );
        assert_eq!(
            store
                .variable(&VariableScope::User { server: 1, user: 2 }, "greeting")
                .unwrap()
                .as_deref(),
            Some("hello user 2 in server 1")
        );
    }
}
