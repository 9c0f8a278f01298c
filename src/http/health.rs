//! What an operator's tools ask: `GET /healthz`, `GET /readyz` and `GET /metrics`.
//!
//! They are served on `http.listen`, or only on `http.metrics_listen` when that key is set, so
//! they can stay off the public internet (the split is made in `http`).

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::engine::Store;
use crate::leader::Leadership;
use crate::metrics::{prometheus, EVENTS_LOADED, GATEWAY_CONNECTED, PENDING_RUNS};

/// How long `/readyz` waits for the store's test write.
pub const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What `/readyz` and `/metrics` look at.
#[derive(Clone)]
pub struct Probe {
    pub store: Store,
    pub leadership: Leadership,
}

impl Probe {
    /// `Ok` when the store takes a write and, with the embedded store, the gateway is connected;
    /// else the reason. Instances sharing a store are ready whether they lead or not
    /// (CONTRACT §8): each accepts webhooks, and one of them holds the gateway.
    pub async fn readiness(&self) -> Result<(), String> {
        if !self.store.is_shared() {
            let problem = match self.leadership.discord() {
                Some(discord) => discord.gateway_problem().await,
                None => Some("not connected to Discord yet".to_owned()),
            };
            if let Some(problem) = problem {
                return Err(problem);
            }
        }
        match tokio::time::timeout(STORE_PROBE_TIMEOUT, self.store.check_writable()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("the database does not take writes: {error}")),
            Err(_) => Err(format!(
                "the database did not finish a write within {} s",
                STORE_PROBE_TIMEOUT.as_secs()
            )),
        }
    }
}

/// `/healthz`, `/readyz` and `/metrics`.
pub fn router(probe: Probe) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"ok": true})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        // Every answer is JSON (contract §4), a POST to /healthz included.
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET,HEAD")],
                Json(json!({"ok": false, "error": "method_not_allowed", "message": "this URL only answers GET"})),
            )
        })
        .with_state(probe)
}

/// Just the operator's routes, with a JSON 404 for anything else: the `http.metrics_listen`
/// listener.
pub fn separate_router(probe: Probe) -> Router {
    router(probe).fallback(|| async {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"ok": false, "error": "not_found", "message": "this listener serves only /healthz, /readyz and /metrics"})),
        )
    })
}

async fn readyz(State(probe): State<Probe>) -> Response {
    match probe.readiness().await {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(message) => {
            tracing::debug!(%message, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"ok": false, "error": "not_ready", "message": message})),
            )
                .into_response()
        }
    }
}

async fn metrics_page(State(probe): State<Probe>) -> Response {
    if let Ok(pending) = probe.store.pending_count().await {
        metrics::gauge!(PENDING_RUNS).set(pending as f64);
    }
    if let Ok(events) = probe.store.events().await {
        let enabled = events.iter().filter(|event| event.enabled).count();
        metrics::gauge!(EVENTS_LOADED).set(enabled as f64);
    }
    let connected = match probe.leadership.discord() {
        Some(discord) => discord.gateway_problem().await.is_none(),
        None => false,
    };
    metrics::gauge!(GATEWAY_CONNECTED).set(if connected { 1.0 } else { 0.0 });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus().render(),
    )
        .into_response()
}
