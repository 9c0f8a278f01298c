//! `[[actions.buttons]]` into the components Discord shows under a message: five to a row,
//! labels cut to Discord's 80 characters, a link button with its URL, and every other button
//! with a `custom_id` that carries the event a click runs and its rendered value (kept in the
//! store when it does not fit Discord's 100 characters), so a click works after a restart.

use serde_json::{json, Value};

use super::job::Job;
use crate::discord::CallError;
use crate::engine::Store;
use crate::events::{ButtonSpec, ButtonStyle};
use crate::lang::templates::Lookup;
use crate::triggers::buttons;

/// Discord's limits.
const PER_ROW: usize = 5;
const MAX_LABEL_CHARS: usize = 80;

/// The message's `components`, or `None` without buttons. A dry run stores nothing: a value too
/// long to carry is shown as it would be kept.
pub(super) async fn components<L: Lookup>(
    job: &mut Job<'_, L>,
    specs: &[ButtonSpec],
    store: Option<&Store>,
) -> Result<Option<Value>, CallError> {
    if specs.is_empty() {
        return Ok(None);
    }
    let mut rendered = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let mut label = job.render(&spec.label).trim().to_owned();
        if label.chars().count() > MAX_LABEL_CHARS {
            label = label.chars().take(MAX_LABEL_CHARS).collect();
            job.warnings.push(format!(
                "button {}'s label was cut to Discord's {MAX_LABEL_CHARS} characters",
                index + 1
            ));
        }
        if label.is_empty() {
            return Err(CallError::Invalid(format!(
                "button {}'s label is empty after filling in the variables",
                index + 1
            )));
        }
        let mut button = json!({
            "type": 2,
            "style": spec.style.discord_style(),
            "label": label,
        });
        if spec.style == ButtonStyle::Link {
            let url = spec
                .url
                .as_ref()
                .map(|url| job.render(url))
                .unwrap_or_default();
            let url = url.trim();
            if !(url.starts_with("https://")
                || url.starts_with("http://")
                || url.starts_with("discord://"))
            {
                return Err(CallError::Invalid(format!(
                    "button {}'s url {url:?} is not a link Discord takes (https://, http:// or discord://)",
                    index + 1
                )));
            }
            button["url"] = json!(url);
        } else {
            let event = spec.event.as_deref().unwrap_or_default();
            let value = spec
                .value
                .as_ref()
                .map(|value| job.render(value))
                .unwrap_or_default();
            let custom_id = match (store, job.dry_run) {
                (Some(store), false) => buttons::custom_id(store, index, event, &value)
                    .await
                    .map_err(|error| match error {
                        buttons::ButtonError::ValueTooLong { .. } => {
                            CallError::Invalid(error.to_string())
                        }
                        // The store could not keep the value: worth another attempt.
                        buttons::ButtonError::Store(_) => CallError::Transport(error.to_string()),
                    })?,
                _ => buttons::encode(index, event, &value)
                    .unwrap_or_else(|key| buttons::stored_id(index, event, &key)),
            };
            button["custom_id"] = json!(custom_id);
        }
        rendered.push(button);
    }
    let rows: Vec<Value> = rendered
        .chunks(PER_ROW)
        .map(|row| json!({ "type": 1, "components": row }))
        .collect();
    Ok(Some(Value::Array(rows)))
}

/// `with buttons [Approve] [Docs]`, for summaries.
pub(super) fn describe(components: &Value) -> String {
    let labels: Vec<String> = components
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|button| button["label"].as_str().map(|label| format!("[{label}]")))
        .collect();
    format!(" with buttons {}", labels.join(" "))
}
