//! `hookbot run`: the process until SIGINT or SIGTERM.

use std::path::Path;

use anyhow::Context;

use crate::config::Config;

/// `hookbot run`: until SIGINT or SIGTERM.
pub async fn run(config_path: &Path, sandbox: bool) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let shutdown = shutdown_signal().context("cannot listen for SIGINT and SIGTERM")?;
    crate::server::run(config, shutdown).await?;
    Ok(())
}

/// Listens for SIGINT and SIGTERM from the moment it is called, so a signal that arrives while
/// hookbot is still starting is not lost; the future completes on the first one.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
