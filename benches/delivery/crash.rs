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
/// How long the last start may take to deliver the backlog.
const DELIVER_WITHIN: Duration = Duration::from_secs(240);

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
    for _ in 0..ROUNDS {
        let mut child = world::spawn_hookbot(dir.path(), port).await;
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
    let mut last = world::spawn_hookbot(dir.path(), port).await;
    let deadline = Instant::now() + DELIVER_WITHIN;
    let mut counts = delivered(&sandbox);
    while Instant::now() < deadline && accepted.iter().any(|seq| !counts.contains_key(seq)) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        counts = delivered(&sandbox);
    }
    let _ = last.kill();
    let _ = last.wait();
    sandbox.shutdown().await;
    Crashes {
        seed,
        accepted: accepted.len(),
        lost: accepted
            .iter()
            .filter(|seq| !counts.contains_key(seq))
            .count(),
        repeated: counts.values().filter(|n| **n > 1).count(),
        unanswered_delivered: counts.keys().filter(|seq| !accepted.contains(seq)).count(),
        took: started.elapsed(),
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
