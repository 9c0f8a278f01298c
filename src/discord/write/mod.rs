//! Every write call hookbot makes to Discord, one file per resource (twilight-http's one
//! request per call, grouped): each asks the pacer first, tells it Discord's answer after, and
//! sends the audit-log reason the action rendered.

mod channels;
mod members;
mod messages;
mod roles;

use std::future::Future;
use std::time::Duration;

use super::client::Discord;
use super::error::CallError;
use super::pacer::{Pacer, Route};

/// Writes to Discord: the connected bot and the pacer every one of its calls asks first.
#[derive(Clone, Copy)]
pub struct Writer<'a> {
    discord: &'a Discord,
    pacer: &'a Pacer,
}

impl Discord {
    /// The way to write to Discord, paced by `pacer` (one per process, shared by every run).
    pub fn writer<'a>(&'a self, pacer: &'a Pacer) -> Writer<'a> {
        Writer {
            discord: self,
            pacer,
        }
    }
}

impl Writer<'_> {
    /// Asks the pacer before `call` (a future, so nothing is sent until it is polled) and tells
    /// it Discord's answer after. A wait too long to sit out inline sends nothing and answers
    /// [`CallError::Paused`], so the run is retried then without holding a worker.
    async fn paced<T, E>(
        &self,
        route: Route,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError>
    where
        CallError: From<E>,
    {
        if let Err(deferred) = self.pacer.before(&route).await {
            return Err(CallError::Paused {
                message: format!(
                    "{}; trying again in {} s",
                    deferred.reason,
                    deferred.wait.as_secs_f64().ceil() as u64
                ),
                retry_after_ms: deferred.wait.as_millis() as u64,
            });
        }
        let result = call.await.map_err(CallError::from);
        match &result {
            Ok(_) => self.pacer.after(&route, Some(200), None),
            Err(CallError::Discord {
                status,
                retry_after_ms,
                ..
            }) => self.pacer.after(
                &route,
                Some(*status),
                retry_after_ms.map(Duration::from_millis),
            ),
            Err(_) => self.pacer.after(&route, None, None),
        }
        result
    }
}
