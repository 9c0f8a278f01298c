//! CONTRACT §1: the `hookbot` binary's commands, run as a user runs them.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::process::{forward_lines, line_where};
use common::*;
use serde_json::json;

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

fn folder_with(events: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "http://127.0.0.1:9", "", "");
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    for (name, body) in events {
        std::fs::write(dir.path().join("events").join(name), body).unwrap();
    }
    dir
}

fn good() -> String {
    message_event("good", "#deploys", "hello {name}")
}

#[test]
fn check_passes_good_files() {
    let dir = folder_with(&[("good.toml", &good())]);
    let out = hookbot(dir.path(), &["check"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn check_prints_every_problem_with_its_position_and_exits_1() {
    let broken = "id = \"bad id!\"\nserver = \"abc\"\n\n[[actions]]\ntype = \"send_mesage\"\n";
    let also_broken = "id = \"other\"\nserver = \"123456789012345678\"\n\n[[actions]]\ntype = \"add_role\"\nuser = \"1\"\n";
    let dir = folder_with(&[
        ("a.toml", broken),
        ("b.toml", &good()),
        ("c.toml", also_broken),
        ("d.toml", &good()),
    ]);
    let out = hookbot(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let has = |file: &str, pos: &str| lines.iter().any(|l| l.contains(file) && l.contains(pos));
    assert!(has("a.toml", ":1:6: "), "the id's position: {stdout}");
    assert!(has("a.toml", ":2:10: "), "the server's position: {stdout}");
    assert!(
        has("a.toml", ":5:8: "),
        "the action type's position: {stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("c.toml") && l.contains("role")),
        "missing role: {stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("d.toml:1:6: duplicate id \"good\"") && l.contains("b.toml:1:6")),
        "duplicate id: {stdout}"
    );
    for line in &lines {
        let mut parts = line.splitn(4, ':');
        let (file, l, c) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert!(file.ends_with(".toml"), "{line}");
        assert!(
            l.parse::<usize>().is_ok() && c.parse::<usize>().is_ok(),
            "FILE:LINE:COL: {line}"
        );
    }
}

#[test]
fn check_reports_config_problems_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[http]\nlisten = \"nowhere\"\nmax_body_bytes = \"big\"\nlisten_typo = 1\n",
    )
    .unwrap();
    let out = hookbot(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("config.toml:2:10: "), "{stdout}");
    assert!(stdout.contains("config.toml:3:18: "), "{stdout}");
    assert!(stdout.contains("config.toml:4:1: "), "{stdout}");
}

#[test]
fn a_missing_config_is_one_clear_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = hookbot(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("config.toml"), "{stderr}");
    let env_out = Command::new(env!("CARGO_BIN_EXE_hookbot"))
        .arg("check")
        .current_dir(dir.path())
        .env("HOOKBOT_CONFIG", "elsewhere.toml")
        .output()
        .unwrap();
    assert!(
        text(&env_out.stderr).contains("elsewhere.toml"),
        "HOOKBOT_CONFIG names the file"
    );
}

#[test]
fn event_new_writes_a_valid_file_and_list_shows_it() {
    let dir = folder_with(&[("good.toml", &good())]);
    let out = hookbot(
        dir.path(),
        &[
            "event",
            "new",
            "Deploy finished",
            "--server",
            "123456789012345678",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let url = text(&out.stdout).trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:0/webhook/") || url.contains("/webhook/"),
        "{url}"
    );
    let id = url.rsplit('/').next().unwrap().to_owned();
    assert!(id.starts_with("deploy-finished-"), "{id}");
    assert!(dir
        .path()
        .join("events")
        .join(format!("{id}.toml"))
        .exists());

    let check = hookbot(dir.path(), &["check"]);
    assert!(
        check.status.success(),
        "the new file is valid: {}",
        text(&check.stdout)
    );

    let list = text(&hookbot(dir.path(), &["event", "list"]).stdout);
    let row = list
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        row.contains("Deploy finished") && row.contains("123456789012345678") && row.contains(&url),
        "{row}"
    );
    assert!(list.lines().any(|l| l.starts_with("good ")), "{list}");

    let bad = hookbot(dir.path(), &["event", "new", "X", "--server", "abc"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("server"),
        "{}",
        text(&bad.stderr)
    );
}

#[tokio::test]
async fn key_rotate_replaces_the_key_at_once() {
    let mut h = Harness::start(&[("good.toml", &good())]).await;
    let old = h.key.clone();
    assert_eq!(h.post("good", json!({})).await.status, 200);
    h.halt().await;

    let out = hookbot(h.dir.path(), &["key", "rotate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let new = text(&out.stdout);
    assert_eq!(new.lines().count(), 1, "the key alone: {new:?}");
    let new = new.trim().to_owned();
    assert_ne!(new, old);

    h.boot().await;
    h.key = old;
    h.post("good", json!({}))
        .await
        .assert_error(401, "unauthorized");
    h.key = new;
    assert_eq!(h.post("good", json!({})).await.status, 200);
    h.stop().await;
}

/// `hookbot run --sandbox` in a fresh folder: prints a working URL, key and curl line, logs what
/// reached Discord in plain words, and exits 0 within 10 s of SIGTERM.
#[tokio::test]
async fn run_sandbox_works_without_a_token_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data/events")).unwrap();
    std::fs::write(dir.path().join("data/events/good.toml"), good()).unwrap();
    // Every default but the port: 8080 may be taken on a shared machine.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookbot"))
        .args(["run", "--sandbox"])
        .current_dir(dir.path())
        .env_remove("HOOKBOT_CONFIG")
        .env_remove("HOOKBOT_DISCORD_TOKEN")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel::<String>();
    let out_tx = lines_tx.clone();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    forward_lines(stdout, out_tx);
    forward_lines(stderr, lines_tx);

    let mut seen = Vec::new();
    let curl = line_where(&lines, &mut seen, "the curl line", |l| {
        l.starts_with("curl ")
    })
    .await;
    // The printed line, run as pasted by a shell.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{curl} -s -o /dev/null -w '%{{http_code}}'"))
        .output()
        .expect("sh and curl are on this machine");
    assert_eq!(
        text(&out.stdout),
        "200",
        "the printed curl line works: {curl}"
    );
    let said = line_where(&lines, &mut seen, "the message logged", |l| {
        l.contains("sent to #deploys")
    })
    .await;
    assert!(said.contains("hello example name"), "{said}");
    // The run the pasted line made is the sandbox's: `runs --sandbox` shows it, through the
    // running hookbot's admin socket, finished once its end is saved (the message is logged
    // just before).
    let listed = eventually(
        Duration::from_secs(10),
        "the run listed as finished",
        || {
            let runs = hookbot(dir.path(), &["runs", "--sandbox"]);
            assert!(runs.status.success(), "{}", text(&runs.stderr));
            let listed = text(&runs.stdout);
            std::future::ready(listed.contains("  succeeded").then_some(listed))
        },
    )
    .await;
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains("  good  "), "{listed}");
    let run_id = listed.split_whitespace().next().unwrap().to_owned();
    let shown = hookbot(dir.path(), &["runs", "show", &run_id, "--sandbox"]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    assert!(text(&shown.stdout).contains("event     good"));
    // The real bot's database has none, and says so and where the sandbox's are.
    let real = hookbot(dir.path(), &["runs"]);
    assert!(real.status.success(), "{}", text(&real.stderr));
    assert_eq!(text(&real.stdout), "");
    let said = text(&real.stderr);
    assert!(said.starts_with("no runs yet in this database"), "{said}");
    assert!(said.contains("hookbot runs --sandbox"), "{said}");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // CONTRACT §1's own bound: "exit 0 within 10 s".
    let status = eventually(Duration::from_secs(10), "exit after SIGTERM", || {
        std::future::ready(child.try_wait().unwrap())
    })
    .await;
    assert!(status.success(), "exit 0 after SIGTERM: {status}");
    // Stopped, the sandbox's database is read directly.
    let runs = hookbot(dir.path(), &["runs", "--sandbox"]);
    assert!(runs.status.success(), "{}", text(&runs.stderr));
    assert_eq!(text(&runs.stdout), listed);
}

/// An empty list says so in one line, rather than printing nothing.
#[test]
fn empty_lists_say_so() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "http://127.0.0.1:9", "", "");
    let runs = hookbot(dir.path(), &["runs", "--sandbox"]);
    assert!(runs.status.success(), "{}", text(&runs.stderr));
    assert_eq!(text(&runs.stdout), "");
    assert!(
        text(&runs.stderr).starts_with("no runs yet in the sandbox's database"),
        "{}",
        text(&runs.stderr)
    );
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    let events = hookbot(dir.path(), &["event", "list"]);
    assert!(events.status.success(), "{}", text(&events.stderr));
    assert_eq!(text(&events.stdout), "");
    assert!(
        text(&events.stderr).starts_with("no events in "),
        "{}",
        text(&events.stderr)
    );
}

#[tokio::test]
async fn the_token_can_come_from_the_environment_and_overrides_the_file() {
    let sandbox = discord_stand_in::Sandbox::start(fixture(), TOKEN)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[discord]\ntoken = \"wrong-token\"\napi_url = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[storage]\npath = \"db\"\n[events]\ndir = \"events\"\n",
            sandbox.api_url()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookbot"))
        .args(["run", "--config", "config.toml"])
        .current_dir(dir.path())
        .env("HOOKBOT_DISCORD_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stand_in = &sandbox;
    eventually(
        DEADLINE,
        "the gateway to accept the token from the environment",
        || async move { stand_in.gateway_identified() >= 1 },
    )
    .await;
    let me = sandbox
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v10/users/@me")
        .expect("asked who it is");
    assert_eq!(me.status, 200);
    let pid = child.id().unwrap().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10 s")
        .unwrap();
    assert!(status.success(), "{status}");
    sandbox.shutdown().await;
}

const TESTABLE: &str = r##"id = "testable"
name = "Testable"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "hello {service}"
save_as = "hello"

[[actions]]
type = "if"
condition = { left = "{service}", op = "equals", right = "billing" }

[[actions.then]]
type = "add_role"
user = "{user_id}"
role = "Deployer"

[[actions]]
type = "http_request"
method = "POST"
url = "http://127.0.0.1:9/never-called"
json = { id = "{hello.id}" }

[[actions]]
type = "set_variable"
scope = "server"
name = "last"
value = "{service}"
"##;

#[test]
fn event_test_dry_run_says_what_would_happen_and_changes_nothing() {
    let dir = folder_with(&[("testable.toml", TESTABLE)]);
    let alice = hookbot::sandbox_world::SANDBOX_MEMBERS[0].0.to_string();
    let out = hookbot(
        dir.path(),
        &[
            "event",
            "test",
            "testable",
            "--sandbox",
            "--dry-run",
            "--var",
            "service=billing",
            "--var",
            &format!("user_id={alice}"),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("dry run of testable (Testable)"),
        "{stdout}"
    );
    assert!(stdout.contains("would send to #deploys"), "{stdout}");
    assert!(
        stdout.contains("\"hello billing\""),
        "rendered text shown: {stdout}"
    );
    assert!(
        stdout.contains("is true: then"),
        "the branch taken: {stdout}"
    );
    assert!(stdout.contains("would add role"), "{stdout}");
    assert!(
        stdout.contains("would call POST http://127.0.0.1:9/never-called"),
        "{stdout}"
    );
    assert!(stdout.contains("would set last"), "{stdout}");
    assert!(stdout.contains("would succeed: 5 step(s)"), "{stdout}");
    // The stand-in logs every change it is asked for: there was none.
    assert!(!stderr.contains("sent to"), "{stderr}");
    assert!(!stderr.contains("added role"), "{stderr}");
}

#[test]
fn event_test_runs_for_real_against_the_sandbox() {
    let dir = folder_with(&[(
        "testable.toml",
        TESTABLE
            .replace(
                "http://127.0.0.1:9/never-called",
                "http://127.0.0.1:9/refused",
            )
            .as_str(),
    )]);
    // The HTTP call is made for real (to a port nothing listens on), not to the sandbox's echo.
    let config = dir.path().join("config.toml");
    let text_before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text_before}\n[sandbox]\nreal_http = true\n"),
    )
    .unwrap();
    let alice = hookbot::sandbox_world::SANDBOX_MEMBERS[0].0.to_string();
    let out = hookbot(
        dir.path(),
        &[
            "event",
            "test",
            "testable",
            "--sandbox",
            "--var",
            "service=billing",
            "--var",
            &format!("user_id={alice}"),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // The message and the role went out; the HTTP call found nothing listening and failed the run.
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("sent to #deploys: \"hello billing\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("added role @Deployer to @alice"),
        "{stderr}"
    );
    assert!(
        stdout.contains("failed: action 3 (http_request) failed"),
        "{stdout}"
    );
}

#[test]
fn event_test_names_the_events_there_are() {
    let dir = folder_with(&[("testable.toml", TESTABLE)]);
    let out = hookbot(
        dir.path(),
        &["event", "test", "nope", "--sandbox", "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no event has the id \"nope\"") && stderr.contains("testable"),
        "{stderr}"
    );
}

/// `check` reports the token `run` would refuse to start without, unless the environment or
/// `--sandbox` supplies one, as `run` does.
#[test]
fn check_reports_a_missing_token_as_run_would() {
    let dir = folder_with(&[("good.toml", &good())]);
    let config = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    let empty_token = config.replacen(&format!("token = \"{TOKEN}\""), "token = \"\"", 1);
    std::fs::write(dir.path().join("config.toml"), empty_token).unwrap();

    let out = hookbot(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.starts_with(
            "config.toml:2:9: no Discord token: set discord.token, or HOOKBOT_DISCORD_TOKEN"
        ),
        "{said}"
    );
    assert!(!text(&out.stderr).contains("config.toml: ok"));

    let with_env = Command::new(env!("CARGO_BIN_EXE_hookbot"))
        .arg("check")
        .current_dir(dir.path())
        .env_remove("HOOKBOT_CONFIG")
        .env("HOOKBOT_DISCORD_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(with_env.status.success(), "{}", text(&with_env.stdout));
    let sandboxed = hookbot(dir.path(), &["check", "--sandbox"]);
    assert!(sandboxed.status.success(), "{}", text(&sandboxed.stdout));
}

/// An unclosed `{name` and an event with no actions load, but are almost surely slips: warnings
/// at their place, exit 0.
#[test]
fn check_warns_about_an_unclosed_placeholder_and_an_event_without_actions() {
    let unclosed = message_event("unclosed", "#deploys", "hello {name");
    let idle = "id = \"idle\"\nserver = \"123456789012345678\"\n";
    let dir = folder_with(&[("unclosed.toml", &unclosed), ("idle.toml", idle)]);
    let out = hookbot(dir.path(), &["check"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let events = dir.path().join("events");
    assert_eq!(
        text(&out.stdout),
        format!(
            "{}:1:1: warning: the event has no actions: a webhook to it does nothing (add [[actions]])\n\
             {}:7:11: warning: \"{{name\" has no closing \"}}\"; it would be sent as written\n",
            events.join("idle.toml").display(),
            events.join("unclosed.toml").display(),
        )
    );
}

/// Issue 14 point 16: an import that `check` would reject writes nothing and exits non-zero,
/// naming the problem's position; messages carry no Rust debug text.
#[test]
fn import_validates_every_event_file_first_and_writes_nothing_on_error() {
    let dir = folder_with(&[]);
    let backup = dir.path().join("backup.json");
    let document = json!({
        "version": 1, "exported_at": "x", "settings": {},
        "variables": [{"scope": "global", "name": "count", "value": "41"}],
        "events": [
            {"file": "good.toml", "text": good()},
            {"file": "bad.toml", "text": "id = \"bad\"\nserver = \"123456789012345678\"\n\n[[actions]]\ntype = \"send_mesage\"\n"}
        ]
    });
    std::fs::write(&backup, document.to_string()).unwrap();
    let out = hookbot(dir.path(), &["import", "backup.json"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("bad.toml:5:8"), "{said}");
    assert!(said.contains("nothing was written"), "{said}");
    assert!(!dir.path().join("events/good.toml").exists(), "{said}");
    assert!(!dir.path().join("events/bad.toml").exists(), "{said}");
    let out = hookbot(dir.path(), &["export"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported["variables"], json!([]), "no variable was stored");

    std::fs::write(&backup, r#"{"version":2}"#).unwrap();
    let out = hookbot(dir.path(), &["import", "backup.json"]);
    let said = text(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains(r#"its "version" is 2)"#), "{said}");
    assert!(!said.contains("Some("), "{said}");
}

/// Issue 14 point 10: the database folder is private (0700, its files 0600) whatever the umask
/// hookbot was started with.
#[test]
fn the_database_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = folder_with(&[]);
    let out = Command::new("sh")
        .args(["-c", "umask 000; exec \"$0\" key rotate"])
        .arg(env!("CARGO_BIN_EXE_hookbot"))
        .current_dir(dir.path())
        .env_remove("HOOKBOT_CONFIG")
        .env_remove("HOOKBOT_DISCORD_TOKEN")
        .output()
        .expect("hookbot runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let db = dir.path().join("db");
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the database folder: {mode:o}");
    let mut folders = vec![db];
    let mut files = 0;
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            let mode = meta.permissions().mode() & 0o777;
            assert_eq!(mode & 0o077, 0, "{}: {mode:o}", entry.path().display());
            if meta.is_dir() {
                folders.push(entry.path());
            } else {
                files += 1;
            }
        }
    }
    assert!(files > 0, "sled wrote its files");
}
