//! The plain-words log a `hookbot run --sandbox` user watches: what the bot did, by name.

use serde_json::Value;

/// The tracing target of every line, so `RUST_LOG=hookbot::sandbox=info` shows exactly this log.
/// It keeps the name it had when the stand-in lived inside hookbot, so the filters people
/// already use (and `hookbot event test --sandbox`'s default one) still select it.
pub const LOG_TARGET: &str = "hookbot::sandbox";

/// Quoted texts longer than this are cut, so one huge message cannot flood the log.
const MAX_QUOTED_CHARS: usize = 120;

/// Writes one line of the plain-words log.
pub(crate) fn announce(line: &str) {
    tracing::info!(target: LOG_TARGET, "{line}");
}

/// `"billing 2.4.1 is live" + 1 embed "Deploy"`, from a create-message body.
pub fn message_summary(body: &Value) -> String {
    let content = body["content"]
        .as_str()
        .filter(|content| !content.is_empty());
    let embeds = body["embeds"].as_array().map_or(&[][..], Vec::as_slice);
    let embed_part = match embeds.len() {
        0 => None,
        count => {
            let titles: Vec<String> = embeds
                .iter()
                .map(|embed| {
                    embed["title"]
                        .as_str()
                        .map_or_else(|| "(untitled)".to_owned(), quote)
                })
                .collect();
            let noun = if count == 1 { "embed" } else { "embeds" };
            Some(format!("{count} {noun} {}", titles.join(", ")))
        }
    };
    match (content, embed_part) {
        (Some(content), Some(embeds)) => format!("{} + {embeds}", quote(content)),
        (Some(content), None) => quote(content),
        (None, Some(embeds)) => embeds,
        (None, None) => "(nothing)".to_owned(),
    }
}

/// ` (pings @alice, @Deployer, @everyone)` for the mentions Discord acted on, or nothing.
pub fn pings_summary(pinged: &[String]) -> String {
    if pinged.is_empty() {
        String::new()
    } else {
        format!(" (pings {})", pinged.join(", "))
    }
}

/// ` (reason: "…")` for an `X-Audit-Log-Reason`, or nothing.
pub fn reason_suffix(reason: Option<&str>) -> String {
    reason
        .map(|reason| format!(" (reason: {})", quote(reason)))
        .unwrap_or_default()
}

/// A text in double quotes, escaped like Rust writes it and cut at a readable length.
pub fn quote(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_CHARS {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{:?}", cut + "…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summarises_content_and_embed_titles() {
        let body = json!({ "content": "billing 2.4.1 is live", "embeds": [{ "title": "Deploy" }] });
        assert_eq!(
            message_summary(&body),
            r#""billing 2.4.1 is live" + 1 embed "Deploy""#
        );
        let body = json!({ "embeds": [{ "title": "A" }, { "description": "x" }] });
        assert_eq!(message_summary(&body), r#"2 embeds "A", (untitled)"#);
    }

    #[test]
    fn cuts_long_text_and_escapes_newlines() {
        assert_eq!(quote("a\nb"), r#""a\nb""#);
        let long = "x".repeat(500);
        assert_eq!(quote(&long).chars().count(), MAX_QUOTED_CHARS + 3);
    }
}
