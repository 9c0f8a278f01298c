//! Keeps Discord as the loaded events want it: the gateway intents they need (hookbot
//! identifies again when a reload needs another), and each server's slash commands, synced at
//! start and after every change with one bulk overwrite only where Discord's differ. It wakes
//! when the definitions change (the store's change feed), when the cache first holds every
//! server, when a failed sync is due again, and at least every [`SAFETY_POLL`] (which also
//! brings a server the bot joined later its commands).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::discord::{intents_for, Discord, Synced};
use crate::engine::Store;
use crate::events::{CommandSpec, Event};
use crate::triggers::definitions::{DefinitionChanges, SAFETY_POLL};

/// After a failed sync, the next attempt waits this long (Discord may be down).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Each server's wanted commands, by server id (servers with none included when asked).
fn wanted_commands(events: &[Event], servers: &BTreeSet<u64>) -> BTreeMap<u64, Vec<CommandSpec>> {
    let mut wanted: BTreeMap<u64, Vec<CommandSpec>> =
        servers.iter().map(|server| (*server, Vec::new())).collect();
    for event in events.iter().filter(|event| event.enabled) {
        if let Some(spec) = event.trigger.command() {
            wanted.entry(event.server).or_default().push(spec.clone());
        }
    }
    for specs in wanted.values_mut() {
        specs.sort_by(|a, b| a.name.cmp(&b.name));
    }
    wanted
}

/// Until `shutdown`: the intents and the commands follow the events.
pub async fn sync_until_shutdown(store: Store, discord: Arc<Discord>, shutdown: CancellationToken) {
    // Subscribed before the first read, so no change after it is missed.
    let mut changes = DefinitionChanges::new(store.changes());
    // What Discord was last made to hold, by server; a server is synced again when it changes.
    let mut synced: BTreeMap<u64, Vec<CommandSpec>> = BTreeMap::new();
    let mut retry_at: Option<tokio::time::Instant> = None;
    let mut ready = false;
    loop {
        match store.events().await {
            Ok(events) => {
                let enabled = events.iter().filter(|event| event.enabled);
                discord.set_intents(intents_for(enabled.map(|event| event.trigger.kind())));
                ready = ready || discord.wait_cache_ready(Duration::ZERO).await;
                let due = retry_at.map_or(true, |at| tokio::time::Instant::now() >= at);
                if ready && due {
                    let servers: BTreeSet<u64> = discord
                        .cache
                        .guilds()
                        .into_iter()
                        .map(|guild| guild.get())
                        .collect();
                    retry_at = None;
                    for (server, specs) in wanted_commands(&events, &servers) {
                        if synced.get(&server) == Some(&specs) {
                            continue;
                        }
                        let borrowed: Vec<&CommandSpec> = specs.iter().collect();
                        match discord.sync_commands(server, &borrowed).await {
                            Ok(Synced::Unchanged) => {
                                tracing::debug!(
                                    server,
                                    "slash commands already as the events want"
                                );
                                synced.insert(server, specs);
                            }
                            Ok(Synced::Overwritten { names }) => {
                                tracing::info!(server, commands = ?names, "slash commands registered");
                                synced.insert(server, specs);
                            }
                            Err(error) => {
                                tracing::warn!(server, %error, "cannot register the slash commands; trying again in {} s", RETRY_AFTER_FAILURE.as_secs());
                                retry_at = Some(tokio::time::Instant::now() + RETRY_AFTER_FAILURE);
                            }
                        }
                    }
                }
            }
            Err(error) => tracing::error!(%error, "cannot read the events to sync Discord"),
        }
        let now = tokio::time::Instant::now();
        let wake = retry_at.map_or(now + SAFETY_POLL, |at| at.min(now + SAFETY_POLL));
        tokio::select! {
            _ = changes.changed_before(wake) => {}
            _ = discord.wait_cache_ready(SAFETY_POLL), if !ready => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Trigger;

    fn command_event(server: u64, name: &str, enabled: bool) -> Event {
        Event {
            id: name.into(),
            server,
            enabled,
            trigger: Trigger::Command(CommandSpec {
                name: name.into(),
                description: "d".into(),
                options: Vec::new(),
            }),
            ..Event::default()
        }
    }

    #[test]
    fn every_server_gets_its_enabled_commands_and_the_others_none() {
        let events = [
            command_event(1, "b", true),
            command_event(1, "a", true),
            command_event(1, "off", false),
            command_event(2, "c", true),
        ];
        let wanted = wanted_commands(&events, &BTreeSet::from([1, 3]));
        let names = |server| -> Vec<String> {
            wanted[&server]
                .iter()
                .map(|spec| spec.name.clone())
                .collect()
        };
        assert_eq!(names(1), ["a", "b"]);
        assert_eq!(names(2), ["c"]);
        assert!(names(3).is_empty(), "a server without commands is cleared");
    }
}
