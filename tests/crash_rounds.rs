//! CONTRACT §4 (a 200 means the run will execute) and §5 (each message is sent once) across
//! crashes: the real binary is killed with SIGKILL at random points while webhooks stream in and
//! runs go out, several times over one database, and then every webhook answered 200 must have
//! reached Discord exactly once. The bench (`cargo bench --bench delivery -- crash`) does 20
//! rounds; docs/performance.md has its figures.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use discord_stand_in::{FixtureGuild, Sandbox};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const ROUNDS: usize = 3;
const CHANNELS: u64 = 20;
const FIRST_CHANNEL: u64 = 220_000_000_000_000_000;
/// Webhook callers at once.
const CALLERS: usize = 8;
const API_KEY: &str = "crash-rounds-test-key";

fn spawn_hookbot(dir: &Path, log: &str) -> tokio::process::Child {
    let log = std::fs::File::create(dir.join(log)).unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_hookbot"))
        .args(["run", "--config", "config.toml"])
        .current_dir(dir)
        .env_remove("HOOKBOT_CONFIG")
        .env_remove("HOOKBOT_DISCORD_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("hookbot starts")
}

/// Every message's content in the test channels, with how often it arrived.
fn delivered(sandbox: &Sandbox) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for c in 0..CHANNELS {
        for message in sandbox.messages_in(FIRST_CHANNEL + c) {
            let content = message["content"].as_str().unwrap_or_default().to_owned();
            *counts.entry(content).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_webhooks_survive_kill_9_rounds_and_are_sent_once() {
    let seed: u64 = rand::random();
    // The seed decides only where each kill falls; the assertions hold for every seed.
    eprintln!("crash rounds seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut guild = FixtureGuild::new(SERVER, SERVER_NAME);
    for c in 0..CHANNELS {
        guild = guild.channel(FIRST_CHANNEL + c, format!("c{c}"));
    }
    let sandbox = Sandbox::start(bot_in(guild), TOKEN).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    write_config(
        dir.path(),
        &sandbox.api_url(),
        "",
        "[limits]\nper_event_per_minute = 0\n",
    );
    let config = std::fs::read_to_string(dir.path().join("config.toml"))
        .unwrap()
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    std::fs::write(
        dir.path().join("events/fanout.toml"),
        message_event("fanout", "{ch}", "msg {n}"),
    )
    .unwrap();
    {
        // The key is set before the first start, so no start prints one.
        let store = hookbot::engine::Store::open(&dir.path().join("db")).unwrap();
        store
            .set_api_key_hash(hookbot::keys::hash_key(API_KEY))
            .await
            .unwrap();
    }
    let base = format!("http://127.0.0.1:{port}");
    let url = format!("{base}/webhook/{BOT_ID}/fanout");
    let client = reqwest::Client::new();
    let accepted = Arc::new(Mutex::new(BTreeSet::new()));
    let next = Arc::new(AtomicU64::new(0));

    for round in 0..ROUNDS {
        let mut hookbot = spawn_hookbot(dir.path(), &format!("round{round}.log"));
        let client_ref = &client;
        let base_ref = &base;
        eventually(
            DEADLINE,
            format!("round {round}: hookbot to listen"),
            || async move { client_ref.get(base_ref).send().await.is_ok() },
        )
        .await;
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..CALLERS {
            let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
            let (accepted, answered, next) = (accepted.clone(), answered.clone(), next.clone());
            callers.spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let channel = FIRST_CHANNEL + n % CHANNELS;
                    let body = variables_body(&[
                        ("n", json!(n.to_string())),
                        ("ch", json!(channel.to_string())),
                    ]);
                    let Ok(answer) = client
                        .post(&url)
                        .header("Authorization", API_KEY)
                        .json(&body)
                        .send()
                        .await
                    else {
                        // The process is gone: this webhook may or may not run, once at most.
                        return;
                    };
                    if answer.status() != 200 {
                        continue;
                    }
                    let body: Value = answer.json().await.unwrap_or(Value::Null);
                    if body["run"].as_str().is_some() {
                        accepted.lock().unwrap().insert(n);
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        // A random point under load: after some acceptances, with runs going out meanwhile.
        let target = rng.random_range(10..40);
        let extra = Duration::from_millis(rng.random_range(0..400));
        let answered_ref = &answered;
        eventually(
            DEADLINE,
            format!("round {round}: {target} webhooks accepted"),
            || async move { answered_ref.load(Ordering::SeqCst) >= target },
        )
        .await;
        tokio::time::sleep(extra).await;
        hookbot.start_kill().expect("SIGKILL");
        hookbot.wait().await.unwrap();
        stop.store(true, Ordering::SeqCst);
        while callers.join_next().await.is_some() {}
    }

    let mut last = spawn_hookbot(dir.path(), "last.log");
    let accepted = accepted.lock().unwrap().clone();
    // Kept if the wait below fails: its message names the folder, with each start's log and
    // the database (`hookbot runs --config <folder>/config.toml` lists the runs).
    let mut dir = dir;
    dir.disable_cleanup(true);
    let (stand_in, accepted_ref) = (&sandbox, &accepted);
    let logs = &dir.path().display();
    eventually(
        Duration::from_secs(60),
        "every accepted webhook to be delivered",
        || async move {
            let counts = delivered(stand_in);
            let lost: Vec<_> = accepted_ref
                .iter()
                .filter(|n| !counts.contains_key(&format!("msg {n}")))
                .collect();
            if lost.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{} of {} accepted webhooks not delivered: {lost:?}; logs in {logs}",
                    lost.len(),
                    accepted_ref.len()
                ))
            }
        },
    )
    .await;
    let repeated: Vec<_> = delivered(&sandbox)
        .into_iter()
        .filter(|(_, count)| *count > 1)
        .collect();
    assert!(
        repeated.is_empty(),
        "sent more than once (seed {seed}): {repeated:?}; logs in {}",
        dir.path().display()
    );
    dir.disable_cleanup(false);
    last.start_kill().unwrap();
    last.wait().await.unwrap();
    sandbox.shutdown().await;
}
