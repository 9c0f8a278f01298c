//! Reaching the running sandbox's stand-in through its control API: where it listens (`hookbot
//! run --sandbox` writes that, and the token it takes, into a file beside the database,
//! `data/db-sandbox.stand-in`, readable by its owner only, and removes it at stop), and the one
//! client both front ends act through — `hookbot sandbox …` from a second terminal and the web
//! console's sandbox pages — so a member's act is the same request from either.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One request to the control API is bounded.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for hookbot's answer to a command or a click: Discord's 3 s for the
/// acknowledgement, plus time for a quick run's reply.
pub const ANSWER_WAIT: Duration = Duration::from_secs(8);
const POLL_EVERY: Duration = Duration::from_millis(100);

/// What the file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlFile {
    /// `http://127.0.0.1:PORT/control`.
    pub control_url: String,
    /// The stand-in's bot token, which its control API asks for.
    pub token: String,
}

/// `data/db-sandbox` → `data/db-sandbox.stand-in`.
pub fn path(database: &Path) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "db".into());
    name.push(".stand-in");
    database.with_file_name(name)
}

/// Writes the file for `database`, readable and writable by its owner only.
pub fn write(database: &Path, control: &ControlFile) -> std::io::Result<()> {
    let path = path(database);
    let _ = std::fs::remove_file(&path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(serde_json::to_string(control)?.as_bytes())
}

/// Removes the file; a missing one is fine.
pub fn remove(database: &Path) {
    let _ = std::fs::remove_file(path(database));
}

/// Reads the file, or says how to get one.
pub fn read(database: &Path) -> Result<ControlFile, String> {
    let path = path(database);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        format!(
            "no sandbox is running here ({} is missing): start `hookbot run --sandbox` in another terminal first",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|error| {
        format!(
            "{} is damaged ({error}); restart `hookbot run --sandbox`",
            path.display()
        )
    })
}

/// What a person does, as a member of the sandbox's server.
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl Act {
    /// The control API's action and request body for this act by `user` (a member's name or
    /// id), in `server` when there are several.
    pub fn request(&self, user: &str, server: Option<&str>) -> (&'static str, Value) {
        let (action, mut body) = match self {
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
        };
        if let Some(server) = server {
            body["server"] = json!(server);
        }
        (action, body)
    }
}

/// Why the control API could not do what was asked, in words for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The stand-in does not answer (the sandbox stopped).
    #[error("the sandbox does not answer at {url} ({reason}); is `hookbot run --sandbox` still running?")]
    Unreachable { url: String, reason: String },
    /// The stand-in refused: what to fix, as it says it.
    #[error("{0}")]
    Refused(String),
}

/// A client of the running stand-in's control API.
#[derive(Debug, Clone)]
pub struct ControlClient {
    control: ControlFile,
    http: reqwest::Client,
}

impl ControlClient {
    pub fn new(control: ControlFile) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("a plain HTTP client builds");
        ControlClient { control, http }
    }

    /// Does `act` as `user`; the stand-in's answer (`done` in words, and the `interaction`'s
    /// id for a command or a click).
    pub async fn act(
        &self,
        act: &Act,
        user: &str,
        server: Option<&str>,
    ) -> Result<Value, ControlError> {
        let (action, body) = act.request(user, server);
        let sent = self
            .http
            .post(format!("{}/{action}", self.control.control_url))
            .header("Authorization", format!("Bot {}", self.control.token))
            .json(&body)
            .send()
            .await;
        self.answer(sent).await
    }

    /// The servers with their channels, members and slash commands (`GET /control/world`).
    pub async fn world(&self) -> Result<Value, ControlError> {
        self.get("world").await
    }

    /// A channel's newest `limit` messages, oldest first, as Discord's message objects.
    pub async fn messages(&self, channel_id: u64, limit: usize) -> Result<Value, ControlError> {
        self.get(&format!("channels/{channel_id}/messages?limit={limit}"))
            .await
    }

    /// An interaction and what hookbot answered so far.
    pub async fn interaction(&self, id: &str) -> Result<Value, ControlError> {
        self.get(&format!("interactions/{id}")).await
    }

    /// The interaction once hookbot has acknowledged it and answered, or as it is after
    /// [`ANSWER_WAIT`].
    pub async fn wait_for_answer(&self, id: &str) -> Result<Value, ControlError> {
        let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
        loop {
            let described = self.interaction(id).await?;
            if answered(&described) || tokio::time::Instant::now() >= deadline {
                return Ok(described);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    async fn get(&self, path: &str) -> Result<Value, ControlError> {
        let sent = self
            .http
            .get(format!("{}/{path}", self.control.control_url))
            .header("Authorization", format!("Bot {}", self.control.token))
            .send()
            .await;
        self.answer(sent).await
    }

    async fn answer(
        &self,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<Value, ControlError> {
        let unreachable = |error: reqwest::Error| ControlError::Unreachable {
            url: self.control.control_url.clone(),
            reason: error.to_string(),
        };
        let answer: Value = sent
            .map_err(unreachable)?
            .json()
            .await
            .map_err(unreachable)?;
        if answer["ok"] != json!(true) {
            return Err(ControlError::Refused(
                answer["message"]
                    .as_str()
                    .unwrap_or("the sandbox refused")
                    .to_owned(),
            ));
        }
        Ok(answer)
    }
}

/// Whether hookbot has acknowledged the interaction and, when it deferred, sent what follows.
pub fn answered(described: &Value) -> bool {
    let thinking = described["original"]["flags"].as_u64().unwrap_or(0) & 128 != 0;
    !described["acknowledged"].is_null()
        && (described["acknowledged"] != "DeferredMessage" || !thinking)
        && (described["acknowledged"] != "DeferredUpdate"
            || described["follow_ups"]
                .as_array()
                .is_some_and(|f| !f.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_act_is_one_control_request() {
        let say = Act::Say {
            channel: "#general".into(),
            text: "hi".into(),
        };
        assert_eq!(
            say.request("alice", None),
            (
                "say",
                json!({ "user": "alice", "channel": "#general", "content": "hi" })
            )
        );
        let command = Act::Command {
            name: "deploy".into(),
            options: vec![("service".into(), "billing".into())],
            channel: None,
        };
        let (action, body) = command.request("bob", Some("Acme"));
        assert_eq!(action, "command");
        assert_eq!(body["options"], json!({ "service": "billing" }));
        assert_eq!(body["server"], "Acme");
        let click = Act::Click {
            button: "Approve".into(),
            channel: Some("#deploys".into()),
            message: Some("42".into()),
        };
        assert_eq!(click.request("alice", None).1["message"], "42");
        assert_eq!(
            Act::Leave.request("zoe", None),
            ("leave", json!({ "user": "zoe" }))
        );
    }

    #[test]
    fn an_answer_is_awaited_until_a_deferral_is_followed_up() {
        assert!(!answered(&json!({ "acknowledged": null })));
        assert!(answered(&json!({ "acknowledged": "Message" })));
        let thinking = json!({ "acknowledged": "DeferredMessage", "original": { "flags": 128 } });
        assert!(!answered(&thinking));
        let silent = json!({ "acknowledged": "DeferredUpdate", "follow_ups": [] });
        assert!(!answered(&silent));
        let followed = json!({ "acknowledged": "DeferredUpdate", "follow_ups": [{}] });
        assert!(answered(&followed));
    }

    #[test]
    fn written_for_the_owner_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = dir.path().join("db-sandbox");
        assert!(read(&database)
            .unwrap_err()
            .contains("hookbot run --sandbox"));
        let control = ControlFile {
            control_url: "http://127.0.0.1:1/control".into(),
            token: "t".into(),
        };
        write(&database, &control).expect("written");
        assert_eq!(read(&database), Ok(control.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(&database))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        write(&database, &control).expect("written again over a stale one");
        remove(&database);
        assert!(read(&database).is_err());
    }
}
