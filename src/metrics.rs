//! The metric names hookbot records, and the one Prometheus recorder they go to.
//!
//! A leaf: the executor, the pacer, the reloader and the webhook listener record through the
//! `metrics` facade under these names; `/metrics` (in `http::health`) renders [`prometheus`].
//! Counters are process-wide.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Webhook requests answered, by HTTP status (`status="200"`).
pub const WEBHOOKS: &str = "hookbot_webhooks_total";
/// Runs that ended, by outcome (`succeeded`, `failed`, `dead_lettered`), plus `retry_scheduled`
/// each time a run is put back for a later attempt.
pub const RUNS: &str = "hookbot_runs_total";
/// How long each action took, in seconds, by action kind.
pub const ACTION_SECONDS: &str = "hookbot_action_duration_seconds";
/// Actions that failed, by action kind.
pub const ACTION_ERRORS: &str = "hookbot_action_errors_total";
/// Write calls to Discord, by Discord's answer (`status="200"`, `"403"`, `"429"`, `"none"`
/// when it did not answer).
pub const DISCORD_CALLS: &str = "hookbot_discord_requests_total";
/// Discord calls that failed (an error status, or no answer).
pub const DISCORD_ERRORS: &str = "hookbot_discord_errors_total";
/// Discord answers 429.
pub const DISCORD_RATE_LIMITED: &str = "hookbot_discord_rate_limited_total";
/// Runs accepted and not finished (the queue depth), as of the scrape.
pub const PENDING_RUNS: &str = "hookbot_pending_runs";
/// Enabled events being served, as of the scrape.
pub const EVENTS_LOADED: &str = "hookbot_events_loaded";
/// 1 when the gateway is connected, else 0, as of the scrape.
pub const GATEWAY_CONNECTED: &str = "hookbot_gateway_connected";
/// 1 while this instance leads (holds the gateway and carries out runs), else 0. With the
/// embedded store the one process always leads.
pub const LEADER: &str = "hookbot_leader";
/// Reloads of the events folder that found a problem (the last good version kept serving).
pub const RELOAD_FAILURES: &str = "hookbot_reload_failures_total";

/// The process's Prometheus recorder, installed on first use. If another recorder was
/// installed first, hookbot's metrics go there and this handle renders an empty page.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(ACTION_SECONDS.to_owned()),
                &[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ],
            )
            .expect("the bucket list is not empty");
        let handle = match builder.install_recorder() {
            Ok(handle) => handle,
            Err(error) => {
                tracing::warn!(%error, "another metrics recorder is installed; /metrics stays empty");
                PrometheusBuilder::new().build_recorder().handle()
            }
        };
        describe();
        // Histogram samples wait in buckets until drained; a scrape drains them too, but an
        // unscraped process must not grow.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            })
            .ok();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(WEBHOOKS, "Webhook requests answered, by HTTP status");
    describe_counter!(
        RUNS,
        "Runs ended by outcome; retry_scheduled counts runs put back for a later attempt"
    );
    describe_histogram!(
        ACTION_SECONDS,
        Unit::Seconds,
        "How long each action took, by action kind"
    );
    describe_counter!(ACTION_ERRORS, "Actions that failed, by action kind");
    describe_counter!(
        DISCORD_CALLS,
        "Write calls to Discord, by the status Discord answered (none: no answer)"
    );
    describe_counter!(
        DISCORD_ERRORS,
        "Discord calls answered with an error status or not answered"
    );
    describe_counter!(DISCORD_RATE_LIMITED, "Discord calls answered 429");
    describe_gauge!(PENDING_RUNS, "Runs accepted and not finished (queue depth)");
    describe_gauge!(EVENTS_LOADED, "Enabled events being served");
    describe_gauge!(GATEWAY_CONNECTED, "1 when the Discord gateway is connected");
    describe_gauge!(
        LEADER,
        "1 while this instance leads: holds the gateway and carries out runs"
    );
    describe_counter!(
        RELOAD_FAILURES,
        "Reloads of the events folder that found a problem"
    );
}
