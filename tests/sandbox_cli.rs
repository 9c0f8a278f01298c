//! CONTRACT §7, the last point: with `hookbot run --sandbox` running, a second terminal acts as
//! a member (`hookbot sandbox say|join|react|command …`), and the sandbox's log shows what
//! hookbot did. Both sides are the real binary.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::process::{forward_lines, line_where};
use common::{eventually, APPROVE_BUTTON_EVENT, DEPLOY_COMMAND_EVENT};

fn hookbot(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hookbot"))
        .args(args)
        .current_dir(dir)
        .env_remove("HOOKBOT_CONFIG")
        .env_remove("HOOKBOT_DISCORD_TOKEN")
        .output()
        .expect("hookbot runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const BYE: &str = r##"id = "bye"
server = "111111111111111111"

[trigger]
type = "member_leave"

[[actions]]
type = "send_message"
channel = "#general"
content = "Bye {user_name}"
"##;

const REACTED: &str = r##"id = "reacted"
server = "111111111111111111"

[trigger]
type = "reaction_add"

[[actions]]
type = "send_message"
channel = "#general"
content = "{user_id} reacted {emoji}"
"##;

const WELCOME: &str = r##"id = "welcome"
server = "111111111111111111"

[trigger]
type = "member_join"

[[actions]]
type = "send_message"
channel = "#general"
content = "Welcome {user_name}!"
"##;

const HEARD: &str = r##"id = "heard"
server = "111111111111111111"

[trigger]
type = "message"
channel = "#general"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "heard {message_content}"
"##;

#[tokio::test]
async fn a_second_terminal_acts_as_a_member_of_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("data/events");
    std::fs::create_dir_all(&events).unwrap();
    for (name, body) in [
        ("deploy.toml", DEPLOY_COMMAND_EVENT),
        ("welcome.toml", WELCOME),
        ("heard.toml", HEARD),
        ("approve.toml", APPROVE_BUTTON_EVENT),
        ("bye.toml", BYE),
        ("reacted.toml", REACTED),
    ] {
        std::fs::write(events.join(name), body).unwrap();
    }
    std::fs::write(
        dir.path().join("config.toml"),
        "[http]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    // Before the sandbox runs, the command says how to start one.
    let early = hookbot(dir.path(), &["sandbox", "say", "#general", "hi"]);
    assert!(!early.status.success());
    assert!(
        text(&early.stderr).contains("hookbot run --sandbox"),
        "{}",
        text(&early.stderr)
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_hookbot"))
        .args(["run", "--sandbox"])
        .current_dir(dir.path())
        .env_remove("HOOKBOT_CONFIG")
        .env_remove("HOOKBOT_DISCORD_TOKEN")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    forward_lines(stderr, lines_tx);
    let mut seen = Vec::new();
    line_where(&lines, &mut seen, "the command registered", |l| {
        l.contains("registered the slash commands") && l.contains("/deploy")
    })
    .await;

    let used = hookbot(
        dir.path(),
        &["sandbox", "command", "deploy", "service=billing"],
    );
    assert!(used.status.success(), "{}", text(&used.stderr));
    let said = text(&used.stdout);
    assert!(said.contains("alice used /deploy in #general"), "{said}");
    assert!(said.contains("hookbot acknowledged it after"), "{said}");
    assert!(
        said.contains("hookbot answered: \"Deploying billing for alice\""),
        "{said}"
    );

    // The reply carries the Approve button: a second terminal clicks it.
    let clicked = hookbot(dir.path(), &["sandbox", "click", "Approve"]);
    assert!(clicked.status.success(), "{}", text(&clicked.stderr));
    let said = text(&clicked.stdout);
    assert!(said.contains("hookbot acknowledged it after"), "{said}");
    assert!(
        said.contains("hookbot answered: \"alice approved billing\""),
        "{said}"
    );

    let joined = hookbot(dir.path(), &["sandbox", "join", "--as", "zoe"]);
    assert!(joined.status.success(), "{}", text(&joined.stderr));
    line_where(&lines, &mut seen, "the welcome", |l| {
        l.contains("sent to #general: \"Welcome zoe!\"")
    })
    .await;

    let spoke = hookbot(dir.path(), &["sandbox", "say", "#general", "ship it"]);
    assert!(spoke.status.success(), "{}", text(&spoke.stderr));
    line_where(&lines, &mut seen, "the message event's answer", |l| {
        l.contains("sent to #deploys: \"heard ship it\"")
    })
    .await;

    let reacted = hookbot(
        dir.path(),
        &["sandbox", "react", "👍", "--channel", "#deploys"],
    );
    assert!(reacted.status.success(), "{}", text(&reacted.stderr));
    line_where(&lines, &mut seen, "the reaction event's answer", |l| {
        l.contains("sent to #general:") && l.contains("reacted 👍")
    })
    .await;
    let left = hookbot(dir.path(), &["sandbox", "leave", "--as", "zoe"]);
    assert!(left.status.success(), "{}", text(&left.stderr));
    line_where(&lines, &mut seen, "the goodbye", |l| {
        l.contains("sent to #general: \"Bye zoe\"")
    })
    .await;
    let refused = hookbot(dir.path(), &["sandbox", "say", "#nope", "x"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("#general"),
        "{}",
        text(&refused.stderr)
    );

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = eventually(Duration::from_secs(10), "exit after SIGTERM", || {
        std::future::ready(child.try_wait().unwrap())
    })
    .await;
    assert!(status.success());
    assert!(
        !dir.path().join("data/db-sandbox.stand-in").exists(),
        "the control file goes at stop"
    );
}
