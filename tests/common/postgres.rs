//! PostgreSQL for the integration tests: a database of its own for each test, on the server
//! `HOOKBOT_TEST_POSTGRES_URL` names (`.ci/run` sets it), dropped when the test ends, and a
//! [`Harness`] whose hookbot keeps everything there. Without the variable a test says in one
//! line that it was skipped, and why.

use std::path::Path;

use discord_stand_in::{Sandbox, SandboxOptions};

use super::{fixture, init_logs, write_config, Harness, TOKEN};

pub const TEST_URL_ENV: &str = "HOOKBOT_TEST_POSTGRES_URL";

/// A database made for one test; dropped (with every connection to it) when this is.
pub struct TestDatabase {
    pub url: String,
    pub name: String,
    admin_url: String,
}

impl TestDatabase {
    /// A new empty database, or `None` (said on stderr) without `HOOKBOT_TEST_POSTGRES_URL`.
    pub async fn create(test: &str) -> Option<TestDatabase> {
        let Some(admin_url) = std::env::var(TEST_URL_ENV).ok().filter(|u| !u.is_empty()) else {
            eprintln!(
                "skipped {test} on PostgreSQL: {TEST_URL_ENV} is not set (set it to a server's URL, e.g. postgres://postgres@127.0.0.1:5432/postgres, to run it)"
            );
            return None;
        };
        let name = format!("hookbot_it_{:016x}", rand::random::<u64>());
        admin(&admin_url, &format!("CREATE DATABASE {name}")).await;
        let (base, _) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let server = &base[..base.rfind('/').expect("a URL with a database")];
        Some(TestDatabase {
            url: format!("{server}/{name}"),
            name,
            admin_url,
        })
    }

    /// Takes the database away from hookbot, as an outage would: new connections are refused
    /// and the open ones are ended. [`restore`](Self::restore) gives it back.
    pub async fn take_away(&self) {
        let name = &self.name;
        admin(
            &self.admin_url,
            &format!(
                "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
            ),
        )
        .await;
    }

    pub async fn restore(&self) {
        let name = &self.name;
        admin(
            &self.admin_url,
            &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
        )
        .await;
    }
}

/// Runs `sql` on the server's own database.
async fn admin(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|error| {
            panic!("the test PostgreSQL server at {url} does not answer: {error}")
        });
    let connection = tokio::spawn(connection);
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    drop(client);
    let _ = connection.await;
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime the test may have: a thread with its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(admin(
                    &url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ))
        })
        .join();
    }
}

/// Rewrites the config in `dir` (from [`write_config`]) to keep everything in PostgreSQL at `url`.
pub fn use_postgres(dir: &Path, url: &str) {
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "[storage]\n",
        &format!("[storage]\nengine = \"postgres\"\nurl = \"{url}\"\n"),
    );
    std::fs::write(path, text).unwrap();
}

impl Harness {
    /// [`Harness::start`], with hookbot keeping everything in the database at `url`.
    pub async fn start_on_postgres(events: &[(&str, &str)], url: &str) -> Harness {
        init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = Sandbox::start_with(fixture(), TOKEN, SandboxOptions::default())
            .await
            .expect("stand-in starts");
        std::fs::create_dir_all(dir.path().join("events")).unwrap();
        for (name, text) in events {
            std::fs::write(dir.path().join("events").join(name), text).unwrap();
        }
        write_config(dir.path(), &sandbox.api_url(), "", "");
        use_postgres(dir.path(), url);
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
}
