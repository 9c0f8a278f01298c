//! The admin operations, whichever side runs them: the running hookbot for a request on its
//! socket, or the CLI itself on the database of a stopped one. Both run this code, so a command
//! prints the same whichever served it.

use super::error::AdminError;
use super::history;
use super::protocol::{
    ExportedSettings, ExportedVariable, NewKey, RevisionInfo, RunDetail, RunsQuery, StoreExport,
    StoreImported,
};
use crate::engine::{RunFilter, Store, StoreError};
use crate::keys;
use crate::problem::quoted;
use crate::run::{unix_now_ms, Run, RunId};

/// A new key; its hash replaces the old one on disk before the key is returned.
pub async fn rotate_key(store: &Store) -> Result<NewKey, AdminError> {
    let key = keys::generate_key();
    store.set_api_key_hash(keys::hash_key(&key)).await?;
    Ok(NewKey { key })
}

/// A new console key (`hookbot console key`); only its hash is kept. It replaces the old one, and
/// every console session signed in with the old key ends at its next request.
pub async fn new_console_key(store: &Store) -> Result<NewKey, AdminError> {
    let key = keys::generate_key();
    store.set_console_key_hash(keys::hash_key(&key)).await?;
    Ok(NewKey { key })
}

pub async fn runs(store: &Store, query: &RunsQuery) -> Result<Vec<Run>, AdminError> {
    Ok(crate::queue::list(
        store,
        &RunFilter {
            event: query.event.clone(),
            failed: query.failed,
            limit: query.limit.unwrap_or(50),
        },
    )
    .await?)
}

pub async fn run(store: &Store, id: RunId) -> Result<RunDetail, AdminError> {
    let Some(run) = store.run(id).await? else {
        return Err(AdminError::NotFound(format!("no run {id} in the database")));
    };
    Ok(RunDetail {
        run,
        steps: store.steps(id).await?,
    })
}

/// Puts a failed or dead-lettered run back in the queue, durably; waking a worker is the
/// caller's part (only a running hookbot has workers).
pub async fn retry(store: &Store, id: RunId) -> Result<Run, AdminError> {
    let run = crate::queue::requeue(store, id, unix_now_ms()).await?;
    store.flush().await?;
    Ok(run)
}

pub async fn revisions(store: &Store, id: &str) -> Result<Vec<RevisionInfo>, StoreError> {
    Ok(store
        .event_revisions(id)
        .await?
        .into_iter()
        .map(|r| RevisionInfo {
            revision: r.revision,
            accepted_at_ms: r.accepted_at_ms,
        })
        .collect())
}

pub async fn export(store: &Store) -> Result<StoreExport, AdminError> {
    let variables = store
        .variables()
        .await?
        .into_iter()
        .map(|(scope, name, value)| ExportedVariable::new(&scope, name, value))
        .collect();
    let mut export = StoreExport {
        settings: ExportedSettings {
            api_key_hash: store.api_key_hash().await?.map(hex),
            bot_id: store.bot_id().await?.map(|id| id.to_string()),
            install_id: Some(format!("{:032x}", store.install_id())),
        },
        variables,
        ..StoreExport::default()
    };
    history::export(store, &mut export).await?;
    Ok(export)
}

/// Sets every variable (others are left alone), the key hash, and the bot id when the
/// store has none, and writes the history ([`history::import`]); checks everything before
/// writing anything.
pub async fn import(store: &Store, data: &StoreExport) -> Result<StoreImported, AdminError> {
    let mut variables = Vec::new();
    for variable in &data.variables {
        let scope = variable.scope().map_err(AdminError::BadRequest)?;
        variables.push((scope, &variable.name, &variable.value));
    }
    let hash = match &data.settings.api_key_hash {
        Some(text) => Some(unhex(text).ok_or_else(|| {
            AdminError::BadRequest(format!(
                "settings.api_key_hash {} is not 64 hex digits",
                quoted(text)
            ))
        })?),
        None => None,
    };
    let bot_id = match &data.settings.bot_id {
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            AdminError::BadRequest(format!("settings.bot_id {} is not an id", quoted(text)))
        })?),
        None => None,
    };
    let install_id = match &data.settings.install_id {
        Some(text) => Some(
            u128::from_str_radix(text, 16)
                .ok()
                .filter(|_| text.len() == 32)
                .ok_or_else(|| {
                    AdminError::BadRequest(format!(
                        "settings.install_id {} is not 32 hex digits",
                        quoted(text)
                    ))
                })?,
        ),
        None => None,
    };
    let mut imported = StoreImported {
        variables: variables.len(),
        api_key_hash: hash.is_some(),
        bot_id: false,
        runs: 0,
        queued: 0,
        idempotency_keys: 0,
        revisions: 0,
        schedule_dues: 0,
        button_values: 0,
        install_id: false,
    };
    // Before any run is written: only a store without runs takes the install over.
    if let Some(install_id) = install_id {
        let next_counter = history::next_counter(install_id, data);
        imported.install_id = store.adopt_install(install_id, next_counter).await?;
    }
    history::import(store, data, &mut imported).await?;
    for (scope, name, value) in &variables {
        store.set_variable(scope, name, value).await?;
    }
    let bot_id_set = match bot_id {
        Some(id) if store.bot_id().await?.is_none() => {
            store.set_bot_id(id).await?;
            true
        }
        _ => false,
    };
    match hash {
        // Flushes everything above with it.
        Some(hash) => store.set_api_key_hash(hash).await?,
        None => store.flush().await?,
    }
    imported.bot_id = bot_id_set;
    Ok(imported)
}

fn hex(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}
