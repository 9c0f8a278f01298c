//! The runs pages: newest first with filters, one page per run, and retry.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use super::error::ConsoleError;
use super::layout::{page, time, Nav};
use super::state::ConsoleState;
use crate::admin::ops;
use crate::admin::protocol::RunsQuery;

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new().route("/runs", get(list))
}

async fn list(State(state): State<ConsoleState>) -> Result<Markup, ConsoleError> {
    let runs = ops::runs(
        &state.store,
        &RunsQuery {
            event: None,
            failed: false,
            limit: Some(100),
        },
    )
    .await?;
    Ok(page(
        "Runs",
        Nav::Runs,
        html! {
            h1 { "Runs" }
            table #runs {
                thead { tr { th { "Run" } th { "Received" } th { "Event" } th { "Status" } } }
                tbody {
                    @for run in &runs {
                        tr {
                            td { code { (run.id.to_text()) } }
                            td { (time(run.received_at_ms)) }
                            td { (run.event_id) }
                            td { (crate::queue::status_word(run)) }
                        }
                    }
                }
            }
        },
    ))
}
