//! The `postgres` phase (docs/scaling.md, docs/performance.md): ingest of one hookbot on
//! PostgreSQL against the same hookbot on sled and against bare axum, measured back to back
//! under the same load; then the failover time of two `hookbot run` processes on one database
//! when the leader is killed with SIGKILL.
//!
//! The server is `HOOKBOT_BENCH_POSTGRES_URL`, else `HOOKBOT_TEST_POSTGRES_URL`, else
//! `postgres://postgres@127.0.0.1:5432/postgres`; the phase makes a database of its own there and
//! drops it. Without a server it says so in its rows and measures nothing.

use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use discord_stand_in::{Sandbox, SandboxOptions};
use hookbot::config::Config;

use crate::load::{closed_loop, Target};
use crate::world::{self, channel, Hookbot, CHANNELS};
use crate::{bare_axum, info, row, Row, CONNECTIONS, WARM_UP, WINDOW};

const URL_ENV: [&str; 2] = ["HOOKBOT_BENCH_POSTGRES_URL", "HOOKBOT_TEST_POSTGRES_URL"];
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Kills of the leader measured.
const FAILOVERS: usize = 5;
/// The contract's bound on a takeover.
const TAKEOVER: Duration = Duration::from_secs(15);

pub async fn measure() -> Vec<Row> {
    let server = URL_ENV
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|url| !url.is_empty()))
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
    let Some(database) = Database::create(&server).await else {
        return vec![info(
            "postgres: skipped",
            format!("no PostgreSQL answers at {server} (set HOOKBOT_BENCH_POSTGRES_URL)"),
        )];
    };
    let mut rows = ingest(&database.url).await;
    drop(database);
    // A database of its own, so the backlog the ingest left does not weigh on the takeovers.
    match Database::create(&server).await {
        Some(database) => rows.extend(failover(&database.url).await),
        None => rows.push(info(
            "postgres: failover skipped",
            "the server went away".into(),
        )),
    }
    rows
}

/// The same closed loop against bare axum, hookbot on sled and hookbot on PostgreSQL.
async fn ingest(url: &str) -> Vec<Row> {
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..CHANNELS)
            .map(|i| Bytes::from(world::body(channel(i), &i.to_string())))
            .collect(),
    );
    let load = |addr, path: String, key: String| {
        closed_loop(
            Target {
                addr,
                path,
                key,
                bodies: bodies.clone(),
            },
            CONNECTIONS,
            WARM_UP,
            WINDOW,
        )
    };
    let bare = load(bare_axum().await, "/webhook/1/bench".into(), "key".into()).await;

    let sandbox = world::stand_in(SandboxOptions::default()).await;
    let on_sled = Hookbot::start(&sandbox).await;
    let sled = load(on_sled.running.addr, on_sled.path(), on_sled.key.clone()).await;
    on_sled.stop().await;
    sandbox.shutdown().await;

    let sandbox = world::stand_in(SandboxOptions::default()).await;
    let on_postgres = start_on_postgres(&sandbox, url).await;
    let postgres = load(
        on_postgres.running.addr,
        on_postgres.path(),
        on_postgres.key.clone(),
    )
    .await;
    on_postgres.stop().await;
    sandbox.shutdown().await;

    let share = |rate: f64| rate / bare.per_second() * 100.0;
    let described = |measured: &crate::load::ClosedLoop| {
        format!(
            "{:.0} req/s = {:.1} % of bare{}",
            measured.per_second(),
            share(measured.per_second()),
            match (measured.other, measured.stuck) {
                (0, 0) => String::new(),
                (other, stuck) => format!(" ({other} non-200, {stuck} connections hung)"),
            }
        )
    };
    vec![
        info(
            "postgres: ingest, bare axum",
            format!("{:.0} req/s", bare.per_second()),
        ),
        info("postgres: ingest, hookbot on sled", described(&sled)),
        row(
            "postgres: ingest, hookbot on PostgreSQL",
            format!(
                "{} = {:.0} % of sled",
                described(&postgres),
                postgres.per_second() / sled.per_second() * 100.0
            ),
            "every answer a 200",
            postgres.other == 0 && postgres.stuck == 0,
        ),
    ]
}

/// hookbot in this process, keeping everything in the database at `url`.
async fn start_on_postgres(sandbox: &Sandbox, url: &str) -> Hookbot {
    let dir = tempfile::tempdir().expect("temp dir");
    world::write_config(dir.path(), &sandbox.api_url(), "127.0.0.1:0");
    use_postgres(dir.path(), url);
    let config = Config::load(&dir.path().join("config.toml"), false).expect("config loads");
    let running = hookbot::start(config).await.expect("hookbot starts");
    let discord = tokio::time::timeout(Duration::from_secs(10), running.leadership.leading())
        .await
        .ok()
        .flatten()
        .expect("the only instance leads");
    assert!(
        discord.wait_ready(Duration::from_secs(10)).await,
        "the gateway said READY"
    );
    let key = running.new_api_key.clone().expect("a new API key");
    Hookbot { running, key, dir }
}

/// Rewrites the config `world::write_config` wrote to keep everything in PostgreSQL.
fn use_postgres(dir: &Path, url: &str) {
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "[storage]\n",
        &format!("[storage]\nengine = \"postgres\"\nurl = \"{url}\"\n"),
    );
    std::fs::write(path, text).unwrap();
}

/// Two `hookbot run` processes on the database; the leader is killed with SIGKILL and started
/// again (it follows), [`FAILOVERS`] times: the time from the kill until the other says
/// `hookbot_leader 1` on `/metrics`.
async fn failover(url: &str) -> Vec<Row> {
    let sandbox = world::stand_in(SandboxOptions::default()).await;
    let root = tempfile::tempdir().unwrap();
    let machines: Vec<(std::path::PathBuf, u16)> = ["a", "b"]
        .iter()
        .map(|name| {
            let dir = root.path().join(name);
            let port = crate::memory::free_port();
            world::write_config(&dir, &sandbox.api_url(), &format!("127.0.0.1:{port}"));
            use_postgres(&dir, url);
            (dir, port)
        })
        .collect();
    let client = reqwest::Client::new();
    let mut children: Vec<Option<Child>> = Vec::new();
    for (dir, port) in &machines {
        children.push(Some(world::spawn_hookbot(dir, *port, "hookbot.log").await));
    }
    let mut took = Vec::new();
    for _ in 0..FAILOVERS {
        let Some(leading) = leader(&client, &machines, TAKEOVER).await else {
            break;
        };
        let mut killed = children[leading].take().expect("running");
        let _ = killed.kill();
        let killed_at = Instant::now();
        let _ = killed.wait();
        let other = 1 - leading;
        let one = [machines[other].clone()];
        match leader(&client, &one, TAKEOVER).await {
            Some(_) => took.push(killed_at.elapsed()),
            None => break,
        }
        let (dir, port) = &machines[leading];
        children[leading] = Some(world::spawn_hookbot(dir, *port, "hookbot.log").await);
    }
    for mut child in children.into_iter().flatten() {
        let _ = child.kill();
        let _ = child.wait();
    }
    sandbox.shutdown().await;
    took.sort();
    let ms = |d: &Duration| d.as_millis();
    let result = match (took.first(), took.last()) {
        (Some(fastest), Some(slowest)) => format!(
            "{} of {FAILOVERS} kills: {}–{} ms, median {} ms",
            took.len(),
            ms(fastest),
            ms(slowest),
            ms(&took[took.len() / 2]),
        ),
        _ => "no takeover measured".to_owned(),
    };
    vec![row(
        "postgres: kill -9 of the leader → a new leader",
        result,
        "< 15 s",
        took.len() == FAILOVERS && took.iter().all(|t| *t < TAKEOVER),
    )]
}

/// Which of `machines` leads, once exactly one says so on `/metrics`; `None` after `within`.
async fn leader(
    client: &reqwest::Client,
    machines: &[(std::path::PathBuf, u16)],
    within: Duration,
) -> Option<usize> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let mut leading = Vec::new();
        for (index, (_, port)) in machines.iter().enumerate() {
            let page = match client
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .send()
                .await
            {
                Ok(answer) => answer.text().await.unwrap_or_default(),
                Err(_) => continue,
            };
            if page.lines().any(|line| line == "hookbot_leader 1") {
                leading.push(index);
            }
        }
        if let [one] = leading.as_slice() {
            return Some(*one);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// A database of the phase's own on the server, dropped at the end.
struct Database {
    url: String,
    server: String,
    name: String,
}

impl Database {
    async fn create(server: &str) -> Option<Database> {
        let name = format!("hookbot_bench_{:016x}", rand::random::<u64>());
        sql(server, &format!("CREATE DATABASE {name}")).await.ok()?;
        // The server's URL with this database in it; its query (sslmode…) is kept.
        let (base, query) = server.split_once('?').unwrap_or((server, ""));
        let mut url = format!("{}/{name}", &base[..base.rfind('/')?]);
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        Some(Database {
            url,
            server: server.to_owned(),
            name,
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop may run inside the bench's runtime, which cannot block: a thread of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(sql(
                    &server,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ))
        })
        .join();
    }
}

async fn sql(url: &str, statement: &str) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    let done = client.batch_execute(statement).await;
    drop(client);
    let _ = connection.await;
    done
}
