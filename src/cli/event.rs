//! `hookbot event new`, `event list` and `event show`: event files and how to call them.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::bot_url::url_base;
use super::format::rfc3339;
use crate::admin::client::Client;
use crate::admin::event_guide::call_guide;
use crate::admin::ops;
use crate::admin::protocol::{socket_path, EventInfo, RevisionInfo};
use crate::config::{Config, StoreLocation};
use crate::engine::{Store, StoreError};
use crate::events;
use crate::http::webhook;
use crate::problem::quoted;

/// `hookbot event new NAME --server ID`: writes the file and prints its webhook URL.
pub async fn event_new(
    config_path: &Path,
    sandbox: bool,
    name: &str,
    server: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let (event, path) = events::write_new_event(&config.events.dir, name, server)?;
    eprintln!("wrote {} (event id {})", path.display(), event.id);
    let (base, bot_id) = url_base(&config).await;
    writeln!(out, "{}", webhook::url(&base, bot_id, &event.id))?;
    Ok(())
}

/// `hookbot event list`: id, name, server and webhook URL of every event, one per line.
pub async fn event_list(
    config_path: &Path,
    sandbox: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let loaded = events::load_dir(&config.events.dir);
    for problem in &loaded.problems {
        eprintln!("{problem}");
    }
    if loaded.events.is_empty() {
        eprintln!(
            "no events in {}; `hookbot event new NAME --server ID` writes one",
            config.events.dir.display()
        );
        return Ok(());
    }
    let (base, bot_id) = url_base(&config).await;
    let rows: Vec<[String; 4]> = loaded
        .events
        .iter()
        .map(|e| {
            let name = if e.enabled {
                e.name.clone()
            } else {
                format!("{} (disabled)", e.name)
            };
            [
                e.id.clone(),
                name,
                e.server.to_string(),
                webhook::url(&base, bot_id, &e.id),
            ]
        })
        .collect();
    let header = ["ID", "NAME", "SERVER", "WEBHOOK URL"].map(str::to_owned);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `hookbot event show ID`: the webhook URL, the headers, an example body with the variables the
/// event's templates use, a ready-to-paste `curl` line, and the event's revisions.
///
/// While hookbot runs it shows the version being served; when stopped, the file's (or, for a
/// file that does not load, the version stored at the last run).
pub async fn event_show(
    config_path: &Path,
    sandbox: bool,
    id: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let socket = socket_path(&config.database_path());
    let (event, revisions) = match Client::connect(&socket).await? {
        Some(client) => {
            let info: EventInfo = client
                .get(&format!(
                    "/events/{}",
                    form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
                ))
                .await?;
            (info.event, info.revisions)
        }
        None => local_event(&config, id).await?,
    };
    let (base, bot_id) = url_base(&config).await;
    let guide = call_guide(&event, &base, bot_id);
    writeln!(out, "event     {} ({})", event.id, event.name)?;
    writeln!(out, "server    {}", event.server)?;
    writeln!(
        out,
        "enabled   {}",
        if event.enabled { "yes" } else { "no" }
    )?;
    writeln!(out, "file      {}", event.file)?;
    writeln!(out, "url       POST {}", guide.url)?;
    writeln!(out, "headers")?;
    for header in &guide.headers {
        writeln!(out, "  {header}")?;
    }
    writeln!(out, "example body")?;
    for line in serde_json::to_string_pretty(&guide.body)?.lines() {
        writeln!(out, "  {line}")?;
    }
    writeln!(out, "curl")?;
    if let Some(export) = &guide.export {
        writeln!(out, "  {export}")?;
    }
    writeln!(out, "  {}", guide.curl)?;
    writeln!(out, "revisions")?;
    if revisions.is_empty() {
        writeln!(
            out,
            "  (none yet: `hookbot run` stores each accepted version)"
        )?;
    }
    for revision in &revisions {
        writeln!(
            out,
            "  {:<4} {}",
            revision.revision,
            rfc3339(revision.accepted_at_ms)
        )?;
    }
    Ok(())
}

/// The event from its file, or as stored when its file does not load; its revisions from the
/// database when there is one.
async fn local_event(
    config: &Config,
    id: &str,
) -> anyhow::Result<(events::Event, Vec<RevisionInfo>)> {
    // Opening creates a sled database; a command that only reads must not leave one behind.
    let store = if let location @ StoreLocation::Postgres(_) = config.store_location() {
        Some(Store::open_at(&location).await?)
    } else if config.database_path().exists() {
        match Store::open(&config.database_path()) {
            Ok(store) => Some(store),
            Err(StoreError::Locked(path)) => anyhow::bail!(
                "hookbot is running and holds the database at {}, but its admin socket does not answer; stop it and run this again",
                path.display()
            ),
            Err(other) => return Err(other.into()),
        }
    } else {
        None
    };
    let loaded = events::load_dir(&config.events.dir);
    let stored = match &store {
        Some(store) => store.event(id).await?.map(|e| (*e).clone()),
        None => None,
    };
    let event = match loaded.events.into_iter().find(|e| e.id == id) {
        Some(event) => event,
        None => {
            for problem in &loaded.problems {
                eprintln!("{problem}");
            }
            stored.with_context(|| {
                format!(
                    "no event has the id {} in {}",
                    quoted(id),
                    config.events.dir.display()
                )
            })?
        }
    };
    let revisions = match &store {
        Some(store) => ops::revisions(store, id).await?,
        None => Vec::new(),
    };
    Ok((event, revisions))
}
