//! The runs pages: newest first with filters by event and status (the table updates itself every
//! few seconds), one page per run (variables, each step with its outcome, timing and Discord's
//! error), and retry for failed and dead-lettered runs, through the same admin operation as
//! `hookbot runs retry`.

use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::Deserialize;

use super::auth::{csrf_field, Session};
use super::error::ConsoleError;
use super::layout::{page, time, Nav};
use super::state::ConsoleState;
use crate::admin::ops;
use crate::admin::protocol::RunsQuery;
use crate::engine::Store;
use crate::problem::quoted;
use crate::run::{Run, RunId, RunStatus, Step, StepOutcome};

/// Rows the list shows.
pub const LIST_LIMIT: usize = 100;
/// Runs read to fill the list when a status filter drops some (newest first).
const FILTER_WINDOW: usize = 1000;
/// The status words the filter offers, as `hookbot runs` writes them.
pub const STATUSES: [&str; 4] = ["pending", "succeeded", "failed", "dead-lettered"];
/// Seconds between the list's refreshes.
const LIVE_SECONDS: u32 = 3;

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/runs", get(list))
        .route("/runs/{id}", get(show))
        .route("/runs/{id}/retry", post(retry))
}

/// `?event=&status=`.
#[derive(Debug, Default, Deserialize)]
pub struct RunsFilter {
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

impl RunsFilter {
    fn event(&self) -> Option<&str> {
        self.event.as_deref().filter(|e| !e.is_empty())
    }
    fn status(&self) -> Option<&str> {
        self.status.as_deref().filter(|s| !s.is_empty())
    }
}

/// The runs the list shows: newest first, at most [`LIST_LIMIT`], of the event and with the
/// status the filter names (a status among the newest [`FILTER_WINDOW`] runs).
pub async fn filtered_runs(store: &Store, filter: &RunsFilter) -> Result<Vec<Run>, ConsoleError> {
    if let Some(status) = filter.status() {
        if !STATUSES.contains(&status) {
            return Err(ConsoleError::BadRequest(format!(
                "status {} is not one of: {}",
                quoted(status),
                STATUSES.join(", ")
            )));
        }
    }
    let failed_only = matches!(filter.status(), Some("failed" | "dead-lettered"));
    let runs = ops::runs(
        store,
        &RunsQuery {
            event: filter.event().map(str::to_owned),
            failed: failed_only,
            limit: Some(if filter.status().is_some() {
                FILTER_WINDOW
            } else {
                LIST_LIMIT
            }),
        },
    )
    .await?;
    Ok(runs
        .into_iter()
        .filter(|run| {
            filter
                .status()
                .map_or(true, |s| crate::queue::status_word(run) == s)
        })
        .take(LIST_LIMIT)
        .collect())
}

async fn list(
    State(state): State<ConsoleState>,
    Query(filter): Query<RunsFilter>,
) -> Result<Markup, ConsoleError> {
    let runs = filtered_runs(&state.store, &filter).await?;
    let mut events: Vec<(String, String)> = state
        .store
        .events()
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect();
    events.sort();
    Ok(page(
        "Runs",
        Nav::Runs,
        html! {
            h1 { "Runs" }
            form.inline method="get" action="/runs" {
                label { "Event " select name="event" {
                    option value="" { "any" }
                    @for (id, name) in &events {
                        option value=(id) selected[filter.event() == Some(id.as_str())] { (name) " (" (id) ")" }
                    }
                } }
                label { "Status " select name="status" {
                    option value="" { "any" }
                    @for status in STATUSES {
                        option value=(status) selected[filter.status() == Some(status)] { (status) }
                    }
                } }
                button.secondary type="submit" { "Filter" }
            }
            p.hint { "Newest first, at most " (LIST_LIMIT) "; this list updates itself every few seconds." }
            div.scroll #runs-live data-live=(LIVE_SECONDS) aria-live="polite" {
                @if runs.is_empty() {
                    p { "No runs yet." }
                } @else {
                    table #runs {
                        thead { tr {
                            th scope="col" { "Run" } th scope="col" { "Received" }
                            th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Error" }
                        } }
                        tbody {
                            @for run in &runs {
                                @let status = crate::queue::status_word(run);
                                tr {
                                    td { a href={ "/runs/" (run.id.to_text()) } { code { (run.id.to_text()) } } }
                                    td { (time(run.received_at_ms)) }
                                    td { a href={ "/events/" (run.event_id) } { (run.event_id) } }
                                    td { span class={ "status " (status) } { (status) } }
                                    td { @if let Some(error) = &run.error { (error.to_string()) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

fn parse_id(text: &str) -> Result<RunId, ConsoleError> {
    RunId::parse(text)
        .ok_or_else(|| ConsoleError::NotFound(format!("{} is not a run id", quoted(text))))
}

/// `12 ms`, `3.4 s`.
fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// What one step did, in words: its summary, or Discord's error with its codes.
pub fn outcome_words(step: &Step) -> (&'static str, String) {
    match &step.outcome {
        StepOutcome::Done { summary, .. } => ("succeeded", summary.clone()),
        StepOutcome::Waiting { until_ms } => {
            ("pending", format!("waits until {}", time(*until_ms)))
        }
        StepOutcome::Failed { error, handled } => {
            let mut words = format!("{} (code {}", error.message, error.code);
            if let Some(code) = error.discord_code {
                words.push_str(&format!(", Discord code {code}"));
            }
            if let Some(status) = error.http_status {
                words.push_str(&format!(", HTTP {status}"));
            }
            words.push(')');
            if *handled {
                words.push_str("; its on_error actions ran");
            }
            ("failed", words)
        }
    }
}

/// Each step: where in the event, the action, when and how long, and what happened.
pub fn steps_table(steps: &[Step]) -> Markup {
    html! {
        @if steps.is_empty() {
            p { "No steps." }
        } @else {
            div.scroll {
                table.steps {
                    thead { tr {
                        th scope="col" { "Step" } th scope="col" { "Action" } th scope="col" { "Started" }
                        th scope="col" { "Took" } th scope="col" { "Outcome" }
                    } }
                    tbody {
                        @for step in steps {
                            @let (class, words) = outcome_words(step);
                            tr {
                                td { code { (step.path) } }
                                td { (step.action) }
                                td { (time(step.started_at_ms)) }
                                td { (duration(step.duration_ms)) }
                                td {
                                    span class={ "status " (class) } { (words) }
                                    @for warning in &step.warnings {
                                        br; span.hint { "warning: " (warning) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn show(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    Extension(session): Extension<Session>,
) -> Result<Markup, ConsoleError> {
    let id = parse_id(&id)?;
    let detail = ops::run(&state.store, id).await?;
    let run = &detail.run;
    let status = crate::queue::status_word(run);
    let retryable = run.status == RunStatus::Failed;
    let took = run
        .started_at_ms
        .zip(run.finished_at_ms)
        .map(|(start, end)| duration(end.saturating_sub(start)));
    Ok(page(
        &format!("Run {}", run.id.to_text()),
        Nav::Runs,
        html! {
            h1 { "Run " code { (run.id.to_text()) } }
            div #run-live data-live=[(run.status == RunStatus::Pending).then_some(LIVE_SECONDS)] {
                dl.facts {
                    dt { "Event" } dd { a href={ "/events/" (run.event_id) } { (run.event_id) } }
                    dt { "Trigger" } dd { (run.trigger) }
                    dt { "Status" } dd { span class={ "status " (status) } { (status) } }
                    dt { "Received" } dd { (time(run.received_at_ms)) }
                    @if let Some(took) = &took { dt { "Took" } dd { (took) } }
                    dt { "Attempts" } dd { (run.attempts) }
                    @if let Some(error) = &run.error {
                        dt { "Error" } dd.error { (error.to_string()) }
                    }
                }
                h2 { "Variables" }
                @if run.variables.is_empty() {
                    p { "None." }
                } @else {
                    dl.facts {
                        @for (name, value) in run.variables.iter() {
                            dt { "{" (name) "}" } dd { code { (value) } }
                        }
                    }
                }
                h2 { "Steps" }
                (steps_table(&detail.steps))
            }
            @if retryable {
                form method="post" action={ "/runs/" (run.id.to_text()) "/retry" } {
                    (csrf_field(&session))
                    button type="submit" { "Retry from the failed step" }
                }
            }
        },
    ))
}

async fn retry(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
) -> Result<Redirect, ConsoleError> {
    let id = parse_id(&id)?;
    ops::retry(&state.store, id).await?;
    state.queue.wake();
    tracing::info!(run = %id, "run queued again through the console");
    Ok(Redirect::to(&format!("/runs/{}", id.to_text())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::ActionError;

    fn step(outcome: StepOutcome) -> Step {
        serde_json::from_value(serde_json::json!({
            "path": "actions[0]", "action": "send_message", "line": 3,
            "started_at_ms": 1_714_564_800_000u64, "duration_ms": 1500,
            "outcome": {"status": "done", "summary": "x"},
        }))
        .map(|mut s: Step| {
            s.outcome = outcome;
            s
        })
        .unwrap()
    }

    #[test]
    fn a_failed_step_shows_discords_error() {
        let failed = step(StepOutcome::Failed {
            error: ActionError {
                message: "Missing Permissions".to_owned(),
                code: "50013".to_owned(),
                discord_code: Some(50013),
                http_status: Some(403),
                retry_after_ms: None,
            },
            handled: false,
        });
        let (class, words) = outcome_words(&failed);
        assert_eq!(class, "failed");
        assert_eq!(
            words,
            "Missing Permissions (code 50013, Discord code 50013, HTTP 403)"
        );
        let html = steps_table(&[failed]).into_string();
        assert!(html.contains("1.5 s"), "{html}");
        assert!(html.contains("2024-05-01 12:00:00 UTC"), "{html}");
    }

    #[tokio::test]
    async fn the_list_filters_by_event_and_status_newest_first() {
        let store = Store::temporary().unwrap();
        let mut ids = Vec::new();
        for (event, status, dead) in [
            ("a", RunStatus::Succeeded, false),
            ("a", RunStatus::Failed, false),
            ("b", RunStatus::Failed, true),
            ("a", RunStatus::Pending, false),
        ] {
            let id = store.next_run_id().await.unwrap();
            let mut run = Run::new(id, event.to_owned(), Default::default(), 1_000);
            store.accept_run(&run, None).await.unwrap();
            if status != RunStatus::Pending {
                run.status = status;
                run.dead_lettered = dead;
                store.finish_run(&run).await.unwrap();
            }
            ids.push(id);
        }
        let list = |event: &str, status: &str| {
            let filter = RunsFilter {
                event: Some(event.to_owned()),
                status: Some(status.to_owned()),
            };
            let store = store.clone();
            async move {
                filtered_runs(&store, &filter)
                    .await
                    .map(|runs| runs.iter().map(|r| r.id).collect::<Vec<_>>())
            }
        };
        assert_eq!(
            list("", "").await.unwrap(),
            [ids[3], ids[2], ids[1], ids[0]]
        );
        assert_eq!(list("a", "").await.unwrap(), [ids[3], ids[1], ids[0]]);
        assert_eq!(list("", "failed").await.unwrap(), [ids[1]]);
        assert_eq!(list("", "dead-lettered").await.unwrap(), [ids[2]]);
        assert_eq!(list("a", "pending").await.unwrap(), [ids[3]]);
        assert_eq!(list("b", "succeeded").await.unwrap(), []);
        assert!(matches!(
            list("", "lost").await,
            Err(ConsoleError::BadRequest(_))
        ));
    }

    #[test]
    fn a_done_step_shows_its_summary() {
        let done = step(StepOutcome::Done {
            summary: "sent to #general".to_owned(),
            output: serde_json::Map::new(),
        });
        assert_eq!(
            outcome_words(&done),
            ("succeeded", "sent to #general".to_owned())
        );
    }
}
