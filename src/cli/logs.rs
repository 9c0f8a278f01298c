//! Where log lines go for a command: stderr, as text or JSON.

use std::io::IsTerminal;
use std::path::Path;

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Logs on stderr: `format` (from `--log-format`), else `[log] format` of the config file at
/// `config_path` if it loads, else text. `RUST_LOG` overrides `default_filter`.
pub fn init_logs(config_path: &Path, format: Option<LogFormat>, default_filter: &str) {
    let format = format.unwrap_or_else(|| {
        Config::load(config_path, false)
            .map(|config| config.log.format)
            .unwrap_or_default()
    });
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        );
    match format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}
