//! What the action tests share: a file head, and parsing a body into its actions, its errors
//! or its warnings. Bodies are put after a two-line head (`id`, `server`), so their first line
//! is line 3.

use std::path::Path;

use crate::events::*;
use crate::lang::templates::Template;

pub(super) const HEAD: &str = "id = \"a\"\nserver = 1\n";

pub(super) fn t(text: &str) -> Template {
    Template::new(text)
}

pub(super) fn parse(body: &str) -> (Result<Event, Vec<crate::problem::Problem>>, Vec<String>) {
    let (event, warnings) =
        parse_event_with_warnings(Path::new("e.toml"), &format!("{HEAD}{body}"));
    let warnings = warnings
        .iter()
        .map(|w| {
            assert!(w.is_warning());
            format!("{}:{}: {}", w.line, w.col, w.message)
        })
        .collect();
    (event, warnings)
}

/// The actions of a good file (that has no warnings either).
pub(super) fn actions(body: &str) -> Vec<Action> {
    let (event, warnings) = parse(body);
    let event = event.unwrap_or_else(|problems| panic!("{problems:#?}"));
    assert_eq!(warnings, Vec::<String>::new());
    event.actions
}

pub(super) fn kind(body: &str) -> ActionKind {
    let mut all = actions(body);
    assert_eq!(all.len(), 1);
    all.remove(0).kind
}

/// The errors of a bad file, as `LINE:COL: message`.
pub(super) fn errors(body: &str) -> Vec<String> {
    match parse(body).0 {
        Ok(event) => panic!("expected problems, got {event:#?}"),
        Err(problems) => problems
            .iter()
            .map(|p| {
                assert!(!p.is_warning());
                format!("{}:{}: {}", p.line, p.col, p.message)
            })
            .collect(),
    }
}

/// The warnings of a file that loads.
pub(super) fn warnings(body: &str) -> Vec<String> {
    let (event, warnings) = parse(body);
    event.unwrap_or_else(|problems| panic!("{problems:#?}"));
    warnings
}
