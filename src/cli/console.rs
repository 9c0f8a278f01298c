//! `hookbot console key`.

use std::io::Write;
use std::path::Path;

use crate::admin::client::Backend;
use crate::config::Config;

/// `hookbot console key`: a new key for the web console, alone on stdout (shown only this once).
/// While hookbot runs, the running process makes it (through the admin socket) and the old key's
/// sessions end.
pub async fn console_key(
    config_path: &Path,
    sandbox: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let backend = Backend::connect(&config).await?;
    let key = backend.new_console_key().await?.key;
    writeln!(out, "{key}")?;
    if config.http.console_listen.is_none() && !sandbox {
        eprintln!("note: http.console_listen is not set, so no console is served; set it in the config and restart hookbot");
    }
    Ok(())
}
