//! The webhook listener at its edges (issue 14, points 3, 4, 5, 11, 12): answers sent before the
//! body was read keep a keep-alive connection usable, a second signal stops the process at once,
//! a request carries a bounded number and size of variables and one huge body leaves memory near
//! its baseline, every answer is JSON, and JSON labelled as a form is read as JSON. The
//! connection, signal and memory tests run the real binary.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::process::hookbot;
use common::*;
use discord_stand_in::Sandbox;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

fn deploy() -> String {
    message_event("deploy", "#deploys", "{service} is live")
}

/// `hookbot run` (the binary) against the stand-in, with its key and listening address.
struct Process {
    child: Child,
    dir: tempfile::TempDir,
    stderr: PathBuf,
    addr: String,
    key: String,
    _sandbox: Sandbox,
}

impl Process {
    async fn start(events: &[(&str, &str)]) -> Process {
        Process::start_with(events, "").await
    }

    /// With `http_lines` added to the config's `[http]` table.
    async fn start_with(events: &[(&str, &str)], http_lines: &str) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::start(fixture(), TOKEN).await.unwrap();
        std::fs::create_dir_all(dir.path().join("events")).unwrap();
        for (name, text) in events {
            std::fs::write(dir.path().join("events").join(name), text).unwrap();
        }
        write_config(dir.path(), &sandbox.api_url(), http_lines, "");
        let rotated = hookbot(dir.path())
            .args(["key", "rotate"])
            .output()
            .unwrap();
        assert!(rotated.status.success(), "{rotated:?}");
        let key = String::from_utf8(rotated.stdout).unwrap().trim().to_owned();
        let stderr = dir.path().join("stderr.log");
        let mut child = hookbot(dir.path())
            .arg("run")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let addr = eventually(DEADLINE, "hookbot to start listening", || {
            let text = std::fs::read_to_string(&stderr).unwrap();
            let found = text.lines().find_map(|line| {
                let line: Value = serde_json::from_str(line).ok()?;
                (line["message"] == "webhook listener ready")
                    .then(|| line["listen"].as_str().map(str::to_owned))?
            });
            if let (None, Some(exited)) = (&found, child.try_wait().unwrap()) {
                panic!("hookbot exited ({exited}) before listening: {text}");
            }
            std::future::ready(found.ok_or(text))
        })
        .await;
        Process {
            child,
            dir,
            stderr,
            addr,
            key,
            _sandbox: sandbox,
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    /// The process's resident memory, in MiB.
    fn rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line");
        kib / 1024
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 answer read off a connection: status, header lines (lower-case), body.
struct RawAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl RawAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `head` (the request line and headers, without the blank line) and `body` on the
/// connection as a client does, all at once, and reads the answer.
async fn exchange(
    reader: &mut BufReader<OwnedReadHalf>,
    writer: &mut OwnedWriteHalf,
    head: &str,
    body: &[u8],
) -> Result<RawAnswer, String> {
    let mut request = format!(
        "{head}\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    writer
        .write_all(&request)
        .await
        .map_err(|e| format!("sending {head:?}: {e}"))?;
    tokio::time::timeout(DEADLINE, read_answer(reader))
        .await
        .map_err(|_| format!("no answer to {head:?} within {DEADLINE:?}"))?
        .map_err(|e| format!("reading the answer to {head:?}: {e}"))
}

async fn read_answer(reader: &mut BufReader<OwnedReadHalf>) -> std::io::Result<RawAnswer> {
    let broken = |what: &str| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, what);
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Err(broken("the connection was closed"));
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| broken("no status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').ok_or_else(|| broken("a header"))?;
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| broken("no content-length"))?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    let body = serde_json::from_slice(&body).map_err(|_| broken("a JSON body"))?;
    Ok(RawAnswer {
        status,
        headers,
        body,
    })
}

/// Point 3: refusals answered before the body was read (404, 401, 405, 400 and an unknown
/// route), each with a body larger than hyper buffers at once, leave one keep-alive connection
/// usable; a declared body over `http.max_body_bytes` is refused with `Connection: close`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_answers_keep_a_keep_alive_connection_usable() {
    let process = Process::start(&[("deploy.toml", &deploy())]).await;
    let stream = TcpStream::connect(&process.addr).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let key = &process.key;
    // Under http.max_body_bytes (64 KiB by default), far over what one read takes in.
    let big = serde_json::to_vec(&json!({"padding": "x".repeat(60_000)})).unwrap();
    let good = serde_json::to_vec(&variables_body(&[("service", json!("api"))])).unwrap();
    let requests: Vec<(String, &[u8], u16)> = vec![
        (
            format!("POST /webhook/1/deploy HTTP/1.1\r\nAuthorization: {key}"),
            &big,
            404,
        ),
        (
            format!("POST /webhook/{BOT_ID}/deploy HTTP/1.1\r\nAuthorization: wrong"),
            &big,
            401,
        ),
        (
            format!("POST /webhook/{BOT_ID}/deploy HTTP/1.1\r\nAuthorization: {key}"),
            &good,
            200,
        ),
        (
            format!("POST /nowhere HTTP/1.1\r\nAuthorization: {key}"),
            &big,
            404,
        ),
        (
            format!("GET /webhook/{BOT_ID}/deploy HTTP/1.1\r\nAuthorization: {key}"),
            &big,
            405,
        ),
        (
            format!("POST /webhook/{BOT_ID}/nope HTTP/1.1\r\nAuthorization: {key}"),
            &big,
            404,
        ),
        (
            format!("POST /webhook/{BOT_ID}/%ff HTTP/1.1\r\nAuthorization: {key}"),
            &big,
            400,
        ),
        (
            format!("POST /webhook/{BOT_ID}/deploy HTTP/1.1\r\nAuthorization: {key}"),
            &good,
            200,
        ),
    ];
    for (head, body, status) in &requests {
        let answer = exchange(&mut reader, &mut writer, head, body)
            .await
            .unwrap_or_else(|error| panic!("{error}; hookbot's log:\n{}", process.logs()));
        assert_eq!(answer.status, *status, "{head}: {}", answer.body);
        assert_ne!(answer.header("connection"), Some("close"), "{head}");
    }
    // A body declared over the limit is not waited for: the answer says the connection closes.
    let head = format!(
        "POST /webhook/{BOT_ID}/deploy HTTP/1.1\r\nAuthorization: {key}\r\nContent-Length: 70000\r\nHost: test\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let answer = tokio::time::timeout(DEADLINE, read_answer(&mut reader))
        .await
        .expect("an answer")
        .expect("a readable answer");
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert_eq!(answer.header("connection"), Some("close"));
}

/// Point 4: the first SIGTERM drains the runs in progress; a second one stops the process at
/// once, and the run in progress stays queued for the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_at_once_and_leaves_the_run_queued() {
    // A server that takes the connection and never answers: the run's `http_request` is in
    // progress for its whole 30 s timeout, far longer than the executor's 5 s drain.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow = format!(
        r#"
id = "slow"
server = "123456789012345678"

[[actions]]
type = "http_request"
url = "http://{}/"
timeout = "30s"
"#,
        silent.local_addr().unwrap()
    );
    let mut process = Process::start(&[("slow.toml", &slow)]).await;
    let answer = reqwest::Client::new()
        .post(format!("http://{}/webhook/{BOT_ID}/slow", process.addr))
        .header("Authorization", &process.key)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let run = answer.json::<Value>().await.unwrap()["run"]
        .as_str()
        .unwrap()
        .to_owned();
    // The run is in progress once its request has arrived.
    let (_held, _) = tokio::time::timeout(DEADLINE, silent.accept())
        .await
        .expect("the run's http_request to arrive")
        .unwrap();

    process.signal("-TERM");
    eventually(DEADLINE, "the drain to begin", || {
        let logs = process.logs();
        std::future::ready(
            logs.contains("waiting for runs in progress")
                .then_some(())
                .ok_or(logs),
        )
    })
    .await;
    process.signal("-TERM");
    // Well below the executor's 5 s drain: the second signal does not wait for it.
    let status = eventually(
        std::time::Duration::from_secs(2),
        "exit after the second SIGTERM",
        || std::future::ready(process.child.try_wait().unwrap()),
    )
    .await;
    assert!(status.success(), "{status}; {}", process.logs());
    assert!(
        process.logs().contains("stopping at once"),
        "{}",
        process.logs()
    );

    let shown = hookbot(process.dir.path())
        .args(["runs", "show", &run])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{shown:?}");
    let status_line = text.lines().find(|l| l.starts_with("status")).unwrap();
    assert!(status_line.contains("pending"), "{text}");
}

/// Point 11: malformed paths, unknown routes and wrong methods answer the contract's JSON shape.
#[tokio::test]
async fn every_answer_is_json() {
    let h = Harness::start(&[("deploy.toml", &deploy())]).await;
    let cases = [
        ("POST", format!("/webhook/{BOT_ID}/%ff"), 400, "bad_request"),
        ("POST", "/webhook/%ff/deploy".to_owned(), 400, "bad_request"),
        (
            "POST",
            format!("/webhook/{BOT_ID}/a%ffb"),
            400,
            "bad_request",
        ),
        ("POST", "/webhook/only-one".to_owned(), 404, "not_found"),
        ("GET", "/nowhere".to_owned(), 404, "not_found"),
        ("POST", "/healthz".to_owned(), 405, "method_not_allowed"),
        (
            "PUT",
            format!("/webhook/{BOT_ID}/deploy"),
            405,
            "method_not_allowed",
        ),
    ];
    for (method, path, status, error) in cases {
        let response = h
            .http
            .request(method.parse().unwrap(), format!("{}{path}", h.base))
            .header("Authorization", &h.key)
            .send()
            .await
            .unwrap();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{method} {path}: {content_type}"
        );
        Answer::from(response).await.assert_error(status, error);
    }
    h.stop().await;
}

/// Point 12: `curl -d '{…}'` labels JSON as a form; it is read as JSON, variables and all. A
/// real form is still read as fields.
#[tokio::test]
async fn json_sent_as_a_form_is_read_as_json() {
    let h = Harness::start(&[("deploy.toml", &deploy())]).await;
    let headers = [
        ("Authorization", h.key.clone()),
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ];
    let body = variables_body(&[("service", json!("billing"))]).to_string();
    let answer = h.send("deploy", "", body.as_bytes(), &headers).await;
    let run = h.succeeded(&answer).await;
    assert_eq!(run.variables.get("service"), Some("billing"));
    assert_eq!(
        h.sandbox.messages_in(DEPLOYS)[0]["content"],
        "billing is live"
    );
    // A BotGhost body that breaks a rule is refused as it is with a JSON header.
    let broken = r#"{"variables":[{"name":"S","variable":"{service}"}]}"#;
    h.send("deploy", "", broken.as_bytes(), &headers)
        .await
        .assert_error(400, "bad_request");
    h.stop().await;
}

/// Point 5: a request carries at most 1000 variables; one more is a 400 that names the limit.
#[tokio::test]
async fn a_request_carries_a_bounded_number_of_variables() {
    let h = Harness::start(&[("deploy.toml", &deploy())]).await;
    let items = |count: usize| {
        let variables: Vec<(String, Value)> =
            (0..count).map(|i| (format!("v{i}"), json!("x"))).collect();
        let borrowed: Vec<(&str, Value)> = variables
            .iter()
            .map(|(name, value)| (name.as_str(), value.clone()))
            .collect();
        variables_body(&borrowed)
    };
    let over = h.post("deploy", items(1001)).await;
    over.assert_error(400, "bad_request");
    let message = over.body["message"].as_str().unwrap();
    assert!(message.contains("at most 1000 variables"), "{message}");
    let at_limit = h.post("deploy", items(1000)).await;
    let run = h.succeeded(&at_limit).await;
    assert_eq!(run.variables.get("v999"), Some("x"));
    h.stop().await;
}

/// Point 5: with `http.max_body_bytes` at its 64 MiB maximum, one 60 MB body of 1,000 variables
/// of 60 KB each is a 400 naming the limit on variable bytes, measured before the body is
/// parsed, and the process's resident memory comes back near where it was (it used to stay
/// hundreds of MiB higher, holding a 120 MB run). A normal request still goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_huge_body_leaves_memory_near_its_baseline() {
    const NEAR_MIB: u64 = 40;
    let p = Process::start_with(&[("deploy.toml", &deploy())], "max_body_bytes = 67108864").await;
    let baseline = p.rss_mib();
    let value = json!("x".repeat(60_000));
    let names: Vec<String> = (0..1000).map(|i| format!("v{i}")).collect();
    let variables: Vec<(&str, Value)> = names.iter().map(|n| (n.as_str(), value.clone())).collect();
    let body = serde_json::to_vec(&variables_body(&variables)).unwrap();
    drop(variables);
    assert!(body.len() > 60_000_000);
    let http = reqwest::Client::new();
    let url = format!("http://{}/webhook/{BOT_ID}/deploy", p.addr);
    let post = |body: Vec<u8>| {
        http.post(&url)
            .header("Authorization", &p.key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let answer = Answer::from(post(body).await.unwrap()).await;
    answer.assert_error(400, "bad_request");
    let message = answer.body["message"].as_str().unwrap();
    assert!(
        message.contains("at most 1048576 bytes of variable values"),
        "{message}"
    );
    eventually(DEADLINE, "resident memory back near its baseline", || {
        let rss = p.rss_mib();
        std::future::ready(if rss <= baseline + NEAR_MIB {
            Ok(())
        } else {
            Err(format!("{rss} MiB, baseline {baseline} MiB"))
        })
    })
    .await;
    let small = serde_json::to_vec(&variables_body(&[("service", json!("api"))])).unwrap();
    let answer = Answer::from(post(small).await.unwrap()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}
