//! The load generators: a closed loop over keep-alive HTTP/1.1 connections (hyper's bare client
//! connection, so the generator costs as little as it can on a machine it shares with the
//! server), and an open loop at a fixed rate.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// A request not answered by then counts as stuck.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What to hit, and with what.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
    pub key: String,
    /// Request bodies, used in turn.
    pub bodies: Arc<Vec<Bytes>>,
}

pub struct ClosedLoop {
    /// 200 answers completed in the measured window.
    pub ok: u64,
    /// Any other answer.
    pub other: u64,
    /// Requests not answered within [`REQUEST_TIMEOUT`] (or whose connection broke).
    pub stuck: u64,
    pub window: Duration,
    /// CPU time this whole process (load generator and server) used in the counted window.
    pub cpu: Duration,
}

impl ClosedLoop {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }

    /// CPU time per answered request, load generator included: steadier than the rate when
    /// other work shares the machine's cores.
    pub fn cpu_per_request(&self) -> Duration {
        self.cpu.div_f64((self.ok + self.other).max(1) as f64)
    }
}

/// CPU time (user and system) this process has used so far, from `/proc/self/stat` (in clock
/// ticks of 10 ms: enough over a window of seconds).
pub fn process_cpu() -> Duration {
    const TICK: Duration = Duration::from_millis(10);
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<u32>().ok());
    // utime and stime are the 14th and 15th fields: 12th and 13th after the name.
    TICK * (ticks(11).unwrap_or(0) + ticks(12).unwrap_or(0))
}

/// `connections` keep-alive connections, each sending its next request as soon as the last is
/// answered: `warm_up` uncounted, then `window` counted (answers completed within it).
pub async fn closed_loop(
    target: Target,
    connections: usize,
    warm_up: Duration,
    window: Duration,
) -> ClosedLoop {
    let ok = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let stuck = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let counting_from = start + warm_up;
    let deadline = counting_from + window;
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(counting_from.into()).await;
        let at_start = process_cpu();
        tokio::time::sleep_until(deadline.into()).await;
        process_cpu().saturating_sub(at_start)
    });
    let mut tasks = Vec::new();
    for connection in 0..connections {
        let (target, ok, other, stuck) = (target.clone(), ok.clone(), other.clone(), stuck.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(target.addr)
                .await
                .expect("connects");
            stream.set_nodelay(true).unwrap();
            let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("HTTP/1.1 handshake");
            tokio::spawn(driver);
            let host = target.addr.to_string();
            let mut next = connection;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let body = target.bodies[next % target.bodies.len()].clone();
                next += connections;
                let request = Request::post(&target.path)
                    .header(HOST, &host)
                    .header(AUTHORIZATION, &target.key)
                    .header(CONTENT_TYPE, "application/json")
                    .body(Full::new(body))
                    .unwrap();
                let exchange = async {
                    sender.ready().await?;
                    let response = sender.send_request(request).await?;
                    let status = response.status();
                    response.into_body().collect().await?;
                    Ok::<_, hyper::Error>(status)
                };
                let status = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
                    Ok(Ok(status)) => status,
                    // A hung or broken connection ends this connection's part of the load.
                    _ => {
                        stuck.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                };
                let done = Instant::now();
                if done >= counting_from && done < deadline {
                    if status == 200 {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        other.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("load task");
    }
    ClosedLoop {
        ok: ok.load(Ordering::Relaxed),
        other: other.load(Ordering::Relaxed),
        stuck: stuck.load(Ordering::Relaxed),
        window,
        cpu: cpu.await.expect("cpu task"),
    }
}

/// One request of an open loop: when it was sent and when (and how) it was answered.
pub struct Sent {
    pub seq: u64,
    pub sent: Instant,
    pub answered: Instant,
    pub status: u16,
}

/// `count` requests at `per_second`, each sent on schedule whatever the answers do (a missed
/// tick is sent at once); `body(seq)` makes each body.
pub async fn open_loop(
    url: &str,
    key: &str,
    per_second: u64,
    count: u64,
    body: impl Fn(u64) -> String,
) -> Vec<Sent> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap();
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / per_second));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(count as usize);
    for seq in 0..count {
        ticker.tick().await;
        let request = client
            .post(url)
            .header("Authorization", key)
            .header("Content-Type", "application/json")
            .body(body(seq));
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let _ = response.bytes().await;
                    status
                }
                Err(_) => 0,
            };
            Sent {
                seq,
                sent,
                answered: Instant::now(),
                status,
            }
        }));
    }
    let mut sent = Vec::with_capacity(tasks.len());
    for task in tasks {
        sent.push(task.await.expect("request task"));
    }
    sent
}

/// The `q` quantile (0..=1) of sorted durations, nearest rank.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
