//! What a hostile caller must not get, through the real binary (`hookbot run --sandbox`): a log
//! line of its own making (control characters are escaped in the text log), a hint about which
//! events exist or how they are signed (every 401 says the same; the log says why, with the
//! request's id), and, in the sandbox, a call out of the machine (`http_request` goes to the
//! stand-in's echo unless `[sandbox] real_http` says otherwise).

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::signing::{hex, hmac_sha256};
use common::{eventually, DEADLINE, UNAUTHORIZED_MESSAGE as UNAUTHORIZED};
use serde_json::{json, Value};

const GITHUB_SECRET: &str = "sec-github-secret-4e1d";
const OWN_KEY: &str = "sec-own-key-8a2c";

const PLAIN: &str = r##"
id = "deploy"
name = "Deploy"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "{service} is live"
"##;

const SIGNED: &str = r##"
id = "gh"
name = "GitHub push"
server = "123456789012345678"

[auth]
scheme = "github"
secret_env = "HOOKBOT_SEC_GITHUB_SECRET"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "push to {body.ref}"
"##;

const KEYED: &str = r##"
id = "uptime"
name = "Uptime"
server = "123456789012345678"

[auth]
scheme = "key"
secret_env = "HOOKBOT_SEC_OWN_KEY"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "{body.monitor} is {body.status}"
"##;

/// A `hookbot run --sandbox` process in its own folder, its stdout and stderr kept as they come.
struct Sandboxed {
    _dir: tempfile::TempDir,
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// `http://127.0.0.1:PORT/webhook/BOT/`, from the banner.
    webhooks: String,
    key: String,
}

impl Sandboxed {
    /// Starts it with these event files and `config` (a listen port is added), and waits for
    /// the banner.
    async fn start(events: &[(&str, &str)], config: &str) -> Sandboxed {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data/events")).unwrap();
        for (name, text) in events {
            std::fs::write(dir.path().join("data/events").join(name), text).unwrap();
        }
        let port = free_port();
        std::fs::write(
            dir.path().join("config.toml"),
            format!("[http]\nlisten = \"127.0.0.1:{port}\"\n{config}"),
        )
        .unwrap();
        let mut child = command(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let out = &stdout;
        let banner = eventually(DEADLINE, "the sandbox's banner", || {
            let text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
            std::future::ready(text.contains("Try it").then_some(text))
        })
        .await;
        let key = banner
            .lines()
            .find_map(|line| line.strip_prefix("API key (new at every sandbox start): "))
            .expect("the key in the banner")
            .trim()
            .to_owned();
        let url = banner
            .lines()
            .find_map(|line| line.split_whitespace().next()?.strip_prefix("http://"))
            .expect("a webhook URL in the banner");
        let webhooks = format!("http://{}/", url.rsplit_once('/').unwrap().0);
        Sandboxed {
            _dir: dir,
            child,
            stdout,
            stderr,
            webhooks,
            key,
        }
    }

    fn url(&self, event_path: &str) -> String {
        format!("{}{event_path}", self.webhooks)
    }

    fn banner(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    fn stderr_bytes(&self) -> Vec<u8> {
        self.stderr.lock().unwrap().clone()
    }

    /// The first log line that holds every one of `parts`, once there is one.
    async fn log_line(&self, parts: &[&str]) -> String {
        eventually(DEADLINE, format!("a log line with {parts:?}"), || {
            let text = String::from_utf8_lossy(&self.stderr_bytes()).into_owned();
            let found = text
                .lines()
                .find(|line| parts.iter().all(|part| line.contains(part)))
                .map(str::to_owned);
            std::future::ready(found.ok_or(text))
        })
        .await
    }

    async fn stop(mut self) {
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let child = &mut self.child;
        let status = eventually(Duration::from_secs(10), "exit after SIGTERM", || {
            std::future::ready(child.try_wait().unwrap())
        })
        .await;
        assert!(status.success(), "exit 0 after SIGTERM: {status}");
    }
}

fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookbot"));
    command
        .args(["run", "--sandbox"])
        .current_dir(dir)
        .env_remove("HOOKBOT_CONFIG")
        .env_remove("HOOKBOT_DISCORD_TOKEN")
        .env("RUST_LOG", "info")
        .env("HOOKBOT_SEC_GITHUB_SECRET", GITHUB_SECRET)
        .env("HOOKBOT_SEC_OWN_KEY", OWN_KEY);
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads `stream` on a thread into a shared buffer, bytes as they are (a raw ESC must show).
fn collect(mut stream: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(read @ 1..) = stream.read(&mut chunk) {
            sink.lock().unwrap().extend_from_slice(&chunk[..read]);
        }
    });
    buffer
}

/// The answer's status, JSON body and `X-Request-Id`.
async fn answer(response: reqwest::Response) -> (u16, Value, Option<String>) {
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON, got {text:?}"));
    (status, body, id)
}

/// ISSUE 14 point 7: a newline (or ESC, or NUL) in the event id of the path cannot start a log
/// line of its own; the text log shows it escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_cannot_write_a_log_line_of_its_own() {
    let hookbot = Sandboxed::start(&[("deploy.toml", PLAIN)], "").await;
    let http = reqwest::Client::new();
    let forged = "2026-01-01T00:00:00.000000Z  INFO hookbot::admin: the API key was rotated";
    let path = format!("y%0a{}", forged.replace(' ', "%20"));
    let (status, _, _) = answer(http.post(hookbot.url(&path)).send().await.unwrap()).await;
    assert_eq!(status, 401);
    // A terminal's escape (clear the screen) and a NUL, which some viewers end a line at.
    let (status, _, _) = answer(http.post(hookbot.url("z%1b[2Jx%00y")).send().await.unwrap()).await;
    assert_eq!(status, 401);

    let line = hookbot
        .log_line(&["webhook refused", r"y\n2026-01-01T00:00:00.000000Z"])
        .await;
    assert!(line.contains("the API key was rotated"), "{line}");
    hookbot
        .log_line(&["webhook refused", r"z\u{1b}[2Jx\u{0}y"])
        .await;
    let logs = hookbot.stderr_bytes();
    assert!(!logs.contains(&0x1b), "a raw ESC in the log");
    assert!(!logs.contains(&0), "a raw NUL in the log");
    let text = String::from_utf8_lossy(&logs);
    if let Some(line) = text.lines().find(|line| line.starts_with("2026-01-01")) {
        panic!("a forged line in the log: {line}\n{text}");
    }
    hookbot.stop().await;
}

/// ISSUE 14 point 8: every 401 (no key, a wrong key, an unknown event, a missing or bad
/// signature, an event's own key wrong) answers the same body, so a stranger learns nothing of
/// which events exist or how they are signed; the log tells the operator the exact cause, on
/// the line with the request id the answer carries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_401_says_the_same_and_the_log_says_why() {
    let hookbot = Sandboxed::start(
        &[
            ("deploy.toml", PLAIN),
            ("gh.toml", SIGNED),
            ("uptime.toml", KEYED),
        ],
        "",
    )
    .await;
    let http = reqwest::Client::new();
    let body = json!({"ref": "refs/heads/main"}).to_string();
    let signature = hex(&hmac_sha256(b"not the secret", &[body.as_bytes()]));
    let cases = [
        (
            http.post(hookbot.url("deploy")),
            "missing API key: send it in the Authorization header",
        ),
        (
            http.post(hookbot.url("deploy"))
                .header("Authorization", "hk_wrong"),
            "the API key is wrong",
        ),
        (
            http.post(hookbot.url("nope")),
            "no enabled event has this id",
        ),
        (
            http.post(hookbot.url("gh")).body(body.clone()),
            "the X-Hub-Signature-256 header is missing",
        ),
        (
            http.post(hookbot.url("gh"))
                .header("X-Hub-Signature-256", format!("sha256={signature}"))
                .body(body.clone()),
            "the X-Hub-Signature-256 header does not match the body",
        ),
        (
            // The bot's own key does not open a signed event.
            http.post(hookbot.url("gh"))
                .header("Authorization", &hookbot.key)
                .body(body),
            "the X-Hub-Signature-256 header is missing",
        ),
        (
            http.post(hookbot.url("uptime"))
                .header("Authorization", "Bearer wrong"),
            "auth.secret_env",
        ),
    ];
    let mut ids = Vec::new();
    for (request, cause) in cases {
        let (status, body, id) = answer(request.send().await.unwrap()).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(
            body,
            json!({"ok": false, "error": "unauthorized", "message": UNAUTHORIZED})
        );
        let id = id.expect("an X-Request-Id header");
        assert!(!ids.contains(&id), "request ids are unique: {id}");
        let line = hookbot.log_line(&[&id, "webhook refused"]).await;
        assert!(line.contains(cause), "{cause:?} in {line}");
        ids.push(id);
    }
    // A success carries an id too.
    let (status, body, id) = answer(
        http.post(hookbot.url("uptime"))
            .header("Authorization", format!("Bearer {OWN_KEY}"))
            .json(&json!({"monitor": "site", "status": "down"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = id.expect("an X-Request-Id header");
    hookbot.log_line(&[&id, "webhook accepted"]).await;
    hookbot.stop().await;
}

/// An event that calls `url` (with a token in the query and a header) and says in #deploys what
/// answered.
fn calling(url: &str) -> String {
    format!(
        r##"
id = "notify"
name = "Notify the API"
server = "123456789012345678"

[[actions]]
type = "http_request"
method = "POST"
url = "{url}"
headers = {{ "X-Source" = "hookbot" }}
json = {{ service = "{{service}}" }}
save_as = "api"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "api answered {{api.status}} echo={{api.json.echo}}"
"##
    )
}

/// A listener the test owns, standing for the production API an event names: it counts the
/// connections it gets and answers each `200 ok`.
fn trap() -> (String, Arc<Mutex<usize>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/deploys?token=prod-secret",
        listener.local_addr().unwrap()
    );
    let hits = Arc::new(Mutex::new(0));
    let counted = Arc::clone(&hits);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            *counted.lock().unwrap() += 1;
            let mut head = [0u8; 8192];
            let _ = stream.read(&mut head);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (url, hits)
}

async fn trigger(hookbot: &Sandboxed) {
    let (status, body, _) = answer(
        reqwest::Client::new()
            .post(hookbot.url("notify"))
            .header("Authorization", &hookbot.key)
            .json(&json!({"variables": [
                {"name": "service", "variable": "{service}", "value": "billing"}
            ]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// ISSUE 14 point 9: in the sandbox, `http_request` reaches the stand-in's echo, which logs it
/// and answers; the URL the event names (a listener this test owns) gets nothing, and the banner
/// says so. Nothing leaves 127.0.0.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_answers_http_request_from_a_local_echo() {
    let (url, hits) = trap();
    let hookbot = Sandboxed::start(&[("notify.toml", &calling(&url))], "").await;
    assert!(
        hookbot
            .banner()
            .contains("http_request calls go to a local echo"),
        "{}",
        hookbot.banner()
    );
    trigger(&hookbot).await;
    let where_to = url.split_once('?').unwrap().0;
    let line = hookbot
        .log_line(&["http_request echoed locally", &format!("POST {where_to}")])
        .await;
    assert!(!line.contains("prod-secret"), "no query in the log: {line}");
    // The run went on with the echo's answer.
    hookbot
        .log_line(&["sent to #deploys", "api answered 200 echo=true"])
        .await;
    assert_eq!(*hits.lock().unwrap(), 0, "the real URL was called");
    hookbot.stop().await;
    assert_eq!(*hits.lock().unwrap(), 0, "the real URL was called");
}

/// `[sandbox] real_http = true` opts in: the call reaches the URL, and the banner says it leaves
/// the machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_http_in_the_sandbox_calls_the_url() {
    let (url, hits) = trap();
    let hookbot = Sandboxed::start(
        &[("notify.toml", &calling(&url))],
        "[sandbox]\nreal_http = true\n",
    )
    .await;
    assert!(
        hookbot.banner().contains("those calls leave this machine"),
        "{}",
        hookbot.banner()
    );
    trigger(&hookbot).await;
    hookbot
        .log_line(&["sent to #deploys", "api answered 200 echo={api.json.echo}"])
        .await;
    assert_eq!(*hits.lock().unwrap(), 1);
    hookbot.stop().await;
}
