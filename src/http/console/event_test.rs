//! The test form on an event's page: a dry run (nothing changed anywhere; each step says what it
//! would do, as `hookbot event test --dry-run`) or a real run with the visitor's variables. A real
//! run goes through the queue like a webhook, so the workers carry it out exactly once; the
//! visitor lands on its page once it ends (or after [`TEST_WAIT`], where it keeps updating).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Extension, Form, Router};
use maud::{html, Markup};

use super::auth::{csrf_field, Session};
use super::error::ConsoleError;
use super::layout::{page, Nav};
use super::runs::steps_table;
use super::state::ConsoleState;
use crate::engine::StoredAnswer;
use crate::events::Event;
use crate::lang::templates::Variables;
use crate::queue::{EnqueueError, Enqueued};
use crate::run::{unix_now_ms, Run, RunId, Step};

/// How long a real test run is waited for before the visitor is shown its page anyway.
pub const TEST_WAIT: Duration = Duration::from_secs(20);
/// How long a dry run may take before the console gives up on it (it changes nothing, so
/// stopping it loses nothing).
pub const DRY_RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Variables one test may set.
pub const MAX_TEST_VARIABLES: usize = 100;
/// The field prefix of a variable's input: `var.service`.
const VARIABLE_FIELD: &str = "var.";

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new().route("/events/{id}/test", post(test))
}

/// The served event `id`, or a 404 that says so.
pub(super) async fn served_event(state: &ConsoleState, id: &str) -> Result<Event, ConsoleError> {
    state
        .store
        .event(id)
        .await?
        .map(|event| (*event).clone())
        .ok_or_else(|| {
            ConsoleError::NotFound(format!(
                "no event has the id {}",
                crate::problem::quoted(id)
            ))
        })
}

/// The form: one input per variable the event's templates use (filled with an example), a box
/// for more, and the choice between a dry run and a real one.
pub fn form(event: &Event, session: &Session, values: Option<&Variables>) -> Markup {
    let examples = crate::sandbox_world::example_variables(event);
    html! {
        h2 #test { "Test" }
        form.stack method="post" action={ "/events/" (event.id) "/test" } {
            (csrf_field(session))
            @for (name, example) in &examples {
                @let field = format!("{VARIABLE_FIELD}{name}");
                label for=(field) { "{" (name) "}" }
                input id=(field) name=(field) value=(values.and_then(|v| v.get(name)).unwrap_or(example));
            }
            label for="more" { "More variables, one NAME=VALUE a line" }
            textarea #more name="more" rows="3" {}
            fieldset {
                legend { "Run" }
                label { input type="radio" name="mode" value="dry" checked; " dry run: change nothing, say what each step would do" }
                br;
                label { input type="radio" name="mode" value="live"; " for real: send to Discord" }
            }
            button type="submit" { "Run the test" }
        }
    }
}

/// The variables a submitted form sets: its `var.NAME` inputs, then its `more` lines.
pub fn submitted_variables(fields: &[(String, String)]) -> Result<Variables, ConsoleError> {
    let mut variables = Variables::new();
    let mut count = 0;
    let mut set = |name: &str, value: &str| {
        let name = name.trim().trim_start_matches('{').trim_end_matches('}');
        if name.is_empty() {
            return Err(ConsoleError::BadRequest(format!(
                "{} has no name before =",
                crate::problem::quoted(value)
            )));
        }
        count += 1;
        if count > MAX_TEST_VARIABLES {
            return Err(ConsoleError::BadRequest(format!(
                "a test sets at most {MAX_TEST_VARIABLES} variables"
            )));
        }
        variables.insert(name, value);
        Ok(())
    };
    for (field, value) in fields {
        if let Some(name) = field.strip_prefix(VARIABLE_FIELD) {
            set(name, value)?;
        }
    }
    for (field, value) in fields {
        if field != "more" {
            continue;
        }
        for line in value.lines().filter(|line| !line.trim().is_empty()) {
            let (name, value) = line.split_once('=').ok_or_else(|| {
                ConsoleError::BadRequest(format!(
                    "{} is not NAME=VALUE",
                    crate::problem::quoted(line)
                ))
            })?;
            set(name, value.trim_end_matches('\r'))?;
        }
    }
    Ok(variables)
}

async fn test(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    Extension(session): Extension<Session>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let event = served_event(&state, &id).await?;
    let variables = submitted_variables(&fields)?;
    let live = fields.iter().any(|(k, v)| k == "mode" && v == "live");
    if live {
        let run = real_run(&state, &event, variables).await?;
        return Ok(Redirect::to(&format!("/runs/{}", run.to_text())).into_response());
    }
    let discord = state.leadership.discord().ok_or_else(|| {
        ConsoleError::Unavailable(
            "this hookbot is not connected to Discord now (another instance leads); a dry run needs it to name channels and roles".to_owned(),
        )
    })?;
    let trial = crate::executor::trial(
        &state.store,
        &discord,
        &event,
        variables.clone(),
        true,
        &state.http_destination,
    );
    let (run, steps) = tokio::time::timeout(DRY_RUN_TIMEOUT, trial)
        .await
        .map_err(|_| {
            ConsoleError::Unavailable(format!(
                "the dry run took longer than {} s",
                DRY_RUN_TIMEOUT.as_secs()
            ))
        })??;
    Ok(dry_run_page(&event, &session, &variables, &run, &steps).into_response())
}

/// Queues a run as a webhook would, and waits (at most [`TEST_WAIT`]) for it to end.
async fn real_run(
    state: &ConsoleState,
    event: &Event,
    variables: Variables,
) -> Result<RunId, ConsoleError> {
    let mut ended = state.queue.subscribe();
    let now_ms = unix_now_ms();
    let event_id = event.id.clone();
    let enqueued = state
        .queue
        .enqueue(None, now_ms, move |id| {
            let answer = StoredAnswer {
                status: 200,
                body: serde_json::json!({"ok": true, "run": id.to_text()}),
            };
            (Run::new(id, event_id, variables, now_ms), answer)
        })
        .await
        .map_err(|error| match error {
            EnqueueError::Full { .. } => ConsoleError::Unavailable(error.to_string()),
            EnqueueError::Store(error) => ConsoleError::Store(error),
        })?;
    let Enqueued::New(run) = enqueued else {
        return Err(ConsoleError::BadRequest(
            "the run was not started".to_owned(),
        ));
    };
    tracing::info!(run = %run.id, event = %event.id, "console: a test run was queued");
    let id = run.id;
    let _ = tokio::time::timeout(TEST_WAIT, async {
        loop {
            match ended.recv().await {
                Ok(finished) if finished == id => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    })
    .await;
    Ok(id)
}

fn dry_run_page(
    event: &Event,
    session: &Session,
    variables: &Variables,
    run: &Run,
    steps: &[Step],
) -> Markup {
    page(
        &format!("Dry run of {}", event.name),
        Nav::Events,
        html! {
            h1 { "Dry run of " a href={ "/events/" (event.id) } { (event.name) } }
            @match &run.error {
                None => p.status.succeeded role="status" { "Would succeed: " (steps.len()) " step(s). Nothing was sent or changed." }
                Some(failure) => p.status.failed role="status" { "Would fail: " (failure.to_string()) }
            }
            (steps_table(steps))
            (form(event, session, Some(variables)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn variables_come_from_the_inputs_and_the_box() {
        let vars = submitted_variables(&fields(&[
            ("csrf", "t"),
            ("var.service", "billing"),
            ("more", "{version}=1.2\r\n\r\nnote=a=b\n"),
            ("mode", "dry"),
        ]))
        .unwrap();
        assert_eq!(vars.get("service"), Some("billing"));
        assert_eq!(vars.get("version"), Some("1.2"));
        assert_eq!(vars.get("note"), Some("a=b"));
        assert_eq!(vars.get("csrf"), None);
        assert_eq!(vars.len(), 3);
    }

    #[test]
    fn a_broken_line_or_too_many_variables_is_refused() {
        assert!(submitted_variables(&fields(&[("more", "no equals sign")])).is_err());
        assert!(submitted_variables(&fields(&[("more", "=value")])).is_err());
        let many: String = (0..=MAX_TEST_VARIABLES)
            .map(|i| format!("v{i}=x\n"))
            .collect();
        assert!(submitted_variables(&fields(&[("more", &many)])).is_err());
    }
}
