//! `[[actions.buttons]]` of `send_message` and `reply`: label, style, the `button` event a click
//! runs and its value, or a link's url. Whether the named event is a `button` event is judged
//! once every file is read (`events::load`).

use super::ctx::Ctx;
use super::fields::is_valid_event_id;
use super::fields::{check_count, optional_text, optional_value_text, read_list, required_text};
use crate::events::message::{ButtonSpec, ButtonStyle};
use crate::problem::{Checked, TableReader};

/// Discord's limits on buttons: five to an action row, five rows to a message.
pub const MAX_BUTTONS: usize = 25;
pub const MAX_BUTTON_LABEL_CHARS: usize = 80;
pub const MAX_BUTTON_URL_CHARS: usize = 512;

/// The optional `buttons` list of a message action.
pub(super) fn read_buttons(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
) -> Checked<Vec<ButtonSpec>> {
    let buttons = read_list(table, "buttons", "button", |button| {
        read_button(ctx, button)
    })?
    .unwrap_or_default();
    check_count(table, "buttons", "buttons", buttons.len(), MAX_BUTTONS)?;
    Ok(buttons)
}

fn read_button(ctx: &Ctx<'_, '_>, table: TableReader<'_, '_>) -> Checked<ButtonSpec> {
    let mut table = table.with_key_prefix("button.");
    let label = required_text(ctx, &mut table, "label", MAX_BUTTON_LABEL_CHARS);
    let style = table.optional_string("style");
    let event = table.optional_string("event");
    let value = optional_value_text(ctx, &mut table, "value");
    let url = optional_text(ctx, &mut table, "url", MAX_BUTTON_URL_CHARS);
    let url_span = table.optional("url").map(|url| url.span());
    let value_span = table.optional("value").map(|value| value.span());
    let span = table.span();
    let style = style.and_then(|style| match style {
        None if url_span.is_some() => Ok(ButtonStyle::Link),
        None => Ok(ButtonStyle::Primary),
        Some(style) => ButtonStyle::from_name(style.get_ref()).ok_or_else(|| {
            table.report(
                style.span(),
                format!(
                    "unknown button.style {:?}; expected one of: {}",
                    style.get_ref(),
                    ButtonStyle::NAMES.join(", ")
                ),
            )
        }),
    });
    let event = event.and_then(|event| match event {
        Some(id) if !is_valid_event_id(id.get_ref()) => Err(table.report(
            id.span(),
            format!(
                "button.event must be the id of a button event (1-64 of A-Z a-z 0-9 _ -), got {:?}",
                id.get_ref()
            ),
        )),
        Some(id) => {
            ctx.add_button_event(id.get_ref(), id.span());
            Ok(Some(id.get_ref().to_string()))
        }
        None => Ok(None),
    });
    let checker = table.checker();
    table.finish();
    let (label, style, event, value, url) = (label?, style?, event?, value?, url?);
    if style == ButtonStyle::Link {
        let Some(url) = url else {
            return Err(checker.report(span, "a link button needs url, the address it opens"));
        };
        if let Some(text) = url.is_static().then(|| url.as_str()) {
            if !(text.starts_with("https://")
                || text.starts_with("http://")
                || text.starts_with("discord://"))
            {
                return Err(checker.report(
                    url_span.unwrap_or(span),
                    format!(
                        "button.url must start with https://, http:// or discord://, got {text:?}"
                    ),
                ));
            }
        }
        if event.is_some() || value.is_some() {
            return Err(checker.report(
                value_span.unwrap_or(span),
                "a link button opens its url and runs no event: leave out event and value",
            ));
        }
        return Ok(ButtonSpec {
            label,
            style,
            event: None,
            value: None,
            url: Some(url),
        });
    }
    if url.is_some() {
        return Err(checker.report(
            url_span.unwrap_or(span),
            format!(
                "button.url is only for style = \"link\"; a {} button runs its event instead",
                style.name()
            ),
        ));
    }
    let Some(event) = event else {
        return Err(checker.report(
            span,
            "a button needs event, the id of the button event a click runs (or style = \"link\" with a url)",
        ));
    };
    Ok(ButtonSpec {
        label,
        style,
        event: Some(event),
        value,
        url: None,
    })
}
