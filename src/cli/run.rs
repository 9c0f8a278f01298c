//! `hookbot run`: the process until SIGINT or SIGTERM; a second one while it drains stops it at once.

use std::path::Path;

use anyhow::Context;
use tokio::sync::watch;

use crate::config::Config;

/// `hookbot run`: until SIGINT or SIGTERM; a second one while it drains stops it at once.
pub async fn run(config_path: &Path, sandbox: bool) -> anyhow::Result<()> {
    let config = Config::load(config_path, sandbox)?;
    let signals = signals().context("cannot listen for SIGINT and SIGTERM")?;
    let (first, second) = (signals.clone(), signals);
    crate::server::run(config, nth_signal(first, 1), nth_signal(second, 2)).await?;
    Ok(())
}

/// Completes once `n` signals have arrived in all.
async fn nth_signal(mut count: watch::Receiver<u32>, n: u32) {
    // An error means the listener is gone: no signal can come any more.
    if count.wait_for(|seen| *seen >= n).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Counts SIGINTs and SIGTERMs from the moment it is called, so a signal that arrives while
/// hookbot is still starting is not lost.
#[cfg(unix)]
fn signals() -> std::io::Result<watch::Receiver<u32>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let (count, seen) = watch::channel(0);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            count.send_modify(|n| *n += 1);
        }
    });
    Ok(seen)
}

#[cfg(not(unix))]
fn signals() -> std::io::Result<watch::Receiver<u32>> {
    let (count, seen) = watch::channel(0);
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            count.send_modify(|n| *n += 1);
        }
    });
    Ok(seen)
}
