//! The events pages: the list (id, name, trigger, server, enabled, last run), and one page per
//! event: how to call it (as `hookbot event show` prints it, with copy buttons), its revisions
//! with a diff between two, and the test form ([`super::event_test`]).

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::Deserialize;

use super::auth::Session;
use super::error::ConsoleError;
use super::event_test::served_event;
use super::layout::{page, time, Nav};
use super::state::ConsoleState;
use crate::admin::event_guide::{call_guide, shown_definition, CallGuide};
use crate::admin::ops;
use crate::admin::protocol::RunsQuery;
use crate::engine::{EventRevision, Store};
use crate::run::Run;

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/events", get(list))
        .route("/events/{id}", get(show))
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
pub async fn event_rows(store: &Store) -> Result<Vec<EventRow>, ConsoleError> {
    let mut events = store.events().await?;
    events.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let newest: Vec<Run> = ops::runs(
            store,
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
    let rows = event_rows(&state.store).await?;
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

/// `?from=&to=`: the two revisions to compare.
#[derive(Debug, Default, Deserialize)]
pub struct DiffQuery {
    pub from: Option<u32>,
    pub to: Option<u32>,
}

/// One line of a diff between two revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    Added(String),
    Removed(String),
}

/// The definitions of revisions `from` and `to` (as pages show them: no key hash, no secret
/// source), line by line; `None` when either does not exist.
pub fn revision_diff(revisions: &[EventRevision], from: u32, to: u32) -> Option<Vec<DiffLine>> {
    let text = |number: u32| {
        revisions
            .iter()
            .find(|r| r.revision == number)
            .map(|r| serde_json::to_string_pretty(&shown_definition(&r.event)).unwrap_or_default())
    };
    let (old, new) = (text(from)?, text(to)?);
    let diff = similar::TextDiff::from_lines(&old, &new);
    Some(
        diff.iter_all_changes()
            .map(|change| {
                let line = change.value().trim_end_matches('\n').to_owned();
                match change.tag() {
                    similar::ChangeTag::Equal => DiffLine::Same(line),
                    similar::ChangeTag::Insert => DiffLine::Added(line),
                    similar::ChangeTag::Delete => DiffLine::Removed(line),
                }
            })
            .collect(),
    )
}

fn copy_box(label: &str, text: &str) -> Markup {
    html! {
        div.copy-box { pre data-copy=(label) { (text) } }
    }
}

fn call_section(guide: &CallGuide) -> Markup {
    let headers = guide.headers.join("\n");
    let body = serde_json::to_string_pretty(&guide.body).unwrap_or_default();
    let curl = match &guide.export {
        Some(export) => format!("{export}\n{}", guide.curl),
        None => guide.curl.clone(),
    };
    html! {
        h2 { "How to call it" }
        p { "POST to this URL:" }
        (copy_box("the webhook URL", &guide.url))
        p { "With these headers:" }
        (copy_box("the headers", &headers))
        p { "An example body, with the variables this event's templates use:" }
        (copy_box("the example body", &body))
        p { "Or all at once:" }
        (copy_box("the curl line", &curl))
    }
}

fn revisions_section(
    id: &str,
    revisions: &[EventRevision],
    from: u32,
    to: u32,
    diff: Option<&[DiffLine]>,
) -> Markup {
    html! {
        h2 #revisions { "Revisions" }
        @if revisions.is_empty() {
            p { "None yet: each version hookbot accepts is stored as a revision." }
        } @else {
            ol {
                @for revision in revisions {
                    li value=(revision.revision) { "revision " (revision.revision) ", accepted " (time(revision.accepted_at_ms)) }
                }
            }
            @if revisions.len() > 1 {
                form.inline method="get" action={ "/events/" (id) "#revisions" } {
                    label { "From " select name="from" {
                        @for r in revisions { option value=(r.revision) selected[r.revision == from] { (r.revision) } }
                    } }
                    label { "to " select name="to" {
                        @for r in revisions { option value=(r.revision) selected[r.revision == to] { (r.revision) } }
                    } }
                    button.secondary type="submit" { "Compare" }
                }
                @match diff {
                    Some(lines) => {
                        pre.diff aria-label={ "changes from revision " (from) " to " (to) } {
                            @for line in lines {
                                @match line {
                                    DiffLine::Same(text) => { span { "  " (text) } "\n" }
                                    DiffLine::Added(text) => { span.add { "+ " (text) } "\n" }
                                    DiffLine::Removed(text) => { span.del { "- " (text) } "\n" }
                                }
                            }
                        }
                    }
                    None => { p.error { "No such revision." } }
                }
            }
        }
    }
}

async fn show(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    Query(query): Query<DiffQuery>,
    Extension(session): Extension<Session>,
) -> Result<Markup, ConsoleError> {
    let event = served_event(&state, &id).await?;
    let revisions = state.store.event_revisions(&id).await?;
    let guide = call_guide(&event, &state.base_url, Some(state.bot_id));
    let newest = revisions.last().map_or(0, |r| r.revision);
    let to = query.to.unwrap_or(newest);
    let from = query.from.unwrap_or(to.saturating_sub(1).max(1));
    let diff = revision_diff(&revisions, from, to);
    let auth = crate::problem::quoted(
        shown_definition(&event)["auth"]["scheme"]
            .as_str()
            .unwrap_or("api_key"),
    );
    Ok(page(
        &event.name,
        Nav::Events,
        html! {
            h1 { (event.name) }
            dl.facts {
                dt { "Id" } dd { code { (event.id) } }
                dt { "Trigger" } dd { (event.trigger.kind()) }
                dt { "Server" } dd { code { (event.server) } }
                dt { "Enabled" } dd { @if event.enabled { "yes" } @else { "no" } }
                dt { "File" } dd { code { (event.file) } }
                dt { "Authentication" } dd { (auth) }
                dt { "Runs" } dd { a href={ "/runs?event=" (event.id) } { "this event's runs" } }
            }
            @if event.trigger.is_webhook() {
                (call_section(&guide))
            }
            (super::event_test::form(&event, &session, None))
            (revisions_section(&event.id, &revisions, from, to, diff.as_deref()))
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(number: u32, name: &str) -> EventRevision {
        let text = format!(
            "id = \"e\"\nname = \"{name}\"\nserver = \"1\"\n[[actions]]\ntype = \"send_message\"\nchannel = \"1\"\ncontent = \"hi\"\n"
        );
        EventRevision {
            revision: number,
            accepted_at_ms: 1_000 * u64::from(number),
            event: crate::events::parse_event(std::path::Path::new("e.toml"), &text).unwrap(),
        }
    }

    #[tokio::test]
    async fn each_event_row_has_its_newest_run() {
        let store = Store::temporary().unwrap();
        let quiet = revision(1, "Quiet").event;
        let mut busy = revision(1, "Busy").event;
        busy.id = "busy".to_owned();
        busy.enabled = false;
        store.replace_events(&[quiet, busy]).await.unwrap();
        for at in [1_000, 2_000] {
            let id = store.next_run_id().await.unwrap();
            let mut run = Run::new(id, "busy".to_owned(), Default::default(), at);
            store.accept_run(&run, None).await.unwrap();
            run.status = crate::run::RunStatus::Succeeded;
            store.finish_run(&run).await.unwrap();
        }
        let rows = event_rows(&store).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].name.as_str(), rows[0].enabled),
            ("Busy", false),
            "by name"
        );
        let (_, at, status) = rows[0].last_run.clone().expect("a run");
        assert_eq!((at, status), (2_000, "succeeded"), "the newest");
        assert_eq!(rows[1].name, "Quiet");
        assert_eq!(rows[1].last_run, None);
        assert_eq!(rows[1].trigger, "webhook");
    }

    #[test]
    fn a_diff_shows_what_changed_between_two_revisions() {
        let revisions = [revision(1, "Old"), revision(2, "New")];
        let diff = revision_diff(&revisions, 1, 2).unwrap();
        assert!(
            diff.contains(&DiffLine::Removed("  \"name\": \"Old\",".to_owned())),
            "{diff:?}"
        );
        assert!(
            diff.contains(&DiffLine::Added("  \"name\": \"New\",".to_owned())),
            "{diff:?}"
        );
        assert!(diff.iter().any(|line| matches!(line, DiffLine::Same(_))));
        assert!(revision_diff(&revisions, 1, 3).is_none());
        let same = revision_diff(&revisions, 2, 2).unwrap();
        assert!(same.iter().all(|line| matches!(line, DiffLine::Same(_))));
    }
}
