//! `hookbot export` and `hookbot import`: event files, persistent variables, settings and the
//! history (runs with their journals and queue places, idempotency keys, revisions) as one JSON
//! document, so an install moves between engines (sled, PostgreSQL) losing nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::format::rfc3339;
use crate::admin::client::Backend;
use crate::admin::protocol::{Export, ExportedEvent, StoreExport, EXPORT_VERSION};
use crate::config::Config;
use crate::events;
use crate::problem::quoted;

/// `hookbot export`: one JSON document on stdout (see [`Export`]): the event files'
/// text, the persistent variables, the API key's hash (never a key), the bot id, and every run,
/// idempotency key and revision.
pub async fn export(config_path: &Path, sandbox: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let backend = Backend::connect(&config).await?;
    let stored = backend.export().await?;
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&config.events.dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(
                anyhow::anyhow!(e).context(format!("cannot read {}", config.events.dir.display()))
            )
        }
    };
    files.sort();
    let mut events = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        events.push(ExportedEvent { file, text });
    }
    let document = Export {
        version: EXPORT_VERSION,
        exported_at: rfc3339(crate::run::unix_now_ms()),
        settings: stored.settings,
        variables: stored.variables,
        events,
        runs: stored.runs,
        idempotency_keys: stored.idempotency_keys,
        revisions: stored.revisions,
        schedule_dues: stored.schedule_dues,
        button_values: stored.button_values,
    };
    writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
    Ok(())
}

/// `hookbot import FILE` (`-` for stdin): restores the persistent variables (each one set,
/// others left alone), the API key's hash and, when none is known, the bot id; writes each event
/// file that does not exist yet, skipping a file whose name or event id is taken.
pub async fn import(
    config_path: &Path,
    sandbox: bool,
    file: &Path,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read stdin")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .with_context(|| format!("{} is not JSON", file.display()))?
        .get("version")
        .cloned();
    if version.as_ref().and_then(serde_json::Value::as_u64) != Some(u64::from(EXPORT_VERSION)) {
        // The value as JSON writes it (`2`, `"1"`), never Rust's debug text (`Some(2)`).
        let found = match &version {
            Some(value) => format!("its \"version\" is {value}"),
            None => "it has no \"version\"".to_owned(),
        };
        anyhow::bail!(
            "{} is not a hookbot export of version {EXPORT_VERSION} ({found})",
            file.display(),
        );
    }
    let document: Export = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a hookbot export", file.display()))?;
    // Every file name is checked before anything is written.
    for event in &document.events {
        let plain = Path::new(&event.file)
            .components()
            .map(|c| matches!(c, std::path::Component::Normal(_)))
            .collect::<Vec<_>>()
            == [true];
        if !plain || event.file.starts_with('.') || !event.file.ends_with(".toml") {
            anyhow::bail!(
                "{}: {} is not an event file name (NAME.toml, no folders)",
                file.display(),
                quoted(&event.file)
            );
        }
    }
    // Every event file is checked as `hookbot check` would before anything is stored or written:
    // an import that `check` would then reject writes nothing.
    let mut problems = Vec::new();
    for event in &document.events {
        let path = config.events.dir.join(&event.file);
        if let Err(found) = events::parse_event(&path, &event.text) {
            problems.extend(found.iter().map(ToString::to_string));
        }
    }
    if !problems.is_empty() {
        anyhow::bail!(
            "{} was not imported (nothing was written): its event files have {} problem(s):\n{}",
            file.display(),
            problems.len(),
            problems.join("\n")
        );
    }
    let backend = Backend::connect(&config).await?;
    let restored = backend
        .import(&StoreExport {
            settings: document.settings.clone(),
            variables: document.variables.clone(),
            runs: document.runs.clone(),
            idempotency_keys: document.idempotency_keys.clone(),
            revisions: document.revisions.clone(),
            schedule_dues: document.schedule_dues.clone(),
            button_values: document.button_values.clone(),
        })
        .await?;
    std::fs::create_dir_all(&config.events.dir)
        .with_context(|| format!("cannot create {}", config.events.dir.display()))?;
    let taken: std::collections::HashSet<String> = events::load_dir(&config.events.dir)
        .events
        .into_iter()
        .map(|e| e.id)
        .collect();
    let (mut wrote, mut skipped) = (0, 0);
    for event in &document.events {
        let path = config.events.dir.join(&event.file);
        let id = toml::from_str::<toml::Table>(&event.text)
            .ok()
            .and_then(|t| t.get("id").and_then(|v| v.as_str()).map(str::to_owned));
        if path.exists() {
            writeln!(out, "skipped {}: the file exists", path.display())?;
            skipped += 1;
            continue;
        }
        if let Some(id) = id.filter(|id| taken.contains(id)) {
            writeln!(
                out,
                "skipped {}: another file already has the event id {}",
                path.display(),
                quoted(&id)
            )?;
            skipped += 1;
            continue;
        }
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| f.write_all(event.text.as_bytes()));
        match written {
            Ok(()) => {
                writeln!(out, "wrote {}", path.display())?;
                wrote += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                writeln!(out, "skipped {}: the file exists", path.display())?;
                skipped += 1;
            }
            Err(e) => {
                return Err(anyhow::anyhow!(e).context(format!("cannot write {}", path.display())))
            }
        }
    }
    writeln!(
        out,
        "imported {} variable(s){}{}{}, {} run(s) ({} queued), {} idempotency key(s), {} event revision(s), {} schedule due time(s), {} button value(s); {wrote} event file(s) written, {skipped} skipped",
        restored.variables,
        if restored.api_key_hash {
            ", the API key hash"
        } else {
            ""
        },
        if restored.bot_id { ", the bot id" } else { "" },
        if restored.install_id {
            ", the install id"
        } else {
            ""
        },
        restored.runs,
        restored.queued,
        restored.idempotency_keys,
        restored.revisions,
        restored.schedule_dues,
        restored.button_values,
    )?;
    Ok(())
}
