//! Fairness: a message for an idle channel while another channel has a backlog of 1,000 runs,
//! under Discord's limits (the busy channel may send 5 per 5 s, so its backlog lasts 17
//! minutes). Measured: POST → message in Discord for the idle channels' messages.

use std::time::{Duration, Instant};

use discord_stand_in::{RateLimits, SandboxOptions};

use crate::load::{open_loop, quantile};
use crate::world::{self, channel, Hookbot};
use crate::{arrivals, info, millis, row, Row};

/// Runs queued for the busy channel (channel 0) before the idle messages are sent.
const BACKLOG: u64 = 1000;
/// Messages for idle channels (channels 1 to 50, one each), 10 a second.
const IDLE: u64 = 50;
const IDLE_RATE: u64 = 10;

pub async fn measure() -> Vec<Row> {
    let sandbox =
        world::stand_in(SandboxOptions::default().discord_rate_limits(RateLimits::DISCORD)).await;
    let hookbot = Hookbot::start(&sandbox).await;
    let queued_at = Instant::now();
    let backlog = open_loop(&hookbot.url(), &hookbot.key, 2000, BACKLOG, |seq| {
        world::body(channel(0), &seq.to_string())
    })
    .await;
    let queueing = queued_at.elapsed();
    let accepted = backlog.iter().filter(|s| s.status == 200).count();
    let idle = open_loop(&hookbot.url(), &hookbot.key, IDLE_RATE, IDLE, |seq| {
        world::body(channel(1 + seq), &(BACKLOG + seq).to_string())
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let idle_arrived = |sandbox: &discord_stand_in::Sandbox| {
        (1..=IDLE)
            .filter(|i| !sandbox.messages_in(channel(*i)).is_empty())
            .count()
    };
    while Instant::now() < deadline && idle_arrived(&sandbox) < IDLE as usize {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let arrived = arrivals(&sandbox, 1 + IDLE);
    let busy_delivered = sandbox.messages_in(channel(0)).len();
    let limited = sandbox.rate_limited_count();
    let requests = sandbox.request_count();
    hookbot.stop().await;
    sandbox.shutdown().await;

    let mut latencies: Vec<Duration> = idle
        .iter()
        .filter_map(|s| {
            let seq = BACKLOG + s.seq;
            Some(arrived.get(&seq)?.saturating_duration_since(s.sent))
        })
        .collect();
    latencies.sort();
    let missing = idle.len() - latencies.len();
    let p99 = quantile(&latencies, 0.99);
    let missing_note = if missing > 0 {
        format!(" ({missing} of {IDLE} not there after 20 s)")
    } else {
        String::new()
    };
    vec![
        info(
            "fairness: backlog queued",
            format!(
                "{accepted} of {BACKLOG} runs for one channel in {:.2} s",
                queueing.as_secs_f64()
            ),
        ),
        info(
            "fairness: idle channel, POST -> Discord, p50",
            millis(quantile(&latencies, 0.5)),
        ),
        row(
            "fairness: idle channel, POST -> Discord, p99",
            format!("{}{missing_note}", millis(p99)),
            "<= 1 s with 1,000 queued elsewhere",
            missing == 0 && p99 <= Duration::from_secs(1),
        ),
        info(
            "fairness: busy channel meanwhile",
            format!("{busy_delivered} sent; {limited} of {requests} calls answered 429"),
        ),
    ]
}
