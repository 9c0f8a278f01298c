//! Channel and thread actions' own keys: channel kinds, threads and their archive times.

use toml::de::DeValue;

use super::ctx::Ctx;
use super::fields::*;
use super::limits::*;
use crate::events::action::{ActionKind, ChannelKind};
use crate::lang::duration::{format_duration, parse_duration};
use crate::lang::templates::Template;
use crate::problem::{Checked, TableReader};

pub(super) const THREAD: &str = "a thread id or text that renders to one";

pub(super) const CATEGORY: &str = "a category id, its name, or text that renders to one";

pub(super) fn read_channel_kind(t: &mut TableReader<'_, '_>) -> Checked<ChannelKind> {
    let Some(value) = t.optional("kind") else {
        return Ok(ChannelKind::Text);
    };
    let kind = match value.get_ref() {
        DeValue::String(kind) => match kind.as_ref() {
            "text" => Some(ChannelKind::Text),
            "voice" => Some(ChannelKind::Voice),
            "category" => Some(ChannelKind::Category),
            "announcement" => Some(ChannelKind::Announcement),
            _ => None,
        },
        _ => None,
    };
    kind.ok_or_else(|| {
        t.wrong_type(
            "kind",
            value,
            &format!("one of: {}", ChannelKind::NAMES.join(", ")),
        )
    })
}

pub(super) fn read_create_thread(
    ctx: &Ctx<'_, '_>,
    t: &mut TableReader<'_, '_>,
) -> Checked<ActionKind> {
    let channel = read_target(ctx, t, "channel", CHANNEL);
    let name = required_text(ctx, t, "name", MAX_THREAD_NAME_CHARS);
    let message_id = optional_target(ctx, t, "message_id", MESSAGE);
    let private = t.optional_bool("private").and_then(|private| {
        if private == Some(true) && t.contains("message_id") {
            let value = t.optional("private").expect("private was read");
            return Err(t.report(
                value.span(),
                "a thread started from a message cannot be private; leave out private or \
                 message_id",
            ));
        }
        Ok(private.unwrap_or(false))
    });
    let auto_archive = read_auto_archive(ctx, t);
    let reason = read_reason(ctx, t);
    Ok(ActionKind::CreateThread {
        channel: channel?,
        name: name?,
        message_id: message_id?,
        private: private?,
        auto_archive: auto_archive?,
        reason: reason?,
    })
}

/// `"1h"`, `"1d"`, `"3d"` or `"1w"` (or another spelling of one of them), kept in that form.
fn read_auto_archive(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Option<Template>> {
    let Some(value) = t.optional("auto_archive") else {
        return Ok(None);
    };
    if let DeValue::String(text) = value.get_ref() {
        let template = ctx.template(text, value.span());
        if !template.is_static() {
            return Ok(Some(template));
        }
        if let Ok(duration) = parse_duration(text) {
            if THREAD_ARCHIVE_DURATIONS.contains(&duration) {
                return Ok(Some(Template::new(format_duration(duration))));
            }
        }
    }
    Err(t.wrong_type(
        "auto_archive",
        value,
        "one of \"1h\", \"1d\", \"3d\", \"1w\"",
    ))
}
