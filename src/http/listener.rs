//! The listener's own accept loop and connections: at most `http.max_connections` open, a
//! complete request head within `http.header_read_timeout`, keep-alive connections closed after
//! `http.idle_timeout`, a backoff instead of a spin when descriptors run out, and a shutdown that
//! closes idle connections at once and lets requests in progress finish.
//!
//! `axum::serve` sets none of these, and a few hundred idle or trickling sockets used to take
//! every descriptor the process had (issue 14): webhooks timed out and the store could no longer
//! write. The policy at the cap is to make room, not to queue: when every slot is taken, the
//! connection that has waited longest without a request in progress (one that never finished
//! its head, or an idle keep-alive one) is closed for the new one. A flood of idle sockets then
//! only churns among itself, and a client that sends its request at once is served. Only when
//! every open connection has a request in progress do new ones wait in the kernel's backlog.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long the accept loop pauses after the process ran out of descriptors: long enough not to
/// spin, short enough that a freed descriptor is used quickly.
const DESCRIPTOR_BACKOFF: Duration = Duration::from_millis(100);

/// At most one log line per this long while accepting keeps failing, so a flood cannot flood the
/// log too.
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Descriptors kept for everything but the listeners' connections: the store's files, Discord's
/// connections, `http_request` calls, the admin socket and its clients, the event files and the
/// log. The connection cap is lowered, if need be, to leave them this many.
pub const DESCRIPTOR_HEADROOM: u64 = 256;

/// The metrics listener (`http.metrics_listen`) serves probes and scrapes: this many at once is
/// plenty, and it keeps its share of descriptors small.
pub const OPERATOR_MAX_CONNECTIONS: usize = 64;

/// Raises the process's open-files soft limit to its hard limit (without privileges a process may)
/// and returns the soft limit in force, or `None` when it cannot be read.
pub fn raise_descriptor_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-files limit; keeping the one in force");
            rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
        }
    }
}

/// The connection limits of one listener, from `[http]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// From accept to a complete first request head; also hyper's bound on reading any head.
    pub header_read_timeout: Duration,
    /// From the end of one answer to the next complete request head on a keep-alive connection.
    pub idle_timeout: Duration,
}

impl Limits {
    /// These limits with the connection cap lowered, when `descriptors` (the open-files limit)
    /// requires, so that the connections of both listeners leave [`DESCRIPTOR_HEADROOM`] (at
    /// least half of the limit) for the rest of hookbot.
    pub fn within_descriptors(self, descriptors: Option<u64>, metrics_listener: bool) -> Limits {
        let Some(descriptors) = descriptors else {
            return self;
        };
        let operator = if metrics_listener {
            OPERATOR_MAX_CONNECTIONS as u64
        } else {
            0
        };
        let usable = descriptors
            .saturating_sub(DESCRIPTOR_HEADROOM)
            .max(descriptors / 2)
            .saturating_sub(operator)
            .max(1);
        let max_connections = usize::try_from(usable)
            .unwrap_or(usize::MAX)
            .min(self.max_connections);
        if max_connections < self.max_connections {
            tracing::warn!(
                configured = self.max_connections,
                max_connections,
                open_files_limit = descriptors,
                "http.max_connections lowered to leave descriptors for the store and Discord; \
                 raise the open-files limit (LimitNOFILE) to allow more"
            );
        }
        Limits {
            max_connections,
            ..self
        }
    }
}

/// Accepts connections on `listener` and serves `router` on each until `shutdown`; returns once
/// every connection has closed.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let idle = Arc::new(IdleConnections::default());
    let connections = TaskTracker::new();
    let mut last_error_logged: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                let out_of_descriptors = is_out_of_descriptors(&error);
                if !matches!(last_error_logged, Some(at) if at.elapsed() < ACCEPT_ERROR_LOG_INTERVAL)
                {
                    tracing::warn!(%error, "{name}: cannot accept a connection; pausing");
                    last_error_logged = Some(Instant::now());
                }
                if out_of_descriptors {
                    // Whatever else holds descriptors, the idle sockets are the ones to give up.
                    idle.close_longest_waiting();
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(DESCRIPTOR_BACKOFF) => {}
                    }
                }
                continue;
            }
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Full: make room by closing the connection idle longest; with none idle, wait
                // for a request in progress to end (further connections wait in the backlog).
                idle.close_longest_waiting();
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                }
            }
        };
        let connection = Connection {
            stream,
            peer,
            router: router.clone(),
            limits,
            idle: idle.clone(),
            shutdown: shutdown.clone(),
            _slot: permit,
        };
        connections.spawn(connection.serve());
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// Out of descriptors for the process (`EMFILE`) or the system (`ENFILE`), or out of memory for
/// sockets: conditions that a retry at once would only meet again.
fn is_out_of_descriptors(error: &io::Error) -> bool {
    const ENOMEM: i32 = 12;
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    const ENOBUFS: i32 = 105;
    matches!(
        error.raw_os_error(),
        Some(ENFILE | EMFILE | ENOBUFS | ENOMEM)
    )
}

/// The connections open without a request in progress, the longest waiting first, so the accept
/// loop can close one to make room.
#[derive(Default)]
struct IdleConnections {
    inner: Mutex<IdleInner>,
}

#[derive(Default)]
struct IdleInner {
    next: u64,
    /// Each connection's close token, behind an `Arc` of its own: cloning a
    /// `CancellationToken` takes a lock, and connections enter and leave this line on every
    /// request.
    waiting: BTreeMap<u64, Arc<CancellationToken>>,
}

impl IdleConnections {
    /// Files a connection as idle from now; the number is its place in the line.
    fn enter(&self, close: &Arc<CancellationToken>) -> u64 {
        let mut inner = self.lock();
        let place = inner.next;
        inner.next += 1;
        inner.waiting.insert(place, close.clone());
        place
    }

    fn leave(&self, place: u64) {
        self.lock().waiting.remove(&place);
    }

    fn close_longest_waiting(&self) {
        if let Some((_, close)) = self.lock().waiting.pop_first() {
            close.cancel();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IdleInner> {
        // A panic while holding this lock leaves only a map of tokens behind; still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One accepted connection and what it needs to be served.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    idle: Arc<IdleConnections>,
    shutdown: CancellationToken,
    /// Held until the connection is closed: the slot under `http.max_connections`.
    _slot: OwnedSemaphorePermit,
}

/// Where a connection stands between its requests, shared by its service and its task.
struct Activity {
    in_progress: usize,
    /// When the last request ended; `None` before the first.
    last_answered: Option<Instant>,
    /// Its place among the idle connections while it has none in progress.
    idle_place: Option<u64>,
}

impl Connection {
    async fn serve(self) {
        let Connection {
            stream,
            peer,
            router,
            limits,
            idle,
            shutdown,
            _slot,
        } = self;
        let accepted = Instant::now();
        // Cancelled by the accept loop to make room, through `idle`.
        let close = Arc::new(CancellationToken::new());
        let standing = Arc::new(Standing {
            activity: Mutex::new(Activity {
                in_progress: 0,
                last_answered: None,
                idle_place: Some(idle.enter(&close)),
            }),
            idle,
            close,
        });
        let Standing {
            activity,
            idle,
            close,
        } = &*standing;

        let service = {
            let standing = standing.clone();
            hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                // The webhook handlers count failed authentications per client address.
                request.extensions_mut().insert(ConnectInfo(peer));
                let busy = Busy::start(standing.clone());
                let mut router = router.clone();
                async move {
                    let response = tower_service::Service::call(&mut router, request).await;
                    drop(busy);
                    Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
                }
            })
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);

        let mut draining = false;
        loop {
            let deadline = {
                let state = lock(activity);
                match (state.in_progress, state.last_answered) {
                    (0, None) => Some(accepted + limits.header_read_timeout),
                    (0, Some(at)) => Some(at + limits.idle_timeout),
                    _ => None,
                }
            };
            // With a request in progress no deadline applies here (the handlers bound their own
            // reading); it is looked at again after the shortest timeout.
            let wake = deadline.unwrap_or_else(|| {
                Instant::now() + limits.header_read_timeout.min(limits.idle_timeout)
            });
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, %peer, "connection ended");
                    }
                    break;
                }
                // Made room for a new one, or shutting down: an idle connection closes now; one
                // that has just begun a request finishes it, then closes instead of keeping alive.
                _ = close.cancelled(), if !draining => {
                    if lock(activity).in_progress == 0 {
                        tracing::debug!(%peer, "idle connection closed to make room");
                        break;
                    }
                    connection.as_mut().graceful_shutdown();
                    draining = true;
                }
                _ = shutdown.cancelled(), if !draining => {
                    if lock(activity).in_progress == 0 {
                        break;
                    }
                    connection.as_mut().graceful_shutdown();
                    draining = true;
                }
                _ = tokio::time::sleep_until(wake) => {
                    if deadline.is_some_and(|at| at <= Instant::now())
                        && lock(activity).in_progress == 0
                    {
                        tracing::debug!(%peer, "connection closed: no request within its timeout");
                        break;
                    }
                }
            }
            if draining && lock(activity).in_progress == 0 {
                break;
            }
        }
        // A request the client gave up on may end only when `connection` is dropped below: it
        // must not file this closed connection as idle again.
        close.cancel();
        let place = lock(activity).idle_place.take();
        if let Some(place) = place {
            idle.leave(place);
        }
    }
}

/// What a connection's task and its service share: one `Arc` for a request to clone.
struct Standing {
    activity: Mutex<Activity>,
    idle: Arc<IdleConnections>,
    /// Cancelled by the accept loop to make room, through `idle`.
    close: Arc<CancellationToken>,
}

/// A request in progress on a connection: while one lives, the connection is neither idle nor
/// timed out; the last one to end files the connection as idle again.
struct Busy(Arc<Standing>);

impl Busy {
    fn start(standing: Arc<Standing>) -> Busy {
        {
            let mut state = lock(&standing.activity);
            state.in_progress += 1;
            if let Some(place) = state.idle_place.take() {
                standing.idle.leave(place);
            }
        }
        Busy(standing)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let Standing {
            activity,
            idle,
            close,
        } = &*self.0;
        let mut state = lock(activity);
        state.in_progress -= 1;
        state.last_answered = Some(Instant::now());
        if state.in_progress == 0 && !close.is_cancelled() {
            state.idle_place = Some(idle.enter(close));
        }
    }
}

fn lock(activity: &Mutex<Activity>) -> std::sync::MutexGuard<'_, Activity> {
    // The state is two counters and a place in line; a panic elsewhere leaves them usable.
    activity
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_connections: usize) -> Limits {
        Limits {
            max_connections,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_cap_leaves_descriptors_for_the_rest() {
        let cap = |configured, descriptors, metrics| {
            limits(configured)
                .within_descriptors(descriptors, metrics)
                .max_connections
        };
        assert_eq!(cap(512, Some(65536), false), 512);
        assert_eq!(cap(512, None, false), 512);
        assert_eq!(cap(1024, Some(1024), false), 768);
        assert_eq!(cap(1024, Some(1024), true), 768 - OPERATOR_MAX_CONNECTIONS);
        // A small limit keeps half for the rest.
        assert_eq!(cap(512, Some(256), false), 128);
        assert_eq!(cap(512, Some(1), true), 1);
    }

    #[test]
    fn the_connection_idle_longest_is_closed_first() {
        let idle = IdleConnections::default();
        let (first, second, third) = (
            Arc::new(CancellationToken::new()),
            Arc::new(CancellationToken::new()),
            Arc::new(CancellationToken::new()),
        );
        let first_place = idle.enter(&first);
        idle.enter(&second);
        idle.enter(&third);
        // The first one began a request: it is no longer idle.
        idle.leave(first_place);
        idle.close_longest_waiting();
        assert!(!first.is_cancelled() && second.is_cancelled() && !third.is_cancelled());
        idle.close_longest_waiting();
        assert!(third.is_cancelled());
        // Nothing idle: nothing to close.
        idle.close_longest_waiting();
        assert!(!first.is_cancelled());
    }
}
