//! Every HTTP route hookbot serves: the webhooks ([`webhook`]) and the operator's `/healthz`,
//! `/readyz` and `/metrics` ([`health`]) — beside the webhooks on `http.listen`, or only on
//! `http.metrics_listen` when that is set, so they can stay off the public internet.

pub mod health;
pub mod webhook;

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use health::Probe;
pub use webhook::AppState;

/// Everything one listener serves when there is no `http.metrics_listen`: the webhooks and the
/// operator's routes.
pub fn app(state: AppState, probe: Probe) -> Router {
    webhook::router(state).merge(health::router(probe))
}

/// The HTTP listeners at work; [`Serving::stopped`] waits for them after shutdown.
pub struct Serving {
    webhooks: JoinHandle<()>,
    operator: Option<JoinHandle<()>>,
}

/// Serves the webhooks on `webhooks` and the operator's routes on `operator` (the
/// `http.metrics_listen` listener) or, without it, beside the webhooks. Both stop taking
/// requests once `shutdown` is cancelled and finish the ones in progress.
pub fn serve(
    webhooks: TcpListener,
    operator: Option<TcpListener>,
    state: AppState,
    probe: Probe,
    shutdown: CancellationToken,
) -> Serving {
    let (router, operator) = match operator {
        None => (app(state, probe), None),
        Some(listener) => {
            let router = health::separate_router(probe);
            let task = spawn("the metrics listener", listener, router, shutdown.clone());
            (webhook::router(state), Some(task))
        }
    };
    Serving {
        webhooks: spawn("the webhook listener", webhooks, router, shutdown),
        operator,
    }
}

impl Serving {
    /// Returns once both listeners have stopped (after `shutdown` was cancelled).
    pub async fn stopped(self) {
        let _ = self.webhooks.await;
        if let Some(operator) = self.operator {
            let _ = operator.await;
        }
    }
}

/// The peer's address reaches the handlers, so failed authentications count against it.
fn spawn(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = result {
            tracing::error!(%error, "{name} failed");
        }
    })
}
