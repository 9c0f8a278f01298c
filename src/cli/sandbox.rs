//! `hookbot sandbox say|join|leave|react|command|click`: acting as a member of the running
//! sandbox's server from a second terminal, through the stand-in's control API; for a slash
//! command or a click, it also shows how hookbot answered.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail};
use serde_json::{json, Value};

use crate::config::Config;
use crate::sandbox_control::{self, ControlFile};

/// One request to the control API, and the wait for an interaction's answer, are bounded.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for hookbot's answer to a command or a click: Discord's 3 s for the
/// acknowledgement, plus time for a quick run's reply.
const ANSWER_WAIT: Duration = Duration::from_secs(8);
const POLL_EVERY: Duration = Duration::from_millis(100);

/// What a person does.
#[derive(Debug, Clone)]
pub enum Act {
    /// Write a message in a channel.
    Say { channel: String, text: String },
    /// Join the server (a new user, or one who left).
    Join,
    /// Leave the server.
    Leave,
    /// React to a message (the channel's newest by default), or take the reaction back.
    React {
        emoji: String,
        channel: Option<String>,
        message: Option<String>,
        remove: bool,
    },
    /// Use a slash command with `NAME=VALUE` options.
    Command {
        name: String,
        options: Vec<(String, String)>,
        channel: Option<String>,
    },
    /// Click a button (by label or custom id) of a message (the channel's newest with one).
    Click {
        button: String,
        channel: Option<String>,
        message: Option<String>,
    },
}

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
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let (action, mut body) = request(&act, user);
    if let Some(server) = server {
        body["server"] = json!(server);
    }
    let done = post(&client, &control, action, &body).await?;
    writeln!(out, "{user} {}", done["done"].as_str().unwrap_or("did it"))?;
    if let Some(id) = done["interaction"].as_str() {
        let answered = wait_for_answer(&client, &control, id).await?;
        describe_answer(&answered, out)?;
    } else {
        writeln!(
            out,
            "(the `hookbot run --sandbox` log shows what hookbot did)"
        )?;
    }
    Ok(())
}

fn request(act: &Act, user: &str) -> (&'static str, Value) {
    match act {
        Act::Say { channel, text } => (
            "say",
            json!({ "user": user, "channel": channel, "content": text }),
        ),
        Act::Join => ("join", json!({ "user": user })),
        Act::Leave => ("leave", json!({ "user": user })),
        Act::React {
            emoji,
            channel,
            message,
            remove,
        } => (
            "react",
            json!({ "user": user, "emoji": emoji, "channel": channel, "message": message, "remove": remove }),
        ),
        Act::Command {
            name,
            options,
            channel,
        } => {
            let options: serde_json::Map<String, Value> = options
                .iter()
                .map(|(name, value)| (name.clone(), json!(value)))
                .collect();
            (
                "command",
                json!({ "user": user, "name": name, "options": options, "channel": channel }),
            )
        }
        Act::Click {
            button,
            channel,
            message,
        } => (
            "click",
            json!({ "user": user, "button": button, "channel": channel, "message": message }),
        ),
    }
}

async fn post(
    client: &reqwest::Client,
    control: &ControlFile,
    action: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = client
        .post(format!("{}/{action}", control.control_url))
        .header("Authorization", format!("Bot {}", control.token))
        .json(body)
        .send()
        .await
        .map_err(|error| anyhow!("the sandbox does not answer at {} ({error}); is `hookbot run --sandbox` still running?", control.control_url))?;
    let answer: Value = response.json().await?;
    if answer["ok"] != json!(true) {
        bail!(
            "{}",
            answer["message"].as_str().unwrap_or("the sandbox refused")
        );
    }
    Ok(answer)
}

/// The interaction once hookbot has acknowledged it and answered (or `ANSWER_WAIT` passed).
async fn wait_for_answer(
    client: &reqwest::Client,
    control: &ControlFile,
    id: &str,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
    loop {
        let described: Value = client
            .get(format!("{}/interactions/{id}", control.control_url))
            .header("Authorization", format!("Bot {}", control.token))
            .send()
            .await?
            .json()
            .await?;
        let thinking = described["original"]["flags"].as_u64().unwrap_or(0) & 128 != 0;
        let answered = !described["acknowledged"].is_null()
            && (described["acknowledged"] != "DeferredMessage" || !thinking)
            && (described["acknowledged"] != "DeferredUpdate"
                || described["follow_ups"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty()));
        if answered || tokio::time::Instant::now() >= deadline {
            return Ok(described);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
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
