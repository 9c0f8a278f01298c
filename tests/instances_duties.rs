//! CONTRACT §8 beyond the takeover (tests/instances.rs): what several `hookbot run` processes on
//! one PostgreSQL database do as one bot. Only the leader fires schedules, so a due time makes
//! one run and no follower even looks; `?wait=true` sent to a follower answers with the run's
//! result (or its failure) as on the leader; two instances started together on an empty
//! database make one API key between them, printed once.

mod common;

use std::time::Duration;

use common::instances::{deliveries, leader, machines, post, rotate_key};
use common::process::Process;
use common::*;
use hookbot::config::Config;
use hookbot::engine::{ScheduleDue, Store};
use serde_json::{json, Value};

/// The contract's bound on a `?wait=true` answer before it says 202.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// A schedule due every day at 00:00 UTC, saying which due time it fired for.
fn daily() -> String {
    format!(
        "id = \"daily\"\nserver = \"{SERVER}\"\n\n[trigger]\ntype = \"schedule\"\nevery = \"1d\"\n\n\
         [[actions]]\ntype = \"send_message\"\nchannel = \"#deploys\"\n\
         content = \"Summary for {{scheduled_time}}\"\n"
    )
}

async fn store_of(dir: &std::path::Path) -> Store {
    let config = Config::load(&dir.join("config.toml"), false).unwrap();
    Store::open_at(&config.store_location()).await.unwrap()
}

/// The schedule lines a process logged: firing, or finding a due time already fired.
fn schedule_lines(process: &Process) -> Vec<String> {
    process
        .log()
        .lines()
        .filter(|line| line.contains("schedule fired") || line.contains("already fired"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_fires_a_schedule_and_a_due_time_runs_once() {
    let Some((_database, sandbox, _root, dirs)) =
        machines("only_the_leader_fires_a_schedule", ["a", "b", "c"]).await
    else {
        return;
    };
    for dir in &dirs {
        std::fs::write(dir.join("events/daily.toml"), daily()).unwrap();
    }
    rotate_key(&dirs[0]);
    // A first start keeps the next due time (tomorrow, 00:00 UTC) in the database.
    let first = Process::start(&dirs[0], "first").await;
    let store = store_of(&dirs[0]).await;
    let kept = eventually(DEADLINE, "the next due time to be kept", || {
        let store = store.clone();
        async move {
            let dues = store.schedule_dues().await.unwrap();
            dues.into_iter().find(|(event, _)| event == "daily")
        }
    })
    .await
    .1;
    first.stop().await;
    assert!(deliveries(&sandbox).is_empty(), "nothing was due yet");

    // As if every instance had been down over two midnights; then all three start at once.
    let missed = ScheduleDue {
        next_due_ms: kept.next_due_ms - 2 * DAY_MS,
        ..kept.clone()
    };
    store
        .set_schedule_due("daily", Some(&missed))
        .await
        .unwrap();
    let processes = [
        Process::start(&dirs[0], "a").await,
        Process::start(&dirs[1], "b").await,
        Process::start(&dirs[2], "c").await,
    ];
    let http = reqwest::Client::new();
    let leading = leader(
        &http,
        &[&processes[0], &processes[1], &processes[2]],
        DEADLINE,
    )
    .await;
    // Fired once, and the next due time kept again: every clock that runs has looked by then.
    let (store_ref, sandbox_ref) = (&store, &sandbox);
    eventually(
        DEADLINE,
        "the catch-up fire and the next due time",
        || async move {
            let due = store_ref.schedule_dues().await.unwrap();
            let sent = deliveries(sandbox_ref).values().sum::<usize>();
            match (sent, due.as_slice()) {
                (1, [(_, due)]) if due.next_due_ms == kept.next_due_ms => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    let today = jiff::Timestamp::from_millisecond((kept.next_due_ms - DAY_MS) as i64)
        .unwrap()
        .display_with_offset(jiff::tz::Offset::UTC);
    assert_eq!(
        deliveries(&sandbox).get(&format!("Summary for {today}")),
        Some(&1)
    );
    for (index, process) in processes.iter().enumerate() {
        let lines = schedule_lines(process);
        match index == leading {
            true => assert_eq!(lines.len(), 1, "the leader fired once: {lines:?}"),
            false => assert!(lines.is_empty(), "a follower's clock ran: {lines:?}"),
        }
    }
    for process in processes {
        process.stop().await;
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_true_on_a_follower_answers_with_the_runs_result() {
    let Some((_database, sandbox, _root, [a, b])) =
        machines("wait_true_on_a_follower", ["a", "b"]).await
    else {
        return;
    };
    std::fs::write(
        b.join("events/locked.toml"),
        message_event("locked", "#locked", "never sent"),
    )
    .unwrap();
    let key = rotate_key(&a);
    let http = reqwest::Client::new();
    let leading = Process::start(&a, "leader").await;
    assert_eq!(leader(&http, &[&leading], DEADLINE).await, 0);
    let follower = Process::start(&b, "follower").await;
    assert_eq!(leader(&http, &[&leading, &follower], DEADLINE).await, 0);

    let wait = |event: &str, service: &str| {
        http.post(format!(
            "{}/webhook/{BOT_ID}/{event}?wait=true",
            follower.base
        ))
        .header("Authorization", &key)
        .json(&variables_body(&[("service", json!(service))]))
        .send()
    };
    // The leader carries the run out; the follower hears it end through the database.
    let asked = std::time::Instant::now();
    let answer = wait("deploy", "api").await.unwrap();
    let took = asked.elapsed();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["results"][0]["action"], "send_message", "{body}");
    assert!(body["results"][0]["id"].is_string(), "{body}");
    assert!(took < WAIT_TIMEOUT, "answered only after {took:?}");
    assert_eq!(deliveries(&sandbox).get("api is live"), Some(&1));

    // A run Discord refuses: its failure, in Discord's words, from the follower too.
    eventually(DEADLINE, "the new event on the follower", || async {
        match wait("locked", "x")
            .await
            .map(|answer| answer.status().as_u16())
        {
            Ok(404) | Ok(401) => Err("not loaded yet".to_owned()),
            Ok(status) => Ok(status),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;
    let answer = wait("locked", "y").await.unwrap();
    assert_eq!(answer.status(), 502);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "run_failed", "{body}");
    assert_eq!(body["discord_code"], 50013, "{body}");

    follower.stop().await;
    leading.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_started_together_on_an_empty_database_make_one_key() {
    let Some((_database, sandbox, _root, [a, b])) =
        machines("two_instances_make_one_key", ["a", "b"]).await
    else {
        return;
    };
    let (first, second) = tokio::join!(Process::start(&a, "a"), Process::start(&b, "b"));
    let http = reqwest::Client::new();
    leader(&http, &[&first, &second], DEADLINE).await;
    let keys: Vec<String> = [&first, &second]
        .iter()
        .filter_map(|process| {
            let printed = process.printed();
            let mut lines = printed.lines();
            lines.find(|line| line.starts_with("hookbot made its API key"))?;
            lines.next().map(str::to_owned)
        })
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "exactly one instance prints a key:\n{}\n---\n{}",
        first.printed(),
        second.printed()
    );
    let loser = [&first, &second]
        .into_iter()
        .find(|process| !process.printed().contains("hookbot made its API key"))
        .unwrap();
    // The other either found the key made already, or lost the race and says where it is.
    let printed = loser.printed();
    assert!(
        printed.is_empty() || printed.contains(hookbot::server::MADE_ELSEWHERE),
        "{printed}"
    );
    for process in [&first, &second] {
        assert_eq!(
            post(&http, &process.base, "deploy", &keys[0], "keyed").await,
            200,
            "the printed key works on every instance"
        );
    }
    first.stop().await;
    second.stop().await;
    sandbox.shutdown().await;
}
