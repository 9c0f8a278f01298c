//! CONTRACT §6 "Connections", through the real binary: a connection that sends nothing, or
//! trickles its head, is closed after `http.header_read_timeout`; an idle keep-alive connection
//! after `http.idle_timeout`; and a flood of idle and trickling sockets larger than the process's
//! open-files limit leaves webhooks answered, hookbot recovering when it ends, and SIGTERM
//! stopping it within the contract's 10 s.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use discord_stand_in::Sandbox;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The contract's bound on `hookbot run`'s exit after SIGTERM (§1).
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// One `hookbot run` process against a stand-in, with the `[http]` lines given.
struct Hookbot {
    _dir: tempfile::TempDir,
    sandbox: Sandbox,
    child: Option<Child>,
    stderr: PathBuf,
    addr: String,
    key: String,
}

impl Hookbot {
    /// Starts hookbot; with `open_files`, under that open-files limit (soft and hard, so it
    /// cannot raise it), as a small machine's default would be.
    async fn start(http_lines: &str, open_files: Option<u32>) -> Hookbot {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::start(fixture(), TOKEN).await.unwrap();
        std::fs::create_dir_all(dir.path().join("events")).unwrap();
        std::fs::write(
            dir.path().join("events/deploy.toml"),
            message_event("deploy", "#deploys", "{service} is live"),
        )
        .unwrap();
        write_config(dir.path(), &sandbox.api_url(), http_lines, "");
        let rotated = command(dir.path(), None)
            .args(["key", "rotate"])
            .output()
            .unwrap();
        assert!(rotated.status.success(), "{rotated:?}");
        let key = String::from_utf8(rotated.stdout).unwrap().trim().to_owned();

        let stderr = dir.path().join("stderr.log");
        let mut child = command(dir.path(), open_files)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let addr = eventually(DEADLINE, "hookbot to start listening", || {
            let text = std::fs::read_to_string(&stderr).unwrap();
            let found = text.lines().find_map(|line| {
                let line: serde_json::Value = serde_json::from_str(line).ok()?;
                (line["message"] == "webhook listener ready")
                    .then(|| line["listen"].as_str().map(str::to_owned))?
            });
            if let (None, Some(exited)) = (&found, child.try_wait().unwrap()) {
                panic!("hookbot exited ({exited}) before listening: {text}");
            }
            std::future::ready(found.ok_or(text))
        })
        .await;
        Hookbot {
            _dir: dir,
            sandbox,
            child: Some(child),
            stderr,
            addr,
            key,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    /// A normal webhook; its answer's status, or what went wrong. The client waits up to
    /// `patience`, no longer.
    async fn webhook(&self, service: &str, patience: Duration) -> Result<u16, String> {
        let client = reqwest::Client::builder()
            .timeout(patience)
            .build()
            .unwrap();
        let answer = client
            .post(format!("http://{}/webhook/{BOT_ID}/deploy", self.addr))
            .header("Authorization", &self.key)
            .json(&variables_body(&[("service", json!(service))]))
            .send()
            .await
            .map_err(|error| format!("{error:?}"))?;
        Ok(answer.status().as_u16())
    }

    /// Sends SIGTERM and waits (up to the contract's bound) for a successful exit.
    async fn terminate(&mut self) {
        let mut child = self.child.take().unwrap();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = eventually(STOP_WITHIN, "hookbot to exit after SIGTERM", || {
            std::future::ready(child.try_wait().unwrap())
        })
        .await;
        assert!(status.success(), "{status:?}\n{}", self.log());
    }
}

impl Drop for Hookbot {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn command(dir: &Path, open_files: Option<u32>) -> Command {
    let binary = env!("CARGO_BIN_EXE_hookbot");
    let mut command = match open_files {
        None => Command::new(binary),
        Some(limit) => {
            // The shell sets the limit for itself, then becomes hookbot.
            let mut shell = Command::new("sh");
            shell.args([
                "-c",
                &format!("ulimit -n {limit} && exec \"$0\" \"$@\""),
                binary,
            ]);
            shell
        }
    };
    command
        .current_dir(dir)
        .env("RUST_LOG", "info,hookbot=debug")
        .env_remove("HOOKBOT_CONFIG")
        .env_remove("HOOKBOT_DISCORD_TOKEN")
        .args(["--config", "config.toml", "--log-format", "json"]);
    command
}

/// Whether the server has closed `stream`: a read finds the end (or a reset), not "nothing yet".
fn closed(stream: &TcpStream) -> bool {
    let mut buffer = [0u8; 4096];
    loop {
        match stream.try_read(&mut buffer) {
            Ok(0) => return true,
            // An answer (a 408, say) before the close: read on.
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_keep_alive_connections_are_closed() {
    let hookbot = Hookbot::start(
        "header_read_timeout = \"1s\"\nidle_timeout = \"2s\"\n",
        None,
    )
    .await;

    // Sends nothing at all.
    let silent = TcpStream::connect(&hookbot.addr).await.unwrap();
    eventually(DEADLINE, "the silent connection to be closed", || {
        std::future::ready(closed(&silent))
    })
    .await;

    // One request, answered, then nothing: kept alive, then closed after the idle timeout.
    let mut kept = TcpStream::connect(&hookbot.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: hookbot\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    eventually(DEADLINE, "the answer to /healthz", || {
        let mut buffer = [0u8; 4096];
        if let Ok(read) = kept.try_read(&mut buffer) {
            answer.extend_from_slice(&buffer[..read]);
        }
        std::future::ready(answer.starts_with(b"HTTP/1.1 200"))
    })
    .await;
    eventually(
        DEADLINE,
        "the idle keep-alive connection to be closed",
        || std::future::ready(closed(&kept)),
    )
    .await;

    // The listener serves as before.
    assert_eq!(hookbot.webhook("api", DEADLINE).await, Ok(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_request_head_is_cut_off() {
    let hookbot = Hookbot::start("header_read_timeout = \"1s\"\n", None).await;
    let mut trickler = TcpStream::connect(&hookbot.addr).await.unwrap();
    trickler
        .write_all(b"POST /webhook/1/deploy HTTP/1.1\r\nHost: hookbot\r\nX-Slow: ")
        .await
        .unwrap();
    // One header byte every 100 ms, never ending the head: bounded to 20 s of bytes, twice the
    // usual deadline, by which the server must have cut it off.
    let mut cut_off = false;
    for _ in 0..200 {
        if trickler.write_all(b"a").await.is_err() || closed(&trickler) {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cut_off, "a head trickled for 20 s was still being read");
    assert_eq!(hookbot.webhook("api", DEADLINE).await, Ok(200));
}

/// Idle sockets held open at once: more than hookbot's whole open-files limit below.
const IDLE: usize = 300;
/// Sockets trickling their request head, a byte at a time.
const TRICKLING: usize = 20;
/// The open-files limit hookbot runs under here (soft and hard).
const OPEN_FILES: u32 = 256;

async fn flood(addr: &str) -> (Vec<TcpStream>, Arc<AtomicBool>) {
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        // Past the backlog a connect may fail or hang; either way, that one is not held.
        if let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await
        {
            idle.push(stream);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    for _ in 0..TRICKLING {
        let addr = addr.to_owned();
        let stop = stop.clone();
        tokio::spawn(async move {
            let Ok(mut stream) = TcpStream::connect(&addr).await else {
                return;
            };
            if stream
                .write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
                .await
                .is_err()
            {
                return;
            }
            // At most 60 s of bytes, until the test says stop or the server closes it.
            for _ in 0..300 {
                if stop.load(Ordering::Relaxed) || stream.write_all(b"a").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }
    (idle, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_and_trickling_sockets_leaves_webhooks_answered_and_stops_on_sigterm() {
    // The head timeout at its 30 s maximum: what makes room here is the connection cap, not a
    // timeout running out (the webhooks below give up well before 30 s).
    let mut hookbot = Hookbot::start("header_read_timeout = \"30s\"\n", Some(OPEN_FILES)).await;
    let patience = Duration::from_secs(15);
    let log = hookbot.log();
    assert!(
        log.contains("http.max_connections lowered"),
        "the default cap (512) does not fit 256 open files: {log}"
    );

    let (idle, stop) = flood(&hookbot.addr).await;
    for service in ["during-1", "during-2", "during-3"] {
        assert_eq!(
            hookbot.webhook(service, patience).await,
            Ok(200),
            "{service}"
        );
    }
    let stand_in = &hookbot.sandbox;
    eventually(
        DEADLINE,
        "the runs accepted during the flood to be sent",
        || std::future::ready(stand_in.messages_in(DEPLOYS).len() >= 3),
    )
    .await;

    // The flood ends: everything answers as before.
    stop.store(true, Ordering::Relaxed);
    drop(idle);
    assert_eq!(hookbot.webhook("after", patience).await, Ok(200));
    eventually(
        DEADLINE,
        "the run accepted after the flood to be sent",
        || std::future::ready(stand_in.messages_in(DEPLOYS).len() >= 4),
    )
    .await;
    let log = hookbot.log();
    assert!(
        !log.contains("Too many open files"),
        "hookbot ran out of descriptors: {log}"
    );

    // A second flood, and SIGTERM in the middle of it.
    let (idle, stop) = flood(&hookbot.addr).await;
    hookbot.terminate().await;
    stop.store(true, Ordering::Relaxed);
    drop(idle);
}
