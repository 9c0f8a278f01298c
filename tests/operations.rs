//! CONTRACT §6 "Operating it", running it for real: event files edited while hookbot runs (a
//! valid change is live within a second, an invalid one leaves the last good version serving, a
//! deleted file's event answers 404).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::json;

/// "Within a second" plus room for a slow CI machine.
const RELOAD_DEADLINE: Duration = Duration::from_secs(3);

fn version(n: u32) -> String {
    format!(
        r##"id = "live"
name = "Live v{n}"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#general"
content = "version {n}"
"##
    )
}

/// Posts until told to stop, recording every status; a request never sees a half-loaded event,
/// and no change answers 5xx.
fn keep_posting(h: &Harness, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<u16>> {
    let url = h.webhook_url("live");
    let key = h.key.clone();
    let http = h.http.clone();
    tokio::spawn(async move {
        let mut statuses = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let answer = http
                .post(&url)
                .header("Authorization", &key)
                .body("{}")
                .send()
                .await
                .expect("request sent");
            statuses.push(answer.status().as_u16());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        statuses
    })
}

/// Waits until the served definition of `id` has `name`.
async fn serves(h: &Harness, id: &str, name: &str) {
    let store = &h.running.as_ref().unwrap().store;
    eventually(
        RELOAD_DEADLINE,
        format!("{id} to serve {name:?}"),
        || async move {
            match store.event(id).await.unwrap() {
                Some(event) if event.name == name => Ok(()),
                other => Err(format!("{:?}", other.map(|event| event.name.clone()))),
            }
        },
    )
    .await;
}

async fn run_message_id(h: &Harness, run: &hookbot::run::Run) -> u64 {
    let steps = h
        .running
        .as_ref()
        .unwrap()
        .store
        .steps(run.id)
        .await
        .unwrap();
    let hookbot::run::StepOutcome::Done { output, .. } = &steps[0].outcome else {
        panic!("{steps:?}");
    };
    output["id"].as_str().unwrap().parse().unwrap()
}

/// Waits until the `live` event answers `status`.
async fn answers_with(h: &Harness, status: u16) {
    eventually(
        RELOAD_DEADLINE,
        format!("live to answer {status}"),
        || async move {
            let answer = h.post("live", json!({})).await;
            if answer.status == status {
                Ok(())
            } else {
                Err(format!("{} {}", answer.status, answer.body))
            }
        },
    )
    .await;
}

#[tokio::test]
async fn event_files_reload_while_requests_flow() {
    let h = Harness::start_with(
        fixture(),
        &[("live.toml", &version(1))],
        "",
        "[limits]\nper_event_per_minute = 0\n",
    )
    .await;
    let file = h.dir.path().join("events").join("live.toml");
    let stop = Arc::new(AtomicBool::new(false));
    let posting = keep_posting(&h, stop.clone());

    // A valid change is live within a second.
    std::fs::write(&file, version(2)).unwrap();
    serves(&h, "live", "Live v2").await;
    let run = h.trigger("live", &[]).await;
    let sent = h
        .sandbox
        .message(GENERAL, run_message_id(&h, &run).await)
        .unwrap();
    assert_eq!(sent["content"], "version 2");

    // An invalid change keeps the last good version serving. A new file written with it shows
    // when the folder has been read again.
    std::fs::write(&file, version(3).replace("send_message", "send_mesage")).unwrap();
    std::fs::write(
        h.dir.path().join("events").join("marker.toml"),
        version(9).replace("\"live\"", "\"marker\""),
    )
    .unwrap();
    serves(&h, "marker", "Live v9").await;
    // The folder was read again, and the last good version still serves.
    serves(&h, "live", "Live v2").await;
    let problems = hookbot::events::load_dir(&h.dir.path().join("events")).problems;
    assert_eq!(problems.len(), 1, "`hookbot check` shows it: {problems:?}");

    // A deleted file's event answers 404; restored, it serves again.
    std::fs::remove_file(&file).unwrap();
    answers_with(&h, 404).await;
    std::fs::write(&file, version(4)).unwrap();
    answers_with(&h, 200).await;

    stop.store(true, Ordering::Relaxed);
    let statuses = posting.await.unwrap();
    assert!(
        statuses.len() > 10,
        "requests kept flowing: {}",
        statuses.len()
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 404),
        "only 200s, and 404s while the file was gone: {statuses:?}"
    );
    // Every run that was accepted ran one whole version of the event.
    let contents: Vec<String> = h
        .sandbox
        .messages_in(GENERAL)
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        contents
            .iter()
            .all(|c| ["version 1", "version 2", "version 4"].contains(&c.as_str())),
        "{contents:?}"
    );
    let revisions = h
        .running
        .as_ref()
        .unwrap()
        .store
        .event_revisions("live")
        .await
        .unwrap();
    let names: Vec<&str> = revisions.iter().map(|r| r.event.name.as_str()).collect();
    assert_eq!(
        names,
        ["Live v1", "Live v2", "Live v4"],
        "each accepted version is kept"
    );
    h.stop().await;
}

/// A file broken while hookbot was stopped keeps serving the version stored at the last run.
#[tokio::test]
async fn a_file_broken_while_stopped_keeps_its_last_good_version() {
    let mut h = Harness::start(&[("live.toml", &version(1))]).await;
    h.halt().await;
    let file = h.dir.path().join("events").join("live.toml");
    std::fs::write(&file, "id = \"live\"\nserver = \"not a number\"\n").unwrap();
    h.boot().await;
    let run = h.trigger("live", &[]).await;
    assert_eq!(run.status, hookbot::run::RunStatus::Succeeded);
    let sent: Vec<_> = h.sandbox.messages_in(GENERAL);
    assert_eq!(sent[0]["content"], "version 1");
    h.stop().await;
}
