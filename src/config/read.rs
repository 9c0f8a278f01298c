//! The document's sections read into a [`Config`], each key checked where it stands so a
//! problem points at the value to fix.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use toml::de::DeTable;
use toml::Spanned;

use super::model::{Config, LogFormat, StorageEngine, DAY, MAX_BODY_BYTES_LIMIT, STORAGE_URL_ENV};
use super::values::{non_empty, read_base_url, read_count, read_duration, read_path, section};
use crate::problem::Checker;

/// Fills `config` from the document, leaving defaults where keys are absent and recording a
/// problem for every bad key. `env_storage_url` (`HOOKBOT_STORAGE_URL`, when non-empty) stands
/// in for `storage.url`.
pub(super) fn read_config(
    checker: &Checker<'_>,
    document: &Spanned<DeTable<'_>>,
    base_dir: &Path,
    env_storage_url: Option<&str>,
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
        if let Ok(Some(console_listen)) = http.optional_string("console_listen") {
            if !console_listen.get_ref().is_empty() {
                match console_listen.get_ref().parse::<SocketAddr>() {
                    Ok(address) => config.http.console_listen = Some(address),
                    Err(_) => {
                        http.report(
                            console_listen.span(),
                            format!(
                                "http.console_listen must be empty (off) or an address IP:PORT \
                                 such as \"127.0.0.1:8081\", got {:?}",
                                console_listen.get_ref()
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
        if let Some(count) = read_count(&mut http, "max_connections", 1, 1_000_000) {
            config.http.max_connections = usize::try_from(count).unwrap_or(usize::MAX);
        }
        // The contract bounds the head's timeout at 30 s; a slow client gets no more.
        let second = Duration::from_secs(1);
        if let Some(timeout) = read_duration(&mut http, "header_read_timeout", second, 30 * second)
        {
            config.http.header_read_timeout = timeout;
        }
        if let Some(timeout) = read_duration(&mut http, "idle_timeout", second, 3600 * second) {
            config.http.idle_timeout = timeout;
        }
        http.finish();
    }

    if let Some(mut storage) = section(&mut root, "storage") {
        read_storage_engine(&mut storage, env_storage_url, config);
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

    if let Some(mut sandbox) = section(&mut root, "sandbox") {
        if let Ok(Some(real_http)) = sandbox.optional_bool("real_http") {
            config.sandbox_options.real_http = real_http;
        }
        sandbox.finish();
    }

    root.finish();
}

/// `storage.engine` and `storage.url`: a PostgreSQL engine needs a `postgres://` URL, from the
/// file or from `HOOKBOT_STORAGE_URL`.
fn read_storage_engine(
    storage: &mut crate::problem::TableReader<'_, '_>,
    env_storage_url: Option<&str>,
    config: &mut Config,
) {
    let mut engine_span = None;
    if let Ok(Some(engine)) = storage.optional_string("engine") {
        match engine.get_ref().parse::<StorageEngine>() {
            Ok(kind) => {
                config.storage.engine = kind;
                engine_span = Some(engine.span());
            }
            Err(()) => {
                storage.report(
                    engine.span(),
                    format!(
                        "storage.engine must be \"sled\" or \"postgres\", got {:?}",
                        engine.get_ref()
                    ),
                );
            }
        }
    }
    if let Ok(Some(url)) = storage.optional_string("url") {
        let text = *url.get_ref();
        if text.is_empty() {
            config.storage.url = None;
        } else if is_postgres_url(text) {
            config.storage.url = Some(text.to_owned());
        } else {
            storage.report(
                url.span(),
                format!(
                    "storage.url must be empty or a PostgreSQL URL such as \"postgres://hookbot@db.example.com:5432/hookbot\", got {}",
                    crate::problem::quoted(&super::model::redact_password(text))
                ),
            );
        }
    }
    if let Some(url) = env_storage_url.filter(|url| !url.is_empty()) {
        config.storage.url = Some(url.to_owned());
    }
    if let (StorageEngine::Postgres, None, Some(span)) =
        (config.storage.engine, &config.storage.url, engine_span)
    {
        storage.report(
            span,
            format!(
                "storage.engine is \"postgres\", so storage.url (or {STORAGE_URL_ENV}) must name the database, e.g. \"postgres://hookbot@db.example.com:5432/hookbot\""
            ),
        );
    }
}

fn is_postgres_url(text: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        text.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty())
    }) && !text.contains(char::is_whitespace)
}
