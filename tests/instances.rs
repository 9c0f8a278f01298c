//! CONTRACT §8, through the real binary: several `hookbot run` processes on one PostgreSQL
//! database are one bot. Webhooks go to any of them; one leads (the gateway and the runs); when
//! it is killed another takes over within 15 s and every accepted run reaches Discord exactly
//! once; SIGTERM hands the lead over; a restarted instance follows; a key rotated or an event
//! file changed on one instance holds on every instance within 2 s; only one gateway session is
//! ever open at a time. Each test makes its own database (`HOOKBOT_TEST_POSTGRES_URL`).

mod common;

use std::time::{Duration, Instant};

use common::instances::{deliveries, leader, leads, machines, post, rotate_key};
use common::process::Process;
use common::*;

/// The contract's bound on a takeover.
const TAKEOVER: Duration = Duration::from_secs(15);
/// Webhooks spread over the instances in the takeover test (all to one channel).
const WEBHOOKS: usize = 12;
/// How long delivering them may take after the takeover: Discord lets a bot post 5 messages
/// per 5 s in one channel, and hookbot paces itself to that.
const DELIVERED: Duration = Duration::from_secs(30);
/// The contract's bound on a change made on one instance holding on all.
const EVERYWHERE: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_killed_leader_is_replaced_and_every_accepted_run_is_delivered_once() {
    let Some((_database, sandbox, _root, dirs)) =
        machines("the_killed_leader_is_replaced", ["a", "b", "c"]).await
    else {
        return;
    };
    let key = rotate_key(&dirs[0]);
    let first = Process::start(&dirs[0], "first").await;
    let http = reqwest::Client::new();
    assert_eq!(leader(&http, &[&first], DEADLINE).await, 0);
    let others = [
        Process::start(&dirs[1], "second").await,
        Process::start(&dirs[2], "third").await,
    ];
    // A follower is ready (it accepts webhooks) without the gateway.
    for follower in &others {
        let ready = http
            .get(format!("{}/readyz", follower.base))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200, "{}", follower.log());
        assert!(!leads(&http, follower).await);
    }

    // Webhooks spread over the three; the leader dies halfway through, with no shutdown.
    let mut accepted = Vec::new();
    let mut first = Some(first);
    let mut killed_at = None;
    for i in 0..WEBHOOKS {
        if i == WEBHOOKS / 2 {
            first.take().unwrap().kill().await;
            killed_at = Some(Instant::now());
        }
        let service = format!("service-{i}");
        let base = match (i % 3, &first) {
            (0, Some(first)) => first.base.clone(),
            (0, None) | (1, _) => others[0].base.clone(),
            _ => others[1].base.clone(),
        };
        let status = post(&http, &base, "deploy", &key, &service).await;
        assert_eq!(status, 200, "webhook {i} to {base}");
        accepted.push(format!("{service} is live"));
    }
    let survivors = [&others[0], &others[1]];
    leader(&http, &survivors, TAKEOVER).await;
    let took = killed_at.unwrap().elapsed();
    eprintln!(
        "failover: a new leader {} ms after kill -9",
        took.as_millis()
    );
    assert!(took < TAKEOVER, "the takeover took {took:?}");

    let (sandbox_ref, accepted) = (&sandbox, &accepted);
    eventually(
        DELIVERED,
        "every accepted run to reach Discord",
        || async move {
            let seen = deliveries(sandbox_ref);
            let missing = accepted.iter().filter(|c| !seen.contains_key(*c)).count();
            if missing == 0 {
                Ok(seen)
            } else {
                Err(format!("{missing} not delivered yet"))
            }
        },
    )
    .await;
    let seen = deliveries(&sandbox);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(seen.len(), WEBHOOKS);
    assert_eq!(
        sandbox.gateway_sessions_peak(),
        1,
        "one gateway session at a time"
    );
    for process in others {
        process.stop().await;
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_over_changes_hold_everywhere_and_a_restart_follows() {
    let Some((_database, sandbox, _root, [a, b])) =
        machines("sigterm_hands_over", ["a", "b"]).await
    else {
        return;
    };
    let key = rotate_key(&a);
    let http = reqwest::Client::new();
    let first = Process::start(&a, "first").await;
    assert_eq!(leader(&http, &[&first], DEADLINE).await, 0);
    let second = Process::start(&b, "second").await;

    // A key rotated on one machine is refused on every instance within 2 s.
    assert_eq!(
        post(&http, &second.base, "deploy", &key, "old-key").await,
        200
    );
    let new_key = rotate_key(&b);
    let rotated = Instant::now();
    for process in [&first, &second] {
        let (http, key) = (&http, &key);
        eventually(EVERYWHERE, "the old key to be refused", || async move {
            match post(http, &process.base, "deploy", key, "refused").await {
                401 => Ok(()),
                other => Err(format!("answered {other}")),
            }
        })
        .await;
    }
    assert!(rotated.elapsed() < EVERYWHERE);
    let key = new_key;

    // An event file added on one machine is live on the other within 2 s.
    std::fs::write(
        a.join("events/release.toml"),
        message_event("release", "#deploys", "{service} released"),
    )
    .unwrap();
    let (http_ref, key_ref, base) = (&http, &key, &second.base);
    eventually(
        EVERYWHERE + reload_settle(),
        "the new event on the other instance",
        || async move {
            match post(http_ref, base, "release", key_ref, "v2").await {
                200 => Ok(()),
                other => Err(format!("answered {other}")),
            }
        },
    )
    .await;

    // SIGTERM: the leader drains and lets go; the other takes over and delivers.
    first.stop().await;
    assert_eq!(leader(&http, &[&second], TAKEOVER).await, 0);
    assert_eq!(
        post(&http, &second.base, "deploy", &key, "after").await,
        200
    );
    // A restarted instance follows.
    let restarted = Process::start(&a, "restarted").await;
    assert_eq!(leader(&http, &[&second, &restarted], DEADLINE).await, 0);
    let sandbox = &sandbox;
    eventually(DEADLINE, "every run delivered", || async move {
        let seen = deliveries(sandbox);
        let wanted = ["old-key is live", "v2 released", "after is live"];
        match wanted.iter().all(|c| seen.get(*c) == Some(&1)) {
            true => Ok(()),
            false => Err(format!("{seen:?}")),
        }
    })
    .await;
    assert_eq!(deliveries(sandbox).len(), 3, "{:?}", deliveries(sandbox));
    assert_eq!(
        sandbox.gateway_sessions_peak(),
        1,
        "one gateway session at a time"
    );
    restarted.stop().await;
    second.stop().await;
}

/// The events watcher's own settling time, which comes before the 2 s.
fn reload_settle() -> Duration {
    hookbot::reload::SETTLE
}
