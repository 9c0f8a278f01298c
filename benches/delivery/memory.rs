//! Resident memory of the real `hookbot` binary, idle and with 100 000 runs queued.
//!
//! The binary is the one Cargo builds for this bench (`CARGO_BIN_EXE_hookbot`: the release
//! build under `cargo bench`, or `HOOKBOT_BENCH_BINARY`), run as a child process against the
//! stand-in in this process; its `VmRSS`, and how much of it is the binary's mapped pages
//! (`RssFile`) and how much the heap and stacks (`RssAnon`), are read from `/proc/PID/status`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use discord_stand_in::{Failure, Sandbox};
use futures::{StreamExt, TryStreamExt};
use hookbot::engine::Store;
use hookbot::lang::templates::Variables;
use hookbot::run::Run;

use crate::world::{self, EVENT};

pub const QUEUED: u64 = 100_000;
/// Set to a file prefix, the queued sample runs under `heaptrack -o PREFIX` and is stopped with
/// SIGTERM, so the profile is written (docs/performance.md, "Memory").
const HEAPTRACK_VAR: &str = "HOOKBOT_BENCH_HEAPTRACK";
/// How long after `/healthz` first answers the process settles before it is measured.
const SETTLE: Duration = Duration::from_secs(3);

pub struct Sample {
    pub rss_kib: u64,
    pub peak_kib: u64,
    pub anon_kib: u64,
    pub file_kib: u64,
}

pub struct Memory {
    pub idle: Sample,
    pub queued: Sample,
    /// How long queueing 100k runs through `Engine::accept_run` took.
    pub fill_time: Duration,
    /// Sends the stand-in refused while the queued sample was taken: runs the executor picked up.
    pub sends_tried: usize,
}

pub async fn measure() -> Memory {
    let sandbox = world::stand_in(Default::default()).await;
    let idle_dir = tempfile::tempdir().unwrap();
    let idle = run_binary(idle_dir.path(), &sandbox, None).await;

    // Every send fails (503) for the whole measurement, so the runs stay queued.
    sandbox.inject(Failure::new("/messages", 503).for_duration(Duration::from_secs(3600)));
    let queued_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    tokio::time::timeout(
        Duration::from_secs(90),
        fill(&queued_dir.path().join("db"), QUEUED),
    )
    .await
    .expect("100k runs queued within 90 s");
    let fill_time = started.elapsed();
    let before = sends(&sandbox);
    let profile = std::env::var(HEAPTRACK_VAR).ok();
    let queued = run_binary(queued_dir.path(), &sandbox, profile.as_deref()).await;
    let sends_tried = sends(&sandbox) - before;
    sandbox.shutdown().await;
    Memory {
        idle,
        queued,
        fill_time,
        sends_tried,
    }
}

fn sends(sandbox: &Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|request| request.method == "POST" && request.path.ends_with("/messages"))
        .count()
}

/// Queues `count` runs of the bench event the way the listener does, many at a time.
async fn fill(db: &Path, count: u64) {
    let store = Store::open(db).expect("store opens");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    futures::stream::iter(0..count)
        .map(|seq| {
            let store = store.clone();
            async move {
                let mut variables = Variables::new();
                variables.insert("channel", world::channel(seq).to_string());
                variables.insert("seq", seq.to_string());
                let run = Run::new(store.next_run_id().await?, EVENT.to_owned(), variables, now);
                store.accept_run(&run, None).await.map(drop)
            }
        })
        .buffer_unordered(512)
        .try_collect::<Vec<()>>()
        .await
        .expect("runs queued");
    store.flush().await.expect("flushed");
}

/// Starts the binary on `dir` (config and events written there), waits until it answers
/// `/healthz` and has settled, and reads its memory.
async fn run_binary(dir: &Path, sandbox: &Sandbox, heaptrack: Option<&str>) -> Sample {
    let port = free_port();
    world::write_config(dir, &sandbox.api_url(), &format!("127.0.0.1:{port}"));
    let binary = world::hookbot_binary();
    let mut command = match heaptrack {
        Some(prefix) => {
            let mut command = Command::new("heaptrack");
            command.arg("-o").arg(prefix).arg(&binary);
            command
        }
        None => Command::new(&binary),
    };
    let mut child = command
        .arg("run")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the hookbot binary starts");
    assert!(
        world::answers_healthz(port, Duration::from_secs(20)).await,
        "hookbot did not answer /healthz"
    );
    tokio::time::sleep(SETTLE).await;
    if heaptrack.is_some() {
        // heaptrack's script runs hookbot as its child and writes the profile once it exits.
        let hookbot = hookbot_under(child.id()).expect("hookbot under heaptrack");
        let sample = read_status(hookbot);
        let _ = Command::new("kill")
            .args(["-TERM", &hookbot.to_string()])
            .status();
        child.wait().expect("heaptrack ends");
        return sample;
    }
    let sample = read_status(child.id());
    child.kill().expect("stop hookbot");
    child.wait().expect("hookbot reaped");
    sample
}

/// The process named `hookbot` among the descendants of `pid`. heaptrack's script starts
/// several children (its interpreter and compressor among them): the first one is not always
/// hookbot, and a SIGTERM sent to another one left the profiled hookbot running for ever.
fn hookbot_under(pid: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|child| child.parse::<u32>().ok())
        .find_map(|child| {
            let name = std::fs::read_to_string(format!("/proc/{child}/comm")).ok()?;
            if name.trim() == "hookbot" {
                Some(child)
            } else {
                hookbot_under(child)
            }
        })
}

fn read_status(pid: u32) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    Sample {
        rss_kib: field("VmRSS:"),
        peak_kib: field("VmHWM:"),
        anon_kib: field("RssAnon:"),
        file_kib: field("RssFile:"),
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}
