//! The outbound governor: how fast hookbot talks to Discord, paced by what Discord's own answers
//! say, whether or not serenity's ratelimiter is on.
//!
//! Every write call an action makes asks [`Pacer::before`] first and reports Discord's answer
//! (with its `X-RateLimit-*` headers) to [`Pacer::after`]. The pacer keeps:
//! - the global pace: at most [`GLOBAL_PER_SECOND`] requests in any second (Discord allows 50),
//!   shared fairly between channels and servers (`fair`);
//! - Discord's buckets, learned from its answers (`learned`): which routes share a bucket, how
//!   many calls each allows in its window, per major parameter (channel, server, webhook); before
//!   the first answer, message sends keep to Discord's documented 5 per 5 s per channel;
//! - per route (method, resource and the channel or server it is about), after a 429 nothing
//!   more to that route until Discord's `retry_after` has passed; after a global 429, nothing at
//!   all;
//! - a breaker: [`BREAKER_THRESHOLD`] answers 401, 403 or 429 within [`BREAKER_WINDOW`] pause
//!   every call for [`BREAKER_PAUSE`] (Discord bans a bot that makes 10,000 invalid requests in
//!   10 minutes), and the log says so.
//!
//! A call from a queued run (one with a [`Holder`]) that would wait longer than [`PARK_AFTER`]
//! is not waited for: the run is told how long (a [`Deferred`] of kind [`Wait::Pace`]) and parked
//! by the executor without holding a worker, keeping its place in the route's line. Calls on one
//! route go out in the order of their runs (the lower run id first), one at a time; a run's turn
//! is estimated from its place and the bucket as known when it asks, and nothing is reserved
//! before its call goes, so what Discord's answers teach meanwhile applies to every waiting run.
//! Only the first [`IN_PLAY`] runs of a line are estimated and come back for their turn; the
//! runs behind them are parked without a time ([`Wait::Line`]: no ticket, no place in the
//! queue's schedule) and handed to the executor ([`Pacer::take_promoted`]) as the line reaches
//! them; [`Pacer::sweep`], every [`SWEEP_EVERY`], takes lost runs out of every line. A run does
//! not wait in its worker for an earlier run parked until a moment still to come (that one
//! needs a worker to come back): it parks until just after it; behind one already due (waiting
//! for a worker) it parks until the line moves. It waits in its worker, up to [`ORDER_WAIT`],
//! only for an earlier run that is in a worker too. A line's order gives way only to a run lost
//! for [`LOST_AFTER`]. A call with no holder (a trial by hand) waits inline up to [`MAX_INLINE_WAIT`].

mod fair;
mod learned;
mod line;
mod route;
#[cfg(test)]
mod tests;
mod window;

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use fair::FairShare;
pub use fair::GLOBAL_PER_SECOND;
use learned::Buckets;
pub use learned::RateLimitHeaders;
pub use line::Holder;
use line::{Line, Place, IN_PLAY};
pub use route::Route;

/// A 429 without `retry_after` blocks its route this long.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Refusals (401, 403, 429) within [`BREAKER_WINDOW`] that trip the breaker.
pub const BREAKER_THRESHOLD: usize = 100;
pub const BREAKER_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long delivery pauses once the breaker trips.
pub const BREAKER_PAUSE: Duration = Duration::from_secs(5 * 60);
/// The longest wait done inside a call without a holder; a longer one is answered instead.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(10);
/// The longest wait a queued run's call sits out inside its worker; a longer one parks the run.
pub const PARK_AFTER: Duration = Duration::from_millis(200);
/// A run parked on a bucket whose size is still a guess (Discord has not answered on it yet)
/// comes back after at most this long: the answers to the calls already out may advertise a
/// larger limit than the documented one the run was parked on.
pub const UNLEARNED_RECHECK: Duration = Duration::from_secs(1);
/// How long a call waits in its worker for an earlier run of its route that is in a worker too
/// (deciding, or its call out). If that run has not moved on by then, the call parks behind it,
/// giving its worker up, until the line moves; it goes first only if every earlier run is lost
/// (see [`LOST_AFTER`]).
pub const ORDER_WAIT: Duration = Duration::from_secs(1);
/// An earlier run of a line that has not asked again this long after it was expected is lost:
/// it went elsewhere without leaving the line. Nothing known does that (every run that finishes,
/// fails or waits for a retry leaves its line); this only keeps a line from stalling for good if
/// something did. A lost run loses its place to the runs behind it.
pub const LOST_AFTER: Duration = Duration::from_secs(30);
/// A run whose earlier runs are parked until a moment within [`PARK_AFTER`] comes back this long
/// after it, so that it is taken up after them.
pub const BEHIND_PARKED: Duration = Duration::from_millis(20);
/// How often the executor has the pacer take lost runs out of every line ([`Pacer::sweep`]), so
/// that the runs parked behind them are brought into play: a safety net only, since every run
/// that moves on leaves its line.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Why a call was not made now: wait this long and try again (nothing was sent).
#[derive(Debug, Clone, PartialEq)]
pub struct Deferred {
    pub wait: Duration,
    pub reason: String,
    pub kind: Wait,
}

/// What kind of wait a [`Deferred`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// The route's or the global pace, or a 429's `retry_after`: the run keeps its place and
    /// comes back then; nothing failed.
    Pace,
    /// The breaker, or a wait too long to sit out for a call without a holder.
    Hold,
    /// [`IN_PLAY`] earlier runs wait for the route: the run is parked without a time, keeping its
    /// place, and brought back when the line reaches it ([`Pacer::take_promoted`]); the
    /// `Deferred`'s wait is zero.
    Line,
}

/// What [`Pacer::decide`] says about a call.
#[derive(Debug, PartialEq)]
enum Decision {
    /// Go at this instant (at most [`PARK_AFTER`] away for a holder); the place is taken.
    Go(Instant),
    /// Come back after this wait; nothing was sent.
    Defer(Deferred),
    /// An earlier run's call on the route goes first: ask again shortly.
    Behind,
}

#[derive(Debug)]
struct State {
    global: FairShare,
    buckets: Buckets,
    lines: HashMap<Route, Line>,
    /// Which line each parked run holds a ticket in.
    tickets: HashMap<Holder, Route>,
    /// Runs parked behind that their line has reached, with their estimated turn, for the
    /// executor to bring back ([`Pacer::take_promoted`]). None may be dropped (a run parked
    /// without a time has nothing else to bring it back); it holds at most one entry per run in
    /// a line, and the executor empties it on every turn.
    promoted: VecDeque<(Holder, Instant)>,
    blocked: HashMap<Route, Instant>,
    refusals: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

/// The governor; one per process, shared by every run.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
    /// A call went out or was answered: a call waiting for its turn looks again.
    turned: Notify,
    /// Runs were brought back into play ([`Pacer::take_promoted`]).
    promotion: Notify,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new()
    }
}

impl Pacer {
    pub fn new() -> Pacer {
        Pacer {
            state: Mutex::new(State {
                global: FairShare::new(GLOBAL_PER_SECOND, Duration::from_secs(1)),
                buckets: Buckets::default(),
                lines: HashMap::new(),
                tickets: HashMap::new(),
                promoted: VecDeque::new(),
                blocked: HashMap::new(),
                refusals: VecDeque::new(),
                paused_until: None,
            }),
            turned: Notify::new(),
            promotion: Notify::new(),
        }
    }

    /// Waits until a call to `route` may go out. A queued run's call (`holder`) that would wait
    /// longer than [`PARK_AFTER`] is answered with the wait instead ([`Wait::Pace`]), keeping its
    /// place; without a holder, waits up to [`MAX_INLINE_WAIT`]. Each `Ok` uses up a place.
    pub async fn before(&self, route: &Route, holder: Option<Holder>) -> Result<(), Deferred> {
        let started = Instant::now();
        loop {
            let turned = self.turned.notified();
            tokio::pin!(turned);
            turned.as_mut().enable();
            let now = Instant::now();
            let overdue = now - started >= ORDER_WAIT;
            match self.decide(route, holder, now, overdue) {
                Decision::Go(at) => {
                    // tokio's timer rounds a deadline up to its next millisecond tick and fires
                    // it on a later turn of its driver: a call free to go now must not wait
                    // for one (that wait was most of the pacer's share of a send's latency).
                    if at > Instant::now() {
                        tokio::time::sleep_until(at).await;
                    }
                    return Ok(());
                }
                Decision::Defer(deferred) => {
                    // A later run waiting for this one's turn now parks behind it.
                    if holder.is_some() {
                        self.turned.notify_waiters();
                    }
                    return Err(deferred);
                }
                Decision::Behind => {
                    let _ = tokio::time::timeout_at(started + ORDER_WAIT, turned).await;
                }
            }
        }
    }

    /// Decides about a call to `route` at `now`; `overdue`: it has waited [`ORDER_WAIT`] for
    /// earlier runs, which now lose their turn.
    fn decide(
        &self,
        route: &Route,
        holder: Option<Holder>,
        now: Instant,
        overdue: bool,
    ) -> Decision {
        let mut state = self.state.lock().expect("pacer lock");
        let decision = decide(&mut state, route, holder, now, overdue);
        if !state.promoted.is_empty() {
            self.promotion.notify_one();
        }
        decision
    }

    /// A run will not come back for its place (it finished, failed, or waits for a retry).
    pub fn release(&self, holder: Holder) {
        let mut state = self.state.lock().expect("pacer lock");
        if let Some(route) = state.tickets.remove(&holder) {
            state.leave(&route, holder, Instant::now());
        }
        let promoted = !state.promoted.is_empty();
        drop(state);
        self.turned.notify_waiters();
        if promoted {
            self.promotion.notify_one();
        }
    }

    /// The runs parked behind that their line has reached since the last call, each with its
    /// estimated turn: the executor brings them back then.
    pub fn take_promoted(&self) -> Vec<(Holder, Instant)> {
        let mut state = self.state.lock().expect("pacer lock");
        state.promoted.drain(..).collect()
    }

    /// Resolves when runs were brought back into play since [`take_promoted`](Self::take_promoted)
    /// was last called (a promotion made while nobody waited is kept for the next wait).
    pub async fn promotions(&self) {
        self.promotion.notified().await;
    }

    /// Takes out of every line the runs lost for [`LOST_AFTER`] (expected back and not seen), and
    /// brings the runs behind them into play: without it a line whose front was lost would keep
    /// the runs parked behind it for good. Nothing known loses a run; this is a safety net.
    pub fn sweep(&self) {
        let mut guard = self.state.lock().expect("pacer lock");
        let state = &mut *guard;
        let now = Instant::now();
        let mut thinned = Vec::new();
        for (route, line) in &mut state.lines {
            let lost = line.remove_lost(now, LOST_AFTER);
            for holder in &lost {
                if state.tickets.get(holder) == Some(route) {
                    state.tickets.remove(holder);
                }
            }
            // A run parked until the line reaches it, found in the front, has nothing else to
            // bring it back either.
            if !lost.is_empty() || line.front_waits() {
                thinned.push(route.clone());
            }
        }
        for route in thinned {
            state.promote_reached(&route, now);
        }
        if !state.promoted.is_empty() {
            self.promotion.notify_one();
        }
    }

    /// The turn a parked run has in play now, if its line has reached it: a run brought into play
    /// while it was on its way to being parked must not sleep until its own, later time.
    pub fn turn_in_play(&self, holder: Holder) -> Option<Instant> {
        let state = self.state.lock().expect("pacer lock");
        let route = state.tickets.get(&holder)?;
        match state.lines.get(route)?.holders.get(&holder)? {
            Place::Due(at) => Some(*at),
            _ => None,
        }
    }

    /// Discord's answer to a call to `route`: `status` when it answered, `retry_after` when it
    /// said how long to wait, and the rate-limit headers it sent.
    pub fn after(
        &self,
        route: &Route,
        status: Option<u16>,
        retry_after: Option<Duration>,
        headers: Option<&RateLimitHeaders>,
    ) {
        let answered = status.map_or_else(|| "none".to_owned(), |s| s.to_string());
        metrics::counter!(crate::metrics::DISCORD_CALLS, "status" => answered).increment(1);
        if !matches!(status, Some(s) if s < 400) {
            metrics::counter!(crate::metrics::DISCORD_ERRORS).increment(1);
        }
        if status == Some(429) {
            metrics::counter!(crate::metrics::DISCORD_RATE_LIMITED).increment(1);
        }
        self.answered(route, status, retry_after, headers, Instant::now());
        self.turned.notify_waiters();
    }

    fn answered(
        &self,
        route: &Route,
        status: Option<u16>,
        retry_after: Option<Duration>,
        headers: Option<&RateLimitHeaders>,
        now: Instant,
    ) {
        let mut state = self.state.lock().expect("pacer lock");
        if let Some(line) = state.lines.get_mut(route) {
            line.sending = None;
            if line.idle() {
                state.lines.remove(route);
            }
        }
        if state.lines.len() + state.tickets.len() > 4096 {
            state.lines.retain(|_, line| !line.idle());
        }
        state.buckets.prune(now);
        let Some(status) = status else { return };
        if let Some(headers) = headers {
            state.buckets.learn(route, headers, now);
        }
        let shared = headers.is_some_and(RateLimitHeaders::is_shared);
        if status == 429 {
            let wait = retry_after
                .or_else(|| headers.and_then(|h| h.retry_after))
                .unwrap_or(DEFAULT_RETRY_AFTER);
            let until = now + wait;
            if headers.is_some_and(RateLimitHeaders::is_global) {
                state.global.hold(until);
                tracing::warn!(
                    wait_ms = wait.as_millis() as u64,
                    "Discord's global rate limit was hit; holding every call back"
                );
            } else {
                let entry = state.blocked.entry(route.clone()).or_insert(until);
                *entry = (*entry).max(until);
                tracing::warn!(route = %route, wait_ms = wait.as_millis() as u64, "Discord rate-limited a route; holding calls to it back");
            }
        }
        if matches!(status, 401 | 403 | 429) && !shared {
            while state
                .refusals
                .front()
                .is_some_and(|&t| t + BREAKER_WINDOW <= now)
            {
                state.refusals.pop_front();
            }
            state.refusals.push_back(now);
            if state.refusals.len() >= BREAKER_THRESHOLD {
                state.refusals.clear();
                state.paused_until = Some(now + BREAKER_PAUSE);
                tracing::error!(
                    "Discord refused {BREAKER_THRESHOLD} calls (401, 403 or 429) within {} min; pausing delivery for {} min so Discord does not ban the bot; check the bot's permissions and token",
                    BREAKER_WINDOW.as_secs() / 60,
                    BREAKER_PAUSE.as_secs() / 60
                );
            }
        }
    }

    /// serenity's own ratelimiter (on when hookbot talks to discord.com itself) is about to wait
    /// `wait` before a call to `path`: the route (or, `global`, every call) is held back for as
    /// long, so queued runs park instead of piling up behind serenity's wait.
    pub fn serenity_waits(&self, method: &str, path: &str, wait: Duration, global: bool) {
        let until = Instant::now() + wait;
        let mut state = self.state.lock().expect("pacer lock");
        if global {
            state.global.hold(until);
            return;
        }
        if let Some(route) = route_of(method, path) {
            let entry = state.blocked.entry(route).or_insert(until);
            *entry = (*entry).max(until);
        }
    }

    /// Whether the breaker is holding delivery back now.
    pub fn paused(&self) -> bool {
        let state = self.state.lock().expect("pacer lock");
        state.paused_until.is_some_and(|t| t > Instant::now())
    }
}

/// [`Pacer::decide`] on the locked state.
fn decide(
    state: &mut State,
    route: &Route,
    holder: Option<Holder>,
    now: Instant,
    overdue: bool,
) -> Decision {
    let mut start = now;
    if let Some(until) = state.paused_until {
        if until > now {
            return Decision::Defer(Deferred {
                wait: until - now,
                reason: format!(
                    "delivery is paused: Discord refused {BREAKER_THRESHOLD} calls within {} min",
                    BREAKER_WINDOW.as_secs() / 60
                ),
                kind: Wait::Hold,
            });
        }
        state.paused_until = None;
    }
    let mut reason = String::new();
    match state.blocked_until(route, now) {
        Some(until) => {
            start = until;
            reason = format!("Discord rate-limited {route}");
        }
        None => {
            state.blocked.remove(route);
        }
    }
    let major = route.target;
    let Some(holder) = holder else {
        if start - now > MAX_INLINE_WAIT {
            return Decision::Defer(Deferred {
                wait: start - now,
                reason,
                kind: Wait::Hold,
            });
        }
        let slot = state.buckets.reserve(route, start);
        let at = state.global.earliest(slot, now, major);
        state.global.take(at, major);
        return Decision::Go(at);
    };
    // A place the run holds in another line is given up: it has moved on.
    if let Some(other) = state.tickets.get(&holder).filter(|r| *r != route).cloned() {
        state.leave(&other, holder, now);
    }
    state.tickets.insert(holder, route.clone());
    let line = state.lines.entry(route.clone()).or_default();
    line.holders.insert(holder, Place::Asking(now));
    if line.sending.is_some_and(|since| now - since >= ORDER_WAIT) {
        line.sending = None;
    }
    let Some(rank) = line.rank_in_play(holder) else {
        // Its place in the line is all it keeps: it is ticketed again when the line reaches it.
        line.holders.insert(holder, Place::Waiting);
        state.tickets.remove(&holder);
        return Decision::Defer(Deferred {
            wait: Duration::ZERO,
            reason: format!("{IN_PLAY} earlier runs wait for {route}"),
            kind: Wait::Line,
        });
    };
    let turn = estimated_turn(&state.buckets, line, route, holder, rank, start, now);
    if turn > now + PARK_AFTER {
        line.holders.insert(holder, Place::Due(turn));
        return Decision::Defer(pace(route, turn - now, reason));
    }
    // Its turn has come; runs before it on the route go first, one call at a time.
    if rank > 0 || line.sending.is_some() {
        // An earlier run in a worker (asking, or its call out) moves on at once: this run waits
        // for it here, up to ORDER_WAIT. One that is parked needs a worker to come back, so this
        // run must not hold one waiting for it (with a backlog every worker would, and none
        // would be left for the run they wait for): it parks until just after that run's time
        // if that is still to come, else until the line moves (it is brought back then).
        let in_worker = line.earlier_in_worker(holder);
        if in_worker && !overdue {
            return Decision::Behind;
        }
        if !line.earlier_all_overdue(holder, now, LOST_AFTER) {
            let back = line
                .earlier_back(holder)
                .filter(|back| *back > now && !in_worker)
                .map_or(now + LOST_AFTER, |back| back + BEHIND_PARKED);
            line.holders.insert(holder, Place::Behind(back));
            return Decision::Defer(pace(route, back - now, reason));
        }
        // The earlier runs are lost: they lose their place.
        let late: Vec<Holder> = line.holders.range(..holder).map(|(h, _)| *h).collect();
        for earlier in late {
            line.holders.remove(&earlier);
            state.tickets.remove(&earlier);
        }
        line.sending = None;
    }
    let slot = state.buckets.peek(route, start, 0);
    let at = state.global.earliest(slot, now, major);
    let line = state.lines.get_mut(route).expect("the line was made above");
    if at > now + PARK_AFTER {
        line.holders.insert(holder, Place::Due(at));
        return Decision::Defer(pace(route, at - now, "the global pace".into()));
    }
    line.sending = Some(now);
    state.leave(route, holder, now);
    state.tickets.remove(&holder);
    state.buckets.reserve(route, at);
    state.global.take(at, major);
    Decision::Go(at)
}

impl State {
    /// Until when a 429 on `route` holds its calls back, if that is still to come at `now`.
    fn blocked_until(&self, route: &Route, now: Instant) -> Option<Instant> {
        self.blocked
            .get(route)
            .copied()
            .filter(|until| *until > now)
    }

    /// `holder` leaves `route`'s line (its call went, it moved on or lost its place): the runs
    /// parked behind that the line now reaches are brought into play.
    fn leave(&mut self, route: &Route, holder: Holder, now: Instant) {
        let Some(line) = self.lines.get_mut(route) else {
            return;
        };
        if line.holders.remove(&holder).is_some() {
            self.promote_reached(route, now);
        }
    }

    /// The runs parked behind on `route` that its line's front now reaches are in play: each
    /// has its turn estimated, holds a ticket again, and goes to the executor to be brought back.
    fn promote_reached(&mut self, route: &Route, now: Instant) {
        let start = self.blocked_until(route, now).unwrap_or(now);
        let Some(line) = self.lines.get_mut(route) else {
            return;
        };
        for (rank, reached) in line.reached() {
            let turn = estimated_turn(&self.buckets, line, route, reached, rank, start, now);
            line.holders.insert(reached, Place::Due(turn));
            self.tickets.insert(reached, route.clone());
            self.promoted.push_back((reached, turn));
        }
    }
}

/// When the run `holder`, `rank` places from the front of its `line`, may expect its turn: after
/// the runs before it, as the bucket allows from `start` (nothing is reserved before the call
/// goes, so what Discord says meanwhile counts); on a bucket whose size is still a guess, at most
/// [`UNLEARNED_RECHECK`] away.
fn estimated_turn(
    buckets: &Buckets,
    line: &Line,
    route: &Route,
    holder: Holder,
    rank: usize,
    start: Instant,
    now: Instant,
) -> Instant {
    let mut turn = buckets.peek(route, start, rank);
    if let Some(back) = line.earlier_back(holder) {
        turn = turn.max(back);
    }
    if !buckets.is_learned(route) {
        turn = turn.min(start.max(now + UNLEARNED_RECHECK));
    }
    turn
}

fn pace(route: &Route, wait: Duration, reason: String) -> Deferred {
    let reason = if reason.is_empty() {
        format!("waiting for Discord's pace on {route}")
    } else {
        reason
    };
    Deferred {
        wait,
        reason,
        kind: Wait::Pace,
    }
}

/// The route a serenity path names, for the message sends hookbot makes (the only calls whose
/// route it can tell from the path alone): `POST …/channels/{id}/messages`.
fn route_of(method: &str, path: &str) -> Option<Route> {
    if !method.eq_ignore_ascii_case("POST") {
        return None;
    }
    let path = path.split('?').next()?;
    let mut segments = path.rsplit('/').filter(|s| !s.is_empty());
    match (segments.next(), segments.next(), segments.next()) {
        (Some("messages"), Some(id), Some("channels")) => id.parse().ok().map(Route::message_send),
        _ => None,
    }
}
