//! What a button's `custom_id` carries, so a click runs its event with its value even after a
//! restart: `hb1:<index>:<event id>:=<value>` when that fits Discord's 100 characters, else
//! `hb1:<index>:<event id>:#<key>` with the value kept in the store under a key derived from it.
//! The index (the button's place in its message) keeps custom ids unique within a message, as
//! Discord requires.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::engine::{Store, StoreError};

/// Discord's limit on a component's `custom_id`.
pub const MAX_CUSTOM_ID_CHARS: usize = 100;
/// The longest rendered value a button may carry (kept in the store when it does not fit).
pub const MAX_BUTTON_VALUE_BYTES: usize = 4096;
/// Marks hookbot's own buttons, and the form of their custom id.
const PREFIX: &str = "hb1:";

/// A click, read back from its button: the event to run and its `{button_value}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub event_id: String,
    pub value: String,
}

/// Where a custom id keeps its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carried {
    /// In the custom id itself.
    Inline(String),
    /// In the store, under this key.
    Stored(String),
}

/// A custom id taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub index: usize,
    pub event_id: String,
    pub carried: Carried,
}

#[derive(Debug, thiserror::Error)]
pub enum ButtonError {
    #[error("the button's value is {bytes} bytes after filling in the variables; at most {MAX_BUTTON_VALUE_BYTES} are allowed")]
    ValueTooLong { bytes: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The custom id with the value inline, or `Err(key)`: the key to keep the value under, when it
/// does not fit.
pub fn encode(index: usize, event_id: &str, value: &str) -> Result<String, String> {
    let inline = format!("{PREFIX}{index}:{event_id}:={value}");
    if inline.chars().count() <= MAX_CUSTOM_ID_CHARS {
        Ok(inline)
    } else {
        Err(value_key(event_id, value))
    }
}

/// The custom id that points at a value kept under `key`: at most 4 + 2 + 1 + 64 + 2 + 22 = 95
/// characters for the longest event id.
pub fn stored_id(index: usize, event_id: &str, key: &str) -> String {
    format!("{PREFIX}{index}:{event_id}:#{key}")
}

/// A key derived from the event and the value (132 bits of SHA-256, URL-safe base64): the same
/// value sent again is kept once.
pub fn value_key(event_id: &str, value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(event_id.as_bytes())
        .chain_update([0])
        .chain_update(value.as_bytes())
        .finalize();
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    encoded[..22].to_owned()
}

/// Takes a custom id apart; `None` when it is not one of hookbot's.
pub fn decode(custom_id: &str) -> Option<Decoded> {
    let rest = custom_id.strip_prefix(PREFIX)?;
    let (index, rest) = rest.split_once(':')?;
    let index = index.parse().ok()?;
    let (event_id, carried) = rest.split_once(':')?;
    let carried = if let Some(value) = carried.strip_prefix('=') {
        Carried::Inline(value.to_owned())
    } else {
        Carried::Stored(carried.strip_prefix('#')?.to_owned())
    };
    (!event_id.is_empty()).then(|| Decoded {
        index,
        event_id: event_id.to_owned(),
        carried,
    })
}

/// The custom id for button `index` of a message, running `event_id` with `value`; a value that
/// does not fit is kept in the store (durably) before this returns, so the message can be sent.
pub async fn custom_id(
    store: &Store,
    index: usize,
    event_id: &str,
    value: &str,
) -> Result<String, ButtonError> {
    if value.len() > MAX_BUTTON_VALUE_BYTES {
        return Err(ButtonError::ValueTooLong { bytes: value.len() });
    }
    match encode(index, event_id, value) {
        Ok(inline) => Ok(inline),
        Err(key) => {
            store.keep_button_value(&key, value).await?;
            Ok(stored_id(index, event_id, &key))
        }
    }
}

/// The click a custom id stands for; `None` when it is not one of hookbot's, or its kept value
/// is gone.
pub async fn read_click(store: &Store, custom_id: &str) -> Result<Option<Click>, StoreError> {
    let Some(decoded) = decode(custom_id) else {
        return Ok(None);
    };
    let value = match decoded.carried {
        Carried::Inline(value) => value,
        Carried::Stored(key) => match store.button_value(&key).await? {
            Some(value) => value,
            None => return Ok(None),
        },
    };
    Ok(Some(Click {
        event_id: decoded.event_id,
        value,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_ride_in_the_custom_id() {
        let id = encode(3, "deploy-approve", "billing@2.4.1: ok").unwrap();
        assert_eq!(id, "hb1:3:deploy-approve:=billing@2.4.1: ok");
        assert_eq!(
            decode(&id),
            Some(Decoded {
                index: 3,
                event_id: "deploy-approve".into(),
                carried: Carried::Inline("billing@2.4.1: ok".into()),
            })
        );
        assert_eq!(decode("someone-else's-button"), None);
        assert_eq!(decode("hb1:x:e:=v"), None);
    }

    #[tokio::test]
    async fn long_values_are_kept_and_read_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let long = "ü".repeat(300);
        let longest_id = "e".repeat(64);
        let id = {
            let store = Store::open(&path).unwrap();
            let id = custom_id(&store, 24, &longest_id, &long).await.unwrap();
            assert!(id.chars().count() <= MAX_CUSTOM_ID_CHARS, "{id}");
            // The same value again is the same key: nothing more is kept.
            assert_eq!(custom_id(&store, 24, &longest_id, &long).await.unwrap(), id);
            id
        };
        let store = Store::open(&path).unwrap();
        let click = read_click(&store, &id).await.unwrap().unwrap();
        assert_eq!(click.event_id, longest_id);
        assert_eq!(click.value, long);
        let too_long = "x".repeat(MAX_BUTTON_VALUE_BYTES + 1);
        assert!(matches!(
            custom_id(&store, 0, "e", &too_long).await,
            Err(ButtonError::ValueTooLong { .. })
        ));
        // A key nobody kept reads as no click, not as an empty value.
        assert_eq!(read_click(&store, "hb1:0:e:#nothing").await.unwrap(), None);
    }
}
