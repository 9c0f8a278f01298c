//! The pacer's promises, on explicit instants ([`Pacer::decide`]) or on tokio's paused clock
//! ([`Pacer::before`]): no test waits on the wall clock.

use super::learned::{self, CHANNEL_MESSAGES, CHANNEL_WINDOW};
use super::*;

const CHANNEL: u64 = 42;

/// When a call without a holder, asked for at `now`, may go out (after `now`).
fn inline(pacer: &Pacer, route: &Route, now: Instant) -> Result<Duration, Deferred> {
    match pacer.decide(route, None, now, false) {
        Decision::Go(at) => Ok(at - now),
        Decision::Defer(deferred) => Err(deferred),
        Decision::Behind => panic!("a call without a holder never waits for a turn"),
    }
}

/// Discord's answer to a send that went out, with the headers the stand-in sends.
fn answer(pacer: &Pacer, route: &Route, now: Instant, headers: Option<RateLimitHeaders>) {
    pacer.answered(route, Some(200), None, headers.as_ref(), now);
}

fn headers(bucket: &str, limit: u32, remaining: u32, reset_after_ms: u64) -> RateLimitHeaders {
    RateLimitHeaders {
        bucket: Some(bucket.to_owned()),
        limit: Some(limit),
        remaining: Some(remaining),
        reset_after: Some(Duration::from_millis(reset_after_ms)),
        ..RateLimitHeaders::default()
    }
}

#[test]
fn message_sends_keep_to_five_per_five_seconds_per_channel() {
    let pacer = Pacer::new();
    let now = Instant::now();
    let route = Route::message_send(CHANNEL);
    let sent: Vec<Duration> = (0..12)
        .map(|_| inline(&pacer, &route, now).unwrap())
        .collect();
    for (i, at) in sent.iter().enumerate() {
        let in_window = sent
            .iter()
            .filter(|other| **other >= *at && **other < *at + CHANNEL_WINDOW)
            .count();
        assert!(
            in_window <= CHANNEL_MESSAGES,
            "send {i} at {at:?}: {sent:?}"
        );
    }
    assert_eq!(sent[4], Duration::ZERO, "the first five go at once");
    assert_eq!(sent[5], CHANNEL_WINDOW);
    assert_eq!(sent[10], 2 * CHANNEL_WINDOW);
    // Another channel is not held back by the first.
    let other = inline(&pacer, &Route::message_send(CHANNEL + 1), now).unwrap();
    assert!(other < Duration::from_secs(1), "{other:?}");
}

#[test]
fn the_global_pace_stays_under_fifty_a_second() {
    let pacer = Pacer::new();
    let now = Instant::now();
    // 200 calls on 200 different routes: only the global pace applies.
    let times: Vec<Duration> = (0..200)
        .map(|i| inline(&pacer, &Route::new("PUT", "member_roles", i), now).unwrap())
        .collect();
    for at in &times {
        let in_second = times
            .iter()
            .filter(|other| **other >= *at && **other < *at + Duration::from_secs(1))
            .count();
        assert!(
            in_second <= GLOBAL_PER_SECOND,
            "{in_second} within a second"
        );
    }
    assert!(times[199] >= Duration::from_secs(4), "{:?}", times[199]);
}

#[test]
fn a_429_holds_its_route_back_for_retry_after() {
    let pacer = Pacer::new();
    let route = Route::new("PUT", "member_roles", 7);
    let now = Instant::now();
    inline(&pacer, &route, now).unwrap();
    pacer.answered(
        &route,
        Some(429),
        Some(Duration::from_millis(2500)),
        None,
        now,
    );
    assert_eq!(
        inline(&pacer, &route, now).unwrap(),
        Duration::from_millis(2500)
    );
    // Other routes are not held back.
    let other = inline(&pacer, &Route::new("PUT", "member_roles", 8), now).unwrap();
    assert!(other < Duration::from_secs(1));
    // Once the wait is over, the route is free again.
    let later = now + Duration::from_secs(3);
    assert_eq!(inline(&pacer, &route, later).unwrap(), Duration::ZERO);
    // Without retry_after, a default wait; a long one is not waited inline.
    pacer.answered(&route, Some(429), None, None, later);
    assert_eq!(inline(&pacer, &route, later).unwrap(), DEFAULT_RETRY_AFTER);
    pacer.answered(
        &route,
        Some(429),
        Some(Duration::from_secs(60)),
        None,
        later,
    );
    let deferred = inline(&pacer, &route, later).unwrap_err();
    assert_eq!(deferred.wait, Duration::from_secs(60));
    assert_eq!(deferred.kind, Wait::Hold);
    assert!(
        deferred.reason.contains("rate-limited"),
        "{}",
        deferred.reason
    );
    // A queued run is parked for it instead: a pace, not a failure.
    let parked = pacer.decide(&route, Some(Holder(1)), later, false);
    assert!(
        matches!(&parked, Decision::Defer(d) if d.kind == Wait::Pace && d.wait == Duration::from_secs(60)),
        "{parked:?}"
    );
}

#[test]
fn a_global_429_holds_every_route() {
    let pacer = Pacer::new();
    let now = Instant::now();
    let route = Route::message_send(1);
    let global = RateLimitHeaders {
        global: true,
        scope: Some("global".into()),
        retry_after: Some(Duration::from_secs(1)),
        ..RateLimitHeaders::default()
    };
    pacer.answered(&route, Some(429), None, Some(&global), now);
    let elsewhere = inline(&pacer, &Route::new("PUT", "member_roles", 9), now).unwrap();
    assert_eq!(elsewhere, Duration::from_secs(1));
}

#[test]
fn many_refusals_trip_the_breaker_for_a_while() {
    let pacer = Pacer::new();
    let route = Route::new("POST", "messages", 9);
    let now = Instant::now();
    for _ in 0..BREAKER_THRESHOLD - 1 {
        pacer.answered(&route, Some(403), None, None, now);
    }
    // Successes, other errors, no answer and 429s of a shared resource do not count.
    let shared = RateLimitHeaders {
        scope: Some("shared".into()),
        ..RateLimitHeaders::default()
    };
    pacer.answered(&route, Some(200), None, None, now);
    pacer.answered(&route, Some(404), None, None, now);
    pacer.answered(&route, None, None, None, now);
    pacer.answered(&route, Some(429), None, Some(&shared), now);
    let free = Route::new("PUT", "member_roles", 1);
    assert!(inline(&pacer, &free, now).is_ok());
    pacer.answered(&route, Some(401), None, None, now);
    let deferred = inline(&pacer, &free, now).unwrap_err();
    assert_eq!(deferred.wait, BREAKER_PAUSE);
    assert_eq!(deferred.kind, Wait::Hold);
    assert!(deferred.reason.contains("paused"), "{}", deferred.reason);
    assert!(inline(&pacer, &free, now + BREAKER_PAUSE).is_ok());
}

#[test]
fn refusals_spread_over_more_than_the_window_do_not_trip_it() {
    let pacer = Pacer::new();
    let route = Route::new("POST", "messages", 9);
    let mut now = Instant::now();
    for _ in 0..3 {
        for _ in 0..BREAKER_THRESHOLD / 2 {
            pacer.answered(&route, Some(403), None, None, now);
        }
        now += BREAKER_WINDOW / 2 + Duration::from_secs(1);
    }
    assert!(inline(&pacer, &route, now).is_ok());
}

#[test]
fn headers_are_read_as_discord_sends_them() {
    let sent = [
        ("x-ratelimit-bucket", "abcd1234"),
        ("x-ratelimit-limit", "10"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset-after", "64.57"),
        ("x-ratelimit-scope", "user"),
        ("retry-after", "65"),
    ];
    let get = |name: &str| sent.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let read = RateLimitHeaders::parse(get).unwrap();
    assert_eq!(read.bucket.as_deref(), Some("abcd1234"));
    assert_eq!(read.limit, Some(10));
    assert_eq!(read.remaining, Some(0));
    assert_eq!(read.reset_after, Some(Duration::from_millis(64_570)));
    assert_eq!(read.retry_after, Some(Duration::from_secs(65)));
    assert!(!read.is_global() && !read.is_shared());
    let global = RateLimitHeaders::parse(|name| match name {
        "x-ratelimit-global" => Some("true"),
        "x-ratelimit-scope" => Some("global"),
        _ => None,
    })
    .unwrap();
    assert!(global.is_global());
    assert_eq!(RateLimitHeaders::parse(|_| None), None);
    assert_eq!(
        RateLimitHeaders::parse(|n| (n == "x-ratelimit-limit").then_some("many")),
        None,
        "an unreadable value is no header"
    );
}

#[test]
fn a_bucket_is_learned_from_the_answers() {
    let pacer = Pacer::new();
    let now = Instant::now();
    let route = Route::message_send(CHANNEL);
    // Discord says this bot may send 10 per 5 s here, not the documented 5.
    inline(&pacer, &route, now).unwrap();
    answer(&pacer, &route, now, Some(headers("b1", 10, 9, 5_000)));
    let sent: Vec<Duration> = (0..9)
        .map(|_| inline(&pacer, &route, now).unwrap())
        .collect();
    assert!(sent.iter().all(|t| t.is_zero()), "{sent:?}");
    assert_eq!(
        inline(&pacer, &route, now).unwrap(),
        Duration::from_millis(5_000) + learned::WINDOW_MARGIN
    );
    // A smaller bucket, learned from a route of another kind that Discord says shares it.
    let other_kind = Route::new("PATCH", "messages", CHANNEL);
    let state = pacer.state.lock().unwrap();
    assert_eq!(
        state.buckets.known(&route),
        Some((10, Duration::from_millis(5_250)))
    );
    assert_eq!(state.buckets.known(&other_kind), None);
}

#[test]
fn remaining_zero_holds_the_bucket_until_it_resets() {
    let pacer = Pacer::new();
    let now = Instant::now();
    let route = Route::new("PUT", "member_roles", 5);
    // Unknown routes go at the global pace until Discord names their bucket.
    assert_eq!(inline(&pacer, &route, now).unwrap(), Duration::ZERO);
    answer(&pacer, &route, now, Some(headers("roles", 2, 0, 3_000)));
    assert_eq!(
        inline(&pacer, &route, now).unwrap(),
        Duration::from_millis(3_000)
    );
    // The same bucket for another server is its own.
    assert_eq!(
        inline(&pacer, &Route::new("PUT", "member_roles", 6), now).unwrap(),
        Duration::ZERO
    );
    // Routes Discord puts in the same bucket share it.
    let remove = Route::new("DELETE", "member_roles", 5);
    answer(&pacer, &remove, now, Some(headers("roles", 2, 0, 3_000)));
    let state = pacer.state.lock().unwrap();
    assert_eq!(state.buckets.known(&remove), state.buckets.known(&route));
}

/// Makes the call of `holder` at `now` and answers it at once: where it went.
fn call(pacer: &Pacer, route: &Route, holder: u64, now: Instant) -> Decision {
    let decision = pacer.decide(route, Some(Holder(holder)), now, false);
    if let Decision::Go(_) = decision {
        answer(pacer, route, now, None);
    }
    decision
}

/// A pacer to which Discord has described the channel's bucket (5 per 5 s), so a parked run
/// waits for its real turn; the instant it was described, and the channel's send route.
fn described_channel() -> (Pacer, Instant, Route) {
    let pacer = Pacer::new();
    let now = Instant::now();
    let route = Route::message_send(CHANNEL);
    answer(&pacer, &route, now, Some(headers("messages", 5, 5, 5_000)));
    (pacer, now, route)
}

#[test]
fn a_run_that_must_wait_is_parked_and_keeps_its_place() {
    let (pacer, now, route) = described_channel();
    for run in 1..=5 {
        assert_eq!(call(&pacer, &route, run, now), Decision::Go(now));
    }
    // Runs 6..=12 are parked, with the time of their place.
    let mut due = Vec::new();
    for run in 6..=12 {
        match call(&pacer, &route, run, now) {
            Decision::Defer(d) => {
                assert_eq!(d.kind, Wait::Pace);
                due.push(d.wait);
            }
            other => panic!("run {run}: {other:?}"),
        }
    }
    assert_eq!(due[0], CHANNEL_WINDOW);
    assert_eq!(due[5], 2 * CHANNEL_WINDOW);
    // Coming back early: parked again for the rest of the wait.
    let early = now + Duration::from_secs(2);
    assert!(
        matches!(call(&pacer, &route, 6, early), Decision::Defer(d) if d.wait == CHANNEL_WINDOW - Duration::from_secs(2))
    );
    // At their time they go, in run order: 7, taken up first, parks behind 6, which is due and
    // needs a worker (7 must not hold one waiting for it); a run whose earlier run is due a
    // little later parks until just after it.
    let then = now + CHANNEL_WINDOW;
    assert!(matches!(
        pacer.decide(&route, Some(Holder(7)), then, false),
        Decision::Defer(_)
    ));
    let early = then - Duration::from_millis(50);
    let Decision::Defer(seven) = pacer.decide(&route, Some(Holder(7)), early, false) else {
        panic!("run 7 held its worker waiting for parked run 6")
    };
    assert_eq!(seven.kind, Wait::Pace);
    assert_eq!(early + seven.wait, then + BEHIND_PARKED);
    assert_eq!(call(&pacer, &route, 6, then), Decision::Go(then));
    assert_eq!(pacer.take_promoted(), [(Holder(7), then)]);
    for run in 7..=10 {
        assert_eq!(
            call(&pacer, &route, run, then),
            Decision::Go(then),
            "run {run}"
        );
    }
}

#[test]
fn a_lower_run_that_arrives_late_takes_the_earlier_place() {
    let (pacer, now, route) = described_channel();
    for run in 1..=5 {
        call(&pacer, &route, run, now);
    }
    // Two workers race: run 9 reaches the pacer before run 8.
    let Decision::Defer(nine) = call(&pacer, &route, 9, now) else {
        panic!()
    };
    let Decision::Defer(eight) = call(&pacer, &route, 8, now) else {
        panic!()
    };
    assert_eq!(eight.wait, CHANNEL_WINDOW);
    assert_eq!(nine.wait, CHANNEL_WINDOW);
    let then = now + CHANNEL_WINDOW;
    assert!(matches!(
        pacer.decide(&route, Some(Holder(9)), then, false),
        Decision::Defer(_)
    ));
    assert_eq!(call(&pacer, &route, 8, then), Decision::Go(then));
    assert_eq!(call(&pacer, &route, 9, then), Decision::Go(then));
}

#[test]
fn an_earlier_run_that_does_not_come_loses_its_turn() {
    let pacer = Pacer::new();
    let now = Instant::now();
    let route = Route::message_send(CHANNEL);
    for run in 1..=7 {
        call(&pacer, &route, run, now);
    }
    // Run 6 is taken up, asks, and its worker is gone (a shutdown, say): 7 waits for it in its
    // worker, then goes.
    let then = now + CHANNEL_WINDOW;
    assert!(matches!(
        pacer.decide(&route, Some(Holder(6)), then, false),
        Decision::Go(_)
    ));
    let later = then + Duration::from_millis(10);
    assert_eq!(
        pacer.decide(&route, Some(Holder(7)), later, false),
        Decision::Behind
    );
    assert!(matches!(
        pacer.decide(&route, Some(Holder(7)), later, true),
        Decision::Go(_)
    ));
    answer(&pacer, &route, later, None);
    // Released runs give their place up too.
    pacer.release(Holder(6));
    assert!(pacer.state.lock().unwrap().tickets.is_empty());
}

#[test]
fn a_late_earlier_run_keeps_its_place_and_only_a_lost_one_gives_it_up() {
    let (pacer, now, route) = described_channel();
    for run in 1..=5 {
        call(&pacer, &route, run, now);
    }
    for run in 6..=8 {
        assert!(matches!(call(&pacer, &route, run, now), Decision::Defer(_)));
    }
    // Run 6 is due but late (every worker is busy, say): 7 parks behind it, without holding a
    // worker, instead of going first, however long it has waited.
    let then = now + CHANNEL_WINDOW;
    for overdue in [false, true] {
        let Decision::Defer(seven) = pacer.decide(&route, Some(Holder(7)), then, overdue) else {
            panic!("run 7 went before run 6, which was only late")
        };
        assert_eq!(seven.kind, Wait::Pace);
    }
    // 6 comes: it goes, and 7 is brought back at once.
    let late = then + ORDER_WAIT + Duration::from_millis(300);
    assert_eq!(call(&pacer, &route, 6, late), Decision::Go(late));
    assert_eq!(pacer.take_promoted(), [(Holder(7), late)]);
    assert_eq!(call(&pacer, &route, 7, late), Decision::Go(late));
    // 8 never comes back (lost): once it is LOST_AFTER late, 9 goes before it.
    let lost = then + LOST_AFTER;
    assert!(matches!(
        pacer.decide(
            &route,
            Some(Holder(9)),
            lost - Duration::from_millis(1),
            false
        ),
        Decision::Defer(_)
    ));
    assert!(matches!(
        pacer.decide(&route, Some(Holder(9)), lost, false),
        Decision::Go(_)
    ));
    assert!(!pacer.state.lock().unwrap().tickets.contains_key(&Holder(8)));
}

#[tokio::test(start_paused = true)]
async fn an_idle_channel_is_not_held_up_by_another_channels_backlog() {
    let pacer = std::sync::Arc::new(Pacer::new());
    let busy = Route::message_send(1);
    let start = Instant::now();
    // 1,000 runs for one channel: five go, every other one is parked at once.
    let mut parked = 0;
    for run in 1..=1000u64 {
        match pacer.before(&busy, Some(Holder(run))).await {
            Ok(()) => pacer.after(&busy, Some(200), None, None),
            Err(deferred) => {
                // In play with a time, or behind them until the line reaches it.
                assert_ne!(deferred.kind, Wait::Hold);
                parked += 1;
            }
        }
    }
    assert_eq!(parked, 995);
    assert_eq!(Instant::now(), start, "no run waited inside its worker");
    // A run for an idle channel goes at once, without waiting for the backlog.
    let idle = Route::message_send(2);
    pacer.before(&idle, Some(Holder(1001))).await.unwrap();
    pacer.after(&idle, Some(200), None, None);
    assert_eq!(Instant::now(), start);
}

#[tokio::test(start_paused = true)]
async fn a_flood_on_many_routes_leaves_room_for_a_newcomer() {
    let pacer = Pacer::new();
    let start = Instant::now();
    // A server floods role changes (no bucket known): the global pace is what limits it.
    let mut went = 0;
    for run in 1..=200u64 {
        let route = Route::new("PUT", "member_roles", 77);
        if pacer.before(&route, Some(Holder(run))).await.is_ok() {
            pacer.after(&route, Some(204), None, None);
            went += 1;
        }
    }
    assert!(went < GLOBAL_PER_SECOND + 10, "{went} went inside a second");
    // Another channel's send still goes within the second.
    let other = Route::message_send(3);
    pacer.before(&other, Some(Holder(201))).await.unwrap();
    assert!(Instant::now() - start < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn before_waits_briefly_inline() {
    let pacer = Pacer::new();
    let route = Route::new("PUT", "member_roles", 7);
    pacer.after(&route, Some(429), Some(Duration::from_millis(50)), None);
    let start = Instant::now();
    pacer.before(&route, None).await.unwrap();
    assert_eq!(Instant::now() - start, Duration::from_millis(50));
}

#[test]
fn serenity_s_waits_hold_the_route_back() {
    let pacer = Pacer::new();
    pacer.serenity_waits(
        "POST",
        "https://discord.com/api/v10/channels/42/messages",
        Duration::from_secs(3),
        false,
    );
    let now = Instant::now();
    let wait = inline(&pacer, &Route::message_send(42), now).unwrap();
    assert!(wait > Duration::from_secs(2), "{wait:?}");
    assert_eq!(route_of("GET", "/channels/42/messages"), None);
    assert_eq!(route_of("POST", "/channels/42/messages/1/crosspost"), None);
}

#[test]
fn a_run_parked_on_a_guessed_bucket_comes_back_to_learn_a_larger_one() {
    let pacer = Pacer::new();
    let now = Instant::now();
    let route = Route::message_send(CHANNEL);
    for run in 1..=5 {
        assert_eq!(call(&pacer, &route, run, now), Decision::Go(now));
    }
    // The documented 5 per 5 s is only a guess: the run is parked for a short while only.
    let Decision::Defer(parked) = call(&pacer, &route, 6, now) else {
        panic!("run 6 went past the guessed limit")
    };
    assert_eq!(parked.wait, UNLEARNED_RECHECK);
    // The answers say 10 per 2 s: back after the recheck, run 6 goes at once.
    answer(&pacer, &route, now, Some(headers("messages", 10, 5, 2_000)));
    let back = now + UNLEARNED_RECHECK;
    assert_eq!(call(&pacer, &route, 6, back), Decision::Go(back));
}

/// Only the front of a line is in play: the runs behind it are parked once, without a time, and
/// brought back in order as the front moves, each with its turn; a decision never walks the
/// whole backlog.
#[test]
fn a_backlog_waits_behind_the_front_of_its_line_and_is_brought_in_as_it_moves() {
    let (pacer, now, route) = described_channel();
    let backlog = 5 + IN_PLAY as u64 + 1000;
    let mut behind = Vec::new();
    for run in 1..=backlog {
        match call(&pacer, &route, run, now) {
            Decision::Go(_) => assert!(run <= 5, "run {run} went past the bucket"),
            Decision::Defer(d) if d.kind == Wait::Line => behind.push(run),
            Decision::Defer(d) => {
                assert!(run <= 5 + IN_PLAY as u64, "run {run} is in play");
                assert!(d.wait >= CHANNEL_WINDOW, "run {run}: {d:?}");
            }
            Decision::Behind => panic!("run {run} waited in its worker"),
        }
    }
    assert_eq!(behind.len(), 1000);
    assert_eq!(behind[0], 5 + IN_PLAY as u64 + 1);
    assert!(pacer.take_promoted().is_empty());
    // The first in play comes back at its time and goes: the first run behind is brought in,
    // with a turn after every run before it.
    let then = now + CHANNEL_WINDOW;
    assert_eq!(call(&pacer, &route, 6, then), Decision::Go(then));
    let promoted = pacer.take_promoted();
    assert_eq!(promoted.len(), 1);
    let (first_behind, turn) = promoted[0];
    assert_eq!(first_behind, Holder(behind[0]));
    assert!(turn >= now + 4 * CHANNEL_WINDOW, "{turn:?}");
    assert_eq!(pacer.turn_in_play(first_behind), Some(turn));
    assert_eq!(pacer.turn_in_play(Holder(behind[1])), None);
    // A run behind that asks again (a claim after a restart of the executor's state) is still
    // behind, and holds no ticket.
    let Decision::Defer(again) = call(&pacer, &route, behind[1], then) else {
        panic!("a run behind the line went")
    };
    assert_eq!(again.kind, Wait::Line);
    assert!(!pacer
        .state
        .lock()
        .unwrap()
        .tickets
        .contains_key(&Holder(behind[1])));
    // Released runs make room too.
    pacer.release(Holder(7));
    assert_eq!(pacer.take_promoted()[0].0, Holder(behind[1]));
}

/// The backlog drains at the bucket's pace when the executor brings promoted runs back: every
/// run goes once, in run order, and none waits in its worker (on tokio's paused clock).
#[tokio::test(start_paused = true)]
async fn a_backlog_drains_in_order_at_the_buckets_pace() {
    let pacer = Pacer::new();
    let route = Route::message_send(CHANNEL);
    let start = Instant::now();
    pacer.after(
        &route,
        Some(200),
        None,
        Some(&headers("messages", 5, 5, 5_000)),
    );
    let backlog = 60u64;
    // When each parked run is due, as the executor's schedule would keep it.
    let mut due: std::collections::BTreeMap<u64, Instant> =
        (1..=backlog).map(|r| (r, start)).collect();
    // Runs parked until their line reaches them, without a time.
    let mut waiting = std::collections::BTreeSet::new();
    let mut sent = Vec::new();
    while let Some((&run, &at)) = due.iter().min_by_key(|(run, at)| (**at, **run)) {
        assert!(
            at - start < Duration::from_secs(120),
            "the backlog stalled: {sent:?}"
        );
        tokio::time::sleep_until(at).await;
        due.remove(&run);
        match pacer.before(&route, Some(Holder(run))).await {
            Ok(()) => {
                sent.push((run, Instant::now() - start));
                pacer.after(&route, Some(200), None, None);
            }
            Err(deferred) if deferred.kind == Wait::Line => {
                waiting.insert(run);
            }
            Err(deferred) => {
                due.insert(run, Instant::now() + deferred.wait);
            }
        }
        for (holder, turn) in pacer.take_promoted() {
            if waiting.remove(&holder.0) {
                due.insert(holder.0, turn);
            } else if let Some(at) = due.get_mut(&holder.0) {
                *at = (*at).min(turn);
            }
        }
    }
    assert!(waiting.is_empty(), "runs left behind: {waiting:?}");
    let order: Vec<u64> = sent.iter().map(|(run, _)| *run).collect();
    assert_eq!(
        order,
        (1..=backlog).collect::<Vec<_>>(),
        "a channel's runs keep their order"
    );
    // Five per five seconds: the last of 60 goes in the twelfth window.
    let last = sent.last().unwrap().1;
    assert!(
        last >= 11 * CHANNEL_WINDOW && last < 12 * CHANNEL_WINDOW,
        "{last:?}"
    );
}

/// The safety net: runs in play that never come back (lost) are taken out of the line by the
/// sweep after `LOST_AFTER`, and the runs parked behind them without a time are brought into
/// play, in order; nothing else would bring them back.
#[tokio::test(start_paused = true)]
async fn the_sweep_takes_lost_runs_out_and_brings_the_runs_behind_them_into_play() {
    let pacer = Pacer::new();
    let route = Route::message_send(CHANNEL);
    let start = Instant::now();
    let backlog = 5 + IN_PLAY as u64 + 3;
    for run in 1..=backlog {
        let _ = call(&pacer, &route, run, start);
    }
    pacer.sweep();
    assert!(
        pacer.take_promoted().is_empty(),
        "nothing is lost yet: the runs in play are due"
    );
    // None of the runs in play ever comes back.
    tokio::time::advance(Duration::from_secs(120) + LOST_AFTER).await;
    pacer.sweep();
    let promoted: Vec<u64> = pacer.take_promoted().iter().map(|(h, _)| h.0).collect();
    assert_eq!(
        promoted,
        ((5 + IN_PLAY as u64 + 1)..=backlog).collect::<Vec<_>>()
    );
    for run in promoted {
        assert!(
            pacer.turn_in_play(Holder(run)).is_some(),
            "run {run} is in play"
        );
    }
}
