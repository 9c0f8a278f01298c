//! CONTRACT §5 "Delivery", the webhook half: idempotency keys, `?wait=true`, backpressure, through
//! the real listener, the real serenity client and the stand-in.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const SLOW: &str = r##"
id = "slow"
server = "123456789012345678"

[[actions]]
type = "wait"
duration = "12s"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "done waiting"
"##;

async fn harness() -> Harness {
    Harness::start(&[
        (
            "deploy.toml",
            &message_event("deploy", "#deploys", "{service} is live"),
        ),
        (
            "other.toml",
            &message_event("other", "#general", "other {service}"),
        ),
        (
            "locked.toml",
            &message_event("locked", &LOCKED.to_string(), "nobody may read this"),
        ),
    ])
    .await
}

/// POSTs `body` to `url` with the API key and extra headers.
async fn post(h: &Harness, url: &str, headers: &[(&str, &str)], body: Value) -> Answer {
    let mut request = h
        .http
        .post(url)
        .header("Authorization", &h.key)
        .header("Content-Type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Answer::from(request.send().await.expect("request sent")).await
}

fn service(name: &str) -> Value {
    variables_body(&[("service", json!(name))])
}

/// Waits (with a deadline) until `channel` holds `count` messages.
async fn wait_messages(h: &Harness, channel: u64, count: usize) -> Vec<Value> {
    let sandbox = &h.sandbox;
    eventually(
        DEADLINE,
        format!("{count} message(s) in {channel}"),
        || async move {
            let messages = sandbox.messages_in(channel);
            if messages.len() >= count {
                Ok(messages)
            } else {
                Err(format!("{} message(s)", messages.len()))
            }
        },
    )
    .await
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_first_answer_and_starts_no_run() {
    let h = harness().await;
    let url = h.webhook_url("deploy");
    let first = post(&h, &url, &[("Idempotency-Key", "k-1")], service("billing")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let run = first.body["run"].as_str().unwrap().to_owned();
    h.wait_run(&run).await;

    let again = post(&h, &url, &[("Idempotency-Key", "k-1")], service("changed")).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, first.body, "the first answer again");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    // webhook-id is the key when Idempotency-Key is absent.
    let by_id = post(&h, &url, &[("webhook-id", "k-1")], service("changed")).await;
    assert_eq!(by_id.body["run"], first.body["run"]);

    // Another key is another run; the same key on another event too.
    let other_key = post(&h, &url, &[("Idempotency-Key", "k-2")], service("api")).await;
    assert_eq!(other_key.status, 200);
    assert_ne!(other_key.body["run"], first.body["run"]);
    h.wait_run(other_key.body["run"].as_str().unwrap()).await;
    let other_event = post(
        &h,
        &h.webhook_url("other"),
        &[("Idempotency-Key", "k-1")],
        service("web"),
    )
    .await;
    assert_eq!(other_event.status, 200);
    assert_ne!(other_event.body["run"], first.body["run"]);
    assert_eq!(other_event.header("idempotent-replayed"), None);
    h.wait_run(other_event.body["run"].as_str().unwrap()).await;

    let sent: Vec<Value> = h
        .sandbox
        .messages_in(DEPLOYS)
        .into_iter()
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(sent, [json!("billing is live"), json!("api is live")]);
    assert_eq!(h.sandbox.messages_in(GENERAL).len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn concurrent_requests_with_one_key_start_one_run() {
    let h = harness().await;
    let url = h.webhook_url("deploy");
    let answers = futures::future::join_all(
        (0..8).map(|_| post(&h, &url, &[("Idempotency-Key", "burst")], service("once"))),
    )
    .await;
    let runs: std::collections::HashSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 200, "{}", a.body);
            a.body["run"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(runs.len(), 1, "one run for one key: {runs:?}");
    let replayed = answers
        .iter()
        .filter(|a| a.header("idempotent-replayed") == Some("true"))
        .count();
    assert_eq!(replayed, 7);
    h.wait_run(runs.iter().next().unwrap()).await;
    // Another run after it, to be sure nothing else was queued behind the first.
    h.trigger("deploy", &[("service", json!("after"))]).await;
    let sent = wait_messages(&h, DEPLOYS, 2).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0]["content"], "once is live");
    h.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_over_255_bytes_is_400() {
    let h = harness().await;
    let url = h.webhook_url("deploy");
    let long = "k".repeat(256);
    let answer = post(&h, &url, &[("Idempotency-Key", &long)], service("x")).await;
    answer.assert_error(400, "bad_request");
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key"),
        "{}",
        answer.body
    );
    let answer = post(&h, &url, &[("webhook-id", &long)], service("x")).await;
    answer.assert_error(400, "bad_request");
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .contains("webhook-id"));
    assert!(h.sandbox.messages_in(DEPLOYS).is_empty());
    h.stop().await;
}

#[tokio::test]
async fn wait_true_answers_with_the_results() {
    let h = harness().await;
    let url = format!("{}?wait=true&other=ignored", h.webhook_url("deploy"));
    let answer = post(&h, &url, &[], service("billing")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["ok"], true);
    let sent = h.sandbox.messages_in(DEPLOYS);
    assert_eq!(sent.len(), 1, "the message was sent before the answer");
    let results = answer.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{}", answer.body);
    assert_eq!(results[0]["action"], "send_message");
    assert_eq!(results[0]["path"], "1");
    assert_eq!(results[0]["id"], sent[0]["id"]);
    assert_eq!(results[0]["channel_id"], DEPLOYS.to_string());
    assert!(results[0]["summary"].as_str().is_some());
    let run = h.wait_run(answer.body["run"].as_str().unwrap()).await;
    assert_eq!(run.status, hookbot::run::RunStatus::Succeeded);

    // wait=false is today's answer.
    let plain = post(
        &h,
        &format!("{}?wait=false", h.webhook_url("deploy")),
        &[],
        service("x"),
    )
    .await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.body.as_object().unwrap().len(), 2, "{}", plain.body);

    // A replay of a ?wait=true request answers what it finally answered.
    let keyed = post(&h, &url, &[("Idempotency-Key", "w")], service("keyed")).await;
    assert_eq!(keyed.status, 200, "{}", keyed.body);
    let replay = post(&h, &url, &[("Idempotency-Key", "w")], service("keyed")).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body, keyed.body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    h.stop().await;
}

#[tokio::test]
async fn wait_true_is_502_when_discord_refuses() {
    let h = harness().await;
    let url = format!("{}?wait=true", h.webhook_url("locked"));
    let answer = post(&h, &url, &[], json!({})).await;
    answer.assert_error(502, "run_failed");
    assert!(answer.body["run"].as_str().unwrap().starts_with("run_"));
    assert_eq!(answer.body["discord_code"], 50013, "{}", answer.body);
    assert_eq!(answer.body["http_status"], 403, "{}", answer.body);
    h.stop().await;
}

#[tokio::test]
async fn wait_true_is_202_after_10_seconds_and_the_run_goes_on() {
    let h = Harness::start(&[("slow.toml", SLOW)]).await;
    let url = format!("{}?wait=true", h.webhook_url("slow"));
    let started = std::time::Instant::now();
    let answer = post(&h, &url, &[("Idempotency-Key", "slow")], json!({})).await;
    let waited = started.elapsed();
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["ok"], true);
    assert_eq!(answer.body["pending"], true);
    assert!(
        waited >= Duration::from_secs(10),
        "answered after {waited:?}"
    );
    // Answered while the run still waits out its 12 s, not once it had finished.
    assert!(
        h.sandbox.messages_in(DEPLOYS).is_empty(),
        "answered only after the run"
    );
    // Replayed while the run still waits: the first 202.
    let replay = post(&h, &url, &[("Idempotency-Key", "slow")], json!({})).await;
    assert_eq!(replay.status, 202);
    assert_eq!(replay.body, answer.body);
    // The run goes on and sends its message.
    h.wait_run(answer.body["run"].as_str().unwrap()).await;
    assert_eq!(h.sandbox.messages_in(DEPLOYS).len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn too_many_pending_runs_is_503_with_retry_after() {
    let waiting = r##"
id = "waits"
server = "123456789012345678"

[[actions]]
type = "wait"
duration = "2s"
"##;
    let h = Harness::start_with(
        fixture(),
        &[("waits.toml", waiting)],
        "",
        "[delivery]\nmax_pending_runs = 2\nworkers = 1\n",
    )
    .await;
    let url = h.webhook_url("waits");
    let mut runs = Vec::new();
    for key in ["b-1", "b-2"] {
        let answer = post(&h, &url, &[("Idempotency-Key", key)], json!({})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        runs.push(answer.body["run"].as_str().unwrap().to_owned());
    }
    let refused = post(&h, &url, &[], json!({})).await;
    refused.assert_error(503, "unavailable");
    assert_eq!(refused.header("retry-after"), Some("5"));
    assert!(refused.body["message"]
        .as_str()
        .unwrap()
        .contains("max_pending_runs"));
    // A repeated key needs no room: it still gets its first answer.
    let replay = post(&h, &url, &[("Idempotency-Key", "b-1")], json!({})).await;
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.body["run"], runs[0].as_str());
    // Once the runs finished, there is room again.
    for run in &runs {
        h.wait_run(run).await;
    }
    let accepted = post(&h, &url, &[], json!({})).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    h.stop().await;
}
