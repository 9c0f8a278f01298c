//! Event files → [`Event`], reporting every problem at the key or value to fix, and warning
//! about templates that look wrong but may be meant.
//!
//! The parser reads every action with a [`Ctx`] that numbers the actions in document order and
//! records every template with its place; [`refs`] then judges the `{NAME.field}` references
//! against the `save_as` names once the whole file is read.

mod actions;
mod condition;
mod fields;
pub mod limits;
mod message;
mod refs;
mod request;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_actions;

use std::cell::RefCell;
use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::action::ActionKind;
use super::model::Event;
use crate::lang::templates::Template;
use crate::problem::{describe, integer_value, Checked, Checker, Problem, TableReader};

pub use fields::parse_hex_color;
pub use limits::*;

/// The `type`s an action may have, in the order messages list them.
pub const ACTION_TYPES: [&str; 36] = ActionKind::NAMES;

/// The `allowed_mentions` entries, as Discord names its `parse` values.
pub const MENTION_KINDS: [&str; 3] = ["users", "roles", "everyone"];

/// True for 1-64 of `[A-Za-z0-9_-]`.
pub fn is_valid_event_id(id: &str) -> bool {
    (1..=MAX_EVENT_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// A Discord id (snowflake) written in decimal digits: positive and fitting a u64.
pub fn parse_snowflake(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|&id| id > 0)
}

/// Parses and validates one event file. `file` is used as given in problems and in
/// [`Event::file`]. Every problem in the file is reported, in file order; warnings are dropped
/// (see [`parse_event_with_warnings`]).
pub fn parse_event(file: &Path, text: &str) -> Result<Event, Vec<Problem>> {
    parse_event_with_warnings(file, text).0
}

/// Like [`parse_event`], also giving the file's warnings (found whether or not it loads).
pub fn parse_event_with_warnings(
    file: &Path,
    text: &str,
) -> (Result<Event, Vec<Problem>>, Vec<Problem>) {
    let (located, warnings) = parse_event_located(file, text);
    (located.map(|located| located.event), warnings)
}

/// An event and where its id is written, for messages about duplicate ids.
pub(crate) struct LocatedEvent {
    pub event: Event,
    /// `FILE:LINE:COL` of the id's value.
    pub id_location: String,
    /// Line and column of the id's value.
    pub id_position: (usize, usize),
}

/// The event or its problems, and its warnings either way.
pub(crate) fn parse_event_located(
    file: &Path,
    text: &str,
) -> (Result<LocatedEvent, Vec<Problem>>, Vec<Problem>) {
    let checker = Checker::new(file, text);
    let ctx = Ctx::new(&checker);
    let parsed = checker.parse().map(|document| {
        let read = read_event(&ctx, &document, file);
        refs::check_references(&ctx);
        read
    });
    let warnings = checker.take_warnings();
    let result = match parsed {
        Some(Ok((event, id_span))) if !checker.has_problems() => Ok(LocatedEvent {
            event,
            id_location: checker.problem_at(&id_span, "").location(),
            id_position: checker.position(&id_span),
        }),
        _ => Err(checker.into_problems()),
    };
    (result, warnings)
}

/// The event and the span of its id; `Err` when a part of it was reported.
fn read_event(
    ctx: &Ctx<'_, '_>,
    document: &Spanned<DeTable<'_>>,
    file: &Path,
) -> Checked<(Event, Range<usize>)> {
    let mut root = ctx.checker.root(document, "event file");
    // Every key is read before any `?`, so each gets checked.
    let id = read_id(&mut root);
    let name = root.optional_string("name").and_then(|name| match name {
        Some(name) if name.get_ref().trim().is_empty() => Err(root.report(
            name.span(),
            "name must not be empty (leave it out to use the id)",
        )),
        name => Ok(name.map(|name| name.get_ref().to_string())),
    });
    let server = read_server(&mut root);
    let enabled = root.optional_bool("enabled");
    let actions = actions::read_actions(ctx, &mut root, "actions");
    let auth = request::read_auth(&mut root, file);
    let when = request::read_when(ctx, &mut root);
    let variables = request::read_variables(ctx, &mut root);
    root.finish();

    let id = id?;
    let event = Event {
        name: name?.unwrap_or_else(|| id.get_ref().clone()),
        id: id.get_ref().clone(),
        server: server?,
        enabled: enabled?.unwrap_or(true),
        actions: actions?.unwrap_or_default(),
        file: file.display().to_string(),
        auth: auth?,
        when: when?,
        variables: variables?,
    };
    Ok((event, id.span()))
}

fn read_id(root: &mut TableReader<'_, '_>) -> Checked<Spanned<String>> {
    let value = root.required("id")?;
    match value.get_ref() {
        DeValue::String(id) if is_valid_event_id(id) => {
            Ok(Spanned::new(value.span(), id.to_string()))
        }
        other => Err(root.report(
            value.span(),
            format!(
                "id must be 1-{MAX_EVENT_ID_CHARS} of A-Z a-z 0-9 _ -, got {}",
                describe(other)
            ),
        )),
    }
}

fn read_server(root: &mut TableReader<'_, '_>) -> Checked<u64> {
    let value = root.required("server")?;
    let server = match value.get_ref() {
        DeValue::String(text) => parse_snowflake(text),
        DeValue::Integer(integer) => integer_value(integer)
            .and_then(|number| u64::try_from(number).ok())
            .filter(|&id| id > 0),
        _ => None,
    };
    server.ok_or_else(|| {
        root.report(
            value.span(),
            format!(
                "server must be a Discord server id (digits), got {}",
                describe(value.get_ref())
            ),
        )
    })
}

/// What the parser knows while it reads a file's actions: where it is, and every `save_as` and
/// template it has met, for the checks that need the whole file.
pub(crate) struct Ctx<'c, 't> {
    pub checker: &'c Checker<'t>,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// The number the next action gets: actions are numbered depth first, in the order
    /// [`walk_actions`](crate::events::walk_actions) visits them.
    next_action: usize,
    /// The actions being read, innermost last.
    current: Vec<usize>,
    /// Action lists around the place being read; the event's `actions` is 1.
    lists: usize,
    /// Loop bodies around the place being read.
    loops: usize,
    /// `on_error` lists around the place being read.
    on_errors: usize,
    saves: Vec<Save>,
    uses: Vec<Use>,
    /// Names `math` and `get_variable` set with `variable`.
    run_variables: Vec<String>,
}

/// A `save_as` and the action that sets it.
#[derive(Debug, Clone)]
pub(crate) struct Save {
    pub name: String,
    /// The action's number; it and the actions nested in it are before `end`.
    pub start: usize,
    pub end: usize,
    pub line: usize,
    /// The action's type and `output_fields`, when it was read without problems.
    pub kind: Option<(&'static str, &'static [&'static str])>,
}

/// One template as written, with where it stands.
#[derive(Debug, Clone)]
pub(crate) struct Use {
    pub text: String,
    pub span: Range<usize>,
    /// The number of the action holding it.
    pub action: usize,
    pub in_loop: bool,
    pub in_on_error: bool,
}

impl<'c, 't> Ctx<'c, 't> {
    pub fn new(checker: &'c Checker<'t>) -> Self {
        Ctx {
            checker,
            state: RefCell::new(State::default()),
        }
    }

    /// A template read from the file at `span`, recorded for the reference checks.
    pub fn template(&self, text: &str, span: Range<usize>) -> Template {
        let template = Template::new(text);
        if !template.is_static() {
            let mut state = self.state.borrow_mut();
            let action = state.current.last().copied().unwrap_or(0);
            let (in_loop, in_on_error) = (state.loops > 0, state.on_errors > 0);
            state.uses.push(Use {
                text: text.to_owned(),
                span,
                action,
                in_loop,
                in_on_error,
            });
        }
        template
    }

    /// Numbers a new action and makes it the current one.
    pub fn begin_action(&self) -> usize {
        let mut state = self.state.borrow_mut();
        let index = state.next_action;
        state.next_action += 1;
        state.current.push(index);
        index
    }

    /// Ends the current action; gives the number after it and everything nested in it.
    pub fn end_action(&self) -> usize {
        let mut state = self.state.borrow_mut();
        state.current.pop();
        state.next_action
    }

    pub fn list_depth(&self) -> usize {
        self.state.borrow().lists
    }

    pub fn loop_depth(&self) -> usize {
        self.state.borrow().loops
    }

    /// Runs `read` one action list deeper; `loop_body` and `on_error` say what kind of list.
    pub fn in_list<T>(&self, loop_body: bool, on_error: bool, read: impl FnOnce() -> T) -> T {
        self.change(|state| {
            state.lists += 1;
            state.loops += usize::from(loop_body);
            state.on_errors += usize::from(on_error);
        });
        let result = read();
        self.change(|state| {
            state.lists -= 1;
            state.loops -= usize::from(loop_body);
            state.on_errors -= usize::from(on_error);
        });
        result
    }

    fn change(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.state.borrow_mut());
    }

    /// The action that already has `name` as its `save_as`.
    pub fn save_named(&self, name: &str) -> Option<Save> {
        let state = self.state.borrow();
        state.saves.iter().find(|save| save.name == name).cloned()
    }

    pub fn add_save(&self, save: Save) {
        self.state.borrow_mut().saves.push(save);
    }

    pub fn add_run_variable(&self, name: &str) {
        self.state.borrow_mut().run_variables.push(name.to_owned());
    }

    pub fn saves(&self) -> Vec<Save> {
        self.state.borrow().saves.clone()
    }

    pub fn uses(&self) -> Vec<Use> {
        self.state.borrow().uses.clone()
    }

    pub fn run_variables(&self) -> Vec<String> {
        self.state.borrow().run_variables.clone()
    }

    /// The 1-based line of `span`'s start.
    pub fn line(&self, span: &Range<usize>) -> usize {
        self.checker.position(span).0
    }
}
