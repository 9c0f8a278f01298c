//! A PostgreSQL database of its own for each test: made on the server that
//! `HOOKBOT_TEST_POSTGRES_URL` names and dropped when the test ends. Without the variable, the
//! PostgreSQL tests say they were skipped and why, and pass; `.ci/run` always sets it.

/// The variable naming the PostgreSQL server the tests use (any database on it: each test
/// makes its own beside it).
pub const TEST_URL_ENV: &str = "HOOKBOT_TEST_POSTGRES_URL";

/// A database made for one test; dropped (with every connection to it) when this is.
pub struct TestDatabase {
    /// The URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// A new empty database, or `None` (with one line saying so on stderr) when
    /// `HOOKBOT_TEST_POSTGRES_URL` is not set. `test` names the test in the line.
    pub async fn create(test: &str) -> Option<TestDatabase> {
        let Some(admin_url) = std::env::var(TEST_URL_ENV).ok().filter(|u| !u.is_empty()) else {
            eprintln!(
                "skipped {test} on PostgreSQL: {TEST_URL_ENV} is not set (set it to a server's URL, e.g. postgres://postgres@127.0.0.1:5432/postgres, to run it)"
            );
            return None;
        };
        let name = format!("hookbot_test_{:016x}", rand::random::<u64>());
        let admin = connect(&admin_url).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|error| {
                panic!("cannot create a test database at {admin_url}: {error}")
            });
        let url = with_database(&admin_url, &name);
        Some(TestDatabase {
            url,
            admin_url,
            name,
        })
    }
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |at| at + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|error| {
            panic!("the test PostgreSQL server at {url} does not answer: {error}")
        });
    tokio::spawn(connection);
    client
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let named = self.name.clone();
        // Drop runs outside any runtime the test may have: a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let admin = connect(&admin_url).await;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop the test database {named}: {error}");
        }
    }
}
