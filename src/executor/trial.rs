//! `hookbot event test`: one run of one event, by hand, live or as a dry run.

use tokio_util::sync::CancellationToken;

use super::builtins::builtins;
use super::http_request::Destination;
use super::interpreter::{self, RunContext};
use crate::discord::Discord;
use crate::engine::{Store, StoreError};
use crate::events::Event;
use crate::lang::templates::Variables;
use crate::run::{Run, RunId, Step};

/// Runs `event` as if a webhook had brought `variables`. Live, the run is recorded like any
/// other (so `hookbot run` would finish it if this process died); as a dry run nothing is
/// recorded or changed, and each step says what it would do. `http_request` calls go to `http`.
pub async fn trial(
    store: &Store,
    discord: &Discord,
    event: &Event,
    variables: Variables,
    dry_run: bool,
    http: &Destination,
) -> Result<(Run, Vec<Step>), StoreError> {
    let now_ms = crate::run::unix_now_ms();
    let id = if dry_run {
        RunId(0)
    } else {
        store.next_run_id().await?
    };
    let mut run = Run::new(id, event.id.clone(), variables, now_ms);
    if !dry_run {
        store.accept_run(&run, None).await?;
    }
    let context = RunContext {
        store,
        discord,
        dry_run,
        shutdown: CancellationToken::new(),
        slot: None,
        pacer: &crate::discord::Pacer::new(),
        retry: None,
        http,
    };
    let vars = builtins(event, &run, discord).await;
    let (steps, _) = interpreter::execute(context, event, &mut run, Vec::new(), vars).await?;
    if !dry_run {
        store.finish_run(&run).await?;
        store.flush().await?;
    }
    Ok((run, steps))
}
