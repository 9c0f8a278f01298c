//! `hookbot runs`, `runs show` and `runs retry` (with `--sandbox`, on the sandbox's database).

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::format::{describe_step, rfc3339, status_words};
use crate::admin::client::Backend;
use crate::admin::protocol::{RunDetail, RunsQuery};
use crate::config::Config;
use crate::problem::quoted;
use crate::run::{RunId, RunStatus, StepOutcome};

/// `hookbot runs [--event ID] [--failed] [--limit N]`: newest first, one line each.
pub async fn runs_list(
    config_path: &Path,
    sandbox: bool,
    event: Option<&str>,
    failed: bool,
    limit: usize,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let backend = Backend::connect(&config).await?;
    let query = RunsQuery {
        event: event.map(str::to_owned),
        failed,
        limit: Some(limit),
    };
    let runs = backend.runs(&query).await?;
    if runs.is_empty() {
        // On stderr, so a script reading stdout still sees an empty list.
        let which = if config.sandbox {
            "the sandbox's"
        } else {
            "this"
        };
        let filtered = if event.is_some() || failed {
            " that match"
        } else {
            " yet"
        };
        eprintln!(
            "no runs{filtered} in {which} database ({})",
            config.store_location()
        );
        // The first-time user's case: the runs of the curl line pasted from the sandbox.
        let sandboxed = Config {
            sandbox: true,
            ..config.clone()
        };
        if !config.sandbox && sandboxed.database_path().exists() {
            eprintln!("the sandbox keeps its own: `hookbot runs --sandbox` lists them");
        }
    }
    for run in runs {
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

fn parse_run_id(text: &str) -> anyhow::Result<RunId> {
    RunId::parse(text.trim()).with_context(|| {
        format!(
            "{} is not a run id; they look like run_8c3f1a0000000001 (`hookbot runs` lists them)",
            quoted(text)
        )
    })
}

/// `hookbot runs show RUN`: when, event, variables and every step.
pub async fn runs_show(
    config_path: &Path,
    sandbox: bool,
    run: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let id = parse_run_id(run)?;
    let backend = Backend::connect(&config).await?;
    let RunDetail { run, steps } = backend.run(id).await?;
    writeln!(out, "run       {}", run.id)?;
    writeln!(out, "when      {}", rfc3339(run.received_at_ms))?;
    writeln!(out, "event     {}", run.event_id)?;
    writeln!(out, "trigger   {}", run.trigger)?;
    writeln!(out, "status    {}", status_words(&run))?;
    if let Some(finished) = run.finished_at_ms {
        writeln!(out, "finished  {}", rfc3339(finished))?;
    }
    if let Some(error) = &run.error {
        let label = if run.status == RunStatus::Pending {
            "last error"
        } else {
            "error"
        };
        writeln!(out, "{label}: {error}")?;
    }
    writeln!(out, "variables")?;
    for (name, value) in run.variables.iter() {
        writeln!(out, "  {name} = {}", quoted(value))?;
    }
    writeln!(out, "steps")?;
    for step in &steps {
        writeln!(out, "{}  ({} ms)", describe_step(step), step.duration_ms)?;
        if let StepOutcome::Failed { error, .. } = &step.outcome {
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
pub async fn runs_retry(
    config_path: &Path,
    sandbox: bool,
    run: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
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
