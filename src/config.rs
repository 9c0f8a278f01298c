//! `config.toml`: defaults, environment overrides, validation with `FILE:LINE:COL` errors.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::DeTable;
use toml::Spanned;

use crate::problem::{Checker, Problem, TableReader};

/// The whole configuration, every path already made absolute (relative paths are taken from the
/// folder that holds the config file; with no file, from the working folder).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub discord: DiscordConfig,
    pub http: HttpConfig,
    pub storage: StorageConfig,
    pub events: EventsConfig,
    pub limits: LimitsConfig,
    pub delivery: DeliveryConfig,
    pub log: LogConfig,
    /// `hookbot run --sandbox`: a local Discord stand-in plays Discord. Not a file key.
    pub sandbox: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DiscordConfig {
    /// The bot token, taken as given (`HOOKBOT_DISCORD_TOKEN` overrides the file). `None` when
    /// neither gives a non-empty one.
    pub token: Option<String>,
    /// Base URL that replaces `https://discord.com` (no trailing slash). `None` when empty.
    pub api_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// How the outside world reaches the listener, no trailing slash. `None` when empty.
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the real client (for the failed-auth limit).
    pub trusted_proxies: Vec<IpAddr>,
    /// Where `/healthz`, `/readyz` and `/metrics` are served instead of `listen`. `None` (the key
    /// empty or absent): on `listen`, beside the webhooks.
    pub metrics_listen: Option<SocketAddr>,
}

/// `[log]`: how log lines are written (to stderr).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogConfig {
    pub format: LogFormat,
}

/// `log.format`; `--log-format` overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "the log format is \"text\" or \"json\", got {other:?}"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StorageConfig {
    pub path: PathBuf,
    /// Finished runs older than this are deleted.
    pub keep_runs_for: Duration,
    /// At most this many finished runs are kept, the newest.
    pub keep_runs: u64,
}

/// How runs are delivered: the queue's bound, the workers, and when a run is given up on.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
    /// Above this many pending runs, new webhooks get 503 with `Retry-After`.
    pub max_pending_runs: u64,
    /// Runs carried out at the same time.
    pub workers: u64,
    /// Attempts at an action that keeps failing transiently (5xx, timeout, 429) before the run is
    /// dead-lettered.
    pub max_attempts: u64,
    /// A run still failing transiently this long after it was accepted is dead-lettered.
    pub give_up_after: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventsConfig {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LimitsConfig {
    /// 0 turns the limit off.
    pub per_event_per_minute: u32,
}

/// The largest `http.max_body_bytes` accepted: webhook bodies are small, and the listener holds a
/// whole body in memory.
pub const MAX_BODY_BYTES_LIMIT: usize = 64 * 1024 * 1024;

const DAY: u64 = 24 * 60 * 60;

/// The variable that overrides `discord.token`, so the token can stay out of the file.
pub const TOKEN_ENV: &str = "HOOKBOT_DISCORD_TOKEN";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "config file {} not found; copy config.example.toml to {} or pass --config",
        .0.display(),
        .0.display()
    )]
    NotFound(PathBuf),
    #[error("cannot read config file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Every problem found, in file order.
    #[error("{}", display_lines(.0))]
    Invalid(Vec<Problem>),
}

fn display_lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Every default, with relative paths taken from `dir`.
    pub fn defaults_in(dir: &Path) -> Config {
        Config {
            discord: DiscordConfig::default(),
            http: HttpConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                public_url: None,
                max_body_bytes: 65536,
                trusted_proxies: Vec::new(),
                metrics_listen: None,
            },
            storage: StorageConfig {
                path: dir.join("data/db"),
                keep_runs_for: Duration::from_secs(30 * DAY),
                keep_runs: 100_000,
            },
            events: EventsConfig {
                dir: dir.join("data/events"),
            },
            limits: LimitsConfig {
                per_event_per_minute: 120,
            },
            delivery: DeliveryConfig {
                max_pending_runs: 10_000,
                workers: 8,
                max_attempts: 8,
                give_up_after: Duration::from_secs(DAY),
            },
            log: LogConfig::default(),
            sandbox: false,
        }
    }

    /// `http.public_url`, or `listen` made reachable from this machine (an unspecified address
    /// becomes loopback), for the URLs hookbot prints.
    pub fn public_base_url(&self, listen: SocketAddr) -> String {
        if let Some(url) = &self.http.public_url {
            return url.clone();
        }
        let ip = match listen.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, listen.port()))
    }

    /// Reads `path`. A missing file is [`ConfigError::NotFound`], except with `sandbox`, where
    /// it means every default with paths relative to the working folder. A non-empty
    /// `HOOKBOT_DISCORD_TOKEN` overrides `discord.token` either way.
    pub fn load(path: &Path, sandbox: bool) -> Result<Config, ConfigError> {
        let env_token = std::env::var(TOKEN_ENV).ok();
        let mut config = match std::fs::read_to_string(path) {
            Ok(text) => Config::from_toml(&text, path, env_token),
            Err(error) if error.kind() == ErrorKind::NotFound && sandbox => {
                let here = std::env::current_dir().map_err(|source| ConfigError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
                let mut config = Config::defaults_in(&here);
                config.discord.token = non_empty(env_token);
                Ok(config)
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {
                Err(ConfigError::NotFound(path.to_path_buf()))
            }
            Err(source) => Err(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }?;
        config.sandbox = sandbox;
        Ok(config)
    }

    /// Parses and validates the text of the config file `file` (named in problems as given;
    /// relative paths in it are taken from its folder). `env_token`, when non-empty, replaces
    /// `discord.token`. Reports every problem, not just the first.
    pub fn from_toml(
        text: &str,
        file: &Path,
        env_token: Option<String>,
    ) -> Result<Config, ConfigError> {
        let base_dir = config_folder(file).map_err(|source| ConfigError::Io {
            path: file.to_path_buf(),
            source,
        })?;
        let mut config = Config::defaults_in(&base_dir);
        let checker = Checker::new(file, text);
        if let Some(document) = checker.parse() {
            read_config(&checker, &document, &base_dir, &mut config);
        }
        if checker.has_problems() {
            return Err(ConfigError::Invalid(checker.into_problems()));
        }
        if let Some(token) = non_empty(env_token) {
            config.discord.token = Some(token);
        }
        Ok(config)
    }
}

/// The absolute folder holding the config file (`config.toml` alone means the working folder).
fn config_folder(file: &Path) -> std::io::Result<PathBuf> {
    let folder = file.parent().unwrap_or(Path::new(""));
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    std::path::absolute(folder).map(|absolute| tidy(&absolute))
}

/// Drops `.` components (`/srv/./data` → `/srv/data`) so printed paths read cleanly. `..` stays:
/// resolving it without the file system would be wrong across symlinks.
fn tidy(path: &Path) -> PathBuf {
    path.components()
        .filter(|part| !matches!(part, std::path::Component::CurDir))
        .collect()
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.is_empty())
}

/// Fills `config` from the document, leaving defaults where keys are absent and recording a
/// problem for every bad key.
fn read_config(
    checker: &Checker<'_>,
    document: &Spanned<DeTable<'_>>,
    base_dir: &Path,
    config: &mut Config,
) {
    let mut root = checker.root(document, "config file");

    if let Some(mut discord) = section(&mut root, "discord") {
        if let Ok(Some(token)) = discord.optional_string("token") {
            config.discord.token = non_empty(Some(token.get_ref().to_string()));
        }
        if let Ok(Some(api_url)) = discord.optional_string("api_url") {
            config.discord.api_url = read_base_url(&discord, "api_url", &api_url);
        }
        discord.finish();
    }

    if let Some(mut http) = section(&mut root, "http") {
        if let Ok(Some(listen)) = http.optional_string("listen") {
            match listen.get_ref().parse::<SocketAddr>() {
                Ok(address) => config.http.listen = address,
                Err(_) => {
                    http.report(
                        listen.span(),
                        format!(
                            "http.listen must be an address IP:PORT such as \"127.0.0.1:8080\" or \
                             \"[::]:8080\", got {:?}",
                            listen.get_ref()
                        ),
                    );
                }
            }
        }
        if let Ok(Some(metrics_listen)) = http.optional_string("metrics_listen") {
            if !metrics_listen.get_ref().is_empty() {
                match metrics_listen.get_ref().parse::<SocketAddr>() {
                    Ok(address) => config.http.metrics_listen = Some(address),
                    Err(_) => {
                        http.report(
                            metrics_listen.span(),
                            format!(
                                "http.metrics_listen must be empty (off) or an address IP:PORT \
                                 such as \"127.0.0.1:9090\", got {:?}",
                                metrics_listen.get_ref()
                            ),
                        );
                    }
                }
            }
        }
        if let Ok(Some(public_url)) = http.optional_string("public_url") {
            config.http.public_url = read_base_url(&http, "public_url", &public_url);
        }
        let max_body_message =
            format!("a positive integer of at most {MAX_BODY_BYTES_LIMIT} (64 MiB)");
        if let Ok(Some(max_body)) = http.optional_integer("max_body_bytes", &max_body_message) {
            match usize::try_from(*max_body.get_ref()) {
                Ok(bytes) if (1..=MAX_BODY_BYTES_LIMIT).contains(&bytes) => {
                    config.http.max_body_bytes = bytes;
                }
                _ => {
                    http.report(
                        max_body.span(),
                        format!(
                            "http.max_body_bytes must be {max_body_message}, got {}",
                            max_body.get_ref()
                        ),
                    );
                }
            }
        }
        if let Ok(Some(proxies)) = http.optional_array("trusted_proxies") {
            for entry in proxies.get_ref().iter() {
                let parsed = match entry.get_ref() {
                    toml::de::DeValue::String(text) => text.parse::<IpAddr>().ok(),
                    _ => None,
                };
                match parsed {
                    Some(ip) => config.http.trusted_proxies.push(ip),
                    None => {
                        http.report(
                            entry.span(),
                            format!(
                                "http.trusted_proxies entries must be IP addresses such as \"127.0.0.1\", got {}",
                                crate::problem::describe(entry.get_ref())
                            ),
                        );
                    }
                }
            }
        }
        http.finish();
    }

    if let Some(mut storage) = section(&mut root, "storage") {
        if let Some(path) = read_path(&mut storage, "path", base_dir) {
            config.storage.path = path;
        }
        let hour = Duration::from_secs(60 * 60);
        let year = Duration::from_secs(52 * 7 * DAY);
        if let Some(age) = read_duration(&mut storage, "keep_runs_for", hour, year) {
            config.storage.keep_runs_for = age;
        }
        if let Some(count) = read_count(&mut storage, "keep_runs", 100, 100_000_000) {
            config.storage.keep_runs = count;
        }
        storage.finish();
    }

    if let Some(mut delivery) = section(&mut root, "delivery") {
        if let Some(count) = read_count(&mut delivery, "max_pending_runs", 1, 100_000_000) {
            config.delivery.max_pending_runs = count;
        }
        if let Some(count) = read_count(&mut delivery, "workers", 1, 256) {
            config.delivery.workers = count;
        }
        if let Some(count) = read_count(&mut delivery, "max_attempts", 1, 1000) {
            config.delivery.max_attempts = count;
        }
        let minute = Duration::from_secs(60);
        let month = Duration::from_secs(28 * DAY);
        if let Some(age) = read_duration(&mut delivery, "give_up_after", minute, month) {
            config.delivery.give_up_after = age;
        }
        delivery.finish();
    }

    if let Some(mut events) = section(&mut root, "events") {
        if let Some(dir) = read_path(&mut events, "dir", base_dir) {
            config.events.dir = dir;
        }
        events.finish();
    }

    if let Some(mut limits) = section(&mut root, "limits") {
        let expected = "an integer from 0 (no limit) to 4294967295";
        if let Ok(Some(per_minute)) = limits.optional_integer("per_event_per_minute", expected) {
            match u32::try_from(*per_minute.get_ref()) {
                Ok(count) => config.limits.per_event_per_minute = count,
                Err(_) => {
                    limits.report(
                        per_minute.span(),
                        format!(
                            "limits.per_event_per_minute must be {expected}, got {}",
                            per_minute.get_ref()
                        ),
                    );
                }
            }
        }
        limits.finish();
    }

    if let Some(mut log) = section(&mut root, "log") {
        if let Ok(Some(format)) = log.optional_string("format") {
            match format.get_ref().parse::<LogFormat>() {
                Ok(format) => config.log.format = format,
                Err(_) => {
                    log.report(
                        format.span(),
                        format!(
                            "log.format must be \"text\" or \"json\", got {:?}",
                            format.get_ref()
                        ),
                    );
                }
            }
        }
        log.finish();
    }

    root.finish();
}

/// An optional whole number in `min..=max`; a problem naming the key otherwise.
fn read_count(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    min: u64,
    max: u64,
) -> Option<u64> {
    let expected = format!("a whole number from {min} to {max}");
    let value = table.optional_integer(key, &expected).ok()??;
    match u64::try_from(*value.get_ref()) {
        Ok(count) if (min..=max).contains(&count) => Some(count),
        _ => {
            table.report(
                value.span(),
                format!(
                    "{} must be {expected}, got {}",
                    table.key_name(key),
                    value.get_ref()
                ),
            );
            None
        }
    }
}

/// An optional duration written like `"30s"`, `"10m"`, `"24h"`, `"30d"`, in `min..=max`.
fn read_duration(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    min: Duration,
    max: Duration,
) -> Option<Duration> {
    use crate::lang::duration::{format_duration, parse_duration};
    let value = table.optional_string(key).ok()??;
    let problem = match parse_duration(value.get_ref()) {
        Ok(duration) if (min..=max).contains(&duration) => return Some(duration),
        Ok(duration) => format!(
            "{} must be from {} to {}, got {}",
            table.key_name(key),
            format_duration(min),
            format_duration(max),
            format_duration(duration)
        ),
        Err(error) => format!("{}: {error}", table.key_name(key)),
    };
    table.report(value.span(), problem);
    None
}

/// A reader for the optional `[name]` table, naming its keys `name.key`.
fn section<'a, 't>(
    root: &mut TableReader<'a, 't>,
    name: &'static str,
) -> Option<TableReader<'a, 't>> {
    // A section that is not a table is reported by `optional_table`; its defaults stay.
    let reader = root.optional_table(name, format!("[{name}]")).ok()??;
    Some(reader.with_key_prefix(format!("{name}.")))
}

/// An optional base URL: empty means `None`; otherwise `http://` or `https://` with a host,
/// returned without trailing slashes so paths can be appended with `/`.
fn read_base_url(table: &TableReader<'_, '_>, key: &str, value: &Spanned<&str>) -> Option<String> {
    let url = *value.get_ref();
    if url.is_empty() {
        return None;
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let has_host = rest.is_some_and(|rest| {
        !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace)
    });
    if !has_host {
        table.report(
            value.span(),
            format!(
                "{} must be empty or an http:// or https:// URL such as \"https://bot.example.com\", got {url:?}",
                table.key_name(key)
            ),
        );
        return None;
    }
    Some(url.trim_end_matches('/').to_owned())
}

/// A non-empty path; a relative one is taken from `base_dir`.
fn read_path(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    base_dir: &Path,
) -> Option<PathBuf> {
    let value = table.optional_string(key).ok()??;
    if value.get_ref().is_empty() {
        table.report(
            value.span(),
            format!("{} must not be empty", table.key_name(key)),
        );
        return None;
    }
    // `join` keeps an absolute path as it is.
    Some(tidy(&base_dir.join(value.get_ref())))
}

#[cfg(test)]
mod tests {
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
                "2:1: unknown key \"lisen\" in [http]; expected one of: listen, metrics_listen, public_url, max_body_bytes, trusted_proxies",
                "3:2: unknown key \"htp\" in config file; expected one of: discord, http, storage, delivery, events, limits, log",
            ]
        );
        assert_eq!(
            problems("token = \"x\"\n"),
            ["1:1: unknown key \"token\" in config file; expected one of: discord, http, storage, delivery, events, limits, log"]
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

    #[test]
    fn metrics_listen_and_log_format() {
        let config =
            load("[http]\nmetrics_listen = \"127.0.0.1:9090\"\n[log]\nformat = \"json\"\n")
                .unwrap();
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
}
