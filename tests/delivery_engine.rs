//! CONTRACT §5 "Delivery", the engine half: transient failures retried with backoff, permanent
//! ones not, dead letters listed and retried by hand (§6's `hookbot runs`), runs waiting to retry
//! resumed after a restart. Every accepted webhook delivered exactly once across `kill -9`
//! rounds (§4: a 200 means the run will execute) is tests/crash_rounds.rs.

mod common;

use std::time::Duration;

use common::*;
use discord_stand_in::{Failure, FixtureGuild, Sandbox};
use hookbot::run::{Run, RunId, RunStatus, StepOutcome};
use serde_json::json;

fn notify() -> String {
    message_event("notify", "#deploys", "deploy {n}")
}

fn locked() -> String {
    message_event("locked", "#locked", "nobody reads this {n}")
}

/// Retries take seconds (backoff from 1 s): longer than [`DEADLINE`].
const RETRY_DEADLINE: Duration = Duration::from_secs(30);

const MESSAGES_PATH: &str = "/api/v10/channels/200000000000000001/messages";

async fn accept(h: &Harness, event: &str, n: &str) -> RunId {
    let answer = h.post(event, variables_body(&[("n", json!(n))])).await;
    assert_eq!(answer.status, 200, "accepted: {}", answer.body);
    RunId::parse(answer.body["run"].as_str().expect("run id")).expect("run id parses")
}

/// The run once `done` holds for its record, within `deadline`.
async fn wait_for(h: &Harness, id: RunId, deadline: Duration, done: impl Fn(&Run) -> bool) -> Run {
    let store = &h.running.as_ref().expect("hookbot running").store;
    let done = &done;
    eventually(deadline, format!("run {id} to get there"), || async move {
        match store.run(id).await.expect("store readable") {
            Some(run) if done(&run) => Ok(run),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

async fn wait_finished(h: &Harness, id: RunId) -> Run {
    wait_for(h, id, RETRY_DEADLINE, |run| {
        run.status != RunStatus::Pending
    })
    .await
}

fn contents(sandbox: &Sandbox, channel: u64) -> Vec<String> {
    sandbox
        .messages_in(channel)
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect()
}

fn sends_to(sandbox: &Sandbox, path: &str) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .count()
}

#[tokio::test]
async fn transient_503s_are_retried_and_every_run_is_delivered_exactly_once() {
    let h = Harness::start(&[("notify.toml", &notify())]).await;
    h.sandbox.inject(Failure::new("/messages", 503).times(4));
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(accept(&h, "notify", &format!("r{n}")).await);
    }
    for id in &ids {
        let run = wait_finished(&h, *id).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
        assert!(!run.dead_lettered);
        assert_eq!(run.error, None, "no error left once delivered");
    }
    let sent = contents(&h.sandbox, DEPLOYS);
    for n in 0..3 {
        let wanted = format!("deploy r{n}");
        assert_eq!(
            sent.iter().filter(|c| **c == wanted).count(),
            1,
            "{wanted} exactly once: {sent:?}"
        );
    }
    assert_eq!(
        sends_to(&h.sandbox, MESSAGES_PATH),
        3 + 4,
        "3 deliveries, 4 refused"
    );
    // Every send carried its nonce, enforced.
    for request in h.sandbox.requests() {
        if request.method == "POST" && request.path == MESSAGES_PATH {
            let body = request.body.expect("a body");
            assert_eq!(body["enforce_nonce"], json!(true));
            let nonce = body["nonce"].as_str().expect("a nonce");
            assert!(nonce.len() <= 25, "{nonce}");
        }
    }
    h.stop().await;
}

#[tokio::test]
async fn a_429_is_retried_after_discords_retry_after() {
    let h = Harness::start(&[("notify.toml", &notify())]).await;
    h.sandbox.inject(Failure::rate_limited("/messages", 1.5));
    let id = accept(&h, "notify", "limited").await;
    let run = wait_finished(&h, id).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let store = &h.running.as_ref().unwrap().store;
    let steps = store.steps(id).await.unwrap();
    assert_eq!(steps.len(), 1);
    let waited = steps[0].started_at_ms - run.received_at_ms;
    assert!(
        waited >= 1500,
        "the send waited out retry_after: {waited} ms"
    );
    assert_eq!(sends_to(&h.sandbox, MESSAGES_PATH), 2);
    assert_eq!(contents(&h.sandbox, DEPLOYS), ["deploy limited"]);
    h.stop().await;
}

#[tokio::test]
async fn a_permanent_403_is_not_retried() {
    let h = Harness::start(&[("locked.toml", &locked())]).await;
    let id = accept(&h, "locked", "x").await;
    let run = wait_finished(&h, id).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert!(!run.dead_lettered, "a refusal is not a dead letter");
    let error = run.error.expect("Discord's error kept");
    assert_eq!(error.http_status, Some(403));
    assert_eq!(error.discord_code, Some(50013));
    assert_eq!(
        sends_to(&h.sandbox, &format!("/api/v10/channels/{LOCKED}/messages")),
        1,
        "one request, no retry"
    );
    h.stop().await;
}

#[tokio::test]
async fn dead_letters_are_listed_and_delivered_after_a_retry_by_hand() {
    let mut h = Harness::start_with(
        fixture(),
        &[("notify.toml", &notify())],
        "",
        "[delivery]\nmax_attempts = 2\n",
    )
    .await;
    h.sandbox.inject(Failure::new("/messages", 503).times(2));
    let id = accept(&h, "notify", "dead").await;
    let run = wait_finished(&h, id).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.dead_lettered, "{run:?}");
    assert_eq!(run.attempts, 2);
    let error = run.error.expect("the last error");
    assert_eq!(error.http_status, Some(503));
    assert!(
        error.message.contains("gave up after 2 attempts"),
        "{}",
        error.message
    );
    assert_eq!(sends_to(&h.sandbox, MESSAGES_PATH), 2);

    h.halt().await;
    let config = h.config_path();
    let mut listed = Vec::new();
    hookbot::cli::runs_list(&config, false, None, true, 50, &mut listed)
        .await
        .unwrap();
    let listed = String::from_utf8(listed).unwrap();
    let line = listed
        .lines()
        .find(|l| l.contains(&id.to_text()))
        .unwrap_or_else(|| panic!("the dead letter is listed: {listed}"));
    assert!(line.contains("notify"), "{line}");
    assert!(line.contains("dead-lettered"), "{line}");
    let mut shown = Vec::new();
    hookbot::cli::runs_show(&config, false, &id.to_text(), &mut shown)
        .await
        .unwrap();
    let shown = String::from_utf8(shown).unwrap();
    assert!(shown.contains("n = \"dead\""), "{shown}");
    assert!(shown.contains("send_message"), "{shown}");
    assert!(shown.contains("HTTP 503"), "{shown}");

    let mut said = Vec::new();
    hookbot::cli::runs_retry(&config, false, &id.to_text(), &mut said)
        .await
        .unwrap();
    h.boot().await;
    let run = wait_finished(&h, id).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert!(!run.dead_lettered);
    assert_eq!(contents(&h.sandbox, DEPLOYS), ["deploy dead"]);
    let steps = h.running.as_ref().unwrap().store.steps(id).await.unwrap();
    assert_eq!(steps.len(), 1, "the failed step was replaced: {steps:?}");
    assert!(matches!(steps[0].outcome, StepOutcome::Done { .. }));
    h.stop().await;
}

/// While hookbot holds the database, `hookbot runs` asks it through the admin socket
/// (tests/admin.rs covers every admin command both ways).
#[tokio::test]
async fn runs_commands_work_while_hookbot_holds_the_database() {
    let h = Harness::start(&[("notify.toml", &notify())]).await;
    let id = accept(&h, "notify", "listed").await;
    wait_finished(&h, id).await;
    let mut listed = Vec::new();
    hookbot::cli::runs_list(&h.config_path(), false, None, false, 10, &mut listed)
        .await
        .unwrap();
    let listed = String::from_utf8(listed).unwrap();
    assert!(listed.contains(&id.to_text()), "{listed}");
    h.stop().await;
}

#[tokio::test]
async fn a_restarted_hookbot_resumes_a_run_waiting_for_its_retry() {
    let mut h = Harness::start(&[("notify.toml", &notify())]).await;
    h.sandbox.inject(Failure::rate_limited("/messages", 3.0));
    let id = accept(&h, "notify", "later").await;
    let waiting = wait_for(&h, id, DEADLINE, |run| run.next_attempt_at_ms.is_some()).await;
    assert_eq!(waiting.status, RunStatus::Pending);
    assert_eq!(waiting.attempts, 1);
    let due = waiting.next_attempt_at_ms.unwrap();
    h.halt().await;
    h.boot().await;
    let run = wait_finished(&h, id).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let steps = h.running.as_ref().unwrap().store.steps(id).await.unwrap();
    assert!(
        steps[0].started_at_ms >= due,
        "not taken up before it was due"
    );
    assert_eq!(contents(&h.sandbox, DEPLOYS), ["deploy later"]);
    h.stop().await;
}

// --- many channels at once (kill -9 rounds: tests/crash_rounds.rs) ---

const FIRST_CHANNEL: u64 = 210_000_000_000_000_000;

/// With the stand-in enforcing Discord's limits (50 requests/s, 5 messages per 5 s per channel),
/// a burst of webhooks is delivered in full, each message once, with hardly any 429: hookbot
/// paces itself instead of hammering Discord.
#[tokio::test]
async fn discords_rate_limits_are_respected_under_a_burst() {
    use discord_stand_in::{RateLimits, SandboxOptions};
    const BURST_CHANNELS: u64 = 10;
    const PER_CHANNEL: usize = 7;
    let mut guild = FixtureGuild::new(SERVER, SERVER_NAME);
    for index in 0..BURST_CHANNELS {
        guild = guild.channel(FIRST_CHANNEL + index, format!("burst-{index}"));
    }
    let h = Harness::start_with_options(
        bot_in(guild),
        SandboxOptions::default().discord_rate_limits(RateLimits::DISCORD),
        &[("burst.toml", &message_event("burst", "{ch}", "msg {n}"))],
        "",
        "[limits]\nper_event_per_minute = 0\n",
    )
    .await;
    let total = BURST_CHANNELS as usize * PER_CHANNEL;
    let posts = (0..total).map(|n| {
        let channel = FIRST_CHANNEL + (n as u64 % BURST_CHANNELS);
        h.post(
            "burst",
            variables_body(&[("ch", json!(channel.to_string())), ("n", json!(n))]),
        )
    });
    for answer in futures::future::join_all(posts).await {
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let stand_in = &h.sandbox;
    eventually(
        Duration::from_secs(30),
        format!("all {total} messages to be delivered"),
        || async move {
            let delivered: usize = (0..BURST_CHANNELS)
                .map(|i| stand_in.messages_in(FIRST_CHANNEL + i).len())
                .sum();
            if delivered >= total {
                Ok(())
            } else {
                Err(format!("{delivered} of {total} delivered"))
            }
        },
    )
    .await;
    let mut seen = std::collections::HashSet::new();
    for index in 0..BURST_CHANNELS {
        for message in h.sandbox.messages_in(FIRST_CHANNEL + index) {
            let content = message["content"].as_str().unwrap().to_owned();
            assert!(seen.insert(content.clone()), "{content} twice");
        }
    }
    assert_eq!(seen.len(), total);
    let requests = h.sandbox.request_count();
    let limited = h.sandbox.rate_limited_count();
    assert!(
        limited * 100 <= requests,
        "{limited} of {requests} requests were answered 429 (at most 1 % allowed)"
    );
    h.stop().await;
}

/// Issue 14 point 6: a wiped database hands out run ids again from its start; the nonces of its
/// messages still differ from those Discord saw from the old one, so Discord sends the new
/// message instead of answering with the earlier one. A retried send keeps its nonce.
#[tokio::test]
async fn a_wiped_database_sends_new_messages_with_new_nonces() {
    let mut h = Harness::start(&[("notify.toml", &notify())]).await;
    let first = accept(&h, "notify", "one").await;
    assert_eq!(wait_finished(&h, first).await.status, RunStatus::Succeeded);
    h.halt().await;
    std::fs::remove_dir_all(h.dir.path().join("db")).unwrap();
    h.boot().await;
    h.sandbox.inject(Failure::new("/messages", 503));
    let second = accept(&h, "notify", "two").await;
    assert_ne!(first, second, "a fresh database hands out other run ids");
    let run = wait_finished(&h, second).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(contents(&h.sandbox, DEPLOYS), ["deploy one", "deploy two"]);
    let nonces: Vec<String> = h
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == MESSAGES_PATH)
        .map(|r| {
            r.body.expect("a body")["nonce"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        nonces.len(),
        3,
        "one send, then a 503 and its retry: {nonces:?}"
    );
    assert_ne!(nonces[0], nonces[1], "another install, another nonce");
    assert_eq!(nonces[1], nonces[2], "the retry keeps its nonce");
    h.stop().await;
}
