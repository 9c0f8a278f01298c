//! The frame of every console page: the head (viewport, the embedded stylesheet and script), the
//! navigation with the current page marked, and the routes that serve the embedded assets. No
//! CDN and no network at run time: both files are compiled into the binary.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};

use super::state::ConsoleState;

const STYLESHEET: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Events,
    Runs,
    Sandbox,
    /// Sign-in and error pages.
    None,
}

/// What the frame shows about the visitor; set for each request by [`super::auth::guard`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Frame {
    /// With `--sandbox`: the sandbox entry is shown, and there is nothing to sign out of.
    pub sandbox: bool,
    pub signed_in: bool,
}

tokio::task_local! {
    /// The frame of the request being answered (a task-local, so `page` needs no extra argument).
    pub(super) static FRAME: Frame;
}

/// A whole page: `title` in the tab and the heading, `nav_active` marked in the navigation.
pub fn page(title: &str, nav_active: Nav, body: Markup) -> Markup {
    let frame = FRAME.try_with(|frame| *frame).unwrap_or_default();
    let entry = |nav: Nav, href: &str, label: &str| {
        html! {
            li {
                @if nav == nav_active {
                    a href=(href) aria-current="page" { (label) }
                } @else {
                    a href=(href) { (label) }
                }
            }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · hookbot" }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    nav aria-label="Main" {
                        span.brand { "hookbot" }
                        ul {
                            (entry(Nav::Events, "/events", "Events"))
                            (entry(Nav::Runs, "/runs", "Runs"))
                            @if frame.sandbox {
                                (entry(Nav::Sandbox, "/sandbox", "Sandbox"))
                            }
                            @if frame.signed_in && !frame.sandbox {
                                li { a href="/logout" { "Sign out" } }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// The embedded stylesheet and script.
pub(super) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(
            "/assets/console.css",
            get(|| async { asset("text/css; charset=utf-8", STYLESHEET) }),
        )
        .route(
            "/assets/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
}

fn asset(content_type: &'static str, text: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // They change only with the binary; an hour spares reloads without outliving an upgrade long.
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        text,
    )
}

/// `2024-05-01 12:00:00 UTC` for a unix time in milliseconds.
pub fn time(unix_ms: u64) -> String {
    let seconds = i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX);
    match jiff::Timestamp::from_second(seconds) {
        Ok(at) => at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Err(_) => format!("@{unix_ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_page_is_marked_and_text_is_escaped() {
        let html = page("A <title>", Nav::Runs, html! { p { "x & y" } }).into_string();
        assert!(html.contains(r#"<a href="/runs" aria-current="page">Runs</a>"#));
        assert!(html.contains(r#"<a href="/events">Events</a>"#));
        assert!(html.contains("A &lt;title&gt; · hookbot"));
        assert!(html.contains("x &amp; y"));
        assert!(
            !html.contains("/sandbox"),
            "no sandbox entry outside the sandbox"
        );
    }

    #[tokio::test]
    async fn the_sandbox_entry_shows_in_the_sandbox() {
        let frame = Frame {
            sandbox: true,
            signed_in: true,
        };
        let html = FRAME
            .scope(frame, async {
                page("t", Nav::Sandbox, html! {}).into_string()
            })
            .await;
        assert!(html.contains(r#"<a href="/sandbox" aria-current="page">Sandbox</a>"#));
        assert!(
            !html.contains("Sign out"),
            "nothing to sign out of in the sandbox"
        );
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(time(1_714_564_800_000), "2024-05-01 12:00:00 UTC");
    }
}
