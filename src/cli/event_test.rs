//! `hookbot event test`: an event run as if a webhook had arrived, against Discord or the
//! stand-in, or as a dry run that changes nothing.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::format::describe_step;
use crate::config::Config;
use crate::engine::{Store, StoreError};
use crate::events;

/// `hookbot event test ID --var name=value … [--dry-run] [--sandbox]`: runs the event as if a
/// webhook had arrived and prints each step; with `--dry-run` nothing is changed anywhere.
/// False when the run failed.
pub async fn event_test(
    config_path: &Path,
    id: &str,
    variables: &[(String, String)],
    dry_run: bool,
    sandbox: bool,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let config = Config::load(config_path, sandbox)?;
    let loaded = events::load_dir(&config.events.dir);
    let Some(event) = loaded.events.iter().find(|e| e.id == id) else {
        for problem in &loaded.problems {
            eprintln!("{problem}");
        }
        let known: Vec<&str> = loaded.events.iter().map(|e| e.id.as_str()).collect();
        anyhow::bail!(
            "no event has the id {id:?} in {}; the events are: {}",
            config.events.dir.display(),
            if known.is_empty() {
                "(none)".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    let store = match Store::open_at(&config.store_location()).await {
        Ok(store) => store,
        // A dry run changes nothing, so it can borrow an empty database while hookbot runs.
        Err(StoreError::Locked(_)) if dry_run => {
            eprintln!("note: hookbot is running and holds the database; persistent variables read as unset in this dry run");
            Store::temporary()?
        }
        Err(error @ StoreError::Locked(_)) => {
            return Err(anyhow::anyhow!(error).context(
                "a live test records its run in the database; stop hookbot first, or use --dry-run",
            ))
        }
        Err(other) => return Err(other.into()),
    };
    let stand_in = if sandbox {
        let fixture = crate::sandbox_world::fixture_for(&loaded.events);
        Some(discord_stand_in::Sandbox::start(fixture, crate::sandbox_world::SANDBOX_TOKEN).await?)
    } else {
        None
    };
    let discord = match &stand_in {
        Some(stand_in) => {
            crate::discord::Discord::connect(
                crate::sandbox_world::SANDBOX_TOKEN,
                Some(&stand_in.api_url()),
            )
            .await?
        }
        None => {
            let token = config.discord.token.as_deref().context(
                "no Discord token: set discord.token or HOOKBOT_DISCORD_TOKEN, or add --sandbox to test against a local stand-in",
            )?;
            crate::discord::Discord::connect(token, config.discord.api_url.as_deref()).await?
        }
    };
    // Names resolve from the cache when the gateway has delivered the server.
    discord.wait_cache_ready(crate::executor::CACHE_WAIT).await;
    let mut vars = crate::lang::templates::Variables::new();
    for (name, value) in variables {
        vars.insert(name.clone(), value.clone());
    }
    // Against the stand-in, `http_request` goes to its echo too, unless `[sandbox] real_http`.
    let http = match &stand_in {
        Some(stand_in) if !config.sandbox_options.real_http => {
            crate::executor::http_request::Destination::Echo(stand_in.echo_url())
        }
        _ => crate::executor::http_request::Destination::Network,
    };
    let trial = crate::executor::trial(&store, &discord, event, vars, dry_run, &http).await;
    discord.shutdown().await;
    if let Some(stand_in) = stand_in {
        stand_in.shutdown().await;
    }
    let (run, steps) = trial?;
    let heading = if dry_run { "dry run of" } else { "ran" };
    writeln!(out, "{heading} {} ({}), {}", event.id, event.name, run.id)?;
    for step in &steps {
        writeln!(out, "{}", describe_step(step))?;
    }
    match &run.error {
        None => {
            let verdict = if dry_run {
                "would succeed"
            } else {
                "succeeded"
            };
            writeln!(out, "{verdict}: {} step(s)", steps.len())?;
            Ok(true)
        }
        Some(failure) => {
            writeln!(out, "failed: {failure}")?;
            Ok(false)
        }
    }
}
