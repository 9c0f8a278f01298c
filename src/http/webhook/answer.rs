//! What an accepted webhook is answered: `200 {"ok": true, "run": …}`, or with `?wait=true`
//! the run's results (200), its failure in Discord's words (502), or 202 while it goes on; a
//! repeated idempotency key's first answer again; a skipped or already delivered request's
//! `200`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::sync::broadcast;

use crate::engine::{Change, IdempotencyKey, IdempotencyRecord, Store, StoreError, StoredAnswer};
use crate::queue::Queue;
use crate::run::{Run, RunId, RunStatus, StepOutcome};

/// How long a `?wait=true` request waits for its run before answering 202.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The header a replayed answer carries.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// What an accepted request led to.
pub(super) enum Triggered {
    /// A new run; `wait` listens for its end when the caller asked `?wait=true`.
    New {
        run: Box<Run>,
        wait: Option<RunEnds>,
        key: Option<Vec<u8>>,
    },
    /// The idempotency key was seen: the first answer again, no run.
    Replay(IdempotencyRecord),
    /// A `[[when]]` filter did not hold: nothing runs.
    Skipped,
    /// A signed delivery (its `webhook-id`, `X-GitHub-Delivery` or Stripe event id) seen within
    /// its window: nothing runs again.
    AlreadyDelivered,
}

/// The response for what `event_id`'s request led to; a waited-for run's final answer replaces
/// the pending one kept for its idempotency key, so a retry hears how it ended.
pub(super) async fn answer(store: &Store, event_id: &str, triggered: Triggered) -> Response {
    match triggered {
        Triggered::Replay(record) => {
            tracing::info!(run = %record.run, event = %event_id, "webhook repeated an idempotency key; first answer replayed");
            let mut response = stored_response(record.answer);
            response
                .headers_mut()
                .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            response
        }
        Triggered::Skipped => {
            tracing::info!(event = %event_id, "webhook skipped: a [[when]] filter does not hold");
            (StatusCode::OK, Json(json!({"ok": true, "skipped": true}))).into_response()
        }
        Triggered::AlreadyDelivered => {
            tracing::info!(event = %event_id, "webhook replayed: that signed delivery was accepted already");
            (StatusCode::OK, Json(json!({"ok": true, "replayed": true}))).into_response()
        }
        Triggered::New { run, wait, key } => {
            tracing::info!(run = %run.id, event = %run.event_id, variables = run.variables.len(), wait = wait.is_some(), "webhook accepted");
            let Some(finished) = wait else {
                return accepted_response(run.id);
            };
            let answer = wait_for_run(store, run.id, finished).await;
            if let Some(key) = &key {
                let key = IdempotencyKey {
                    event_id: &run.event_id,
                    key,
                };
                if let Err(error) = store.set_idempotent_answer(key, run.id, &answer).await {
                    tracing::warn!(run = %run.id, %error, "could not keep the final answer for the idempotency key");
                }
            }
            stored_response(answer)
        }
    }
}

/// `?wait=true`; any other value, and every other parameter, is ignored.
pub(super) fn wants_wait(query: Option<&str>) -> bool {
    query
        .unwrap_or("")
        .split('&')
        .any(|pair| pair == "wait=true")
}

/// The answer to a run accepted without `?wait=true`.
pub(super) fn accepted_answer(run: RunId) -> StoredAnswer {
    StoredAnswer {
        status: 200,
        body: json!({"ok": true, "run": run.to_text()}),
    }
}

/// The answer while a waited-for run goes on.
pub(super) fn pending_answer(run: RunId) -> StoredAnswer {
    StoredAnswer {
        status: 202,
        body: json!({"ok": true, "run": run.to_text(), "pending": true}),
    }
}

fn stored_response(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    (status, Json(answer.body)).into_response()
}

/// [`accepted_answer`] as a response, byte for byte what [`stored_response`] makes of it, written
/// without building its JSON value: this is the answer to nearly every webhook.
fn accepted_response(run: RunId) -> Response {
    let mut response = Body::from(format!(r#"{{"ok":true,"run":"{run}"}}"#)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Hears runs end: on this instance through the queue, and with a shared store on any instance
/// through the store's change feed, since the leader that carries the run out may be another
/// process than the one whose caller waits.
pub(super) struct RunEnds {
    here: broadcast::Receiver<RunId>,
    elsewhere: Option<broadcast::Receiver<Change>>,
}

/// What [`RunEnds::next`] heard.
enum Heard {
    Ended(RunId),
    /// Ends may have been missed (a listener fell behind, a reconnect): look in the store.
    Missed,
    /// Nothing will be heard any more.
    Closed,
}

impl RunEnds {
    /// Subscribe before the run is queued, so its end cannot be missed.
    pub(super) fn subscribe(queue: &Queue, store: &Store) -> RunEnds {
        RunEnds {
            here: queue.subscribe(),
            elsewhere: store.is_shared().then(|| store.changes()),
        }
    }

    async fn next(&mut self) -> Heard {
        use broadcast::error::RecvError;
        let RunEnds { here, elsewhere } = self;
        loop {
            let from_elsewhere = async {
                match elsewhere.as_mut() {
                    Some(changes) => changes.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                heard = here.recv() => return match heard {
                    Ok(id) => Heard::Ended(id),
                    Err(RecvError::Lagged(_)) => Heard::Missed,
                    Err(RecvError::Closed) => Heard::Closed,
                },
                change = from_elsewhere => match change {
                    Ok(Change::RunFinished(id)) => return Heard::Ended(id),
                    Ok(Change::Resync) | Err(RecvError::Lagged(_)) => return Heard::Missed,
                    Ok(_) => {}
                    Err(RecvError::Closed) => *elsewhere = None,
                },
            }
        }
    }
}

/// Waits up to [`WAIT_TIMEOUT`] for the run to finish: its results (200), its failure (502),
/// or 202 while it goes on.
async fn wait_for_run(store: &Store, id: RunId, mut finished: RunEnds) -> StoredAnswer {
    let deadline = tokio::time::Instant::now() + WAIT_TIMEOUT;
    loop {
        // Also right after subscribing: the run may have finished already.
        match finished_answer(store, id).await {
            Ok(Some(answer)) => return answer,
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(run = %id, %error, "cannot read the run while waiting for it");
                return pending_answer(id);
            }
        }
        loop {
            match tokio::time::timeout_at(deadline, finished.next()).await {
                Err(_) | Ok(Heard::Closed) => {
                    return finished_answer(store, id)
                        .await
                        .ok()
                        .flatten()
                        .unwrap_or_else(|| pending_answer(id));
                }
                Ok(Heard::Ended(done)) if done == id => break,
                Ok(Heard::Ended(_)) => {}
                Ok(Heard::Missed) => break,
            }
        }
    }
}

/// The answer for a finished run; `None` while it is pending.
async fn finished_answer(store: &Store, id: RunId) -> Result<Option<StoredAnswer>, StoreError> {
    let Some(run) = store.run(id).await? else {
        return Ok(None);
    };
    match run.status {
        RunStatus::Pending => Ok(None),
        RunStatus::Failed => {
            let mut body = json!({"ok": false, "error": "run_failed", "run": id.to_text()});
            match &run.error {
                Some(failure) => {
                    body["message"] = json!(failure.to_string());
                    if !failure.path.is_empty() {
                        body["path"] = json!(failure.path);
                        body["action"] = json!(failure.action);
                    }
                    if let Some(code) = failure.discord_code {
                        body["discord_code"] = json!(code);
                    }
                    if let Some(status) = failure.http_status {
                        body["http_status"] = json!(status);
                    }
                }
                None => body["message"] = json!("the run failed"),
            }
            Ok(Some(StoredAnswer { status: 502, body }))
        }
        RunStatus::Succeeded => {
            let results: Vec<serde_json::Value> = store
                .steps(id)
                .await?
                .into_iter()
                .filter_map(|step| match step.outcome {
                    StepOutcome::Done { summary, output } => {
                        let mut result = output;
                        result.insert("path".into(), json!(step.path));
                        result.insert("action".into(), json!(step.action));
                        result.insert("summary".into(), json!(summary));
                        Some(serde_json::Value::Object(result))
                    }
                    _ => None,
                })
                .collect();
            Ok(Some(StoredAnswer {
                status: 200,
                body: json!({"ok": true, "run": id.to_text(), "results": results}),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_is_only_wait_true() {
        assert!(wants_wait(Some("wait=true")));
        assert!(wants_wait(Some("a=1&wait=true&b")));
        assert!(!wants_wait(Some("wait=false")));
        assert!(!wants_wait(Some("nowait=true")));
        assert!(!wants_wait(None));
    }

    #[tokio::test]
    async fn the_accepted_response_is_the_stored_answers_bytes() {
        use http_body_util::BodyExt;
        for id in [RunId(1), RunId(0x0123_4567_89ab_cdef), RunId(u64::MAX)] {
            let direct = accepted_response(id);
            let stored = stored_response(accepted_answer(id));
            assert_eq!(direct.status(), stored.status());
            assert_eq!(direct.headers(), stored.headers());
            let bytes = |response: Response| async {
                response.into_body().collect().await.unwrap().to_bytes()
            };
            assert_eq!(bytes(direct).await, bytes(stored).await);
        }
    }

    async fn queued_run(store: &Store) -> Run {
        Run::new(
            store.next_run_id().await.unwrap(),
            "e".into(),
            crate::lang::templates::Variables::new(),
            1,
        )
    }

    // current_thread: the finishing task runs only once the waiter listens, so it must lag.
    #[tokio::test(flavor = "current_thread")]
    async fn a_lagging_waiter_looks_in_the_store() {
        let store = Store::temporary().unwrap();
        let mut run = queued_run(&store).await;
        store.accept_run(&run, None).await.unwrap();
        let (sender, receiver) = broadcast::channel(1);
        let finisher = store.clone();
        let id = run.id;
        tokio::spawn(async move {
            let mut output = serde_json::Map::new();
            output.insert("id".into(), json!("42"));
            let step = crate::run::Step {
                path: "1".into(),
                action: "send_message".into(),
                line: 0,
                started_at_ms: 1,
                duration_ms: 1,
                outcome: StepOutcome::Done {
                    summary: "sent".into(),
                    output,
                },
                warnings: vec![],
                channel: None,
            };
            finisher.append_step(id, 0, &step).await.unwrap();
            run.status = RunStatus::Succeeded;
            finisher.finish_run(&run).await.unwrap();
            // Other runs' ends push this one's out of the channel.
            sender.send(id).unwrap();
            for other in 0..4 {
                sender.send(RunId(other)).unwrap();
            }
            // Kept open, so only the store can tell the waiter.
            std::mem::forget(sender);
        });
        let ends = RunEnds {
            here: receiver,
            elsewhere: None,
        };
        let answer = wait_for_run(&store, id, ends).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(
            answer.body["results"],
            json!([{"path": "1", "action": "send_message", "summary": "sent", "id": "42"}])
        );
    }

    #[tokio::test]
    async fn a_failed_run_answers_502_with_discords_words() {
        let store = Store::temporary().unwrap();
        let mut run = queued_run(&store).await;
        run.status = RunStatus::Failed;
        run.error = Some(crate::run::RunFailure {
            path: "2".into(),
            action: "send_message".into(),
            message: "Missing Permissions".into(),
            discord_code: Some(50013),
            http_status: Some(403),
        });
        store.accept_run(&run, None).await.unwrap();
        store.finish_run(&run).await.unwrap();
        let answer = finished_answer(&store, run.id).await.unwrap().unwrap();
        assert_eq!(answer.status, 502);
        assert_eq!(answer.body["error"], "run_failed");
        assert_eq!(answer.body["run"], run.id.to_text());
        assert_eq!(answer.body["discord_code"], 50013);
        assert_eq!(answer.body["http_status"], 403);
        assert_eq!(answer.body["path"], "2");
        assert!(answer.body["message"]
            .as_str()
            .unwrap()
            .contains("Missing Permissions"));
    }
}
