//! The events pages: the list (id, name, trigger, server, enabled, last run), and one page per
//! event.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use super::error::ConsoleError;
use super::layout::{page, time, Nav};
use super::state::ConsoleState;
use crate::admin::ops;
use crate::admin::protocol::RunsQuery;
use crate::run::Run;

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new().route("/events", get(list))
}

/// One row of the events list.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: String,
    pub name: String,
    pub trigger: String,
    pub server: u64,
    pub enabled: bool,
    /// The newest run: its id, when it was received and its status word.
    pub last_run: Option<(String, u64, &'static str)>,
}

/// Every served event, by name, with its newest run.
pub async fn event_rows(state: &ConsoleState) -> Result<Vec<EventRow>, ConsoleError> {
    let mut events = state.store.events().await?;
    events.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let newest: Vec<Run> = ops::runs(
            &state.store,
            &RunsQuery {
                event: Some(event.id.clone()),
                failed: false,
                limit: Some(1),
            },
        )
        .await?;
        rows.push(EventRow {
            last_run: newest.first().map(|run| {
                (
                    run.id.to_text(),
                    run.received_at_ms,
                    crate::queue::status_word(run),
                )
            }),
            trigger: event.trigger.kind().to_string(),
            id: event.id,
            name: event.name,
            server: event.server,
            enabled: event.enabled,
        });
    }
    Ok(rows)
}

async fn list(State(state): State<ConsoleState>) -> Result<Markup, ConsoleError> {
    let rows = event_rows(&state).await?;
    Ok(page(
        "Events",
        Nav::Events,
        html! {
            h1 { "Events" }
            @if rows.is_empty() {
                p { "No events are loaded. " code { "hookbot event new NAME --server ID" } " writes one." }
            } @else {
                div.scroll {
                    table #events {
                        thead { tr {
                            th scope="col" { "Name" } th scope="col" { "Id" } th scope="col" { "Trigger" }
                            th scope="col" { "Server" } th scope="col" { "Enabled" } th scope="col" { "Last run" }
                        } }
                        tbody {
                            @for row in &rows {
                                tr {
                                    td { a href={ "/events/" (row.id) } { (row.name) } }
                                    td { code { (row.id) } }
                                    td { (row.trigger) }
                                    td { code { (row.server) } }
                                    td { @if row.enabled { "yes" } @else { "no" } }
                                    td {
                                        @match &row.last_run {
                                            Some((id, at, status)) => {
                                                a href={ "/runs/" (id) } { (time(*at)) }
                                                " " span class={ "status " (status) } { (status) }
                                            }
                                            None => { "none yet" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}
