//! `hookbot` as a real process: started in a folder, found by the address it logs, stopped with
//! SIGTERM or killed with SIGKILL; and a PostgreSQL database of its own for a test.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use super::{eventually, DEADLINE};

/// `hookbot` in `dir`, logging JSON lines at `info`.
pub fn hookbot(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookbot"));
    command
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env_remove("HOOKBOT_CONFIG")
        .env_remove("HOOKBOT_DISCORD_TOKEN")
        .env_remove("HOOKBOT_STORAGE_URL")
        .args(["--config", "config.toml", "--log-format", "json"]);
    command
}

/// A `hookbot run` process and where its listener is.
pub struct Process {
    pub child: Child,
    pub stderr: PathBuf,
    /// What it printed for a person (the banner with a new key).
    pub stdout: PathBuf,
    pub base: String,
}

impl Process {
    /// Starts `hookbot run` in `dir` (stderr to `dir/{name}.log`, stdout to `dir/{name}.out`)
    /// and waits for its listener; fails the test if it exits first.
    pub async fn start(dir: &Path, name: &str) -> Process {
        let stderr = dir.join(format!("{name}.log"));
        let stdout = dir.join(format!("{name}.out"));
        let mut child = hookbot(dir)
            .arg("run")
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let log = stderr.clone();
        let addr = eventually(DEADLINE, "hookbot to start listening", || {
            let text = std::fs::read_to_string(&log).unwrap();
            let found = text.lines().find_map(|line| {
                let line: Value = serde_json::from_str(line).ok()?;
                (line["message"] == "webhook listener ready")
                    .then(|| line["listen"].as_str().map(str::to_owned))?
            });
            if let (None, Some(exited)) = (&found, child.try_wait().unwrap()) {
                panic!("hookbot exited ({exited}) before listening:\n{text}");
            }
            std::future::ready(found.ok_or_else(|| tail(&text)))
        })
        .await;
        Process {
            child,
            stderr,
            stdout,
            base: format!("http://{addr}"),
        }
    }

    /// What it printed on stdout so far.
    pub fn printed(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Whether the log has a line whose message is `message`.
    pub fn logged(&self, message: &str) -> bool {
        self.log().lines().any(|line| {
            serde_json::from_str::<Value>(line).is_ok_and(|line| line["message"] == message)
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`-TERM`, `-KILL`).
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal} {}", self.pid());
    }

    /// Waits for the process to exit, at most `deadline`.
    pub async fn exited(&mut self, deadline: Duration) -> ExitStatus {
        let child = &mut self.child;
        let log = &self.stderr;
        eventually(deadline, "hookbot to exit", || {
            let seen = child.try_wait().unwrap();
            std::future::ready(
                seen.ok_or_else(|| tail(&std::fs::read_to_string(log).unwrap_or_default())),
            )
        })
        .await
    }

    /// SIGTERM, then the exit status, checked to be 0.
    pub async fn stop(mut self) {
        self.signal("-TERM");
        let status = self.exited(DEADLINE).await;
        assert!(status.success(), "{status:?}\n{}", self.log());
    }

    /// SIGKILL: no shutdown path at all, as when a machine dies.
    pub async fn kill(mut self) {
        self.signal("-KILL");
        self.exited(DEADLINE).await;
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends every line `output` (a child's stdout or stderr) prints to `lines`, from a thread of
/// its own, until the child closes it.
pub fn forward_lines(output: impl Read + Send + 'static, lines: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        BufReader::new(output)
            .lines()
            .map_while(Result::ok)
            .for_each(|line| drop(lines.send(line)))
    });
}

/// The first line of a child's output (arriving on `lines`) that `wanted` accepts; every line
/// read goes to `seen`, which a failure shows.
pub async fn line_where(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    awaited: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    eventually(Duration::from_secs(20), awaited, || {
        let found = lines.try_iter().find_map(|line| {
            seen.push(line.clone());
            wanted(&line).then_some(line)
        });
        std::future::ready(found.ok_or_else(|| format!("output so far:\n{}", seen.join("\n"))))
    })
    .await
}

/// The last lines of a log, for a failure message.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
