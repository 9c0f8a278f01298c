//! `hookbot sandbox say|join|leave|react|command|click`: acting as a member of the running
//! sandbox's server from a second terminal, through the stand-in's control API; for a slash
//! command or a click, it also shows how hookbot answered.

use std::io::Write;
use std::path::Path;

use anyhow::anyhow;
use serde_json::Value;

use crate::config::Config;
use crate::sandbox_control::{self, ControlClient};

pub use crate::sandbox_control::Act;

/// `hookbot sandbox …` as `user` (a member's name or id), in `server` when there are several.
pub async fn sandbox_act(
    config_path: &Path,
    act: Act,
    user: &str,
    server: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = Config::load(config_path, true)?;
    let control = sandbox_control::read(&config.database_path()).map_err(|e| anyhow!(e))?;
    let client = ControlClient::new(control);
    let done = client.act(&act, user, server).await?;
    writeln!(out, "{user} {}", done["done"].as_str().unwrap_or("did it"))?;
    if let Some(id) = done["interaction"].as_str() {
        let answered = client.wait_for_answer(id).await?;
        describe_answer(&answered, out)?;
    } else {
        writeln!(
            out,
            "(the `hookbot run --sandbox` log shows what hookbot did)"
        )?;
    }
    Ok(())
}

fn describe_answer(described: &Value, out: &mut impl Write) -> anyhow::Result<()> {
    let Some(kind) = described["acknowledged"].as_str() else {
        writeln!(
            out,
            "hookbot did not acknowledge it within Discord's 3 seconds: Discord would show \"This interaction failed\""
        )?;
        return Ok(());
    };
    let after = described["acknowledged_after_ms"].as_u64().unwrap_or(0);
    writeln!(
        out,
        "hookbot acknowledged it after {after} ms ({})",
        ack_words(kind)
    )?;
    let messages = described["original"]
        .as_object()
        .map(|_| described["original"].clone())
        .into_iter()
        .chain(
            described["follow_ups"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    let mut any = false;
    for message in messages {
        let flags = message["flags"].as_u64().unwrap_or(0);
        if flags & 128 != 0 {
            continue;
        }
        any = true;
        let who = if flags & 64 != 0 {
            " (only the member sees it)"
        } else {
            ""
        };
        writeln!(out, "hookbot answered{who}: {}", summary(&message))?;
    }
    if !any {
        writeln!(
            out,
            "no answer yet; the `hookbot run --sandbox` log shows what the run does"
        )?;
    }
    Ok(())
}

fn ack_words(kind: &str) -> &'static str {
    match kind {
        "DeferredMessage" => "\"hookbot is thinking…\", the answer follows",
        "DeferredUpdate" => "the click is taken, the answer follows",
        "Message" => "answered at once",
        "UpdateMessage" => "the clicked message was edited",
        _ => "acknowledged",
    }
}

/// `"Deploying billing" + 1 embed + 2 buttons`.
fn summary(message: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(content) = message["content"].as_str().filter(|c| !c.is_empty()) {
        parts.push(format!("{content:?}"));
    }
    let embeds = message["embeds"].as_array().map_or(0, Vec::len);
    if embeds > 0 {
        parts.push(format!("{embeds} embed(s)"));
    }
    let buttons: Vec<String> = message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|button| button["label"].as_str().map(|l| format!("[{l}]")))
        .collect();
    if !buttons.is_empty() {
        parts.push(format!("buttons {}", buttons.join(" ")));
    }
    if parts.is_empty() {
        "(nothing)".to_owned()
    } else {
        parts.join(" + ")
    }
}
