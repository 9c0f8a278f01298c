//! `config.toml` read, defaulted and rejected, problem by problem.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::model::DAY;
use super::*;

fn dir() -> PathBuf {
    PathBuf::from("/srv/hookbot")
}

fn file() -> PathBuf {
    dir().join("config.toml")
}

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, &file(), None)
}

/// The problems of an invalid config, as `LINE:COL: message`.
fn problems(text: &str) -> Vec<String> {
    match load(text) {
        Err(ConfigError::Invalid(problems)) => problems
            .iter()
            .map(|p| {
                assert_eq!(p.file, file());
                format!("{}:{}: {}", p.line, p.col, p.message)
            })
            .collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn empty_file_gives_every_default() {
    let config = load("").unwrap();
    assert_eq!(config, Config::defaults_in(&dir()));
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.http.max_body_bytes, 65536);
    assert_eq!(config.limits.per_event_per_minute, 120);
    assert_eq!(config.storage.path, PathBuf::from("/srv/hookbot/data/db"));
    assert_eq!(config.events.dir, PathBuf::from("/srv/hookbot/data/events"));
    assert_eq!(config.discord, DiscordConfig::default());
    assert_eq!(config.http.public_url, None);
}

#[test]
fn the_contract_example_loads_as_the_defaults() {
    let text = r#"
[discord]
token = ""
api_url = ""

[http]
listen = "127.0.0.1:8080"
public_url = ""
max_body_bytes = 65536

[storage]
path = "data/db"

[events]
dir = "data/events"

[limits]
per_event_per_minute = 120
"#;
    assert_eq!(load(text).unwrap(), Config::defaults_in(&dir()));
}

#[test]
fn every_key_set() {
    let text = r#"
[discord]
token = " tok en "
api_url = "http://127.0.0.1:9999/"

[http]
listen = "[::]:0"
public_url = "https://bot.example.com/hooks//"
max_body_bytes = 1024

[storage]
path = "/var/lib/hookbot/db"

[events]
dir = "../events"

[limits]
per_event_per_minute = 0
"#;
    let config = load(text).unwrap();
    assert_eq!(config.discord.token.as_deref(), Some(" tok en "));
    assert_eq!(
        config.discord.api_url.as_deref(),
        Some("http://127.0.0.1:9999")
    );
    assert_eq!(config.http.listen, "[::]:0".parse::<SocketAddr>().unwrap());
    assert_eq!(
        config.http.public_url.as_deref(),
        Some("https://bot.example.com/hooks")
    );
    assert_eq!(config.http.max_body_bytes, 1024);
    assert_eq!(config.storage.path, PathBuf::from("/var/lib/hookbot/db"));
    assert_eq!(config.events.dir, PathBuf::from("/srv/hookbot/../events"));
    assert_eq!(config.limits.per_event_per_minute, 0);
}

#[test]
fn env_token_overrides_the_file_and_empty_means_none() {
    let text = "[discord]\ntoken = \"from-file\"\n";
    let config = Config::from_toml(text, &file(), Some("from-env".into())).unwrap();
    assert_eq!(config.discord.token.as_deref(), Some("from-env"));
    let config = Config::from_toml(text, &file(), Some(String::new())).unwrap();
    assert_eq!(config.discord.token.as_deref(), Some("from-file"));
    let config = Config::from_toml("", &file(), Some("from-env".into())).unwrap();
    assert_eq!(config.discord.token.as_deref(), Some("from-env"));
    let config = Config::from_toml("[discord]\ntoken = \"\"", &file(), None).unwrap();
    assert_eq!(config.discord.token, None);
}

#[test]
fn relative_paths_are_taken_from_the_config_folder() {
    let text = "[storage]\npath = \"db\"\n[events]\ndir = \"./ev\"\n";
    let config = Config::from_toml(text, Path::new("/etc/hookbot/config.toml"), None).unwrap();
    assert_eq!(config.storage.path, PathBuf::from("/etc/hookbot/db"));
    assert_eq!(config.events.dir, PathBuf::from("/etc/hookbot/ev"));
}

#[test]
fn a_bare_file_name_means_the_working_folder() {
    let config = Config::from_toml("", Path::new("config.toml"), None).unwrap();
    let here = std::env::current_dir().unwrap();
    assert_eq!(config.storage.path, here.join("data/db"));
    assert!(config.events.dir.is_absolute());
}

#[test]
fn unknown_keys_and_tables() {
    assert_eq!(
        problems("[http]\nlisen = \"x\"\n[htp]\nlisten = 1\n"),
        [
            "2:1: unknown key \"lisen\" in [http]; expected one of: listen, metrics_listen, console_listen, public_url, max_body_bytes, trusted_proxies, max_connections, header_read_timeout, idle_timeout",
            "3:2: unknown key \"htp\" in config file; expected one of: discord, http, storage, delivery, events, limits, log, sandbox",
        ]
    );
    assert_eq!(
        problems("token = \"x\"\n"),
        ["1:1: unknown key \"token\" in config file; expected one of: discord, http, storage, delivery, events, limits, log, sandbox"]
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        problems("http = 5\n[limits]\nper_event_per_minute = \"10\"\n[discord]\ntoken = 12\n"),
        [
            "1:8: http must be a table, got 5",
            "3:24: limits.per_event_per_minute must be an integer from 0 (no limit) to 4294967295, got \"10\"",
            "5:9: discord.token must be a string, got 12",
        ]
    );
    assert_eq!(
        problems("[http]\nmax_body_bytes = 1.5\n"),
        ["2:18: http.max_body_bytes must be a positive integer of at most 67108864 (64 MiB), got 1.5"]
    );
}

#[test]
fn bad_values_all_reported_at_their_positions() {
    let text = r#"[discord]
api_url = "discord.com"
[http]
listen = "localhost:8080"
public_url = "https://"
max_body_bytes = 0
[storage]
path = ""
[events]
dir = ""
[limits]
per_event_per_minute = -1
"#;
    assert_eq!(
        problems(text),
        [
            "2:11: discord.api_url must be empty or an http:// or https:// URL such as \"https://bot.example.com\", got \"discord.com\"",
            "4:10: http.listen must be an address IP:PORT such as \"127.0.0.1:8080\" or \"[::]:8080\", got \"localhost:8080\"",
            "5:14: http.public_url must be empty or an http:// or https:// URL such as \"https://bot.example.com\", got \"https://\"",
            "6:18: http.max_body_bytes must be a positive integer of at most 67108864 (64 MiB), got 0",
            "8:8: storage.path must not be empty",
            "10:7: events.dir must not be empty",
            "12:24: limits.per_event_per_minute must be an integer from 0 (no limit) to 4294967295, got -1",
        ]
    );
}

/// `[sandbox] real_http`: off unless set, and a boolean.
#[test]
fn sandbox_real_http() {
    assert!(!load("").unwrap().sandbox_options.real_http);
    let config = load("[sandbox]\nreal_http = true\n").unwrap();
    assert!(config.sandbox_options.real_http);
    let found = problems("[sandbox]\nreal_http = \"yes\"\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("2:"), "{found:?}");
    assert!(found[0].contains("real_http"), "{found:?}");
}

#[test]
fn metrics_listen_and_log_format() {
    let config =
        load("[http]\nmetrics_listen = \"127.0.0.1:9090\"\n[log]\nformat = \"json\"\n").unwrap();
    assert_eq!(
        config.http.metrics_listen,
        Some("127.0.0.1:9090".parse().unwrap())
    );
    assert_eq!(config.log.format, LogFormat::Json);
    let config = load("[http]\nmetrics_listen = \"\"\n[log]\nformat = \"text\"\n").unwrap();
    assert_eq!(config.http.metrics_listen, None);
    assert_eq!(config.log.format, LogFormat::Text);
    assert_eq!(
        problems("[http]\nmetrics_listen = \"localhost\"\n[log]\nformat = \"yaml\"\n"),
        [
            "2:18: http.metrics_listen must be empty (off) or an address IP:PORT such as \"127.0.0.1:9090\", got \"localhost\"",
            "4:10: log.format must be \"text\" or \"json\", got \"yaml\"",
        ]
    );
}

#[test]
fn connection_limits() {
    let defaults = load("").unwrap().http;
    assert_eq!(defaults.max_connections, 512);
    assert_eq!(defaults.header_read_timeout, Duration::from_secs(10));
    assert_eq!(defaults.idle_timeout, Duration::from_secs(60));
    let config = load(
        "[http]\nmax_connections = 64\nheader_read_timeout = \"30s\"\nidle_timeout = \"1h\"\n",
    )
    .unwrap();
    assert_eq!(config.http.max_connections, 64);
    assert_eq!(config.http.header_read_timeout, Duration::from_secs(30));
    assert_eq!(config.http.idle_timeout, Duration::from_secs(3600));
    // The contract bounds the head's timeout at 30 s.
    assert_eq!(
        problems(
            "[http]\nmax_connections = 0\nheader_read_timeout = \"31s\"\nidle_timeout = \"0s\"\n"
        ),
        [
            "2:19: http.max_connections must be a whole number from 1 to 1000000, got 0",
            "3:23: http.header_read_timeout must be from 1s to 30s, got 31s",
            "4:16: http.idle_timeout must be from 1s to 1h, got 0s",
        ]
    );
}

#[test]
fn trusted_proxies_are_addresses() {
    let config = load("[http]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n").unwrap();
    assert_eq!(
        config.http.trusted_proxies,
        [
            "127.0.0.1".parse::<IpAddr>().unwrap(),
            "::1".parse().unwrap()
        ]
    );
    assert_eq!(
        problems("[http]\ntrusted_proxies = [\"nginx\"]\n"),
        ["2:20: http.trusted_proxies entries must be IP addresses such as \"127.0.0.1\", got \"nginx\""]
    );
}

#[test]
fn delivery_and_retention_keys() {
    let config = load(
        "[storage]\nkeep_runs_for = \"7d\"\nkeep_runs = 500\n[delivery]\nmax_pending_runs = 50\nworkers = 2\nmax_attempts = 3\ngive_up_after = \"1h30m\"\n",
    )
    .unwrap();
    assert_eq!(config.storage.keep_runs_for, Duration::from_secs(7 * DAY));
    assert_eq!(config.storage.keep_runs, 500);
    assert_eq!(config.delivery.max_pending_runs, 50);
    assert_eq!(config.delivery.workers, 2);
    assert_eq!(config.delivery.max_attempts, 3);
    assert_eq!(config.delivery.give_up_after, Duration::from_secs(5400));
    assert_eq!(
        problems("[delivery]\nworkers = 0\ngive_up_after = \"10s\"\n[storage]\nkeep_runs_for = \"soon\"\n"),
        [
            "2:11: delivery.workers must be a whole number from 1 to 256, got 0",
            "3:17: delivery.give_up_after must be from 1m to 4w, got 10s",
            "5:17: storage.keep_runs_for: \"soon\" is not a duration; write it like 30s, 10m, 2h, 1d or 1w",
        ]
    );
}

#[test]
fn limits_at_the_edges() {
    let at_max = format!("[http]\nmax_body_bytes = {MAX_BODY_BYTES_LIMIT}\n");
    assert_eq!(
        load(&at_max).unwrap().http.max_body_bytes,
        MAX_BODY_BYTES_LIMIT
    );
    let over = format!("[http]\nmax_body_bytes = {}\n", MAX_BODY_BYTES_LIMIT + 1);
    assert_eq!(problems(&over).len(), 1);
    let big = "[limits]\nper_event_per_minute = 4294967295\n";
    assert_eq!(load(big).unwrap().limits.per_event_per_minute, u32::MAX);
    assert_eq!(
        problems("[limits]\nper_event_per_minute = 4294967296\n").len(),
        1
    );
}

#[test]
fn syntax_error_is_a_problem() {
    assert_eq!(
        problems("[http]\nlisten = \"127.0.0.1:80\n"),
        ["2:23: TOML syntax error: invalid basic string, expected `\"`"]
    );
}

#[test]
fn invalid_displays_one_problem_per_line() {
    let error = load("a = 1\nb = 2\n").unwrap_err();
    let shown = error.to_string();
    assert_eq!(shown.lines().count(), 2);
    assert!(
        shown.starts_with("/srv/hookbot/config.toml:1:1: unknown key \"a\""),
        "{shown}"
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let error = Config::load(&path, false).unwrap_err();
    assert!(matches!(&error, ConfigError::NotFound(p) if p == &path));
    assert_eq!(
        error.to_string(),
        format!(
            "config file {0} not found; copy config.example.toml to {0} or pass --config",
            path.display()
        )
    );
    // With --sandbox: every default, relative to the working folder.
    let config = Config::load(&path, true).unwrap();
    let here = std::env::current_dir().unwrap();
    assert_eq!(config.events.dir, here.join("data/events"));
}

#[test]
fn load_reads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[limits]\nper_event_per_minute = 5\n").unwrap();
    let config = Config::load(&path, false).unwrap();
    assert_eq!(config.limits.per_event_per_minute, 5);
    assert_eq!(config.storage.path, dir.path().join("data/db"));
}

#[test]
fn printed_urls_use_public_url_or_a_reachable_listen_address() {
    let mut config = Config::defaults_in(Path::new("/srv"));
    let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
    assert_eq!(config.public_base_url(any), "http://127.0.0.1:8080");
    let any6: SocketAddr = "[::]:9000".parse().unwrap();
    assert_eq!(config.public_base_url(any6), "http://[::1]:9000");
    config.http.public_url = Some("https://hooks.example.com".into());
    assert_eq!(config.public_base_url(any), "https://hooks.example.com");
}

#[test]
fn the_storage_engine_and_its_url() {
    let config = load("[storage]\nengine = \"sled\"\nurl = \"\"\n").unwrap();
    assert_eq!(config.storage.engine, StorageEngine::Sled);
    assert_eq!(
        config.store_location(),
        StoreLocation::Sled(dir().join("data/db"))
    );

    let url = "postgres://hookbot:secret@db.example.com:5432/hookbot";
    let config = load(&format!(
        "[storage]\nengine = \"postgres\"\nurl = \"{url}\"\n"
    ))
    .unwrap();
    assert_eq!(config.storage.engine, StorageEngine::Postgres);
    let location = config.store_location();
    assert_eq!(location, StoreLocation::Postgres(url.to_owned()));
    // Messages and logs name the database without its password.
    assert_eq!(
        location.to_string(),
        "PostgreSQL postgres://hookbot:***@db.example.com:5432/hookbot"
    );
    // The sandbox never touches the real bot's database, wherever it is.
    let sandboxed = Config {
        sandbox: true,
        ..config
    };
    assert_eq!(
        sandboxed.store_location(),
        StoreLocation::Sled(dir().join("data/db-sandbox"))
    );

    // HOOKBOT_STORAGE_URL overrides the file, and stands in for a missing url.
    let from_env = "postgresql://other@127.0.0.1/hookbot";
    for text in [
        format!("[storage]\nengine = \"postgres\"\nurl = \"{url}\"\n"),
        "[storage]\nengine = \"postgres\"\n".to_owned(),
    ] {
        let config =
            Config::from_toml_with_env(&text, &file(), None, Some(from_env.to_owned())).unwrap();
        assert_eq!(config.storage.url.as_deref(), Some(from_env));
    }
}

#[test]
fn a_bad_storage_engine_or_url_names_the_key() {
    assert_eq!(
        problems("[storage]\nengine = \"mysql\"\n"),
        ["2:10: storage.engine must be \"sled\" or \"postgres\", got \"mysql\""]
    );
    assert_eq!(
        problems("[storage]\nengine = \"postgres\"\n"),
        ["2:10: storage.engine is \"postgres\", so storage.url (or HOOKBOT_STORAGE_URL) must name the database, e.g. \"postgres://hookbot@db.example.com:5432/hookbot\""]
    );
    assert_eq!(
        problems("[storage]\nengine = \"postgres\"\nurl = \"mysql://root:hunter2@db/x\"\n"),
        [
            "2:10: storage.engine is \"postgres\", so storage.url (or HOOKBOT_STORAGE_URL) must name the database, e.g. \"postgres://hookbot@db.example.com:5432/hookbot\"",
            "3:7: storage.url must be empty or a PostgreSQL URL such as \"postgres://hookbot@db.example.com:5432/hookbot\", got \"mysql://root:***@db/x\"",
        ]
    );
    assert_eq!(
        problems("[storage]\nurl = 5432\n"),
        ["2:7: storage.url must be a string, got 5432"]
    );
}

#[test]
fn console_listen_is_off_unless_set() {
    assert_eq!(load("").unwrap().http.console_listen, None);
    let config = load("[http]\nconsole_listen = \"127.0.0.1:0\"\n").unwrap();
    assert_eq!(
        config.http.console_listen,
        Some("127.0.0.1:0".parse().unwrap())
    );
    assert_eq!(
        load("[http]\nconsole_listen = \"\"\n")
            .unwrap()
            .http
            .console_listen,
        None
    );
    assert_eq!(
        problems("[http]\nconsole_listen = \"anywhere\"\n"),
        ["2:18: http.console_listen must be empty (off) or an address IP:PORT such as \"127.0.0.1:8081\", got \"anywhere\""]
    );
}
