//! One function per subcommand; each opens what it needs (config, event files, store).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::admin::{self, Backend};
use crate::config::Config;
use crate::engine::{Store, StoreError};
use crate::events;
use crate::http::webhook;
use crate::lang::shell::shell_quote;

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

/// `hookbot key rotate`: the new key alone on stdout. While hookbot runs, the running process
/// makes it (through the admin socket) and uses it from the next request on.
pub async fn key_rotate(config_path: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let backend = Backend::connect(&config).await?;
    let key = backend.rotate_key().await?.key;
    writeln!(out, "{key}")?;
    Ok(())
}

/// `hookbot event new NAME --server ID`: writes the file and prints its webhook URL.
pub async fn event_new(
    config_path: &Path,
    name: &str,
    server: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let (event, path) = events::write_new_event(&config.events.dir, name, server)?;
    eprintln!("wrote {} (event id {})", path.display(), event.id);
    let (base, bot_id) = url_base(&config).await;
    writeln!(out, "{}", webhook::url(&base, bot_id, &event.id))?;
    Ok(())
}

/// The base of webhook URLs and the bot's id: from the running hookbot when its admin socket
/// answers (it knows the address it bound and asked Discord who it is), else from the config,
/// the database and the token.
async fn url_base(config: &Config) -> (String, Option<u64>) {
    let socket = admin::socket_path(&config.storage.path);
    if let Some(status) = admin::Client::status_at(&socket).await {
        return (status.base_url.clone(), status.bot_id());
    }
    (
        config.public_base_url(config.http.listen),
        known_bot_id(config).await,
    )
}

/// `hookbot event list`: id, name, server and webhook URL of every event, one per line.
pub async fn event_list(config_path: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let loaded = events::load_dir(&config.events.dir);
    for problem in &loaded.problems {
        eprintln!("{problem}");
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

/// The bot's user id without asking Discord: remembered by the last `hookbot run`, or read from
/// the token, whose first part is the id in base64.
async fn remembered_or_token_bot_id(config: &Config) -> Option<u64> {
    // Opening creates a database; a command that only reads must not leave one behind.
    let store = config
        .storage
        .path
        .exists()
        .then(|| Store::open(&config.storage.path).ok())
        .flatten();
    let remembered = match store {
        Some(store) => store.bot_id().await.ok().flatten(),
        None => None,
    };
    remembered.or_else(|| config.discord.token.as_deref().and_then(bot_id_from_token))
}

/// [`remembered_or_token_bot_id`], saying on stderr how to fill in `{bot_id}` when unknown.
async fn known_bot_id(config: &Config) -> Option<u64> {
    let id = remembered_or_token_bot_id(config).await;
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
    let store = match Store::open(&crate::server::database_path(&config)) {
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
    let word = crate::queue::status_word(run);
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
pub async fn runs_list(
    config_path: &Path,
    event: Option<&str>,
    failed: bool,
    limit: usize,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let backend = Backend::connect(&config).await?;
    let query = admin::RunsQuery {
        event: event.map(str::to_owned),
        failed,
        limit: Some(limit),
    };
    for run in backend.runs(&query).await? {
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
pub async fn runs_show(config_path: &Path, run: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let id = parse_run_id(run)?;
    let backend = Backend::connect(&config).await?;
    let admin::RunDetail { run, steps } = backend.run(id).await?;
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
    for step in &steps {
        writeln!(out, "{}  ({} ms)", describe_step(step), step.duration_ms)?;
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
/// at the action that failed: at once when hookbot runs, else the next time it starts.
pub async fn runs_retry(config_path: &Path, run: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let id = parse_run_id(run)?;
    let backend = Backend::connect(&config).await?;
    let retried = backend.retry(id).await?;
    let when = if retried.running {
        "now"
    } else {
        "when hookbot runs"
    };
    writeln!(
        out,
        "{} is queued again; it resumes at its failed action {when} (after {} step(s) already done)",
        retried.run.id, retried.run.steps
    )?;
    Ok(())
}

/// `hookbot event show ID`: the webhook URL, the headers, an example body with the variables the
/// event's templates use, a ready-to-paste `curl` line, and the event's revisions.
///
/// While hookbot runs it shows the version being served; when stopped, the file's (or, for a
/// file that does not load, the version stored at the last run).
pub async fn event_show(config_path: &Path, id: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let socket = admin::socket_path(&config.storage.path);
    let (event, revisions) = match admin::Client::connect(&socket).await? {
        Some(client) => {
            let info: admin::EventInfo = client
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
    let url = webhook::url(&base, bot_id, &event.id);
    let variables = crate::sandbox_world::example_variables(&event);
    let body = example_body(&variables);
    let (auth_header, pasteable) = auth_header(&event.auth);
    writeln!(out, "event     {} ({})", event.id, event.name)?;
    writeln!(out, "server    {}", event.server)?;
    writeln!(
        out,
        "enabled   {}",
        if event.enabled { "yes" } else { "no" }
    )?;
    writeln!(out, "file      {}", event.file)?;
    writeln!(out, "url       POST {url}")?;
    writeln!(out, "headers")?;
    writeln!(out, "  {auth_header}")?;
    writeln!(out, "  Content-Type: application/json")?;
    writeln!(out, "example body")?;
    for line in serde_json::to_string_pretty(&body)?.lines() {
        writeln!(out, "  {line}")?;
    }
    writeln!(out, "curl")?;
    if pasteable {
        writeln!(out, "  export HOOKBOT_API_KEY='<your API key>'")?;
    }
    writeln!(
        out,
        "  curl -X POST {} -H {} -H 'Content-Type: application/json' -d {}",
        shell_quote(&url),
        if pasteable {
            format!("\"{auth_header}\"").replace("<API key>", "$HOOKBOT_API_KEY")
        } else {
            shell_quote(&auth_header)
        },
        shell_quote(&body.to_string())
    )?;
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
) -> anyhow::Result<(events::Event, Vec<admin::RevisionInfo>)> {
    // Opening creates a database; a command that only reads must not leave one behind.
    let store = if config.storage.path.exists() {
        match Store::open(&config.storage.path) {
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
                    "no event has the id {id:?} in {}",
                    config.events.dir.display()
                )
            })?
        }
    };
    let revisions = match &store {
        Some(store) => admin::ops::revisions(store, id).await?,
        None => Vec::new(),
    };
    Ok((event, revisions))
}

/// `{"variables":[{"name","variable","value"}…]}`, as BotGhost sends it.
fn example_body(variables: &[(String, String)]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = variables
        .iter()
        .map(|(name, value)| {
            serde_json::json!({"name": name, "variable": format!("{{{name}}}"), "value": value})
        })
        .collect();
    serde_json::json!({ "variables": items })
}

/// The header that authenticates a request to an event, and whether a `curl` line can carry it
/// (a key can be pasted; a signature must be computed over the body by the sender).
fn auth_header(auth: &events::EventAuth) -> (String, bool) {
    use events::EventAuth;
    match auth {
        EventAuth::ApiKey => ("Authorization: <API key>".to_owned(), true),
        EventAuth::Key { .. } => ("Authorization: <this event's key>".to_owned(), false),
        EventAuth::Github { .. } => (
            "X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body, hex>".to_owned(),
            false,
        ),
        EventAuth::Stripe { .. } => (
            "Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of t.body, hex>".to_owned(),
            false,
        ),
        EventAuth::StandardWebhooks { .. } => (
            "webhook-signature: v1,<HMAC-SHA256 of id.timestamp.body, base64> (with webhook-id and webhook-timestamp)".to_owned(),
            false,
        ),
        EventAuth::Hmac {
            header, encoding, ..
        } => (
            format!(
                "{header}: <HMAC-SHA256 of the body, {}>",
                format!("{encoding:?}").to_lowercase()
            ),
            false,
        ),
    }
}

/// `hookbot export`: one JSON document on stdout (see [`admin::Export`]): the event files'
/// text, the persistent variables, the API key's hash (never a key) and the bot id.
pub async fn export(config_path: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
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
        events.push(admin::ExportedEvent { file, text });
    }
    let document = admin::Export {
        version: admin::EXPORT_VERSION,
        exported_at: rfc3339(admin::ops::now_ms()),
        settings: stored.settings,
        variables: stored.variables,
        events,
    };
    writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
    Ok(())
}

/// `hookbot import FILE` (`-` for stdin): restores the persistent variables (each one set,
/// others left alone), the API key's hash and, when none is known, the bot id; writes each event
/// file that does not exist yet, skipping a file whose name or event id is taken.
pub async fn import(config_path: &Path, file: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let config = Config::load(config_path, false)?;
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read stdin")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .with_context(|| format!("{} is not JSON", file.display()))?
        .get("version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(admin::EXPORT_VERSION)) {
        anyhow::bail!(
            "{} is not a hookbot export of version {} (its \"version\" is {version:?})",
            file.display(),
            admin::EXPORT_VERSION
        );
    }
    let document: admin::Export = serde_json::from_str(&text)
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
                "{}: {:?} is not an event file name (NAME.toml, no folders)",
                file.display(),
                event.file
            );
        }
    }
    let backend = Backend::connect(&config).await?;
    let restored = backend
        .import(&admin::StoreExport {
            settings: document.settings.clone(),
            variables: document.variables.clone(),
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
                "skipped {}: another file already has the event id {id:?}",
                path.display()
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
        "imported {} variable(s){}{}; {wrote} event file(s) written, {skipped} skipped",
        restored.variables,
        if restored.api_key_hash {
            ", the API key hash"
        } else {
            ""
        },
        if restored.bot_id { ", the bot id" } else { "" },
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
            crate::lang::duration::format_duration(std::time::Duration::from_millis(
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
