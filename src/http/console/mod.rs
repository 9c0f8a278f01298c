//! The web console on `http.console_listen`: server-rendered pages over the same admin operations
//! as the CLI, behind a console key (open on loopback with `--sandbox`), every POST checked
//! against cross-site forgery.
//!
//! - [`state`]: what every page can reach, and the console's bounds;
//! - [`session`]: sessions, the cookie, the CSRF and origin comparisons (plain logic);
//! - [`auth`]: the guard in front of every route, sign-in and sign-out;
//! - [`layout`]: the page frame, the nav and the embedded CSS and JavaScript;
//! - [`error`]: the one error of the console, mapped to a status and a page once;
//! - [`events`]: the events, one page each (how to call it, revisions and their diff);
//! - [`event_test`]: the test form on an event's page: a dry run or a real run;
//! - [`runs`]: the runs, one page each, and retry;
//! - [`sandbox`]: with `--sandbox`, the stand-in as a small Discord a visitor acts in.

pub mod auth;
pub mod error;
pub mod event_test;
pub mod events;
pub mod layout;
pub mod runs;
pub mod sandbox;
pub mod session;
pub mod state;

use axum::extract::DefaultBodyLimit;
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;

pub use session::Auth;
pub use state::{ConsoleState, SandboxLink, MAX_CONNECTIONS, MAX_FORM_BYTES};

/// Every console route, behind [`auth::guard`].
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/events") }))
        .merge(layout::routes())
        .merge(auth::routes())
        .merge(events::routes())
        .merge(event_test::routes())
        .merge(runs::routes())
        .merge(sandbox::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(state)
}
