//! Every HTTP route hookbot serves: the webhooks ([`webhook`]) and the operator's `/healthz`,
//! `/readyz` and `/metrics` ([`health`]) — beside the webhooks on `http.listen`, or only on
//! `http.metrics_listen` when that is set, so they can stay off the public internet — and the
//! web console ([`console`]) on its own `http.console_listen`.

pub mod console;
pub mod health;
pub mod listener;
pub mod webhook;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use health::Probe;
pub use listener::Limits;
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
    console: Option<JoinHandle<()>>,
}

/// Serves the webhooks on `webhooks` and the operator's routes on `operator` (the
/// `http.metrics_listen` listener) or, without it, beside the webhooks, each under `limits`
/// (the operator's listener under at most [`listener::OPERATOR_MAX_CONNECTIONS`]). Both stop
/// taking requests once `shutdown` is cancelled and finish the ones in progress.
pub fn serve(
    webhooks: TcpListener,
    operator: Option<TcpListener>,
    state: AppState,
    probe: Probe,
    limits: Limits,
    shutdown: CancellationToken,
) -> Serving {
    let (router, operator) = match operator {
        None => (app(state, probe), None),
        Some(listener) => {
            let router = health::separate_router(probe);
            let limits = Limits {
                max_connections: limits
                    .max_connections
                    .min(listener::OPERATOR_MAX_CONNECTIONS),
                ..limits
            };
            let task = spawn(
                "the metrics listener",
                listener,
                router,
                limits,
                shutdown.clone(),
            );
            (webhook::router(state), Some(task))
        }
    };
    Serving {
        webhooks: spawn("the webhook listener", webhooks, router, limits, shutdown),
        operator,
        console: None,
    }
}

impl Serving {
    /// Returns once both listeners have stopped (after `shutdown` was cancelled).
    pub async fn stopped(self) {
        let _ = self.webhooks.await;
        if let Some(operator) = self.operator {
            let _ = operator.await;
        }
        if let Some(console) = self.console {
            let _ = console.await;
        }
    }

    /// Serves the console on `tcp` beside the other listeners, under `limits` capped at
    /// [`console::MAX_CONNECTIONS`]; it stops with them when `shutdown` is cancelled.
    pub fn serve_console(
        &mut self,
        tcp: TcpListener,
        state: console::ConsoleState,
        limits: Limits,
        shutdown: CancellationToken,
    ) {
        let limits = Limits {
            max_connections: limits.max_connections.min(console::MAX_CONNECTIONS),
            ..limits
        };
        self.console = Some(spawn(
            "the console",
            tcp,
            console::router(state),
            limits,
            shutdown,
        ));
    }
}

fn spawn(
    name: &'static str,
    tcp: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(listener::serve(name, tcp, router, limits, shutdown))
}
