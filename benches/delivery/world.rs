//! The world every phase runs in: a Discord stand-in with one server of many channels, one
//! event that sends `m{seq}` to the channel named by `{channel}`, and hookbot started on it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use discord_stand_in::{Fixture, FixtureGuild, Sandbox, SandboxOptions};
use hookbot::config::Config;

pub const TOKEN: &str = "test-token";
pub const BOT_ID: u64 = 900_000_000_000_000_001;
pub const SERVER: u64 = 123_456_789_012_345_678;
pub const FIRST_CHANNEL: u64 = 200_000_000_000_001_000;
/// Enough that 200 messages a second is 1 a second per channel, Discord's per-channel rate.
pub const CHANNELS: u64 = 200;
pub const EVENT: &str = "bench";

pub fn channel(index: u64) -> u64 {
    FIRST_CHANNEL + index % CHANNELS
}

pub fn fixture() -> Fixture {
    let mut guild = FixtureGuild::new(SERVER, "Bench Server");
    for index in 0..CHANNELS {
        guild = guild.channel(channel(index), format!("c{index}"));
    }
    Fixture::new(BOT_ID, "hookbot-bench").guild(guild)
}

pub async fn stand_in(options: SandboxOptions) -> Sandbox {
    Sandbox::start_with(fixture(), TOKEN, options)
        .await
        .expect("the Discord stand-in starts")
}

/// The webhook body: BotGhost's shape, the channel and a sequence number.
pub fn body(channel_id: u64, seq: &str) -> String {
    serde_json::json!({"variables": [
        {"name": "Channel", "variable": "{channel}", "value": channel_id.to_string()},
        {"name": "Seq", "variable": "{seq}", "value": seq},
    ]})
    .to_string()
}

/// The sequence number a delivered message carries.
pub fn seq_of(message: &serde_json::Value) -> Option<&str> {
    message["content"].as_str()?.strip_prefix('m')
}

/// Writes `config.toml` and the event file into `dir`: no per-event limit, a queue bound far
/// above anything the bench queues.
pub fn write_config(dir: &Path, api_url: &str, listen: &str) {
    std::fs::create_dir_all(dir.join("events")).unwrap();
    std::fs::write(
        dir.join("events/bench.toml"),
        format!(
            r#"id = "{EVENT}"
name = "Benchmark"
server = "{SERVER}"

[[actions]]
type = "send_message"
channel = "{{channel}}"
content = "m{{seq}}"
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            r#"[discord]
token = "{TOKEN}"
api_url = "{api_url}"

[http]
listen = "{listen}"

[storage]
path = "db"

[events]
dir = "events"

[limits]
per_event_per_minute = 0

[delivery]
max_pending_runs = 10000000
"#
        ),
    )
    .unwrap();
}

/// hookbot, in this process, on a temporary folder.
pub struct Hookbot {
    // Dropped last: the database lives in it.
    pub running: hookbot::Running,
    pub key: String,
    pub dir: tempfile::TempDir,
}

impl Hookbot {
    pub async fn start(sandbox: &Sandbox) -> Hookbot {
        let dir = tempfile::tempdir().expect("temp dir");
        write_config(dir.path(), &sandbox.api_url(), "127.0.0.1:0");
        let config = Config::load(&dir.path().join("config.toml"), false).expect("config loads");
        let running = hookbot::start(config).await.expect("hookbot starts");
        assert!(
            running
                .discord()
                .expect("the embedded store always leads")
                .wait_ready(Duration::from_secs(10))
                .await,
            "the gateway said READY"
        );
        let key = running.new_api_key.clone().expect("a new API key");
        Hookbot { running, key, dir }
    }

    pub fn path(&self) -> String {
        format!("/webhook/{BOT_ID}/{EVENT}")
    }

    pub fn url(&self) -> String {
        format!("http://{}{}", self.running.addr, self.path())
    }

    /// Stops hookbot; one that does not stop within 20 s is left behind (and said so).
    pub async fn stop(self) {
        if tokio::time::timeout(Duration::from_secs(20), self.running.stop())
            .await
            .is_err()
        {
            eprintln!("hookbot did not stop within 20 s; left running");
        }
        drop(self.dir);
    }
}

/// Whether a hookbot process listening on `port` answers `/healthz` with 200 within `within`.
pub async fn answers_healthz(port: u16, within: Duration) -> bool {
    let health = format!("http://127.0.0.1:{port}/healthz");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Ok(answer) = client.get(&health).send().await {
            if answer.status() == 200 {
                return true;
            }
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `hookbot` binary the phases start: the one Cargo built beside this bench, or the one
/// `HOOKBOT_BENCH_BINARY` names, so a build under another profile (a size-tuned one, say) is
/// measured by the same harness without building the whole bench under that profile.
pub fn hookbot_binary() -> String {
    std::env::var("HOOKBOT_BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_hookbot").to_owned())
}

/// Starts the binary on `dir` and waits until it answers; its log lines go to `dir/{log}`
/// (appended), so a phase that went wrong can be read afterwards.
// The child is handed to the caller, which kills and waits for it.
#[allow(clippy::zombie_processes)]
pub async fn spawn_hookbot(dir: &Path, port: u16, log: &str) -> Child {
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(dir.join(log))
        .expect("the log file opens");
    let mut child = Command::new(hookbot_binary())
        .arg("run")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the hookbot binary starts");
    if !answers_healthz(port, Duration::from_secs(30)).await {
        let _ = child.kill();
        let _ = child.wait();
        panic!("hookbot did not answer /healthz within 30 s");
    }
    child
}
