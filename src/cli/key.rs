//! `hookbot key rotate`.

use std::io::Write;
use std::path::Path;

use crate::admin::client::Backend;
use crate::config::Config;

/// `hookbot key rotate`: the new key alone on stdout. While hookbot runs, the running process
/// makes it (through the admin socket) and uses it from the next request on.
pub async fn key_rotate(
    config_path: &Path,
    sandbox: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let backend = Backend::connect(&config).await?;
    let key = backend.rotate_key().await?.key;
    writeln!(out, "{key}")?;
    Ok(())
}
