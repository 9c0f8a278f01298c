//! CONTRACT §8 on one instance: hookbot with `storage.engine = "postgres"` against the stand-in.
//! A webhook's 200 means its run is committed in PostgreSQL and it reaches Discord; a run queued
//! at a restart is carried out after it; while PostgreSQL is unreachable webhooks get 503
//! `unavailable` with `Retry-After`, and nothing accepted before, during or after is lost or
//! sent twice. And `hookbot export` / `hookbot import` move an install from sled to PostgreSQL
//! and back with its runs, queue, idempotency keys, revisions, variables, key, install id,
//! schedule due times and button values.
//!
//! Each test makes its own database on the server `HOOKBOT_TEST_POSTGRES_URL` names (`.ci/run`
//! sets it); without it each says it was skipped.

mod common;

use std::path::Path;

use common::postgres::{use_postgres, TestDatabase};
use common::*;
use discord_stand_in::Failure;
use hookbot::config::Config;
use hookbot::engine::{IdempotencyKey, ScheduleDue, Store, VariableScope};
use hookbot::run::{RunId, RunStatus};
use serde_json::{json, Value};

fn deploy_event() -> String {
    message_event("deploy", "#deploys", "{service} is live")
}

/// The contents of the messages in #deploys, in order.
fn deploys(h: &Harness) -> Vec<String> {
    h.sandbox
        .messages_in(DEPLOYS)
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits until #deploys holds exactly `expected` (in any order).
async fn wait_deploys(h: &Harness, expected: &[&str]) {
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    eventually(DEADLINE, format!("#deploys to hold {want:?}"), || {
        let mut got = deploys(h);
        got.sort();
        let want = want.clone();
        async move { (got == want).then_some(()) }
    })
    .await;
}

fn service(name: &str) -> Value {
    variables_body(&[("service", json!(name))])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_committed_delivered_resumed_and_refused_during_an_outage() {
    let Some(database) = TestDatabase::create("postgres_engine::webhooks").await else {
        return;
    };
    let mut h =
        Harness::start_on_postgres(&[("deploy.toml", &deploy_event())], &database.url).await;

    // A 200 means committed; the run reaches Discord.
    let first = h.post("deploy", service("billing")).await;
    h.succeeded(&first).await;
    wait_deploys(&h, &["billing is live"]).await;

    // Accepted while Discord fails, then hookbot restarts: the run waits in PostgreSQL and is
    // carried out by the next start.
    h.sandbox.begin_outage(503);
    let queued = h.post("deploy", service("payments")).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    h.halt().await;
    h.sandbox.end_outage();
    let store = Store::open_at(&h.config().store_location()).await.unwrap();
    let id = RunId::parse(queued.body["run"].as_str().unwrap()).unwrap();
    assert_eq!(
        store.pending_runs(10).await.unwrap(),
        [id],
        "queued across the stop"
    );
    drop(store);
    h.boot().await;
    wait_deploys(&h, &["billing is live", "payments is live"]).await;

    // PostgreSQL goes away: webhooks get 503 `unavailable` with Retry-After, not a 200 that
    // could be lost, and /readyz says the store is not writable.
    database.take_away().await;
    let refused = eventually(DEADLINE, "a 503 while PostgreSQL is away", || async {
        let answer = h.post("deploy", service("refused")).await;
        (answer.status != 200).then_some(answer)
    })
    .await;
    refused.assert_error(503, "unavailable");
    assert!(refused.header("retry-after").is_some(), "Retry-After");
    let ready = h
        .http
        .get(format!("{}/readyz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "/readyz while PostgreSQL is away");

    // Back: accepted and delivered again; every 200 reached Discord exactly once.
    database.restore().await;
    let after = eventually(DEADLINE, "a 200 once PostgreSQL is back", || async {
        let answer = h.post("deploy", service("shipping")).await;
        (answer.status == 200).then_some(answer)
    })
    .await;
    h.succeeded(&after).await;
    wait_deploys(
        &h,
        &["billing is live", "payments is live", "shipping is live"],
    )
    .await;
    h.stop().await;
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
    String::from_utf8(out).unwrap()
}

/// What a store holds, engine aside: every run with its journal, the queue, the variables, the
/// key's hash, an idempotency key's record, the event's revisions, the install id, the schedule
/// due times and the button values.
async fn contents(config: &Config) -> Value {
    let store = Store::open_at(&config.store_location()).await.unwrap();
    let mut runs = Vec::new();
    let all = store
        .runs_newest_first(&hookbot::engine::RunFilter {
            event: None,
            failed: false,
            limit: 1000,
        })
        .await
        .unwrap();
    for run in all {
        let steps = store.steps(run.id).await.unwrap();
        runs.push(json!({ "run": run, "steps": steps }));
    }
    let key = IdempotencyKey {
        event_id: "deploy",
        key: b"once-only",
    };
    let record = store
        .idempotency_record(key, hookbot::run::unix_now_ms())
        .await
        .unwrap();
    let variables: Vec<String> = store
        .variables()
        .await
        .unwrap()
        .into_iter()
        .map(|(scope, name, value)| format!("{scope} {name}={value}"))
        .collect();
    json!({
        "runs": runs,
        "queue": store.pending_runs(100).await.unwrap(),
        "retry_times": store.pending_retry_times().await.unwrap(),
        "variables": variables,
        "key_hash": store.api_key_hash().await.unwrap(),
        "idempotency": record,
        "revisions": store.event_revisions("deploy").await.unwrap(),
        "install_id": store.install_id().to_string(),
        "schedule_dues": store.schedule_dues().await.unwrap(),
        "button_values": store.button_values().await.unwrap(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_import_move_an_install_from_sled_to_postgres_and_back() {
    let Some(database) = TestDatabase::create("postgres_engine::export_and_import").await else {
        return;
    };
    // On sled: a delivered run, one that failed, one accepted with an idempotency key, a
    // variable, and a run still queued when hookbot stops (Discord was down).
    let mut sled = Harness::start(&[("deploy.toml", &deploy_event())]).await;
    let delivered = sled.post("deploy", service("billing")).await;
    sled.succeeded(&delivered).await;
    sled.sandbox.inject(Failure::new("/messages", 403));
    let failed = sled
        .trigger("deploy", &[("service", json!("denied"))])
        .await;
    assert_eq!(failed.status, RunStatus::Failed);
    let keyed = sled
        .send(
            "deploy",
            "",
            service("keyed").to_string().as_bytes(),
            &[
                ("Authorization", sled.key.clone()),
                ("Content-Type", "application/json".into()),
                ("Idempotency-Key", "once-only".into()),
            ],
        )
        .await;
    sled.succeeded(&keyed).await;
    let store = &sled.running.as_ref().unwrap().store;
    store
        .set_variable(&VariableScope::Server(SERVER), "motd", "hi")
        .await
        .unwrap();
    let due = ScheduleDue {
        fingerprint: "every 86400s UTC".into(),
        next_due_ms: 4_102_444_800_000,
    };
    store.set_schedule_due("daily", Some(&due)).await.unwrap();
    store
        .keep_button_value(
            "v1:long",
            &"a button value too long for its custom_id ".repeat(4),
        )
        .await
        .unwrap();
    sled.sandbox.begin_outage(503);
    let queued = sled.post("deploy", service("queued")).await;
    assert_eq!(queued.status, 200);
    sled.halt().await;
    sled.sandbox.end_outage();
    let on_sled = contents(&sled.config()).await;
    assert_eq!(on_sled["queue"].as_array().unwrap().len(), 1, "{on_sled}");

    // Export from sled (stopped), import into PostgreSQL: the same contents.
    let exported = export(&sled.config_path()).await;
    let file = sled.dir.path().join("move.json");
    std::fs::write(&file, exported.to_string()).unwrap();
    let target = tempfile::tempdir().unwrap();
    write_config(target.path(), &sled.sandbox.api_url(), "", "");
    use_postgres(target.path(), &database.url);
    let said = import(&target.path().join("config.toml"), &file).await;
    assert!(
        said.contains("the install id, 4 run(s) (1 queued), 1 idempotency key(s), 1 event revision(s), 1 schedule due time(s), 1 button value(s)"),
        "{said}"
    );
    let target_config = Config::load(&target.path().join("config.toml"), false).unwrap();
    assert_eq!(contents(&target_config).await, on_sled);
    // Importing again writes no run twice.
    let again = import(&target.path().join("config.toml"), &file).await;
    assert!(again.contains(" 0 run(s) (0 queued)"), "{again}");

    // And back, into a fresh sled folder: the same again.
    let back = export(&target.path().join("config.toml")).await;
    assert_eq!(back["runs"], exported["runs"]);
    assert_eq!(back["idempotency_keys"], exported["idempotency_keys"]);
    assert_eq!(back["revisions"], exported["revisions"]);
    assert_eq!(back["variables"], exported["variables"]);
    assert_eq!(back["settings"], exported["settings"]);
    assert_eq!(back["schedule_dues"], exported["schedule_dues"]);
    assert_eq!(back["button_values"], exported["button_values"]);
    let back_file = target.path().join("back.json");
    std::fs::write(&back_file, back.to_string()).unwrap();
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), &sled.sandbox.api_url(), "", "");
    import(&home.path().join("config.toml"), &back_file).await;
    let home_config = Config::load(&home.path().join("config.toml"), false).unwrap();
    assert_eq!(contents(&home_config).await, on_sled);

    // hookbot on PostgreSQL carries out the queued run; the old key works; the idempotency key
    // still answers its first run.
    sled.dir = target;
    sled.boot().await;
    wait_deploys(
        &sled,
        &["billing is live", "keyed is live", "queued is live"],
    )
    .await;
    let replay = sled
        .send(
            "deploy",
            "",
            service("keyed").to_string().as_bytes(),
            &[
                ("Authorization", sled.key.clone()),
                ("Content-Type", "application/json".into()),
                ("Idempotency-Key", "once-only".into()),
            ],
        )
        .await;
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(
        replay.body["run"], keyed.body["run"],
        "the first run, again"
    );
    assert_eq!(deploys(&sled).len(), 3, "nothing sent twice");
    sled.stop().await;
}
