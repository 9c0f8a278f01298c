//! Message components as Discord checks them when a message is sent: action rows of buttons
//! (at most 5 rows of 5), each with a style, a label of at most 80 characters and either a
//! `custom_id` (1-100 characters, unique in the message) or, for a link button, a `url`; and
//! finding the button a user clicks.

use serde_json::Value;

use crate::errors::DiscordError;

const MAX_ROWS: usize = 5;
const MAX_PER_ROW: usize = 5;
const MAX_CUSTOM_ID_CHARS: usize = 100;
const MAX_LABEL_CHARS: usize = 80;
/// Component types (Discord's numbers).
const ACTION_ROW: u64 = 1;
const BUTTON: u64 = 2;
/// Select menus: string, user, role, mentionable, channel.
const SELECTS: [u64; 5] = [3, 5, 6, 7, 8];
/// Button styles: primary, secondary, success, danger take a custom_id; link takes a url.
const LINK: u64 = 5;

/// Checks a message's `components` (absent or null passes).
pub(crate) fn validate(components: Option<&Value>) -> Result<(), DiscordError> {
    let rows = match components {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(rows)) => rows,
        Some(_) => {
            return Err(bad(
                &["components".into()],
                "BASE_TYPE_ARRAY",
                "Must be an array.",
            ))
        }
    };
    if rows.len() > MAX_ROWS {
        return Err(bad(
            &["components".into()],
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {MAX_ROWS} or fewer in length."),
        ));
    }
    let mut custom_ids = Vec::new();
    for (row_index, row) in rows.iter().enumerate() {
        let at = vec!["components".to_owned(), row_index.to_string()];
        if row["type"].as_u64() != Some(ACTION_ROW) {
            return Err(bad(
                &with(&at, "type"),
                "UNION_TYPE_CHOICES",
                "Value of field \"type\" must be one of (1,).",
            ));
        }
        let children = row["components"].as_array().map_or(&[][..], Vec::as_slice);
        if children.is_empty() || children.len() > MAX_PER_ROW {
            return Err(bad(
                &with(&at, "components"),
                "BASE_TYPE_BAD_LENGTH",
                &format!("Must be between 1 and {MAX_PER_ROW} in length."),
            ));
        }
        for (index, child) in children.iter().enumerate() {
            let mut here = with(&at, "components");
            here.push(index.to_string());
            check_child(child, &here, &mut custom_ids)?;
        }
    }
    Ok(())
}

fn check_child(
    child: &Value,
    at: &[String],
    custom_ids: &mut Vec<String>,
) -> Result<(), DiscordError> {
    let kind = child["type"].as_u64().unwrap_or(0);
    if kind != BUTTON && !SELECTS.contains(&kind) {
        return Err(bad(
            &with(at, "type"),
            "UNION_TYPE_CHOICES",
            "Value of field \"type\" must be one of (2, 3, 5, 6, 7, 8).",
        ));
    }
    if kind == BUTTON {
        let style = child["style"].as_u64().unwrap_or(0);
        if !(1..=LINK).contains(&style) {
            return Err(bad(
                &with(at, "style"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2, 3, 4, 5}.",
            ));
        }
        let label = child["label"].as_str().unwrap_or("");
        if label.chars().count() > MAX_LABEL_CHARS {
            return Err(bad(
                &with(at, "label"),
                "BASE_TYPE_MAX_LENGTH",
                &format!("Must be {MAX_LABEL_CHARS} or fewer in length."),
            ));
        }
        if label.is_empty() && child["emoji"].is_null() {
            return Err(bad(
                &with(at, "label"),
                "BASE_TYPE_REQUIRED",
                "A button needs a label or an emoji",
            ));
        }
        if style == LINK {
            if !child["custom_id"].is_null() {
                return Err(bad(
                    &with(at, "custom_id"),
                    "COMPONENT_LINK_BUTTON_CUSTOM_ID",
                    "A link button cannot have a custom id",
                ));
            }
            let url = child["url"].as_str().unwrap_or("");
            if !(url.starts_with("https://")
                || url.starts_with("http://")
                || url.starts_with("discord://"))
            {
                return Err(bad(
                    &with(at, "url"),
                    "URL_TYPE_INVALID_URL",
                    "Not a well formed URL.",
                ));
            }
            return Ok(());
        }
        if !child["url"].is_null() {
            return Err(bad(
                &with(at, "url"),
                "COMPONENT_BUTTON_URL",
                "Only a link button can have a url",
            ));
        }
    }
    let custom_id = child["custom_id"].as_str().unwrap_or("");
    let count = custom_id.chars().count();
    if count == 0 {
        return Err(bad(
            &with(at, "custom_id"),
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ));
    }
    if count > MAX_CUSTOM_ID_CHARS {
        return Err(bad(
            &with(at, "custom_id"),
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {MAX_CUSTOM_ID_CHARS} or fewer in length."),
        ));
    }
    if custom_ids.iter().any(|seen| seen == custom_id) {
        return Err(bad(
            &with(at, "custom_id"),
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id cannot be duplicated",
        ));
    }
    custom_ids.push(custom_id.to_owned());
    Ok(())
}

/// The message's buttons that can be clicked (not links, not disabled): (custom_id, label).
pub(crate) fn clickable_buttons(message: &Value) -> Vec<(String, String)> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .filter(|child| child["type"].as_u64() == Some(BUTTON))
        .filter(|child| child["style"].as_u64() != Some(LINK))
        .filter(|child| child["disabled"].as_bool() != Some(true))
        .filter_map(|child| {
            let custom_id = child["custom_id"].as_str()?.to_owned();
            let label = child["label"].as_str().unwrap_or("").to_owned();
            Some((custom_id, label))
        })
        .collect()
}

fn with(at: &[String], field: &str) -> Vec<String> {
    let mut path = at.to_vec();
    path.push(field.to_owned());
    path
}

fn bad(path: &[String], code: &str, message: &str) -> DiscordError {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    DiscordError::invalid_form_body(&path, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(buttons: Value) -> Value {
        json!([{ "type": 1, "components": buttons }])
    }

    #[test]
    fn buttons_are_checked_as_discord_checks_them() {
        let fine = row(json!([
            { "type": 2, "style": 1, "label": "Approve", "custom_id": "a" },
            { "type": 2, "style": 5, "label": "Docs", "url": "https://example.com" },
        ]));
        assert!(validate(Some(&fine)).is_ok());
        let long_id =
            row(json!([{ "type": 2, "style": 1, "label": "x", "custom_id": "x".repeat(101) }]));
        let error = validate(Some(&long_id)).expect_err("refused");
        assert_eq!(
            error.body["errors"]["components"]["0"]["components"]["0"]["custom_id"]["_errors"][0]
                ["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
        let twice = row(json!([
            { "type": 2, "style": 1, "label": "a", "custom_id": "same" },
            { "type": 2, "style": 2, "label": "b", "custom_id": "same" },
        ]));
        assert!(validate(Some(&twice)).is_err());
        let link_with_id = row(
            json!([{ "type": 2, "style": 5, "label": "x", "url": "https://e.com", "custom_id": "a" }]),
        );
        assert!(validate(Some(&link_with_id)).is_err());
        let six: Vec<Value> = (0..6)
            .map(|i| json!({ "type": 2, "style": 1, "label": "x", "custom_id": i.to_string() }))
            .collect();
        assert!(validate(Some(&row(json!(six)))).is_err());
        assert_eq!(
            clickable_buttons(&json!({ "components": fine })),
            vec![("a".to_owned(), "Approve".to_owned())]
        );
    }
}
