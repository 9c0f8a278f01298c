//! CONTRACT §3's actions as a language, end to end: conditions, loops, `on_error`, `save_as`,
//! persistent variables across a restart, `http_request`, truncation, the run budget, and a run
//! resumed from its journal. Each test starts the real program against the Discord stand-in.

mod common;

use common::*;
use discord_stand_in::Fixture;
use hookbot::run::{RunStatus, Step, StepOutcome};
use serde_json::{json, Value};

/// The harness's server, with alice holding the Deployer role.
fn fixture_with_roles() -> Fixture {
    bot_in(
        server()
            .add_member(alice().role(DEPLOYER))
            .add_member(bob()),
    )
}

fn contents(h: &Harness, channel: u64) -> Vec<String> {
    h.sandbox
        .messages_in(channel)
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn steps(h: &Harness, run: &hookbot::run::Run) -> Vec<Step> {
    h.running
        .as_ref()
        .unwrap()
        .store
        .steps(run.id)
        .await
        .unwrap()
}

/// An `if` that records which branch it took as the run variable `{NAME}`: 1 or 0. One
/// message reports them all, since Discord lets a channel take only 5 messages in 5 s.
fn recording_if(name: &str, condition: &str) -> String {
    format!(
        r##"
[[actions]]
type = "if"
condition = {condition}

[[actions.then]]
type = "math"
expression = "1"
variable = "{name}"

[[actions.else]]
type = "math"
expression = "0"
variable = "{name}"
"##
    )
}

#[tokio::test]
async fn every_condition_takes_both_branches() {
    let cases: [(&str, &str, bool); 16] = [
        (
            "equals",
            r#"{ left = "{a}", op = "equals", right = "x" }"#,
            true,
        ),
        (
            "not_equals",
            r#"{ left = "{a}", op = "not_equals", right = "y" }"#,
            true,
        ),
        (
            "ignore_case",
            r#"{ left = "{a}", op = "equals", right = "X", ignore_case = true }"#,
            true,
        ),
        (
            "contains",
            r#"{ left = "{b}", op = "contains", right = "world" }"#,
            true,
        ),
        (
            "starts_with",
            r#"{ left = "{b}", op = "starts_with", right = "hello w" }"#,
            true,
        ),
        (
            "ends_with",
            r#"{ left = "{b}", op = "ends_with", right = "world" }"#,
            true,
        ),
        (
            "matches",
            r#"{ left = "{b}", op = "matches", right = '^hel+o\s\w+$' }"#,
            true,
        ),
        (
            "greater_than",
            r#"{ left = "{n}", op = "greater_than", right = 5 }"#,
            true,
        ),
        (
            "less_than",
            r#"{ left = "{n}", op = "less_than", right = "5" }"#,
            false,
        ),
        ("is_empty", r#"{ left = "{e}", op = "is_empty" }"#, true),
        (
            "has_role",
            r#"{ op = "has_role", user = "{user}", role = "{role}" }"#,
            true,
        ),
        (
            "all",
            r#"{ all = [{ left = "{a}", op = "equals", right = "x" }, { left = "{n}", op = "greater_than", right = 5 }] }"#,
            true,
        ),
        (
            "any",
            r#"{ any = [{ left = "{a}", op = "equals", right = "nope" }, { left = "{n}", op = "greater_than", right = 5 }] }"#,
            true,
        ),
        (
            "not",
            r#"{ not = { left = "{a}", op = "equals", right = "x" } }"#,
            false,
        ),
        ("chance_100", r#"{ op = "chance", percent = 100 }"#, true),
        ("chance_0", r#"{ op = "chance", percent = 0 }"#, false),
    ];
    let mut event = String::from("id = \"conditions\"\nserver = \"123456789012345678\"\n");
    for (name, condition, _) in &cases {
        event.push_str(&recording_if(name, condition));
    }
    let report: Vec<String> = cases
        .iter()
        .map(|(name, _, _)| format!("{name}={{{name}}}"))
        .collect();
    event.push_str(&format!(
        "\n[[actions]]\ntype = \"send_message\"\nchannel = \"#general\"\ncontent = \"{}\"\n",
        report.join(" ")
    ));
    let h = Harness::start_with(fixture_with_roles(), &[("c.toml", &event)], "", "").await;

    let first = [
        ("a", json!("x")),
        ("b", json!("hello world")),
        ("n", json!(10)),
        ("e", json!("  ")),
        ("user", json!(ALICE.to_string())),
        ("role", json!("Deployer")),
    ];
    let run = h.trigger("conditions", &first).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let expected: Vec<String> = cases
        .iter()
        .map(|(name, _, holds)| format!("{name}={}", u8::from(*holds)))
        .collect();
    assert_eq!(contents(&h, GENERAL), [expected.join(" ")]);

    // The opposite values take the other branch of every condition but chance.
    let second = [
        ("a", json!("y")),
        ("b", json!("hello")),
        ("n", json!(3)),
        ("e", json!("z")),
        ("user", json!(BOB.to_string())),
        ("role", json!("Deployer")),
    ];
    let run = h.trigger("conditions", &second).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let expected_second: Vec<String> = cases
        .iter()
        .map(|(name, _, holds)| {
            let flips = !name.starts_with("chance");
            let holds = if flips { !holds } else { *holds };
            format!("{name}={}", u8::from(holds))
        })
        .collect();
    assert_eq!(contents(&h, GENERAL)[1..], [expected_second.join(" ")]);
    h.stop().await;
}

#[tokio::test]
async fn loops_count_stop_and_nest() {
    let event = r##"
id = "loops"
server = "123456789012345678"

[[actions]]
type = "loop"
count = "{n}"

[[actions.actions]]
type = "send_message"
channel = "#general"
content = "outer {loop.index}/{loop.count}/{loop.total}"

[[actions.actions]]
type = "loop"
count = 2

[[actions.actions.actions]]
type = "send_message"
channel = "#deploys"
content = "inner {loop.count}"

[[actions.actions]]
type = "if"
condition = { left = "{loop.count}", op = "equals", right = "3" }

[[actions.actions.then]]
type = "stop_loop"

[[actions]]
type = "send_message"
channel = "#general"
content = "after the loop"
"##;
    let h = Harness::start(&[("loops.toml", event)]).await;
    let run = h.trigger("loops", &[("n", json!(5))]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        contents(&h, GENERAL),
        [
            "outer 0/1/5",
            "outer 1/2/5",
            "outer 2/3/5",
            "after the loop"
        ]
    );
    assert_eq!(contents(&h, DEPLOYS), ["inner 1", "inner 2"].repeat(3));

    // A count over the limit, known only at run time, fails the loop with a clear error.
    let run = h.trigger("loops", &[("n", json!(1001))]).await;
    assert_eq!(run.status, RunStatus::Failed);
    let error = run.error.expect("an error");
    assert_eq!(error.path, "1");
    assert!(error.message.contains("1000"), "{}", error.message);
    h.stop().await;
}

#[tokio::test]
async fn on_error_runs_with_discords_error_and_the_run_goes_on() {
    let event = r##"
id = "fallback"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#locked"
content = "secret"

[[actions.on_error]]
type = "send_message"
channel = "#general"
content = "could not post: {error.message} ({error.code})"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "next action ran"
"##;
    let h = Harness::start(&[("f.toml", event)]).await;
    let run = h.trigger("fallback", &[]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        contents(&h, GENERAL),
        ["could not post: Missing Permissions (50013)"]
    );
    assert_eq!(contents(&h, DEPLOYS), ["next action ran"]);
    assert!(contents(&h, LOCKED).is_empty());
    let journal = steps(&h, &run).await;
    let StepOutcome::Failed { error, handled } = &journal[0].outcome else {
        panic!("first step: {:?}", journal[0]);
    };
    assert!(handled);
    assert_eq!(error.discord_code, Some(50013));
    assert_eq!(error.http_status, Some(403));
    assert_eq!(journal[1].path, "1.on_error.1");
    h.stop().await;
}

#[tokio::test]
async fn save_as_results_and_the_touched_channel_feed_later_actions() {
    let event = r##"
id = "chain"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "first"
save_as = "first"

[[actions]]
type = "send_message"
channel = "#general"
content = "{first.id} in {first.channel_id} ({channel_name}) at {first.url}"
"##;
    let h = Harness::start(&[("chain.toml", event)]).await;
    let run = h.trigger("chain", &[]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let first = &h.sandbox.messages_in(DEPLOYS)[0];
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        contents(&h, GENERAL),
        [format!(
            "{id} in {DEPLOYS} (deploys) at https://discord.com/channels/{SERVER}/{DEPLOYS}/{id}"
        )]
    );
    h.stop().await;
}

#[tokio::test]
async fn persistent_variables_count_across_a_restart() {
    let event = r##"
id = "counter"
server = "123456789012345678"

[[actions]]
type = "get_variable"
scope = "user"
user = "{user}"
name = "deploys"
default = "0"
variable = "previous"

[[actions]]
type = "math"
expression = "{previous} + 1"
variable = "count"

[[actions]]
type = "set_variable"
scope = "user"
user = "{user}"
name = "deploys"
value = "{count}"

[[actions]]
type = "set_variable"
scope = "global"
name = "last"
value = "{user}"

[[actions]]
type = "send_message"
channel = "#general"
content = "count {count}, last {var.global.last}, stored {var.user.{user}.deploys}"
"##;
    let mut h = Harness::start(&[("counter.toml", event)]).await;
    for _ in 0..2 {
        let run = h.trigger("counter", &[("user", json!("alice"))]).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    }
    h.halt().await;
    h.boot().await;
    let run = h.trigger("counter", &[("user", json!("alice"))]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let run = h.trigger("counter", &[("user", json!("bob"))]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    // A placeholder inside a placeholder is not one: `{var.user.{user}.deploys}` stays as text.
    let seen = contents(&h, GENERAL);
    assert_eq!(seen.len(), 4);
    assert!(seen[0].starts_with("count 1, last alice"), "{seen:?}");
    assert!(seen[1].starts_with("count 2, last alice"), "{seen:?}");
    assert!(seen[2].starts_with("count 3, last alice"), "{seen:?}");
    assert!(seen[3].starts_with("count 1, last bob"), "{seen:?}");
    h.stop().await;
}

#[tokio::test]
async fn http_request_results_become_variables() {
    use axum::routing::post;
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<(Value, Option<String>)>();
    let app = axum::Router::new().route(
        "/hook",
        post(
            move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
                let seen_tx = seen_tx.clone();
                async move {
                    let token = headers
                        .get("x-token")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let _ = seen_tx.send((body, token));
                    axum::Json(json!({"items": [{"id": 7}], "name": "ok"}))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let event = format!(
        r##"
id = "api"
server = "123456789012345678"

[[actions]]
type = "http_request"
method = "POST"
url = "http://{addr}/hook?source=hookbot"
headers = {{ "X-Token" = "{{token}}" }}
json = {{ text = "{{text}}", list = ["{{text}}", 2] }}
save_as = "api"

[[actions]]
type = "send_message"
channel = "#general"
content = "{{api.status}} {{api.ok}} {{api.json.items.0.id}} {{api.json.name}} {{api.headers.content-type}}"
"##
    );
    let h = Harness::start(&[("api.toml", &event)]).await;
    let tricky = r#"he said "hi" \ {brace}"#;
    let run = h
        .trigger("api", &[("text", json!(tricky)), ("token", json!("t0k"))])
        .await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let (body, token) = seen_rx.recv().await.expect("the API was called");
    // Values go into the JSON document as values: quotes and braces cannot break it.
    assert_eq!(body, json!({"text": tricky, "list": [tricky, 2]}));
    assert_eq!(token.as_deref(), Some("t0k"));
    assert_eq!(contents(&h, GENERAL), ["200 true 7 ok application/json"]);
    h.stop().await;
}

#[tokio::test]
async fn long_text_is_cut_with_a_warning_on_the_run() {
    let event = r##"
id = "long"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#general"
content = "{text}"

[[actions.embeds]]
title = "{text}"
"##;
    let h = Harness::start(&[("long.toml", event)]).await;
    let run = h
        .trigger("long", &[("text", json!("é".repeat(2500)))])
        .await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let message = &h.sandbox.messages_in(GENERAL)[0];
    let content = message["content"].as_str().unwrap();
    assert_eq!(content.chars().count(), 2000);
    assert!(content.ends_with('…'));
    let title = message["embeds"][0]["title"].as_str().unwrap();
    assert_eq!(title.chars().count(), 256);
    let journal = steps(&h, &run).await;
    assert!(
        journal[0].warnings.len() >= 2,
        "a warning per cut text: {:?}",
        journal[0].warnings
    );
    h.stop().await;
}

#[tokio::test]
async fn a_run_that_spins_ends_at_its_budget() {
    let event = r##"
id = "spin"
server = "123456789012345678"

[[actions]]
type = "loop"
count = 1000

[[actions.actions]]
type = "loop"
count = 1000

[[actions.actions.actions]]
type = "math"
expression = "{loop.index} * 2"
variable = "x"
"##;
    let h = Harness::start(&[("spin.toml", event)]).await;
    let run = h.trigger("spin", &[]).await;
    assert_eq!(run.status, RunStatus::Failed);
    let error = run.error.expect("an error");
    assert!(error.message.contains("5000 steps"), "{}", error.message);
    assert_eq!(run.steps, hookbot::executor::MAX_STEPS_PER_RUN);
    h.stop().await;
}

#[tokio::test]
async fn random_picks_one_branch_and_stop_ends_the_run() {
    let event = r##"
id = "pick"
server = "123456789012345678"

[[actions]]
type = "random"

[[actions.branches]]
weight = 5

[[actions.branches.actions]]
type = "send_message"
channel = "#general"
content = "heads"

[[actions.branches]]

[[actions.branches.actions]]
type = "send_message"
channel = "#general"
content = "tails"

[[actions]]
type = "stop"

[[actions]]
type = "send_message"
channel = "#general"
content = "never"
"##;
    let h = Harness::start(&[("pick.toml", event)]).await;
    for _ in 0..5 {
        let run = h.trigger("pick", &[]).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    }
    let seen = contents(&h, GENERAL);
    assert_eq!(seen.len(), 5, "one branch per run: {seen:?}");
    assert!(
        seen.iter().all(|c| c == "heads" || c == "tails"),
        "{seen:?}"
    );
    h.stop().await;
}

/// A run stopped after its first action resumes at the second, with the first one's result.
#[tokio::test]
async fn a_restarted_run_resumes_from_its_journal() {
    let event = r##"
id = "resume"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "one"
save_as = "one"

[[actions]]
type = "if"
condition = { op = "chance", percent = 50 }

[[actions.then]]
type = "send_message"
channel = "#general"
content = "two after {one.id}"

[[actions]]
type = "send_message"
channel = "#general"
content = "three"
"##;
    let mut h = Harness::start(&[("resume.toml", event)]).await;
    h.halt().await;
    // What a crash after the `if` would leave: the run queued, its first two steps journaled.
    {
        let store = hookbot::engine::Store::open(&h.dir.path().join("db")).unwrap();
        let run = hookbot::run::Run::new(
            store.next_run_id().await.unwrap(),
            "resume".into(),
            Default::default(),
            1,
        );
        store.accept_run(&run, None).await.unwrap();
        let done = |path: &str, action: &str, output: Value| Step {
            path: path.into(),
            action: action.into(),
            line: 0,
            started_at_ms: 1,
            duration_ms: 0,
            outcome: StepOutcome::Done {
                summary: "before the crash".into(),
                output: output.as_object().unwrap().clone(),
            },
            warnings: vec![],
            channel: None,
        };
        store
            .append_step(
                run.id,
                0,
                &done(
                    "1",
                    "send_message",
                    json!({"id": "111", "channel_id": DEPLOYS.to_string(), "url": "u"}),
                ),
            )
            .await
            .unwrap();
        store
            .append_step(run.id, 1, &done("2", "if", json!({"branch": "then"})))
            .await
            .unwrap();
        store.flush().await.unwrap();
    }
    h.boot().await;
    let sandbox = &h.sandbox;
    eventually(DEADLINE, "the run to resume", || async move {
        sandbox.messages_in(GENERAL).len() == 2
    })
    .await;
    // Not sent again, and the recorded branch and result were used.
    assert!(contents(&h, DEPLOYS).is_empty());
    assert_eq!(contents(&h, GENERAL), ["two after 111", "three"]);
    h.stop().await;
}

/// A wait survives a restart: the run resumes when the time is up, without repeating anything.
#[tokio::test]
async fn a_wait_interrupted_by_shutdown_resumes_after_restart() {
    let event = r##"
id = "pause"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#general"
content = "before"

[[actions]]
type = "wait"
duration = "2s"
save_as = "pause"

[[actions]]
type = "send_message"
channel = "#general"
content = "after {pause.seconds}s"
"##;
    let mut h = Harness::start(&[("pause.toml", event)]).await;
    let answer = h.post("pause", json!({})).await;
    assert_eq!(answer.status, 200);
    let sandbox = &h.sandbox;
    eventually(DEADLINE, "the message before the wait", || async move {
        sandbox.messages_in(GENERAL).len() == 1
    })
    .await;
    h.halt().await;
    // Had shutdown waited for the wait to end, the run would have gone on to send "after".
    assert_eq!(
        contents(&h, GENERAL),
        ["before"],
        "shutdown does not wait for the wait"
    );
    h.boot().await;
    let run = h.wait_run(answer.body["run"].as_str().unwrap()).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    // The wait's result comes from its journaled step, so the resumed run has it too.
    assert_eq!(contents(&h, GENERAL), ["before", "after 2s"]);
    h.stop().await;
}

/// `wait`'s result is `{NAME.seconds}`: the time it waited, as the event asked for it.
#[tokio::test]
async fn a_wait_gives_its_seconds() {
    let event = r##"
id = "short"
server = "123456789012345678"

[[actions]]
type = "wait"
duration = "{pause}"
save_as = "nap"

[[actions]]
type = "send_message"
channel = "#general"
content = "waited {nap.seconds}"
"##;
    let h = Harness::start(&[("short.toml", event)]).await;
    let run = h.trigger("short", &[("pause", json!("1s"))]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(contents(&h, GENERAL), ["waited 1"]);
    h.stop().await;
}

/// A run that has been going longer than its time budget (here: since 1970) ends at its next
/// step with a clear error, instead of going on.
#[tokio::test]
async fn a_run_past_its_time_budget_ends() {
    let event = message_event("late", "#general", "too late");
    let mut h = Harness::start(&[("late.toml", &event)]).await;
    h.halt().await;
    let id = {
        let store = hookbot::engine::Store::open(&h.dir.path().join("db")).unwrap();
        let mut run = hookbot::run::Run::new(
            store.next_run_id().await.unwrap(),
            "late".into(),
            Default::default(),
            1,
        );
        run.started_at_ms = Some(1);
        store.accept_run(&run, None).await.unwrap();
        run.id
    };
    h.boot().await;
    let run = h.wait_run(&id.to_text()).await;
    assert_eq!(run.status, RunStatus::Failed);
    let message = run.error.expect("an error").message;
    assert!(message.contains("more than 30m"), "{message}");
    assert!(contents(&h, GENERAL).is_empty());
    h.stop().await;
}
