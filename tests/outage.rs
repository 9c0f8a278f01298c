//! A Discord outage, through the real binary: hookbot starts while Discord answers 503 to
//! everything, serves `/healthz` and a `/readyz` that says why it is not ready, accepts webhooks
//! durably, and delivers them once Discord is back; the bot's id comes from the token or from an
//! earlier start. Only a token Discord refuses (401) ends it, with exit status 1.

mod common;

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use common::process::{hookbot, Process};
use common::*;
use discord_stand_in::Sandbox;
use serde_json::{json, Value};

/// Long enough for a few reconnect attempts (1 s, 2 s, 4 s, … apart, at most 30 s) after the
/// outage ends, on a loaded machine.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(90);

/// A token shaped like Discord's: its first part is the bot's id in base64.
fn token_carrying_bot_id() -> String {
    let id = base64::engine::general_purpose::STANDARD_NO_PAD.encode(BOT_ID.to_string());
    format!("{id}.outage.test-secret")
}

/// A folder with a config pointing at `sandbox` with `token`, and one event posting to #deploys.
fn setup(sandbox: &Sandbox, token: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    std::fs::write(
        dir.path().join("events/deploy.toml"),
        message_event("deploy", "#deploys", "{service} is live"),
    )
    .unwrap();
    write_config(dir.path(), &sandbox.api_url(), "", "");
    let config = std::fs::read_to_string(dir.path().join("config.toml"))
        .unwrap()
        .replace(
            &format!("token = \"{TOKEN}\""),
            &format!("token = \"{token}\""),
        );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    dir
}

/// `hookbot key rotate`, while hookbot is stopped: the API key.
fn rotate_key(dir: &Path) -> String {
    let rotated = hookbot(dir).args(["key", "rotate"]).output().unwrap();
    assert!(rotated.status.success(), "{rotated:?}");
    String::from_utf8(rotated.stdout).unwrap().trim().to_owned()
}

async fn get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let answer = http.get(url).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// Posts to the deploy event and returns the run id of its 200.
async fn trigger(http: &reqwest::Client, base: &str, key: &str, service: &str) -> String {
    let answer = http
        .post(format!("{base}/webhook/{BOT_ID}/deploy"))
        .header("Authorization", key)
        .json(&variables_body(&[("service", json!(service))]))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body["run"].as_str().expect("a run id").to_owned()
}

/// While Discord is down: alive, not ready with the reason, webhooks accepted and their runs
/// recorded as pending (not failed), nothing sent.
async fn check_serving_during_outage(
    process: &mut Process,
    dir: &Path,
    sandbox: &Sandbox,
    key: &str,
    service: &str,
) -> String {
    let http = reqwest::Client::new();
    let (status, _) = get(&http, format!("{}/healthz", process.base)).await;
    assert_eq!(status, 200);
    let base = process.base.clone();
    let http_ref = &http;
    // The first attempt may still be under way; once it failed, /readyz names the outage.
    let reason = eventually(DEADLINE, "/readyz to name the outage", || {
        let url = format!("{base}/readyz");
        async move {
            let (status, body) = get(http_ref, url).await;
            let message = body["message"].as_str().unwrap_or_default().to_owned();
            if status == 503 && message.contains("cannot reach Discord") && message.contains("503")
            {
                Ok(message)
            } else {
                Err(format!("{status} {body}"))
            }
        }
    })
    .await;
    assert!(reason.contains("trying again"), "{reason}");

    let run = trigger(&http, &process.base, key, service).await;
    let shown = hookbot(dir).args(["runs", "show", &run]).output().unwrap();
    let shown_text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{shown:?}");
    assert!(shown_text.contains("pending"), "{shown_text}");
    assert!(
        process.child.try_wait().unwrap().is_none(),
        "hookbot is still running during the outage:\n{}",
        process.log()
    );
    assert!(sandbox.messages_in(DEPLOYS).is_empty());
    run
}

async fn delivered(sandbox: &Sandbox, content: &str) {
    eventually(
        RECOVERY_DEADLINE,
        format!("{content:?} to reach #deploys"),
        || async move {
            let messages = sandbox.messages_in(DEPLOYS);
            let texts: Vec<String> = messages
                .iter()
                .filter_map(|m| m["content"].as_str().map(str::to_owned))
                .collect();
            if texts.iter().any(|text| text == content) {
                Ok(())
            } else {
                Err(format!("{texts:?}"))
            }
        },
    )
    .await;
}

// Multi-threaded: the stand-in serves the hookbot process while this test waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hookbot_starts_during_an_outage_and_delivers_once_discord_is_back() {
    init_logs();
    let token = token_carrying_bot_id();
    let sandbox = Sandbox::start(fixture(), &token).await.unwrap();
    let dir = setup(&sandbox, &token);
    let key = rotate_key(dir.path());
    sandbox.begin_outage(503);

    let mut process = Process::start(dir.path(), "run").await;
    let run =
        check_serving_during_outage(&mut process, dir.path(), &sandbox, &key, "billing").await;

    sandbox.end_outage();
    delivered(&sandbox, "billing is live").await;
    let http = reqwest::Client::new();
    let base = process.base.clone();
    let http_ref = &http;
    eventually(RECOVERY_DEADLINE, "/readyz 200 after the outage", || {
        let url = format!("{base}/readyz");
        async move { get(http_ref, url).await.0 == 200 }
    })
    .await;
    let shown = hookbot(dir.path())
        .args(["runs", "show", &run])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("succeeded"),
        "{shown:?}"
    );
    assert!(
        process.log().contains("cannot reach Discord"),
        "the log says why it waits"
    );
    process.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_an_outage_uses_the_bot_id_the_last_start_kept() {
    init_logs();
    // This token does not carry the bot's id: only the database can tell it.
    let sandbox = Sandbox::start(fixture(), TOKEN).await.unwrap();
    let dir = setup(&sandbox, TOKEN);
    let key = rotate_key(dir.path());

    let first = Process::start(dir.path(), "first").await;
    let http = reqwest::Client::new();
    let base = first.base.clone();
    let http_ref = &http;
    eventually(DEADLINE, "the first start to be ready", || {
        let url = format!("{base}/readyz");
        async move { get(http_ref, url).await.0 == 200 }
    })
    .await;
    first.stop().await;

    // A crash or reboot during an outage.
    sandbox.begin_outage(503);
    let mut second = Process::start(dir.path(), "second").await;
    check_serving_during_outage(&mut second, dir.path(), &sandbox, &key, "payments").await;
    sandbox.end_outage();
    delivered(&sandbox, "payments is live").await;
    second.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_discord_refuses_after_an_outage_ends_hookbot_with_status_1() {
    init_logs();
    let sandbox = Sandbox::start(fixture(), "the-right-token").await.unwrap();
    let dir = setup(&sandbox, &token_carrying_bot_id());
    sandbox.begin_outage(503);

    let mut process = Process::start(dir.path(), "run").await;
    let http = reqwest::Client::new();
    let (status, _) = get(&http, format!("{}/healthz", process.base)).await;
    assert_eq!(status, 200, "serving while Discord is down");
    assert!(process.child.try_wait().unwrap().is_none());

    // Discord is back, and refuses the token: no retry can fix that.
    sandbox.end_outage();
    let status = process.exited(RECOVERY_DEADLINE).await;
    assert_eq!(status.code(), Some(1), "{}", process.log());
    let log = process.log();
    let last = log.lines().last().unwrap_or_default();
    assert!(
        last.contains("refused the bot token") && last.contains("discord.token"),
        "the last line names the token problem: {last}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_discord_refuses_at_start_ends_hookbot_with_status_1() {
    init_logs();
    let sandbox = Sandbox::start(fixture(), "the-right-token").await.unwrap();
    let dir = setup(&sandbox, &token_carrying_bot_id());
    let output = hookbot(dir.path()).arg("run").output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("refused the bot token") && last.contains("discord.token"),
        "the last line names the token problem: {last}"
    );
    sandbox.shutdown().await;
}
