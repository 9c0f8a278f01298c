//! hookbot's delivery benchmark: ingest, latency, delivery under Discord's rate limits, memory.
//!
//! `cargo bench --bench delivery` runs every phase and prints one table, each figure against
//! its goal; `cargo bench --bench delivery -- ingest latency` runs only the phases named
//! (ingest, latency, fairness, delivery, memory, crash, postgres). docs/performance.md explains each phase
//! and the figures measured. Not part of `cargo test`.

mod crash;
mod fairness;
mod load;
mod memory;
mod scaling;
mod world;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use axum::{Json, Router};
use discord_stand_in::{RateLimits, Sandbox, SandboxOptions};
use serde::Deserialize;

use load::{closed_loop, open_loop, quantile, Target};
use world::{channel, Hookbot, CHANNELS};

/// The ingest load: keep-alive connections, uncounted warm-up, counted window.
const CONNECTIONS: usize = 32;
const WARM_UP: Duration = Duration::from_secs(1);
const WINDOW: Duration = Duration::from_secs(5);
/// The latency load: a steady rate for ten seconds, spread over all `CHANNELS` channels.
const LATENCY_RATE: u64 = 200;
const LATENCY_COUNT: u64 = 2000;
/// The same below the outbound governor's global pace (45 calls/s), for the pipeline's own
/// latency: 40 a second for five seconds.
const PACED_RATE: u64 = 40;
const PACED_COUNT: u64 = 200;
/// The delivery load: a backlog on `DELIVERY_CHANNELS` channels, Discord's limits enforced.
const DELIVERY_CHANNELS: u64 = 20;
const DELIVERY_BACKLOG_PER_CHANNEL: u64 = 15;
const DELIVERY_WINDOW: Duration = Duration::from_secs(10);

struct Row {
    measure: String,
    result: String,
    goal: String,
    met: bool,
}

fn row(measure: &str, result: String, goal: &str, met: bool) -> Row {
    Row {
        measure: measure.to_owned(),
        result,
        goal: goal.to_owned(),
        met,
    }
}

/// A figure with no goal of its own, shown for context.
fn info(measure: &str, result: String) -> Row {
    Row {
        measure: measure.to_owned(),
        result,
        goal: String::new(),
        met: true,
    }
}

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let runs = |phase: &str| wanted.is_empty() || wanted.iter().any(|w| w == phase);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let started = Instant::now();
    let mut rows = Vec::new();
    runtime.block_on(async {
        if runs("ingest") {
            eprintln!("delivery bench: ingest…");
            rows.extend(ingest().await);
        }
        if runs("latency") {
            eprintln!("delivery bench: latency…");
            rows.extend(latency(LATENCY_RATE, LATENCY_COUNT).await);
            rows.extend(latency(PACED_RATE, PACED_COUNT).await);
        }
        if runs("fairness") {
            eprintln!("delivery bench: fairness…");
            rows.extend(fairness::measure().await);
        }
        if runs("delivery") {
            eprintln!("delivery bench: delivery…");
            rows.extend(delivery().await);
        }
        if runs("memory") {
            eprintln!("delivery bench: memory…");
            rows.extend(memory().await);
        }
        if runs("postgres") {
            eprintln!("delivery bench: postgres (ingest on PostgreSQL vs sled vs bare, failover)…");
            rows.extend(scaling::measure().await);
        }
        if runs("crash") {
            eprintln!("delivery bench: crash rounds…");
            rows.extend(crashes().await);
        }
    });
    print_table(&rows, started.elapsed());
}

fn print_table(rows: &[Row], took: Duration) {
    let width = |pick: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| pick(r).len())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let (w1, w2, w3) = (
        width(|r| &r.measure, "measure"),
        width(|r| &r.result, "result"),
        width(|r| &r.goal, "goal"),
    );
    println!();
    println!(
        "{:w1$}  {:w2$}  {:w3$}  verdict",
        "measure", "result", "goal"
    );
    println!("{}", "-".repeat(w1 + w2 + w3 + 13));
    for r in rows {
        let verdict = match (r.goal.is_empty(), r.met) {
            (true, _) => "",
            (false, true) => "met",
            (false, false) => "MISSED",
        };
        println!(
            "{:w1$}  {:w2$}  {:w3$}  {verdict}",
            r.measure, r.result, r.goal
        );
    }
    println!("\n(bench took {:.0} s)", took.as_secs_f64());
}

// --- 1. ingest ---

#[derive(Deserialize)]
struct BareBody {
    #[allow(dead_code)]
    variables: Vec<BareVariable>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct BareVariable {
    name: String,
    variable: String,
    value: serde_json::Value,
}

/// The floor hookbot is compared with: an axum route that parses the same body and answers
/// the same shape, storing nothing.
async fn bare_axum() -> SocketAddr {
    let router = Router::new().route(
        "/webhook/{bot_id}/{event_id}",
        post(|body: Bytes| async move {
            match serde_json::from_slice::<BareBody>(&body) {
                Ok(_) => Ok(Json(
                    serde_json::json!({"ok": true, "run": "run_0000000000000001"}),
                )),
                Err(_) => Err(axum::http::StatusCode::BAD_REQUEST),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

async fn ingest() -> Vec<Row> {
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..CHANNELS)
            .map(|i| Bytes::from(world::body(channel(i), &i.to_string())))
            .collect(),
    );
    let bare = closed_loop(
        Target {
            addr: bare_axum().await,
            path: "/webhook/1/bench".to_owned(),
            key: "key".to_owned(),
            bodies: bodies.clone(),
        },
        CONNECTIONS,
        WARM_UP,
        WINDOW,
    )
    .await;

    let sandbox = world::stand_in(SandboxOptions::default()).await;
    let hookbot = Hookbot::start(&sandbox).await;
    let accepted = closed_loop(
        Target {
            addr: hookbot.running.addr,
            path: hookbot.path(),
            key: hookbot.key.clone(),
            bodies,
        },
        CONNECTIONS,
        WARM_UP,
        WINDOW,
    )
    .await;
    let delivered_meanwhile = sandbox.request_count();
    hookbot.stop().await;
    sandbox.shutdown().await;

    let share = accepted.per_second() / bare.per_second();
    vec![
        info(
            "ingest: bare axum, same body",
            format!("{:.0} req/s", bare.per_second()),
        ),
        row(
            "ingest: hookbot, durable 200s",
            format!(
                "{:.0} req/s = {:.1} % of bare{}",
                accepted.per_second(),
                share * 100.0,
                match (accepted.other, accepted.stuck) {
                    (0, 0) => String::new(),
                    (other, stuck) => format!(" ({other} non-200, {stuck} connections hung)"),
                }
            ),
            ">= 50 % of bare",
            share >= 0.5 && accepted.other == 0 && accepted.stuck == 0,
        ),
        info(
            "ingest: CPU per request (whole process), bare / hookbot",
            format!(
                "{:.1} / {:.1} µs = {:.1} % (the rate's share if both had the same CPU)",
                bare.cpu_per_request().as_secs_f64() * 1e6,
                accepted.cpu_per_request().as_secs_f64() * 1e6,
                100.0 * bare.cpu_per_request().as_secs_f64()
                    / accepted.cpu_per_request().as_secs_f64().max(f64::EPSILON)
            ),
        ),
        info(
            "ingest: Discord calls meanwhile",
            format!(
                "{delivered_meanwhile} in {:.0} s",
                (WARM_UP + WINDOW).as_secs_f64()
            ),
        ),
    ]
}

// --- 2. latency ---

/// When each message reached the stand-in, by sequence number, over `channels` channels.
fn arrivals(sandbox: &Sandbox, channels: u64) -> HashMap<u64, Instant> {
    (0..channels)
        .flat_map(|i| sandbox.timed_messages(channel(i)))
        .filter_map(|(arrived, message)| Some((world::seq_of(&message)?.parse().ok()?, arrived)))
        .collect()
}

async fn wait_for_messages(sandbox: &Sandbox, channels: u64, count: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline && arrivals(sandbox, channels).len() < count {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// POST-to-Discord latency at a steady `rate`; the goal row only at [`LATENCY_RATE`].
async fn latency(rate: u64, count: u64) -> Vec<Row> {
    let sandbox = world::stand_in(SandboxOptions::default()).await;
    let hookbot = Hookbot::start(&sandbox).await;
    let sent = open_loop(&hookbot.url(), &hookbot.key, rate, count, |seq| {
        world::body(channel(seq), &seq.to_string())
    })
    .await;
    wait_for_messages(&sandbox, CHANNELS, count as usize, Duration::from_secs(20)).await;
    let arrived = arrivals(&sandbox, CHANNELS);
    hookbot.stop().await;
    sandbox.shutdown().await;

    let refused = sent.iter().filter(|s| s.status != 200).count();
    let mut accept: Vec<Duration> = sent.iter().map(|s| s.answered - s.sent).collect();
    let mut deliver: Vec<Duration> = sent
        .iter()
        .filter_map(|s| Some(arrived.get(&s.seq)?.saturating_duration_since(s.sent)))
        .collect();
    // After the answer: what the executor, the pacer and the call add to the durable accept.
    let mut after_answer: Vec<Duration> = sent
        .iter()
        .filter_map(|s| Some(arrived.get(&s.seq)?.saturating_duration_since(s.answered)))
        .collect();
    accept.sort();
    deliver.sort();
    after_answer.sort();
    let missing = sent.len() - deliver.len();
    let p99 = quantile(&deliver, 0.99);
    let goal_met = missing == 0 && refused == 0 && p99 <= Duration::from_millis(5);
    let notes = format!(
        "{}{}",
        if missing > 0 {
            format!(" ({missing} not there after 20 s)")
        } else {
            String::new()
        },
        if refused > 0 {
            format!(" ({refused} not 200)")
        } else {
            String::new()
        }
    );
    let at = format!("{rate}/s");
    let accept_p99 = quantile(&accept, 0.99);
    let accepted = format!(
        "{} / {}",
        millis(quantile(&accept, 0.5)),
        millis(accept_p99)
    );
    let accept_measure = format!("latency {at}: POST -> 200, p50 / p99");
    let mut rows = vec![
        if rate == LATENCY_RATE {
            // Issue 11: the durable answer alone, whatever Discord's pace allows after it.
            row(
                &accept_measure,
                accepted,
                "p99 <= 5 ms at 200 req/s",
                refused == 0 && accept_p99 <= Duration::from_millis(5),
            )
        } else {
            info(&accept_measure, accepted)
        },
        info(
            &format!("latency {at}: POST -> Discord, p50"),
            millis(quantile(&deliver, 0.5)),
        ),
        info(
            &format!("latency {at}: 200 -> Discord, p50 / p99"),
            format!(
                "{} / {}",
                millis(quantile(&after_answer, 0.5)),
                millis(quantile(&after_answer, 0.99))
            ),
        ),
    ];
    let measure = format!("latency {at}: POST -> Discord, p99");
    if rate == LATENCY_RATE {
        // Above Discord's global 50 calls a second, most of these wait for their turn: the
        // issue's goal for POST -> Discord is at 40/s, below that pace.
        rows.push(info(&measure, format!("{}{notes}", millis(p99))));
    } else {
        rows.push(row(
            &measure,
            format!("{}{notes}", millis(p99)),
            "<= 5 ms at 40 req/s",
            goal_met,
        ));
    }
    rows
}

// --- 3. delivery under Discord's limits ---

async fn delivery() -> Vec<Row> {
    let limits = RateLimits::DISCORD;
    let sandbox = world::stand_in(SandboxOptions::default().discord_rate_limits(limits)).await;
    let hookbot = Hookbot::start(&sandbox).await;
    let (requests_before, limited_before) = (sandbox.request_count(), sandbox.rate_limited_count());
    let total = DELIVERY_CHANNELS * DELIVERY_BACKLOG_PER_CHANNEL;
    let sent = open_loop(&hookbot.url(), &hookbot.key, 1000, total, |seq| {
        world::body(channel(seq % DELIVERY_CHANNELS), &seq.to_string())
    })
    .await;
    let accepted = sent.iter().filter(|s| s.status == 200).count();
    wait_for_messages(
        &sandbox,
        DELIVERY_CHANNELS,
        accepted,
        DELIVERY_WINDOW + Duration::from_secs(10),
    )
    .await;
    let mut times: Vec<Instant> = arrivals(&sandbox, DELIVERY_CHANNELS)
        .into_values()
        .collect();
    times.sort();
    let requests = sandbox.request_count() - requests_before;
    let limited = sandbox.rate_limited_count() - limited_before;
    hookbot.stop().await;
    sandbox.shutdown().await;

    let allowed = (DELIVERY_CHANNELS as f64 * f64::from(limits.messages_per_channel)
        / f64::from(limits.per_seconds))
    .min(f64::from(limits.global_per_second));
    let in_window = times
        .first()
        .map(|first| {
            times
                .iter()
                .filter(|t| **t < *first + DELIVERY_WINDOW)
                .count()
        })
        .unwrap_or(0);
    let rate = in_window as f64 / DELIVERY_WINDOW.as_secs_f64();
    let share_429 = if requests == 0 {
        0.0
    } else {
        limited as f64 / requests as f64
    };
    vec![
        row(
            "delivery: messages/s under limits",
            format!(
                "{rate:.1}/s of {allowed:.0}/s allowed = {:.1} %",
                rate / allowed * 100.0
            ),
            ">= 95 % of allowed",
            rate >= 0.95 * allowed,
        ),
        row(
            "delivery: calls answered 429",
            format!("{limited} of {requests} = {:.2} %", share_429 * 100.0),
            "<= 1 %",
            share_429 <= 0.01,
        ),
        info(
            "delivery: backlog delivered",
            format!("{} of {accepted} accepted ({total} sent)", times.len()),
        ),
    ]
}

// --- 4. memory ---

async fn memory() -> Vec<Row> {
    let measured = memory::measure().await;
    let mib = |kib: u64| kib as f64 / 1024.0;
    vec![
        row(
            "memory: RSS idle",
            format!(
                "{:.1} MiB (peak {:.1}; file {:.1}, anon {:.1})",
                mib(measured.idle.rss_kib),
                mib(measured.idle.peak_kib),
                mib(measured.idle.file_kib),
                mib(measured.idle.anon_kib)
            ),
            "<= 20 MB",
            measured.idle.rss_kib * 1024 <= 20_000_000,
        ),
        row(
            "memory: RSS, 100k runs queued",
            format!(
                "{:.1} MiB (peak {:.1}; file {:.1}, anon {:.1})",
                mib(measured.queued.rss_kib),
                mib(measured.queued.peak_kib),
                mib(measured.queued.file_kib),
                mib(measured.queued.anon_kib)
            ),
            "<= 64 MB",
            measured.queued.rss_kib * 1024 <= 64_000_000,
        ),
        info(
            "memory: queueing 100k runs took",
            format!(
                "{:.1} s; {} sends tried while measured",
                measured.fill_time.as_secs_f64(),
                measured.sends_tried
            ),
        ),
    ]
}

// --- 5. kill -9 rounds ---

async fn crashes() -> Vec<Row> {
    let c = crash::rounds().await;
    for line in &c.lost_runs {
        eprintln!("crash: lost {line}");
    }
    if let Some(kept) = &c.kept {
        eprintln!("crash: database and logs kept in {}", kept.display());
    }
    vec![
        row(
            &format!("crash: kill -9 x {}, accepted runs lost", crash::ROUNDS),
            format!("{} of {} accepted", c.lost, c.accepted),
            "0",
            c.lost == 0 && c.accepted > 0,
        ),
        row(
            "crash: messages sent twice",
            c.repeated.to_string(),
            "0",
            c.repeated == 0,
        ),
        info(
            "crash: rounds took",
            format!(
                "{:.0} s (seed {}; {} unanswered webhooks delivered, allowed)",
                c.took.as_secs_f64(),
                c.seed,
                c.unanswered_delivered
            ),
        ),
        info(
            "crash: last start ran",
            format!(
                "{:.0} s, {}; missing every 20 s: {:?}",
                c.last_start.as_secs_f64(),
                if c.deadline_ran_out {
                    "until the deadline"
                } else {
                    "until every accepted webhook arrived"
                },
                c.timeline
            ),
        ),
    ]
}
