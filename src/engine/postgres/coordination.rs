//! Instances sharing one PostgreSQL database, coordinated through it: the leader is whoever holds
//! a session advisory lock ([`LEADER_LOCK`]) on a connection of its own, and every change is a
//! `NOTIFY` on [`CHANNEL`] that each instance hears on another dedicated connection (`LISTEN`).
//!
//! Why an advisory lock and not a lease row: PostgreSQL lets go of it the moment the session
//! ends, so a leader killed with `kill -9` (its socket closed by the kernel) is replaced within a
//! [`TAKEOVER_POLL`], not after a lease runs out. A leader cut off without its socket closing is
//! noticed on both sides: the leader stops acting once a [`HEARTBEAT`] goes unanswered for
//! [`HEARTBEAT_TIMEOUT`] (within 3 s), and the server drops the session (and the lock) after its
//! TCP keepalives fail ([`SERVER_KEEPALIVE`], about 7 s), so the old leader has stopped before a
//! new one can start.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{AsyncMessage, Client};
use tokio_util::sync::CancellationToken;

use super::tls::MakeRustlsConnect;
use crate::engine::coordination::{Change, Changes, Lease};
use crate::engine::error::StoreError;
use crate::run::RunId;

/// The `NOTIFY` channel every instance listens on.
pub const CHANNEL: &str = "hookbot";
/// A column for the statement that queues runs (its CTE `queued`): one `NOTIFY` per run queued,
/// delivered when the statement commits, so the leader hears of it at once.
pub const TELL_QUEUED: &str =
    "(SELECT count(pg_notify('hookbot', 'runs')::text) FROM queued) AS told";
/// The advisory lock whose holder leads ("hookbot\x03"; `\x01` is the migrations' and `\x02`
/// the definitions' replacement's). Advisory locks are per database, so two bots in two
/// databases of one server do not compete.
pub const LEADER_LOCK: i64 = 0x686f_6f6b_626f_7403;
/// How often a follower tries for the lock.
pub const TAKEOVER_POLL: Duration = Duration::from_secs(1);
/// How often the leader makes sure its lock's session is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A heartbeat unanswered this long means the lead is lost.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);
/// The server's TCP keepalives on the leader's session: idle seconds, seconds between probes,
/// probes. A leader whose machine vanished loses the lock after about 4 + 3 × 1 = 7 s.
pub const SERVER_KEEPALIVE: (u32, u32, u32) = (4, 1, 3);
/// The longest wait between two attempts to reconnect the listening connection.
const RELISTEN_CAP: Duration = Duration::from_secs(10);

/// The start of a [`Change::RunFinished`] payload; the run's id in its text form follows.
const FINISHED: &str = "finished:";

impl Change {
    /// The `NOTIFY` payload for a change.
    pub fn payload(self) -> String {
        match self {
            Change::RunsQueued => "runs".into(),
            Change::RunFinished(run) => format!("{FINISHED}{run}"),
            Change::Definitions => "definitions".into(),
            Change::Settings => "settings".into(),
            Change::Resync => "resync".into(),
        }
    }

    fn from_payload(payload: &str) -> Option<Change> {
        if let Some(run) = payload.strip_prefix(FINISHED) {
            return RunId::parse(run).map(Change::RunFinished);
        }
        [
            Change::RunsQueued,
            Change::Definitions,
            Change::Settings,
            Change::Resync,
        ]
        .into_iter()
        .find(|change| change.payload() == payload)
    }
}

/// The statement that announces `change` to every instance, sent inside the transaction that
/// makes it: PostgreSQL delivers it at commit, and never for a transaction rolled back.
pub async fn announce(
    transaction: &tokio_postgres::Transaction<'_>,
    change: Change,
) -> Result<(), tokio_postgres::Error> {
    transaction
        .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &change.payload()])
        .await
        .map(drop)
}

/// What the engine does itself with each change heard, before its listeners hear it (e.g. drop
/// cached definitions).
pub type OnChange = Box<dyn Fn(Change) + Send + Sync>;

/// One instance's side of the coordination: its change feed and the way to the lead. Nothing
/// is connected until asked for, so a one-shot command (`hookbot key rotate`) opens no
/// connection it does not use.
pub struct Coordination {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    changes: Changes,
    on_change: Arc<OnChange>,
    /// Started by the first [`changes`](Self::changes); stops the listening task when the
    /// engine goes.
    listening: OnceLock<tokio_util::sync::DropGuard>,
}

impl Coordination {
    pub fn new(
        mut config: tokio_postgres::Config,
        tls: MakeRustlsConnect,
        on_change: OnChange,
    ) -> Coordination {
        // A dead peer is noticed by the kernel, not by a wait that never ends.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(5))
            .keepalives_interval(Duration::from_secs(1))
            .keepalives_retries(3);
        Coordination {
            config,
            tls,
            changes: Changes::default(),
            on_change: Arc::new(on_change),
            listening: OnceLock::new(),
        }
    }

    /// Every change any instance makes from now on. The first call starts listening on a
    /// connection of its own (reconnected with backoff, with a [`Change::Resync`] after each
    /// reconnect, since changes may have been missed meanwhile).
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        let receiver = self.changes.subscribe();
        self.listening.get_or_init(|| {
            let stop = CancellationToken::new();
            let heard = Heard {
                changes: self.changes.clone(),
                on_change: self.on_change.clone(),
            };
            tokio::spawn(listen(
                self.config.clone(),
                self.tls.clone(),
                heard,
                stop.clone(),
            ));
            stop.drop_guard()
        });
        receiver
    }

    /// Waits until this instance holds [`LEADER_LOCK`]; fails when the database cannot be
    /// reached (the caller tries again).
    pub async fn lead(&self) -> Result<Lease, StoreError> {
        let (client, connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(failure)?;
        let mut session = tokio::spawn(connection);
        let (idle, interval, count) = SERVER_KEEPALIVE;
        // Settings of this session only; ignored by the server on a Unix socket.
        let keepalive = format!(
            "SET tcp_keepalives_idle = {idle}; SET tcp_keepalives_interval = {interval}; SET tcp_keepalives_count = {count}"
        );
        client.batch_execute(&keepalive).await.map_err(failure)?;
        loop {
            let won = tokio::select! {
                won = tokio::time::timeout(HEARTBEAT_TIMEOUT, client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK])) => won,
                ended = &mut session => return Err(session_ended(ended)),
            };
            match won {
                Ok(row) => {
                    if row.map_err(failure)?.get::<_, bool>(0) {
                        break;
                    }
                }
                Err(_) => {
                    session.abort();
                    return Err(StoreError::Engine(
                        "the database did not answer who leads in time".into(),
                    ));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(TAKEOVER_POLL) => {}
                ended = &mut session => return Err(session_ended(ended)),
            }
        }
        let lost = CancellationToken::new();
        let (release, released) = oneshot::channel();
        tokio::spawn(hold(client, session, lost.clone(), released));
        Ok(Lease::new(lost, release))
    }
}

fn session_ended(
    ended: Result<Result<(), tokio_postgres::Error>, tokio::task::JoinError>,
) -> StoreError {
    match ended {
        Ok(Err(error)) => failure(error),
        _ => StoreError::Engine("the database closed the connection".into()),
    }
}

/// Keeps the lock's session alive and watched until the lease is dropped (then unlocks) or the
/// session stops answering (then the lease is lost).
async fn hold(
    client: Client,
    mut session: tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
    lost: CancellationToken,
    mut released: oneshot::Receiver<()>,
) {
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut released => {
                // Unlocked at once, so a follower takes over at its next poll; closing the
                // session below would release it too.
                let _ = tokio::time::timeout(
                    HEARTBEAT_TIMEOUT,
                    client.execute("SELECT pg_advisory_unlock($1)", &[&LEADER_LOCK]),
                )
                .await;
                break;
            }
            _ = beat.tick() => {
                let answered = tokio::time::timeout(HEARTBEAT_TIMEOUT, client.simple_query("SELECT 1")).await;
                if !matches!(answered, Ok(Ok(_))) {
                    lost.cancel();
                    break;
                }
            }
            _ = &mut session => {
                lost.cancel();
                break;
            }
        }
    }
    drop(client);
    session.abort();
}

/// Where a change heard goes: the engine first, then every listener.
struct Heard {
    changes: Changes,
    on_change: Arc<OnChange>,
}

impl Heard {
    fn tell(&self, change: Change) {
        (self.on_change)(change);
        self.changes.announce(change);
    }
}

/// Hears every change on [`CHANNEL`] until `stop`, reconnecting when the connection is lost.
async fn listen(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    changes: Heard,
    stop: CancellationToken,
) {
    let backoff = crate::backoff::Backoff {
        first: Duration::from_millis(500),
        cap: RELISTEN_CAP,
    };
    let mut attempt = 0;
    let mut connected_before = false;
    loop {
        let heard = tokio::select! {
            heard = listen_once(&config, &tls, &changes, &mut connected_before) => heard,
            _ = stop.cancelled() => return,
        };
        match heard {
            Ok(()) => attempt = 0,
            Err(error) => {
                attempt += 1;
                tracing::warn!(%error, "not hearing other instances' changes; reconnecting");
            }
        }
        let wait = backoff.wait(attempt.max(1), rand::random_range(-1.0..=1.0));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// One listening connection, until it ends.
async fn listen_once(
    config: &tokio_postgres::Config,
    tls: &MakeRustlsConnect,
    changes: &Heard,
    connected_before: &mut bool,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls.clone()).await?;
    let (heard_tx, mut heard) = mpsc::unbounded_channel();
    let session = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            if let AsyncMessage::Notification(note) = message? {
                if heard_tx.send(note.payload().to_owned()).is_err() {
                    break;
                }
            }
        }
        Ok::<(), tokio_postgres::Error>(())
    });
    let _ends_with_this = AbortOnDrop(session);
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    if *connected_before {
        // What changed while nobody listened is unknown.
        changes.tell(Change::Resync);
    }
    *connected_before = true;
    while let Some(payload) = heard.recv().await {
        match Change::from_payload(&payload) {
            Some(change) => changes.tell(change),
            None => tracing::debug!(%payload, "an unknown change announced; ignored"),
        }
    }
    // The session ended: an error is kept in the task's result, but the next attempt is the
    // answer either way.
    Ok(())
}

fn failure(error: tokio_postgres::Error) -> StoreError {
    super::failure::failure(error)
}

struct AbortOnDrop(tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_survives_its_payload() {
        for change in [
            Change::RunsQueued,
            Change::RunFinished(RunId(0x8000_0000_0000_002a)),
            Change::Definitions,
            Change::Settings,
            Change::Resync,
        ] {
            assert_eq!(Change::from_payload(&change.payload()), Some(change));
        }
        assert_eq!(Change::from_payload("finished:run_12"), None);
        assert_eq!(Change::from_payload("something new"), None);
    }
}
