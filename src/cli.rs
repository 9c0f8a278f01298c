//! One function per subcommand; each opens what it needs (config, event files, store).

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::config::Config;
use crate::events;
use crate::store::Store;
use crate::webhook;

/// `hookbot run`: until SIGINT or SIGTERM.
pub async fn run(config_path: &Path, sandbox: bool) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let shutdown = shutdown_signal().context("cannot listen for SIGINT and SIGTERM")?;
    crate::run(config, shutdown).await?;
    Ok(())
}

/// `hookbot check`: every problem as `FILE:LINE:COL: message`; false when there was one.
pub fn check(config_path: &Path, out: &mut impl Write) -> anyhow::Result<bool> {
    let config = match Config::load(config_path, false) {
        Ok(config) => config,
        Err(crate::config::ConfigError::Invalid(problems)) => {
            for problem in problems {
                writeln!(out, "{problem}")?;
            }
            return Ok(false);
        }
        Err(other) => return Err(other.into()),
    };
    let loaded = events::load_dir(&config.events.dir);
    // Warnings print among the errors, in file order, as `FILE:LINE:COL: warning: …`; they do
    // not change the exit status.
    let mut shown: Vec<&crate::problem::Problem> =
        loaded.problems.iter().chain(&loaded.warnings).collect();
    shown.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    for problem in shown {
        writeln!(out, "{problem}")?;
    }
    if loaded.problems.is_empty() {
        eprintln!(
            "{}: ok; {} event(s) in {}: ok",
            config_path.display(),
            loaded.events.len(),
            config.events.dir.display()
        );
    }
    Ok(loaded.problems.is_empty())
}

/// `hookbot key rotate`: the new key alone on stdout.
pub async fn key_rotate(config_path: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let store = Store::open(&config.storage.path)?;
    let key = webhook::generate_key();
    store.set_api_key_hash(webhook::hash_key(&key)).await?;
    writeln!(out, "{key}")?;
    Ok(())
}

/// `hookbot event new NAME --server ID`: writes the file and prints its webhook URL.
pub fn event_new(
    config_path: &Path,
    name: &str,
    server: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let (event, path) = events::write_new_event(&config.events.dir, name, server)?;
    eprintln!("wrote {} (event id {})", path.display(), event.id);
    let base = config.public_base_url(config.http.listen);
    writeln!(
        out,
        "{}",
        webhook::url(&base, known_bot_id(&config), &event.id)
    )?;
    Ok(())
}

/// `hookbot event list`: id, name, server and webhook URL of every event, one per line.
pub fn event_list(config_path: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let loaded = events::load_dir(&config.events.dir);
    for problem in &loaded.problems {
        eprintln!("{problem}");
    }
    let base = config.public_base_url(config.http.listen);
    let bot_id = known_bot_id(&config);
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

/// The bot's user id without asking Discord: remembered by the last `hookbot run`, or read from
/// the token, whose first part is the id in base64.
fn remembered_or_token_bot_id(config: &Config) -> Option<u64> {
    // Opening creates a database; a command that only reads must not leave one behind.
    let remembered = config
        .storage
        .path
        .exists()
        .then(|| Store::open(&config.storage.path).ok())
        .flatten()
        .and_then(|store| store.bot_id().ok().flatten());
    remembered.or_else(|| config.discord.token.as_deref().and_then(bot_id_from_token))
}

/// [`remembered_or_token_bot_id`], saying on stderr how to fill in `{bot_id}` when unknown.
fn known_bot_id(config: &Config) -> Option<u64> {
    let id = remembered_or_token_bot_id(config);
    if id.is_none() {
        eprintln!(
            "note: the bot's user id is not known yet; `hookbot run` learns it from Discord \
             (until then URLs show {{bot_id}})"
        );
    }
    id
}

fn bot_id_from_token(token: &str) -> Option<u64> {
    use base64::Engine;
    let first = token.trim().trim_start_matches("Bot ").split('.').next()?;
    let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(first.trim_end_matches('='))
        .ok()?;
    std::str::from_utf8(&decoded).ok()?.parse().ok()
}

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
    let store = match Store::open(&crate::database_path(&config)) {
        Ok(store) => store,
        // A dry run changes nothing, so it can borrow an empty database while hookbot runs.
        Err(crate::store::StoreError::Locked(_)) if dry_run => {
            eprintln!("note: hookbot is running and holds the database; persistent variables read as unset in this dry run");
            Store::temporary()?
        }
        Err(error @ crate::store::StoreError::Locked(_)) => {
            return Err(anyhow::anyhow!(error).context(
                "a live test records its run in the database; stop hookbot first, or use --dry-run",
            ))
        }
        Err(other) => return Err(other.into()),
    };
    let stand_in = if sandbox {
        let fixture = crate::sandbox_world::fixture_for(&loaded.events);
        Some(crate::sandbox::Sandbox::start(fixture, crate::sandbox_world::SANDBOX_TOKEN).await?)
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
    let mut vars = crate::templates::Variables::new();
    for (name, value) in variables {
        vars.insert(name.clone(), value.clone());
    }
    let trial = crate::executor::trial(&store, &discord, event, vars, dry_run).await;
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

/// Opens the database for a `hookbot runs` command, which needs hookbot stopped for now.
fn store_while_stopped(config: &Config) -> anyhow::Result<Store> {
    match Store::open(&config.storage.path) {
        Ok(store) => Ok(store),
        Err(crate::store::StoreError::Locked(path)) => Err(anyhow::anyhow!(
            "hookbot is running and holds the database at {}; `hookbot runs` needs hookbot stopped for now: stop it, run this again, then start it",
            path.display()
        )),
        Err(other) => Err(other.into()),
    }
}

/// `2024-05-01T12:00:00.000Z` (RFC 3339, UTC) for a unix time in milliseconds.
pub fn rfc3339(unix_ms: u64) -> String {
    let seconds = i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX);
    match serenity::all::Timestamp::from_unix_timestamp(seconds) {
        Ok(at) => at.to_string(),
        Err(_) => format!("@{unix_ms}ms"),
    }
}

/// `succeeded`, `failed`, `dead-lettered (8 attempts)`, `pending (attempt 2 failed; next at …)`.
fn status_words(run: &crate::run::Run) -> String {
    let word = crate::executor::queue::status_word(run);
    match (run.status, run.attempts) {
        (crate::run::RunStatus::Pending, 0) => word.to_owned(),
        (crate::run::RunStatus::Pending, attempts) => {
            let next = run
                .next_attempt_at_ms
                .map(|at| format!("; next at {}", rfc3339(at)))
                .unwrap_or_default();
            format!("{word} ({attempts} failed attempt(s){next})")
        }
        (_, 0) => word.to_owned(),
        (_, attempts) => format!("{word} ({attempts} attempt(s))"),
    }
}

/// `hookbot runs [--event ID] [--failed] [--limit N]`: newest first, one line each.
pub fn runs_list(
    config_path: &Path,
    event: Option<&str>,
    failed: bool,
    limit: usize,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let store = store_while_stopped(&config)?;
    let filter = crate::executor::queue::RunFilter {
        event: event.map(str::to_owned),
        failed,
        limit,
    };
    for run in crate::executor::queue::list(&store, &filter)? {
        writeln!(
            out,
            "{}  {}  {}  {}",
            run.id,
            rfc3339(run.received_at_ms),
            run.event_id,
            status_words(&run)
        )?;
    }
    Ok(())
}

fn parse_run_id(text: &str) -> anyhow::Result<crate::run::RunId> {
    crate::run::RunId::parse(text.trim()).with_context(|| {
        format!("{text:?} is not a run id; they look like run_0000000000000001 (`hookbot runs` lists them)")
    })
}

/// `hookbot runs show RUN`: when, event, variables and every step.
pub fn runs_show(config_path: &Path, run: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let id = parse_run_id(run)?;
    let store = store_while_stopped(&config)?;
    let run = store
        .run(id)?
        .with_context(|| format!("no run {id} in the database"))?;
    writeln!(out, "run       {}", run.id)?;
    writeln!(out, "when      {}", rfc3339(run.received_at_ms))?;
    writeln!(out, "event     {}", run.event_id)?;
    writeln!(out, "status    {}", status_words(&run))?;
    if let Some(finished) = run.finished_at_ms {
        writeln!(out, "finished  {}", rfc3339(finished))?;
    }
    if let Some(error) = &run.error {
        let label = if run.status == crate::run::RunStatus::Pending {
            "last error"
        } else {
            "error"
        };
        writeln!(out, "{label}: {error}")?;
    }
    writeln!(out, "variables")?;
    for (name, value) in run.variables.iter() {
        writeln!(out, "  {name} = {value:?}")?;
    }
    writeln!(out, "steps")?;
    for step in store.steps(id)? {
        writeln!(out, "{}  ({} ms)", describe_step(&step), step.duration_ms)?;
        if let crate::run::StepOutcome::Failed { error, .. } = &step.outcome {
            if let (Some(code), Some(status)) = (error.discord_code, error.http_status) {
                writeln!(
                    out,
                    "  {:<12} {:<16} Discord said: {} (code {code}, HTTP {status})",
                    "", "", error.message
                )?;
            }
        }
    }
    Ok(())
}

/// `hookbot runs retry RUN`: a failed or dead-lettered run goes back in the queue, to resume
/// at the action that failed the next time hookbot runs.
pub async fn runs_retry(config_path: &Path, run: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let id = parse_run_id(run)?;
    let store = store_while_stopped(&config)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let run = crate::executor::queue::requeue(&store, id, now).await?;
    store.flush().await?;
    writeln!(
        out,
        "{} is queued again; it resumes at its failed action when hookbot runs (after {} step(s) already done)",
        run.id, run.steps
    )?;
    Ok(())
}

/// One line per step: where, what, and what happened.
fn describe_step(step: &crate::run::Step) -> String {
    use crate::run::StepOutcome;
    let what = match &step.outcome {
        StepOutcome::Done { summary, .. } => summary.clone(),
        StepOutcome::Waiting { until_ms } => format!(
            "waited {}",
            crate::duration::format_duration(std::time::Duration::from_millis(
                until_ms.saturating_sub(step.started_at_ms)
            ))
        ),
        StepOutcome::Failed { error, handled } => {
            let then = if *handled {
                "; its on_error actions ran"
            } else {
                ""
            };
            format!("FAILED: {} (code {}){then}", error.message, error.code)
        }
    };
    let mut line = format!("  {:<12} {:<16} {what}", step.path, step.action);
    for warning in &step.warnings {
        line.push_str(&format!("\n  {:<12} {:<16} warning: {warning}", "", ""));
    }
    line
}

/// Listens for SIGINT and SIGTERM from the moment it is called, so a signal that arrives while
/// hookbot is still starting is not lost; the future completes on the first one.
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_id_comes_from_the_token() {
        // "123456789012345678" in base64, as Discord puts it in front of a token.
        let token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz";
        assert_eq!(bot_id_from_token(token), Some(123456789012345678));
        assert_eq!(bot_id_from_token("not a token"), None);
    }
}
