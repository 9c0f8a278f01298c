//! CONTRACT §6 "Operating it": every admin command works with hookbot stopped (the store opened
//! directly) and running (through the admin socket beside the database, mode 0600).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;
use discord_stand_in::Failure;
use hookbot::engine::VariableScope;
use hookbot::run::{Run, RunId, RunStatus};
use serde_json::{json, Value};

fn notify() -> String {
    message_event("notify", "#deploys", "deploy {service} by {user}")
}

fn socket(h: &Harness) -> PathBuf {
    h.dir.path().join("db.sock")
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

async fn key_rotate(config: &Path) -> String {
    let mut out = Vec::new();
    hookbot::cli::key_rotate(config, false, &mut out)
        .await
        .unwrap();
    let out = text(out);
    assert_eq!(out.lines().count(), 1, "the key alone: {out:?}");
    out.trim().to_owned()
}

async fn runs_list(config: &Path, event: Option<&str>, failed: bool) -> String {
    let mut out = Vec::new();
    hookbot::cli::runs_list(config, false, event, failed, 50, &mut out)
        .await
        .unwrap();
    text(out)
}

async fn runs_show(config: &Path, run: RunId) -> String {
    let mut out = Vec::new();
    hookbot::cli::runs_show(config, false, &run.to_text(), &mut out)
        .await
        .unwrap();
    text(out)
}

async fn runs_retry(config: &Path, run: RunId) -> String {
    let mut out = Vec::new();
    hookbot::cli::runs_retry(config, false, &run.to_text(), &mut out)
        .await
        .unwrap();
    text(out)
}

async fn event_show(config: &Path, id: &str) -> String {
    let mut out = Vec::new();
    hookbot::cli::event_show(config, false, id, &mut out)
        .await
        .unwrap();
    text(out)
}

async fn event_list(config: &Path) -> String {
    let mut out = Vec::new();
    hookbot::cli::event_list(config, false, &mut out)
        .await
        .unwrap();
    text(out)
}

async fn export(config: &Path) -> Value {
    let mut out = Vec::new();
    hookbot::cli::export(config, false, &mut out).await.unwrap();
    serde_json::from_slice(&out).expect("the export is one JSON document")
}

async fn import(config: &Path, file: &Path) -> String {
    let mut out = Vec::new();
    hookbot::cli::import(config, false, file, &mut out)
        .await
        .unwrap();
    text(out)
}

/// A run that failed for good: Discord answered 403 once.
async fn failed_run(h: &Harness) -> Run {
    h.sandbox.inject(Failure::new("/messages", 403));
    let run = h
        .trigger(
            "notify",
            &[("service", json!("billing")), ("user", json!("ann"))],
        )
        .await;
    assert_eq!(run.status, RunStatus::Failed, "{run:?}");
    run
}

#[tokio::test]
async fn the_socket_is_0600_answers_only_while_running_and_is_removed_at_stop() {
    let mut h = Harness::start(&[("notify.toml", &notify())]).await;
    let path = socket(&h);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    h.halt().await;
    assert!(!path.exists(), "the socket is removed at shutdown");

    // A stale socket (nobody listening) is neither trusted by the CLI nor in hookbot's way.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    assert_eq!(runs_list(&h.config_path(), None, false).await, "");
    h.boot().await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    let run = h.trigger("notify", &[("service", json!("x"))]).await;
    assert!(runs_list(&h.config_path(), None, false)
        .await
        .contains(&run.id.to_text()));
    h.stop().await;
}

#[tokio::test]
async fn key_rotate_while_running_replaces_the_key_at_once_and_while_stopped_too() {
    let mut h = Harness::start(&[("notify.toml", &notify())]).await;
    let old = h.key.clone();
    assert_eq!(h.post("notify", json!({})).await.status, 200);

    let new = key_rotate(&h.config_path()).await;
    assert_ne!(new, old);
    h.post("notify", json!({}))
        .await
        .assert_error(401, "unauthorized");
    h.key = new.clone();
    assert_eq!(h.post("notify", json!({})).await.status, 200);

    h.halt().await;
    let newer = key_rotate(&h.config_path()).await;
    assert_ne!(newer, new);
    h.boot().await;
    h.post("notify", json!({}))
        .await
        .assert_error(401, "unauthorized");
    h.key = newer;
    assert_eq!(h.post("notify", json!({})).await.status, 200);
    h.stop().await;
}

#[tokio::test]
async fn runs_list_show_and_retry_while_running_and_while_stopped() {
    let mut h = Harness::start(&[("notify.toml", &notify())]).await;
    let config = h.config_path();
    let failed = failed_run(&h).await;
    let ok = h.trigger("notify", &[("service", json!("fine"))]).await;

    let all = runs_list(&config, None, false).await;
    assert!(all.contains(&failed.id.to_text()) && all.contains(&ok.id.to_text()));
    let only_failed = runs_list(&config, Some("notify"), true).await;
    assert!(only_failed.contains(&failed.id.to_text()), "{only_failed}");
    assert!(!only_failed.contains(&ok.id.to_text()), "{only_failed}");
    assert_eq!(runs_list(&config, Some("other"), false).await, "");
    let shown = runs_show(&config, failed.id).await;
    assert!(shown.contains("service = \"billing\""), "{shown}");
    assert!(shown.contains("send_message"), "{shown}");
    assert!(shown.contains("HTTP 403"), "{shown}");

    // The same answers from the store opened directly.
    h.halt().await;
    assert_eq!(runs_list(&config, None, false).await, all);
    assert_eq!(runs_list(&config, Some("notify"), true).await, only_failed);
    assert_eq!(runs_show(&config, failed.id).await, shown);
    h.boot().await;

    // Retried while running: the running process takes it up at once, and it succeeds now.
    let said = runs_retry(&config, failed.id).await;
    assert!(said.contains("queued again"), "{said}");
    assert!(said.contains("now"), "{said}");
    let run = h.wait_run(&failed.id.to_text()).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let error = hookbot::cli::runs_retry(&config, false, &failed.id.to_text(), &mut Vec::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("has not failed"), "{error}");

    // Retried while stopped: it runs at the next start.
    let again = failed_run(&h).await;
    h.halt().await;
    let said = runs_retry(&config, again.id).await;
    assert!(said.contains("when hookbot runs"), "{said}");
    h.boot().await;
    let run = h.wait_run(&again.id.to_text()).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    h.stop().await;
}

#[tokio::test]
async fn event_show_and_list_while_running_and_while_stopped() {
    let mut h = Harness::start(&[("notify.toml", &notify())]).await;
    let config = h.config_path();
    let shown = event_show(&config, "notify").await;
    // The running process knows the port it bound (the config says 0) and its bot id.
    let url = h.webhook_url("notify");
    assert!(shown.contains(&format!("url       POST {url}")), "{shown}");
    assert!(shown.contains("Authorization: <API key>"), "{shown}");
    assert!(shown.contains("\"variable\": \"{service}\""), "{shown}");
    assert!(shown.contains("\"variable\": \"{user}\""), "{shown}");
    assert!(shown.contains("curl -X POST"), "{shown}");
    assert!(shown.contains("$HOOKBOT_API_KEY"), "{shown}");
    let revision = shown
        .lines()
        .skip_while(|l| *l != "revisions")
        .nth(1)
        .expect("a revision line");
    assert!(revision.trim_start().starts_with("1 "), "{shown}");
    let listed = event_list(&config).await;
    assert!(listed.contains(&url), "{listed}");

    // The pasted curl line works.
    let curl = shown
        .lines()
        .find(|l| l.trim_start().starts_with("curl "))
        .unwrap();
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok()
    {
        // tokio's: the listener answers on this test's own runtime.
        let out = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{} -s", curl.trim()))
            .env("HOOKBOT_API_KEY", &h.key)
            .output()
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(body["ok"], true, "{body}");
    }

    h.halt().await;
    let stopped = event_show(&config, "notify").await;
    assert!(stopped.contains("/webhook/"), "{stopped}");
    assert!(stopped.contains("\"variable\": \"{service}\""), "{stopped}");
    assert!(
        stopped.contains(&revision.to_owned()),
        "revisions from the store: {stopped}"
    );
    assert!(event_list(&config).await.contains("notify"));
    let missing = hookbot::cli::event_show(&config, false, "nope", &mut Vec::new()).await;
    assert!(missing.is_err());
    h.boot().await;
    let missing = hookbot::cli::event_show(&config, false, "nope", &mut Vec::new()).await;
    assert!(missing.unwrap_err().to_string().contains("no event"));
    h.stop().await;
}

#[tokio::test]
async fn event_new_while_running_prints_a_url_that_works() {
    let h = Harness::start(&[("notify.toml", &notify())]).await;
    let mut out = Vec::new();
    hookbot::cli::event_new(
        &h.config_path(),
        false,
        "Fresh",
        &SERVER.to_string(),
        &mut out,
    )
    .await
    .unwrap();
    let url = text(out).trim().to_owned();
    assert!(
        url.starts_with(&format!("{}/webhook/{BOT_ID}/", h.base)),
        "{url}"
    );
    h.stop().await;
}

fn scoped(variables: &[(VariableScope, String, String)]) -> Vec<(VariableScope, String, String)> {
    let mut v = variables.to_vec();
    v.sort();
    v
}

#[tokio::test]
async fn export_then_import_into_a_fresh_folder_round_trips_variables_key_and_events() {
    let mut h = Harness::start(&[("notify.toml", &notify())]).await;
    {
        let store = &h.running.as_ref().unwrap().store;
        store
            .set_variable(&VariableScope::Global, "count", "41")
            .await
            .unwrap();
        store
            .set_variable(&VariableScope::Server(SERVER), "motd", "hi 'there'")
            .await
            .unwrap();
        store
            .set_variable(
                &VariableScope::User {
                    server: SERVER,
                    user: ALICE,
                },
                "xp",
                "9",
            )
            .await
            .unwrap();
    }
    let exported = export(&h.config_path()).await;
    assert_eq!(exported["version"], 1);
    assert_eq!(exported["settings"]["bot_id"], BOT_ID.to_string());
    assert_eq!(exported["events"][0]["file"], "notify.toml");
    assert_eq!(exported["events"][0]["text"], notify());
    assert_eq!(exported["variables"].as_array().unwrap().len(), 3);
    let document = exported.to_string();
    assert!(!document.contains(&h.key), "never a key");
    let hash = exported["settings"]["api_key_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    let variables = scoped(&h.running.as_ref().unwrap().store.variables().await.unwrap());

    // The same document from the store opened directly.
    h.halt().await;
    let mut stopped = export(&h.config_path()).await;
    stopped["exported_at"] = exported["exported_at"].clone();
    assert_eq!(stopped, exported);
    let file = h.dir.path().join("backup.json");
    std::fs::write(&file, &document).unwrap();

    // Into a fresh folder, hookbot stopped.
    let fresh = tempfile::tempdir().unwrap();
    write_config(fresh.path(), &h.sandbox.api_url(), "", "");
    let said = import(&fresh.path().join("config.toml"), &file).await;
    assert!(
        said.contains("imported 3 variable(s), the API key hash"),
        "{said}"
    );
    assert!(said.contains("1 event file(s) written"), "{said}");
    assert_eq!(
        std::fs::read_to_string(fresh.path().join("events/notify.toml")).unwrap(),
        notify()
    );
    let store = hookbot::engine::Store::open(&fresh.path().join("db")).unwrap();
    assert_eq!(scoped(&store.variables().await.unwrap()), variables);
    assert_eq!(
        store.api_key_hash().await.unwrap(),
        Some(hookbot::keys::hash_key(&h.key))
    );
    drop(store);

    // Into a running hookbot: the old key works there at once; existing files are kept.
    let mine = notify().replace("deploy {service}", "mine {service}");
    let mut other = Harness::start(&[("notify.toml", &mine)]).await;
    let own_key = std::mem::replace(&mut other.key, h.key.clone());
    other
        .post("notify", json!({}))
        .await
        .assert_error(401, "unauthorized");
    let said = import(&other.config_path(), &file).await;
    assert!(said.contains("skipped"), "{said}");
    assert_eq!(
        std::fs::read_to_string(other.dir.path().join("events/notify.toml")).unwrap(),
        mine
    );
    assert_eq!(other.post("notify", json!({})).await.status, 200);
    other.key = own_key;
    other
        .post("notify", json!({}))
        .await
        .assert_error(401, "unauthorized");
    let store = &other.running.as_ref().unwrap().store;
    assert_eq!(scoped(&store.variables().await.unwrap()), variables);
    other.stop().await;
    h.stop().await;
}

#[tokio::test]
async fn import_refuses_file_names_that_leave_the_events_folder() {
    let h = Harness::start(&[]).await;
    let file = h.dir.path().join("evil.json");
    let document = json!({
        "version": 1, "exported_at": "x", "settings": {}, "variables": [],
        "events": [{"file": "../config.toml", "text": "boom"}]
    });
    std::fs::write(&file, document.to_string()).unwrap();
    let error = hookbot::cli::import(&h.config_path(), false, &file, &mut Vec::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("not an event file name"), "{error}");
    assert!(std::fs::read_to_string(h.config_path())
        .unwrap()
        .contains("[discord]"));
    h.stop().await;
}
