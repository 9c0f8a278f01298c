//! Why a call to Discord failed, in hookbot's words: [`CallError`] for the calls actions make
//! (Discord's own status, code and message kept), [`ConnectError`] for reaching Discord.

use serenity::http::HttpError;

/// Why starting the Discord side failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    #[error("Discord refused the bot token (401); check discord.token or HOOKBOT_DISCORD_TOKEN")]
    BadToken,
    #[error("cannot reach Discord at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("cannot start the Discord client: {0}")]
    Client(String),
}

/// Why a call to Discord did not do what an action asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// Discord answered with an error; `message` is Discord's own (`Missing Permissions`).
    #[error("Discord answered {status}: {message} (code {code})")]
    Discord {
        status: u16,
        code: i64,
        message: String,
        /// For a 429: how long Discord asked to wait, when the answer said (`retry_after`
        /// or `Retry-After`). serenity's own calls drop it; hookbot's raw calls keep it.
        retry_after_ms: Option<u64>,
    },
    /// A name did not match anything in the server.
    #[error("{0}")]
    NotFound(String),
    /// A rendered value cannot be used (not an id, not a colour, an empty message …).
    #[error("{0}")]
    Invalid(String),
    /// The request did not get an answer (connection refused, timeout …).
    #[error("{0}")]
    Transport(String),
    /// hookbot's own outbound governor held the call back (a route Discord rate-limited, or
    /// the breaker after many refusals); nothing was sent. Try again after `retry_after_ms`.
    #[error("{message}")]
    Paused {
        message: String,
        retry_after_ms: u64,
    },
    /// The call must wait for Discord's pace (its channel's or route's bucket, the global pace,
    /// a 429's `retry_after`) longer than a run holds its worker for; nothing was sent. The run
    /// is parked until then (`None`: until its route's line reaches it), keeping its place, and
    /// does not use up an attempt.
    #[error("{message}")]
    Paced {
        message: String,
        retry_after_ms: Option<u64>,
    },
}

impl CallError {
    /// What `{error.code}` shows: Discord's own code (`50013`), else the HTTP status (`404`),
    /// else a short word: `not_found`, `invalid`, `timeout` or `unreachable`.
    pub fn code(&self) -> String {
        match self {
            CallError::Discord { code, .. } if *code != 0 => code.to_string(),
            CallError::Discord { status, .. } => status.to_string(),
            CallError::NotFound(_) => "not_found".to_owned(),
            CallError::Invalid(_) => "invalid".to_owned(),
            CallError::Paused { .. } => "paused".to_owned(),
            CallError::Paced { .. } => "paced".to_owned(),
            CallError::Transport(message) => {
                let lower = message.to_lowercase();
                if lower.contains("timed out")
                    || lower.contains("timeout")
                    || lower.contains("did not answer")
                {
                    "timeout".to_owned()
                } else {
                    "unreachable".to_owned()
                }
            }
        }
    }

    /// The words of the error without the status and code around them, for `{error.message}`.
    pub fn message(&self) -> String {
        match self {
            CallError::Discord { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

impl From<serenity::Error> for CallError {
    fn from(error: serenity::Error) -> Self {
        match error {
            serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
                let mut message = response.error.message;
                for detail in &response.error.errors {
                    message.push_str(&format!(" ({}: {})", detail.path, detail.message));
                }
                CallError::Discord {
                    status: response.status_code.as_u16(),
                    code: response.error.code as i64,
                    message,
                    retry_after_ms: None,
                }
            }
            serenity::Error::Http(HttpError::Request(e)) => CallError::Transport(e.to_string()),
            other => CallError::Invalid(other.to_string()),
        }
    }
}

/// Discord's error answer as a [`CallError`]: its code and words, and for a 429 how long to
/// wait (the body's `retry_after`, else the `Retry-After` header, in seconds).
pub(super) fn discord_error(
    status: u16,
    body: &[u8],
    retry_after_header: Option<f64>,
) -> CallError {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let code = json
        .get("code")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    let message = json
        .get("message")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("HTTP {status}"));
    let seconds = json
        .get("retry_after")
        .and_then(serde_json::Value::as_f64)
        .or(retry_after_header)
        .filter(|s| s.is_finite() && *s >= 0.0);
    CallError::Discord {
        status,
        code,
        message,
        retry_after_ms: seconds.map(|s| (s * 1000.0).ceil() as u64),
    }
}

/// The HTTP status of a serenity error, when Discord answered.
pub(super) fn http_status(error: &serenity::Error) -> Option<u16> {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => Some(r.status_code.as_u16()),
        _ => None,
    }
}

/// The innermost error's words: serenity and reqwest repeat themselves at every layer.
pub(super) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_keeps_retry_after_from_the_body_else_the_header() {
        let body =
            br#"{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}"#;
        assert_eq!(
            discord_error(429, body, Some(9.0)),
            CallError::Discord {
                status: 429,
                code: 0,
                message: "You are being rate limited.".into(),
                retry_after_ms: Some(1500),
            }
        );
        let no_body_value = discord_error(429, b"{}", Some(2.0));
        assert!(matches!(
            no_body_value,
            CallError::Discord {
                retry_after_ms: Some(2000),
                ..
            }
        ));
        let refused = discord_error(
            403,
            br#"{"code": 50013, "message": "Missing Permissions"}"#,
            None,
        );
        assert_eq!(refused.code(), "50013");
        assert!(matches!(
            discord_error(502, b"<html>bad gateway</html>", None),
            CallError::Discord {
                status: 502,
                retry_after_ms: None,
                ..
            }
        ));
    }
}
