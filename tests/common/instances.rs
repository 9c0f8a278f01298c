//! Several `hookbot run` processes on one PostgreSQL database, as machines of one bot: each
//! machine's folder, the key every instance shares, and how a test tells which instance leads
//! and what reached Discord.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use discord_stand_in::Sandbox;
use serde_json::json;

use super::postgres::TestDatabase;
use super::process::{hookbot, Process};
use super::{eventually, message_event, variables_body, BOT_ID, DEPLOYS};

/// A token shaped like Discord's, carrying the bot's id, so no instance waits for Discord to
/// learn it.
pub fn token() -> String {
    let id = base64::engine::general_purpose::STANDARD_NO_PAD.encode(BOT_ID.to_string());
    format!("{id}.instances.test-secret")
}

/// What a test of several instances stands on: a database of its own, the stand-in, and a
/// machine folder for each of `names` (under a temporary root dropped with the rest), or `None`
/// (said on stderr) without a PostgreSQL server to test against.
pub async fn machines<const N: usize>(
    test: &str,
    names: [&str; N],
) -> Option<(TestDatabase, Sandbox, tempfile::TempDir, [PathBuf; N])> {
    let database = TestDatabase::create(test).await?;
    let sandbox = Sandbox::start(super::fixture(), &token()).await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let dirs = names.map(|name| machine(root.path(), name, &sandbox, &database));
    Some((database, sandbox, root, dirs))
}

/// One machine's folder: a config naming the shared database and its own copy of the events.
pub fn machine(root: &Path, name: &str, sandbox: &Sandbox, database: &TestDatabase) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("events")).unwrap();
    std::fs::write(
        dir.join("events/deploy.toml"),
        message_event("deploy", "#deploys", "{service} is live"),
    )
    .unwrap();
    let config = format!(
        r#"[discord]
token = "{token}"
api_url = "{api}"

[http]
listen = "127.0.0.1:0"

[storage]
engine = "postgres"
url = "{url}"
path = "db"

[events]
dir = "events"
"#,
        token = token(),
        api = sandbox.api_url(),
        url = database.url,
    );
    std::fs::write(dir.join("config.toml"), config).unwrap();
    dir
}

/// `hookbot key rotate` on one machine: the new key, for every instance.
pub fn rotate_key(dir: &Path) -> String {
    let rotated = hookbot(dir).args(["key", "rotate"]).output().unwrap();
    assert!(rotated.status.success(), "{rotated:?}");
    String::from_utf8(rotated.stdout).unwrap().trim().to_owned()
}

pub async fn post(
    http: &reqwest::Client,
    base: &str,
    event: &str,
    key: &str,
    service: &str,
) -> u16 {
    http.post(format!("{base}/webhook/{BOT_ID}/{event}"))
        .header("Authorization", key)
        .json(&variables_body(&[("service", json!(service))]))
        .send()
        .await
        .map(|answer| answer.status().as_u16())
        .unwrap_or(0)
}

/// Whether the instance says it leads, on `/metrics`.
pub async fn leads(http: &reqwest::Client, process: &Process) -> bool {
    let Ok(answer) = http.get(format!("{}/metrics", process.base)).send().await else {
        return false;
    };
    let page = answer.text().await.unwrap_or_default();
    page.lines().any(|line| line == "hookbot_leader 1")
}

/// The one instance of `processes` that leads, once exactly one does.
pub async fn leader(http: &reqwest::Client, processes: &[&Process], deadline: Duration) -> usize {
    eventually(deadline, "exactly one instance to lead", || async move {
        let mut leading = Vec::new();
        for (index, process) in processes.iter().enumerate() {
            if leads(http, process).await {
                leading.push(index);
            }
        }
        match leading.as_slice() {
            [one] => Ok(*one),
            other => Err(format!("leading: {other:?}")),
        }
    })
    .await
}

/// How many times each content reached #deploys.
pub fn deliveries(sandbox: &Sandbox) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for message in sandbox.messages_in(DEPLOYS) {
        let content = message["content"].as_str().unwrap_or_default().to_owned();
        *seen.entry(content).or_default() += 1;
    }
    seen
}
