//! The one fixture module of the integration tests: [`Harness`] (a Discord stand-in, a temporary
//! folder with a config and event files, hookbot started on port 0 against the stand-in), the
//! world it holds (`fixture.rs`), and [`eventually`], the one way a test waits.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

mod eventually;
mod fixture;
pub mod instances;
pub mod logs;
pub mod openapi;
pub mod postgres;
pub mod process;
pub mod signing;

use std::path::{Path, PathBuf};
use std::time::Duration;

use discord_stand_in::{Fixture, Sandbox, SandboxOptions};
use hookbot::config::Config;
use hookbot::run::{Run, RunId, RunStatus};
use serde_json::Value;

pub use eventually::eventually;
pub use fixture::*;

/// CONTRACT §4: the one message every 401 carries, whatever the cause.
pub const UNAUTHORIZED_MESSAGE: &str =
    "the request is not authenticated: check the API key or the signature it carries";

/// How long a test waits for something that should take milliseconds.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub sandbox: Sandbox,
    pub running: Option<hookbot::Running>,
    pub key: String,
    pub base: String,
    pub http: reqwest::Client,
}

impl Harness {
    /// The stand-in with [`fixture`], hookbot with these event files (name, TOML text).
    pub async fn start(events: &[(&str, &str)]) -> Harness {
        Self::start_with(fixture(), events, "", "").await
    }

    /// `http_lines` go into the config's `[http]` table; `extra_tables` are appended (e.g. a
    /// `[limits]` table).
    pub async fn start_with(
        fixture: Fixture,
        events: &[(&str, &str)],
        http_lines: &str,
        extra_tables: &str,
    ) -> Harness {
        Self::start_with_options(
            fixture,
            SandboxOptions::default(),
            events,
            http_lines,
            extra_tables,
        )
        .await
    }

    /// Like [`start_with`](Self::start_with), with the stand-in's options (e.g. Discord's rate
    /// limits enforced).
    pub async fn start_with_options(
        fixture: Fixture,
        options: SandboxOptions,
        events: &[(&str, &str)],
        http_lines: &str,
        extra_tables: &str,
    ) -> Harness {
        let sandbox = Sandbox::start_with(fixture, TOKEN, options)
            .await
            .expect("stand-in starts");
        Self::start_on_with(sandbox, events, http_lines, extra_tables).await
    }

    /// hookbot with these event files against a stand-in the test has already set up (its
    /// portal switches, its answers).
    pub async fn start_on(sandbox: Sandbox, events: &[(&str, &str)]) -> Harness {
        Self::start_on_with(sandbox, events, "", "").await
    }

    async fn start_on_with(
        sandbox: Sandbox,
        events: &[(&str, &str)],
        http_lines: &str,
        extra_tables: &str,
    ) -> Harness {
        init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("events")).unwrap();
        for (name, text) in events {
            std::fs::write(dir.path().join("events").join(name), text).unwrap();
        }
        write_config(dir.path(), &sandbox.api_url(), http_lines, extra_tables);
        let mut harness = Harness {
            dir,
            sandbox,
            running: None,
            key: String::new(),
            base: String::new(),
            http: reqwest::Client::new(),
        };
        harness.boot().await;
        harness
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn config(&self) -> Config {
        Config::load(&self.config_path(), false).expect("test config loads")
    }

    /// Starts hookbot (again) on the same folder and database.
    pub async fn boot(&mut self) {
        let running = hookbot::start(self.config()).await.expect("hookbot starts");
        if let Some(key) = &running.new_api_key {
            self.key = key.clone();
        }
        self.base = format!("http://{}", running.addr);
        // At once with the embedded store; within a lock poll when the store is shared.
        let discord = tokio::time::timeout(DEADLINE, running.leadership.leading())
            .await
            .ok()
            .flatten()
            .expect("this instance leads");
        assert!(discord.wait_ready(DEADLINE).await, "the gateway said READY");
        self.running = Some(running);
    }

    /// Stops hookbot, leaving the stand-in and the folder.
    pub async fn halt(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// Stops everything, after checking every request body that reached the stand-in against
    /// Discord's spec: no test can forget that check.
    pub async fn stop(mut self) {
        self.assert_requests_match_discord_spec();
        self.halt().await;
        self.sandbox.shutdown().await;
    }

    pub fn webhook_url(&self, event_id: &str) -> String {
        format!("{}/webhook/{BOT_ID}/{event_id}", self.base)
    }

    /// POSTs `body` (JSON text as given) with the API key; answers (status, JSON body, headers).
    pub async fn post_raw(&self, event_id: &str, body: &str) -> Answer {
        let request = self
            .http
            .post(self.webhook_url(event_id))
            .header("Authorization", &self.key)
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        Answer::from(request.send().await.expect("request sent")).await
    }

    pub async fn post(&self, event_id: &str, body: Value) -> Answer {
        self.post_raw(event_id, &body.to_string()).await
    }

    /// POSTs `body` as given to `event_id` (with `query`, e.g. `?a=b`), with exactly these
    /// headers: no key unless they hold one, as a provider signing its deliveries sends them.
    pub async fn send(
        &self,
        event_id: &str,
        query: &str,
        body: &[u8],
        headers: &[(&str, String)],
    ) -> Answer {
        let mut request = self
            .http
            .post(format!("{}{query}", self.webhook_url(event_id)))
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        Answer::from(request.send().await.expect("request sent")).await
    }

    /// Triggers `event_id` with `variables` (name → value) and waits for the run to finish.
    pub async fn trigger(&self, event_id: &str, variables: &[(&str, Value)]) -> Run {
        let answer = self.post(event_id, variables_body(variables)).await;
        assert_eq!(answer.status, 200, "webhook accepted: {}", answer.body);
        let run = answer.body["run"].as_str().expect("run id").to_owned();
        self.wait_run(&run).await
    }

    /// The run a 200 started, once finished, checked to have succeeded.
    pub async fn succeeded(&self, answer: &Answer) -> Run {
        assert_eq!(answer.status, 200, "accepted: {}", answer.body);
        let id = answer.body["run"]
            .as_str()
            .unwrap_or_else(|| panic!("a run: {}", answer.body));
        let run = self.wait_run(id).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
        run
    }

    /// Waits until the run has finished, with a deadline.
    pub async fn wait_run(&self, run_id: &str) -> Run {
        let id = RunId::parse(run_id).expect("run id parses");
        let store = &self.running.as_ref().expect("hookbot running").store;
        eventually(DEADLINE, format!("run {run_id} to finish"), || async move {
            store
                .run(id)
                .await
                .expect("store readable")
                .filter(|run| run.status != RunStatus::Pending)
        })
        .await
    }

    /// Every request body the bot sent to the stand-in, checked against Discord's OpenAPI spec.
    pub fn assert_requests_match_discord_spec(&self) {
        let spec = openapi::DiscordSpec::get();
        let mut failures = Vec::new();
        for request in self.sandbox.requests() {
            if let Err(errors) =
                spec.validate(&request.method, &request.path, request.body.as_ref())
            {
                failures.push(format!("{} {}: {errors:?}", request.method, request.path));
            }
        }
        assert!(
            failures.is_empty(),
            "requests Discord would refuse:\n{}",
            failures.join("\n")
        );
    }
}

/// `{"variables":[{"name","variable","value"}…]}` as BotGhost sends it.
pub fn variables_body(variables: &[(&str, Value)]) -> Value {
    let items: Vec<Value> = variables
        .iter()
        .map(|(name, value)| serde_json::json!({"name": name, "variable": format!("{{{name}}}"), "value": value}))
        .collect();
    serde_json::json!({ "variables": items })
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub async fn from(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body, got {text:?}"))
        };
        Answer {
            status,
            body,
            headers,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The contract's error shape.
    pub fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "status; body {}", self.body);
        assert_eq!(self.body["ok"], Value::Bool(false), "body {}", self.body);
        assert_eq!(self.body["error"], error, "body {}", self.body);
        let message = self.body["message"].as_str().expect("message is a string");
        assert!(!message.is_empty());
    }
}

pub fn write_config(dir: &Path, api_url: &str, http_lines: &str, extra_tables: &str) {
    let text = format!(
        r#"[discord]
token = "{TOKEN}"
api_url = "{api_url}"

[http]
listen = "127.0.0.1:0"
{http_lines}

[storage]
path = "db"

[events]
dir = "events"
{extra_tables}
"#
    );
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

/// Logs of a failing test help; `RUST_LOG=debug cargo test` shows more. The listener's lines
/// are also kept for [`logged`], whatever `RUST_LOG` says.
pub fn init_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let shown = tracing_subscriber::fmt::layer()
        .with_test_writer()
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        );
    let kept = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(logs::Capture)
        .with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("hookbot::http", tracing::Level::INFO)
                .with_target("hookbot::discord", tracing::Level::INFO)
                .with_target("hookbot::gateway_runs", tracing::Level::INFO),
        );
    let _ = tracing_subscriber::registry()
        .with(shown)
        .with(kept)
        .try_init();
}
