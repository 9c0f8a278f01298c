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
use super::pacer::{Holder, Pacer, RateLimitHeaders, Route, Wait};

/// Writes to Discord: the connected bot and the pacer every one of its calls asks first.
#[derive(Clone, Copy)]
pub struct Writer<'a> {
    discord: &'a Discord,
    pacer: &'a Pacer,
    /// The queued run making the calls: its calls that must wait are answered
    /// [`CallError::Paced`] (the run is parked) instead of waiting.
    holder: Option<Holder>,
}

impl Discord {
    /// The way to write to Discord, paced by `pacer` (one per process, shared by every run), for
    /// the queued run `holder` (`None`: a trial by hand, whose calls wait inline).
    pub fn writer<'a>(&'a self, pacer: &'a Pacer, holder: Option<Holder>) -> Writer<'a> {
        Writer {
            discord: self,
            pacer,
            holder,
        }
    }
}

impl Writer<'_> {
    /// Asks the pacer before `call` (a future, so nothing is sent until it is polled) and tells
    /// it Discord's answer after. A wait the run should not sit out sends nothing and answers
    /// [`CallError::Paced`] (the run is parked until then) or, for the breaker or a call
    /// without a run, [`CallError::Paused`] (retried then); neither holds a worker.
    async fn paced<T, E>(
        &self,
        route: Route,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError>
    where
        CallError: From<E>,
    {
        let call = async { (call.await.map_err(CallError::from), None) };
        self.paced_with_headers(route, call).await
    }

    /// [`paced`](Self::paced) for a call that also gives the answer's rate-limit headers, from
    /// which the pacer learns Discord's buckets.
    async fn paced_with_headers<T>(
        &self,
        route: Route,
        call: impl Future<Output = (Result<T, CallError>, Option<RateLimitHeaders>)>,
    ) -> Result<T, CallError> {
        if let Err(deferred) = self.pacer.before(&route, self.holder).await {
            let retry_after_ms = deferred.wait.as_millis() as u64;
            return Err(match deferred.kind {
                // A run waiting for its line has no time: the line brings it back.
                Wait::Pace | Wait::Line => CallError::Paced {
                    retry_after_ms: (deferred.kind == Wait::Pace).then_some(retry_after_ms),
                    message: deferred.reason,
                },
                Wait::Hold => CallError::Paused {
                    message: format!(
                        "{}; trying again in {} s",
                        deferred.reason,
                        deferred.wait.as_secs_f64().ceil() as u64
                    ),
                    retry_after_ms,
                },
            });
        }
        let (result, headers) = call.await;
        let headers = headers.as_ref();
        match &result {
            Ok(_) => self.pacer.after(&route, Some(200), None, headers),
            Err(CallError::Discord {
                status,
                retry_after_ms,
                ..
            }) => self.pacer.after(
                &route,
                Some(*status),
                retry_after_ms.map(Duration::from_millis),
                headers,
            ),
            Err(_) => self.pacer.after(&route, None, None, headers),
        }
        result
    }
}
