//! Crash rounds: the real `hookbot` binary killed with SIGKILL at random points while webhooks
//! stream in and runs go out, [`ROUNDS`] times over one database; then one last start delivers
//! what is left, and every webhook answered 200 must have reached the stand-in exactly once.
//! (`tests/crash_rounds.rs` is the lean version `cargo test` runs.)

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::world::{self, CHANNELS};

pub const ROUNDS: usize = 20;
/// Webhook callers at once, and the pace each keeps: 8 × 25/s = 200 webhooks a second, so the
/// backlog left for the last start stays a few thousand runs (Discord's pace is ~45 a second).
const CALLERS: u64 = 8;
const CALLER_GAP: Duration = Duration::from_millis(40);
/// Each kill falls this long after the process first answers, uniformly: over several of the
/// accept journal's checkpoints (one a second) and the runs going out meanwhile.
const KILL_AFTER_MS: std::ops::Range<u64> = 200..2500;
/// How long the last start may take to deliver the backlog: a backlog of ~4,000 drains in about
/// 90 s, at the global pace (docs/performance.md, "Order under load"); the rest is room for a
/// busy machine.
const DELIVER_WITHIN: Duration = Duration::from_secs(420);
/// How often the last start's progress is noted.
const TIMELINE_STEP: Duration = Duration::from_secs(20);

pub struct Crashes {
    pub seed: u64,
    pub accepted: usize,
    /// Accepted webhooks whose message never arrived.
    pub lost: usize,
    /// Webhooks whose message arrived more than once.
    pub repeated: usize,
    /// Messages that arrived for webhooks not answered 200 (in flight at a kill): allowed.
    pub unanswered_delivered: usize,
    pub took: Duration,
    /// How long the last start ran, and whether [`DELIVER_WITHIN`] ran out (rather than every
    /// accepted webhook arriving).
    pub last_start: Duration,
    pub deadline_ran_out: bool,
    /// Accepted webhooks not yet arrived, every [`TIMELINE_STEP`] of the last start.
    pub timeline: Vec<usize>,
    /// One line per lost webhook: what the database says of its run (see [`explain`]).
    pub lost_runs: Vec<String>,
    /// The database folder, kept when something was lost: the database as the last kill left
    /// it (`db.at-kill`), and hookbot's log of each start (`round00.log` … `last.log`).
    pub kept: Option<std::path::PathBuf>,
}

pub async fn rounds() -> Crashes {
    let started = Instant::now();
    let seed: u64 = rand::random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sandbox = world::stand_in(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::memory::free_port();
    world::write_config(dir.path(), &sandbox.api_url(), &format!("127.0.0.1:{port}"));
    let key = "crash-bench-key";
    {
        let store = hookbot::engine::Store::open(&dir.path().join("db")).expect("store opens");
        store
            .set_api_key_hash(hookbot::keys::hash_key(key))
            .await
            .expect("key set");
    }
    let url = format!(
        "http://127.0.0.1:{port}/webhook/{}/{}",
        world::BOT_ID,
        world::EVENT
    );
    let client = reqwest::Client::new();
    let accepted = Arc::new(Mutex::new(BTreeSet::new()));
    let next = Arc::new(AtomicU64::new(0));
    for round in 0..ROUNDS {
        let mut child =
            world::spawn_hookbot(dir.path(), port, &format!("round{round:02}.log")).await;
        let stop = Arc::new(AtomicBool::new(false));
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..CALLERS {
            let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
            let (accepted, next) = (accepted.clone(), next.clone());
            callers.spawn(async move {
                let mut tick = tokio::time::interval(CALLER_GAP);
                while !stop.load(Ordering::SeqCst) {
                    tick.tick().await;
                    let seq = next.fetch_add(1, Ordering::SeqCst);
                    let Ok(answer) = client
                        .post(&url)
                        .header("Authorization", key)
                        .header("Content-Type", "application/json")
                        .body(world::body(world::channel(seq), &seq.to_string()))
                        .send()
                        .await
                    else {
                        return;
                    };
                    if answer.status() == 200 {
                        accepted.lock().unwrap().insert(seq);
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(KILL_AFTER_MS))).await;
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        stop.store(true, Ordering::SeqCst);
        while callers.join_next().await.is_some() {}
    }
    let accepted = accepted.lock().unwrap().clone();
    let mut last = world::spawn_hookbot(dir.path(), port, "last.log").await;
    let last_started = Instant::now();
    let deadline = last_started + DELIVER_WITHIN;
    let mut counts = delivered(&sandbox);
    let missing = |counts: &HashMap<u64, usize>| -> Vec<u64> {
        accepted
            .iter()
            .copied()
            .filter(|seq| !counts.contains_key(seq))
            .collect()
    };
    // How many were still missing every 20 s: a slow backlog and a straggler look different.
    let mut timeline = Vec::new();
    while Instant::now() < deadline && !missing(&counts).is_empty() {
        if last_started.elapsed() >= TIMELINE_STEP * timeline.len() as u32 {
            timeline.push(missing(&counts).len());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        counts = delivered(&sandbox);
    }
    let last_start = last_started.elapsed();
    let _ = last.kill();
    let _ = last.wait();
    sandbox.shutdown().await;
    let lost = missing(&counts);
    let (lost_runs, kept) = if lost.is_empty() {
        (Vec::new(), None)
    } else {
        let db = dir.path().join("db");
        copy_dir(&db, &dir.path().join("db.at-kill"));
        (explain(&db, &lost).await, Some(dir.keep()))
    };
    Crashes {
        seed,
        accepted: accepted.len(),
        lost: lost.len(),
        repeated: counts.values().filter(|n| **n > 1).count(),
        unanswered_delivered: counts.keys().filter(|seq| !accepted.contains(seq)).count(),
        took: started.elapsed(),
        last_start,
        deadline_ran_out: !lost.is_empty(),
        timeline,
        lost_runs,
        kept,
    }
}

/// What the database at `db` says of each lost webhook: its run's id, status, attempts, next
/// attempt time, steps and last error, and whether it is on the queue; or that no run has it.
/// (Opening the database replays its accept journal first, as a start would.)
async fn explain(db: &std::path::Path, lost: &[u64]) -> Vec<String> {
    let store = match hookbot::engine::Store::open(db) {
        Ok(store) => store,
        Err(error) => return vec![format!("the database does not open: {error}")],
    };
    let every = hookbot::engine::RunFilter {
        limit: usize::MAX,
        ..Default::default()
    };
    let (runs, queued, retry_times) = match (
        store.runs_newest_first(&every).await,
        store.pending_runs(usize::MAX).await,
        store.pending_retry_times().await,
    ) {
        (Ok(runs), Ok(queued), Ok(times)) => (runs, queued, times),
        (runs, queued, times) => {
            return vec![format!(
                "the database does not read: {:?} {:?} {:?}",
                runs.err(),
                queued.err(),
                times.err()
            )]
        }
    };
    let now = hookbot::run::unix_now_ms() as i64;
    let mut lines = Vec::new();
    for seq in lost {
        let text = seq.to_string();
        let mine: Vec<_> = runs
            .iter()
            .filter(|run| run.variables.get("seq") == Some(text.as_str()))
            .collect();
        if mine.is_empty() {
            lines.push(format!("seq {seq}: not in the database"));
        }
        for run in mine {
            let steps = store.steps(run.id).await.unwrap_or_default();
            let steps: Vec<String> = steps
                .iter()
                .map(|step| format!("{} {}: {:?}", step.path, step.action, step.outcome))
                .collect();
            let queue = match (
                queued.contains(&run.id),
                retry_times.iter().find(|(id, _)| *id == run.id),
            ) {
                (false, _) => "not queued".to_owned(),
                (true, None) => "queued, due now".to_owned(),
                (true, Some((_, at))) => format!("queued, due in {} ms", *at as i64 - now),
            };
            lines.push(format!(
                "seq {seq}: {} {:?} attempts {} next_attempt {} ms from now, received {} ms ago; \
                 {queue}; steps {steps:?}; error {:?}",
                run.id,
                run.status,
                run.attempts,
                run.next_attempt_at_ms
                    .map_or("-".to_owned(), |at| (at as i64 - now).to_string()),
                now - run.received_at_ms as i64,
                run.error.as_ref().map(ToString::to_string),
            ));
        }
    }
    lines
}

/// A plain copy of a folder tree (the database as a kill left it, before anything opens it).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// How often each sequence number arrived.
fn delivered(sandbox: &discord_stand_in::Sandbox) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for index in 0..CHANNELS {
        for message in sandbox.messages_in(world::channel(index)) {
            if let Some(seq) = world::seq_of(&message).and_then(|s| s.parse().ok()) {
                *counts.entry(seq).or_insert(0) += 1;
            }
        }
    }
    counts
}
