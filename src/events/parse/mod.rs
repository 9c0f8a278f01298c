//! Event files → [`Event`], reporting every problem at the key or value to fix, and warning
//! about templates that look wrong but may be meant.
//!
//! The parser reads every action with a [`Ctx`] that numbers the actions in document order and
//! records every template with its place; [`refs`] then judges the `{NAME.field}` references
//! against the `save_as` names once the whole file is read.

mod actions;
mod buttons;
mod channels;
mod condition;
mod ctx;
mod fields;
mod http_request;
pub mod limits;
mod members;
mod message;
mod refs;
mod request;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_actions;
#[cfg(test)]
mod tests_common;
#[cfg(test)]
mod tests_flow;
#[cfg(test)]
mod tests_local_actions;
#[cfg(test)]
mod tests_request;
#[cfg(test)]
mod tests_trigger;
mod trigger;
mod variables;

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::action::ActionKind;
use super::model::Event;
use super::trigger::Trigger;
use crate::problem::{describe, integer_value, Checked, Checker, Problem, TableReader};
use ctx::Ctx;

pub use buttons::{MAX_BUTTONS, MAX_BUTTON_LABEL_CHARS, MAX_BUTTON_URL_CHARS};
pub use fields::{is_valid_event_id, parse_hex_color, parse_snowflake};
pub use limits::*;
pub use message::MENTION_KINDS;

/// The `type`s an action may have, in the order messages list them.
pub const ACTION_TYPES: [&str; 37] = ActionKind::NAMES;

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
    /// Every button's `event` and the line and column where it is written, for the check that
    /// it names a `button` event of the same server (it needs the other files).
    pub button_events: Vec<(String, (usize, usize))>,
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
            button_events: ctx
                .button_events()
                .into_iter()
                .map(|(event, span)| (event, checker.position(&span)))
                .collect(),
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
    if let Ok(None) | Ok(Some([])) = actions.as_ref().map(Option::as_deref) {
        // Loads and answers 200, but a webhook would do nothing: most likely a slip.
        let at = document
            .get_ref()
            .get("actions")
            .map_or(0..0, |actions| actions.span());
        ctx.checker.warn(
            at,
            "the event has no actions: a webhook to it does nothing (add [[actions]])",
        );
    }
    let trigger = trigger::read_trigger(&mut root);
    let auth = request::read_auth(&mut root, file);
    let when = request::read_when(ctx, &mut root);
    let variables = request::read_variables(ctx, &mut root);
    let webhook_only = trigger.as_ref().map_or(Ok(()), |trigger| {
        check_webhook_only(ctx, document, trigger.get_ref())
    });
    root.finish();
    webhook_only?;

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
        trigger: trigger?.into_inner(),
    };
    Ok((event, id.span()))
}

/// What only a webhook (or only an interaction) gives: `[auth]` and `[variables]` read the
/// request, which other triggers do not have; `reply` answers an interaction, which only a
/// command or a button click starts.
fn check_webhook_only(
    ctx: &Ctx<'_, '_>,
    document: &Spanned<DeTable<'_>>,
    trigger: &Trigger,
) -> Checked<()> {
    let kind = trigger.kind();
    let mut outcome = Ok(());
    if !trigger.is_webhook() {
        for key in ["auth", "variables"] {
            if let Some(value) = document.get_ref().get(key) {
                outcome = Err(ctx.checker.report(
                    value.span(),
                    format!(
                        "[{key}] is about the webhook request, and a {kind} trigger starts this \
                     event without one; leave it out (the trigger's variables, such as \
                     {{{}}}, are set already)",
                        kind.variables().first().copied().unwrap_or("user_id")
                    ),
                ));
            }
        }
    }
    if !kind.is_interaction() {
        for span in ctx.replies() {
            outcome = Err(ctx.checker.report(
                span,
                format!(
                    "reply answers the slash command or button click that started the run, and \
                     a {kind} trigger starts this event: use send_message, or give the event a \
                     [trigger] of type \"command\" or \"button\""
                ),
            ));
        }
    }
    outcome
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
