//! The web console in a real browser: headless Chromium driven through chromedriver
//! (`common/browser.rs`). `hookbot run --sandbox` (the real binary) serves the console; a person
//! fires a test from an event's page, sees its message arrive in the sandbox's channel view,
//! clicks the button hookbot sent and uses a slash command there, and sees the button's event
//! run; a page on another origin cannot post to the console; and outside
//! the sandbox the console key signs in (a wrong one does not). The pages' screenshots
//! (`docs/console/*.png`, `HOOKBOT_UPDATE_SCREENSHOTS=1`) are taken here.
//!
//! Without Chromium and chromedriver, and without `CI`, each test prints one line saying it was
//! skipped; in CI they run (`.ci/run` installs them).

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::Path;
use std::process::{Child, Stdio};

use browser::{Browser, PHONE, WINDOW};
use common::process::hookbot;
use common::{eventually, DEADLINE};
use fantoccini::key::Key;
use hookbot::sandbox_control::{self, ControlClient};
use serde_json::Value;

const SERVER: &str = "111111111111111111";

const RELEASE: &str = r##"id = "release"
name = "Release announced"
server = "111111111111111111"

[[actions]]
type = "send_message"
channel = "#general"
content = "Released {version}"

[[actions.buttons]]
label = "Approve"
style = "success"
event = "approve"
value = "{version}"
"##;

/// `hookbot run --sandbox` in its own folder, and where its console is.
struct SandboxRun {
    dir: tempfile::TempDir,
    child: Child,
    console: String,
}

impl SandboxRun {
    async fn start() -> SandboxRun {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("data/events");
        std::fs::create_dir_all(&events).unwrap();
        for (name, text) in [
            ("deploy.toml", common::DEPLOY_COMMAND_EVENT),
            ("approve.toml", common::APPROVE_BUTTON_EVENT),
            ("release.toml", RELEASE),
        ] {
            std::fs::write(events.join(name), text).unwrap();
        }
        std::fs::write(
            dir.path().join("config.toml"),
            "[http]\nlisten = \"127.0.0.1:0\"\nconsole_listen = \"127.0.0.1:0\"\n",
        )
        .unwrap();
        let log = dir.path().join("run.log");
        let mut child = hookbot(dir.path())
            .args(["run", "--sandbox"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let console = eventually(DEADLINE, "the console and the commands to be ready", || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<Value> = text
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect();
            let console = lines
                .iter()
                .find(|line| line["message"] == "console ready")
                .and_then(|line| line["url"].as_str().map(str::to_owned));
            // The slash command's form appears once hookbot has registered it.
            let registered = text.contains("registered the slash commands");
            if let Some(exited) = child.try_wait().unwrap() {
                panic!("hookbot exited ({exited}) before its console was ready:\n{text}");
            }
            std::future::ready(match (console, registered) {
                (Some(console), true) => Ok(console.trim_end_matches('/').to_owned()),
                _ => Err(text.lines().rev().take(10).collect::<Vec<_>>().join("\n")),
            })
        })
        .await;
        SandboxRun {
            dir,
            child,
            console,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.console)
    }

    /// The stand-in's control API, as `hookbot sandbox …` reaches it.
    fn control(&self) -> ControlClient {
        let database = self.dir.path().join("data/db-sandbox");
        ControlClient::new(sandbox_control::read(&database).expect("the sandbox's control file"))
    }

    fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for SandboxRun {
    /// A failed test shows the end of hookbot's log.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.path().join("run.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("hookbot's log, last lines:");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The id of the sandbox channel named `name`.
async fn channel_id(control: &ControlClient, name: &str) -> String {
    let world = control.world().await.expect("the stand-in's world");
    world["servers"][0]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["id"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no #{name} in {world}"))
}

#[tokio::test]
async fn a_person_plays_the_sandbox_in_the_console() {
    let Some(browser) = Browser::start("a_person_plays_the_sandbox_in_the_console").await else {
        return;
    };
    let run = SandboxRun::start().await;
    let shots = run.dir.path().join("screenshots");

    // The console opens on the events; no key in the sandbox.
    browser.open(&run.console).await;
    assert_eq!(browser.path().await, "/events");
    browser.text_appears("Release announced").await;
    browser.screenshot("events", &shots).await;

    // An event's page says how to call it; its test form fires a real run, whose page says
    // what each step did.
    browser.click("a[href=\"/events/release\"]").await;
    browser.text_appears("curl").await;
    browser.screenshot("event", &shots).await;
    let test_form = "form[action=\"/events/release/test\"]";
    browser.fill(test_form, "var.version", "2.4.1").await;
    browser.click("input[name=mode][value=live]").await;
    browser
        .click(&format!("{test_form} button[type=submit]"))
        .await;
    let ran = browser.text_appears("succeeded").await;
    assert!(browser.path().await.starts_with("/runs/"), "{ran}");
    assert!(ran.contains("2.4.1"), "{ran}");

    // The sandbox: its server, channels and members; then #general, where the test's message
    // arrived with its button.
    browser.click("header a[href=\"/sandbox\"]").await;
    browser.text_appears("@alice").await;
    let text = browser.text_appears(SERVER).await;
    assert!(text.contains("#general"), "{text}");
    // A new member joins, and leaves again.
    browser.fill("form[action$=\"/join\"]", "user", "zoe").await;
    browser.click_button("Join the server").await;
    browser.text_appears("@zoe joined the server").await;
    browser.click_button("Leave as @zoe").await;
    let left = browser.text_appears("@zoe left the server").await;
    assert!(!left.contains("Leave as @zoe"), "{left}");
    let general = channel_id(&run.control(), "general").await;
    browser
        .click(&format!("main a[href=\"/sandbox/channels/{general}\"]"))
        .await;
    browser.text_appears("Released 2.4.1").await;

    // The button hookbot sent is a real form: clicking it runs the button's event, as alice.
    browser.click("form.click button[data-custom-id]").await;
    browser.text_appears("alice clicked").await;
    browser.text_appears("alice approved 2.4.1").await;

    // alice uses /deploy through the form: the stand-in's gateway delivers the interaction, the
    // command event runs and its reply appears in the channel, with its own button.
    browser
        .fill("form.command", "option.service", "billing")
        .await;
    browser.click("form.command button[type=submit]").await;
    browser.text_appears("alice used /deploy").await;
    browser.text_appears("Deploying billing for alice").await;
    browser
        .click("li.message:last-child form.click button[data-custom-id]")
        .await;
    browser.text_appears("alice approved billing").await;

    // A reaction and a message, as alice.
    // From the keyboard: type in the message box, Tab to its button, Enter.
    browser.fill("form.say", "content", "ship it").await;
    browser.press(Key::Tab).await;
    let focused = browser.focused().await.text().await.unwrap();
    assert_eq!(focused, "Send", "Tab leads from the message to its button");
    browser.press(Key::Enter).await;
    browser.text_appears("said \"ship it\"").await;
    let messages = run
        .control()
        .messages(general.parse().unwrap(), 10)
        .await
        .unwrap();
    let said = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content"] == "ship it")
        .unwrap_or_else(|| panic!("alice's message reached the stand-in: {messages}"));
    assert_eq!(said["author"]["username"], "alice");
    browser
        .click("li.message:last-child form.react button.secondary")
        .await;
    browser.text_appears("👍 1").await;
    browser.screenshot("sandbox", &shots).await;

    // Readable on a phone: nothing needs sideways scrolling.
    browser.resize(PHONE).await;
    browser.element("form.say").await;
    assert!(
        !browser.scrolls_sideways().await,
        "the channel page scrolls sideways at {PHONE:?}"
    );
    browser.screenshot("sandbox-phone", &shots).await;
    for page in ["/events", "/events/release", "/runs"] {
        browser.open(&run.url(page)).await;
        assert!(
            !browser.scrolls_sideways().await,
            "{page} scrolls sideways at {PHONE:?}"
        );
    }
    browser.resize(WINDOW).await;

    // The button's event ran: the runs list shows it newest first, and its page says what
    // the click carried.
    browser.open(&run.url("/runs")).await;
    let runs = browser.text_appears("approve").await;
    assert!(
        runs.contains("deploy") && runs.contains("release"),
        "{runs}"
    );
    browser.screenshot("runs", &shots).await;
    browser
        .click("#runs tbody tr:first-child a[href^=\"/runs/\"]")
        .await;
    let button_run = browser.text_appears("succeeded").await;
    assert!(
        button_run.contains("approve") && button_run.contains("billing"),
        "{button_run}"
    );
    browser.screenshot("run", &shots).await;

    browser.close().await;
    run.stop();
}

/// A page on another origin that posts to the console, with the right CSRF token even: the
/// console refuses it, and nothing is said in the channel.
#[tokio::test]
async fn a_forged_cross_site_post_is_refused() {
    let Some(browser) = Browser::start("a_forged_cross_site_post_is_refused").await else {
        return;
    };
    let run = SandboxRun::start().await;
    let general = channel_id(&run.control(), "general").await;
    browser
        .open(&run.url(&format!("/sandbox/channels/{general}")))
        .await;
    let token = browser
        .element("form.say input[name=csrf]")
        .await
        .attr("value")
        .await
        .unwrap()
        .expect("the form carries a CSRF token");

    let attack = format!(
        r#"<!doctype html><main><form method="post" action="{}/sandbox/channels/{general}/say">
        <input type="hidden" name="csrf" value="{token}">
        <input type="hidden" name="user" value="alice">
        <input type="hidden" name="content" value="forged">
        <button type="submit" id="go">Win a prize</button></form></main>"#,
        run.console
    );
    let elsewhere = serve_page(attack).await;
    browser.open(&elsewhere).await;
    browser.click("#go").await;
    let refused = browser.text_appears("Forbidden").await;
    assert!(
        refused.contains("origin") || refused.contains("Origin"),
        "the refusal says why: {refused}"
    );
    let messages = run
        .control()
        .messages(general.parse().unwrap(), 50)
        .await
        .unwrap();
    assert_eq!(messages["total"], 0, "nothing was said: {messages}");

    browser.close().await;
    run.stop();
}

/// Serves `html` at `http://localhost:PORT/`: another origin than the console's 127.0.0.1.
async fn serve_page(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://localhost:{port}/")
}

/// Outside the sandbox the console asks for the key `hookbot console key` printed; a wrong one
/// is refused.
#[tokio::test]
async fn the_console_key_signs_in_and_a_wrong_one_does_not() {
    let Some(browser) = Browser::start("the_console_key_signs_in_and_a_wrong_one_does_not").await
    else {
        return;
    };
    let harness = common::Harness::start_with(
        common::fixture(),
        &[
            (
                "release.toml",
                &RELEASE.replace(SERVER, &common::SERVER.to_string()),
            ),
            (
                "approve.toml",
                &common::APPROVE_BUTTON_EVENT.replace(SERVER, &common::SERVER.to_string()),
            ),
        ],
        "console_listen = \"127.0.0.1:0\"",
        "",
    )
    .await;
    let console = format!(
        "http://{}",
        harness
            .running
            .as_ref()
            .unwrap()
            .console_addr
            .expect("the console listens")
    );
    let key = console_key(&harness.config_path()).await;

    browser.open(&format!("{console}/events")).await;
    assert!(browser.path().await.starts_with("/login"));
    browser.fill("form", "key", "not-the-key").await;
    browser.click("form button[type=submit]").await;
    browser.element("[role=alert]").await;
    assert!(browser.path().await.starts_with("/login"));
    let text = browser.text_appears("Sign in").await;
    assert!(!text.contains("Release announced"), "{text}");

    browser.fill("form", "key", &key).await;
    browser.click("form button[type=submit]").await;
    let text = browser.text_appears("Release announced").await;
    assert!(text.contains("Sign out"), "{text}");
    assert_eq!(browser.path().await, "/events");

    browser.close().await;
    harness.stop().await;
}

/// `hookbot console key` against the running hookbot (through its admin socket), as a person
/// types it; awaited, so the hookbot in this test's runtime can answer it.
async fn console_key(config: &Path) -> String {
    let made = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookbot"))
        .arg("--config")
        .arg(config)
        .args(["console", "key"])
        .env_remove("HOOKBOT_CONFIG")
        .output()
        .await
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let key = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(!key.is_empty());
    key
}
