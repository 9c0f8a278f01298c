//! The configuration as hookbot uses it: one struct per section, and every default.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// `[sandbox]`: what `--sandbox` does besides playing Discord.
    pub sandbox_options: SandboxConfig,
}

/// `[sandbox]`, read only with `--sandbox`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SandboxConfig {
    /// `sandbox.real_http`: `http_request` calls the URLs the events name. Off by default: they
    /// go to the stand-in's local echo, so trying an event never reaches a production API.
    pub real_http: bool,
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
    /// Where the web console is served (`src/http/console/`). `None` (the key empty or absent):
    /// nowhere, except that `--sandbox` serves it on loopback ([`SANDBOX_CONSOLE_LISTEN`]).
    pub console_listen: Option<SocketAddr>,
    /// Connections open at once on the webhook listener; past it the one idle longest is closed
    /// to make room, or, with none idle, new ones wait. Lowered at start to fit the open-files
    /// limit.
    pub max_connections: usize,
    /// A connection must send its whole first request head within this long of opening.
    pub header_read_timeout: Duration,
    /// A keep-alive connection is closed after this long without a new request.
    pub idle_timeout: Duration,
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
    /// `storage.engine`: where hookbot keeps its records.
    pub engine: StorageEngine,
    /// `storage.url` (`HOOKBOT_STORAGE_URL` overrides it): the PostgreSQL connection URL. Always
    /// `Some` once a config with `engine = "postgres"` has loaded; `None` when empty.
    pub url: Option<String>,
    /// The sled database (`engine = "sled"`); the admin socket sits beside it either way.
    pub path: PathBuf,
    /// Finished runs older than this are deleted.
    pub keep_runs_for: Duration,
    /// At most this many finished runs are kept, the newest.
    pub keep_runs: u64,
}

/// `storage.engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageEngine {
    /// Embedded, one process: the default.
    #[default]
    Sled,
    /// A PostgreSQL server at `storage.url`: several instances can share it.
    Postgres,
}

impl std::str::FromStr for StorageEngine {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "sled" => Ok(StorageEngine::Sled),
            "postgres" => Ok(StorageEngine::Postgres),
            _ => Err(()),
        }
    }
}

/// Where the store lives, as the engine needs to know it: what [`Config::store_location`]
/// answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The sled database folder.
    Sled(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl std::fmt::Display for StoreLocation {
    /// The sled folder, or the PostgreSQL URL without its password: fit for messages and logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sled(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(url) => write!(f, "PostgreSQL {}", redact_password(url)),
        }
    }
}

/// A URL with its password (if any) as `***`, so a message or a log line never shows it.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
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

/// Seconds in a day, for the defaults and bounds written in days.
pub(super) const DAY: u64 = 24 * 60 * 60;

/// Where `--sandbox` serves the console when `http.console_listen` is unset; when that port is
/// taken, an OS-chosen port on loopback.
pub const SANDBOX_CONSOLE_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8081);

/// The variable that overrides `discord.token`, so the token can stay out of the file.
pub const TOKEN_ENV: &str = "HOOKBOT_DISCORD_TOKEN";
/// The variable that overrides `storage.url`, so the database password can stay out of the file.
pub const STORAGE_URL_ENV: &str = "HOOKBOT_STORAGE_URL";

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
                console_listen: None,
                max_connections: 512,
                header_read_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
            },
            storage: StorageConfig {
                engine: StorageEngine::Sled,
                url: None,
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
            sandbox_options: SandboxConfig::default(),
        }
    }

    /// The database hookbot opens: `storage.path`, or with `--sandbox` its own one beside it
    /// (`data/db-sandbox`), so trying things out never touches a real bot's key, runs or events.
    /// The admin socket sits beside whichever it is.
    pub fn database_path(&self) -> PathBuf {
        if !self.sandbox {
            return self.storage.path.clone();
        }
        let mut name = self
            .storage
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "db".into());
        name.push("-sandbox");
        self.storage.path.with_file_name(name)
    }

    /// The store hookbot opens: the sled database at [`database_path`](Self::database_path), or
    /// the PostgreSQL database at `storage.url`. With `--sandbox` always the sandbox's own sled
    /// database: trying things out never touches a real bot's key, runs or events, wherever
    /// they are kept.
    pub fn store_location(&self) -> StoreLocation {
        match (&self.storage.engine, &self.storage.url) {
            (StorageEngine::Postgres, Some(url)) if !self.sandbox => {
                StoreLocation::Postgres(url.clone())
            }
            _ => StoreLocation::Sled(self.database_path()),
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
}
