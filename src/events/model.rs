//! The event model: plain data, produced by the parser and stored by the engine as JSON.

use serde::{Deserialize, Serialize};

use super::action::Action;
use super::condition::Condition;
use super::trigger::Trigger;
use crate::lang::templates::Template;

/// One custom event, as loaded from `<events.dir>/<file>.toml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Event {
    /// 1-64 of `[A-Za-z0-9_-]`, unique across files.
    pub id: String,
    pub name: String,
    /// The Discord server (guild) id the event runs in.
    pub server: u64,
    pub enabled: bool,
    pub actions: Vec<Action>,
    /// The file it was loaded from, for messages.
    pub file: String,
    /// How a request proves who sent it (`[auth]`); the bot's API key when left out.
    #[serde(default)]
    pub auth: EventAuth,
    /// `[[when]]` filters over the request: all must hold, or the request runs nothing.
    #[serde(default)]
    pub when: Vec<Condition>,
    /// `[variables]`: friendly names rendered from the request when it is accepted.
    #[serde(default)]
    pub variables: Vec<VariableMapping>,
    /// `[trigger]`: what starts the event; its webhook unless the file says otherwise.
    #[serde(default, skip_serializing_if = "Trigger::is_webhook")]
    pub trigger: Trigger,
}

/// `[auth]`: who may trigger the event. Secrets are never held here, only where to read them
/// (an environment variable or a file), so they never reach the store or a log; a `key`
/// scheme's key is kept as its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum EventAuth {
    /// The bot's API key in `Authorization`, as BotGhost sends it.
    #[default]
    ApiKey,
    /// An event-specific key in `Authorization` (bare or `Bearer`), besides the bot's key when
    /// `allow_bot_key`.
    Key {
        /// Lower-case hex SHA-256 of the key.
        key_hash: String,
        allow_bot_key: bool,
    },
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body.
    Github { secret: SecretSource },
    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>` over `<t>.<body>`.
    Stripe { secret: SecretSource },
    /// Standard Webhooks: `webhook-signature: v1,<base64> …` over `<id>.<timestamp>.<body>`.
    StandardWebhooks { secret: SecretSource },
    /// A HMAC-SHA256 of the body in a header of the event's choosing.
    Hmac {
        secret: SecretSource,
        /// As written in the file; compared without regard to case.
        header: String,
        encoding: SignatureEncoding,
    },
}

impl EventAuth {
    /// The names the `scheme` key takes, in the order messages list them.
    pub const SCHEMES: [&'static str; 6] = [
        "api_key",
        "key",
        "github",
        "stripe",
        "standard_webhooks",
        "hmac",
    ];

    /// The secret a signature scheme signs with, read now; `None` for the key schemes.
    pub fn secret(&self) -> Option<&SecretSource> {
        match self {
            EventAuth::ApiKey | EventAuth::Key { .. } => None,
            EventAuth::Github { secret }
            | EventAuth::Stripe { secret }
            | EventAuth::StandardWebhooks { secret }
            | EventAuth::Hmac { secret, .. } => Some(secret),
        }
    }

    /// The HMAC key of a signature scheme: the secret's bytes, or for Standard Webhooks the
    /// base64 after `whsec_`. The message says what is wrong, never what the secret holds.
    pub fn signing_key(&self) -> Option<Result<Vec<u8>, String>> {
        let secret = self.secret()?;
        Some(secret.read().and_then(|text| match self {
            EventAuth::StandardWebhooks { .. } => {
                use base64::Engine;
                let encoded = text.strip_prefix("whsec_").unwrap_or(&text);
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|_| {
                        format!(
                            "the secret in {secret} is not a Standard Webhooks secret (whsec_ then base64)"
                        )
                    })
            }
            _ => Ok(text.into_bytes()),
        }))
    }
}

/// Where a secret is read from when it is needed. Surrounding whitespace (a file's last
/// newline) is not part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// An environment variable's name.
    Env(String),
    /// A file's path (relative paths were resolved against the event file's folder).
    File(String),
}

impl SecretSource {
    /// The secret, or why it cannot be read (naming the variable or file, never the value).
    pub fn read(&self) -> Result<String, String> {
        let text = match self {
            SecretSource::Env(name) => std::env::var(name).map_err(|error| match error {
                std::env::VarError::NotPresent => {
                    format!("the environment variable {name} is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    format!("the environment variable {name} is not valid UTF-8")
                }
            })?,
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map_err(|error| format!("the secret file {path} cannot be read: {error}"))?,
        };
        let secret = text.trim();
        if secret.is_empty() {
            return Err(format!("{self} is empty"));
        }
        Ok(secret.to_owned())
    }
}

impl std::fmt::Display for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "the environment variable {name}"),
            SecretSource::File(path) => write!(f, "the secret file {path}"),
        }
    }
}

/// How the `hmac` scheme's header writes the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

impl SignatureEncoding {
    /// How event files write it: `hex`, `base64`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hex => "hex",
            Self::Base64 => "base64",
        }
    }
}

/// One `[variables]` entry: a name the event's templates use as `{name}`, set when the request
/// is accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableMapping {
    pub name: String,
    pub value: MappingValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingValue {
    /// `user = "{body.sender.login}"`.
    Template(Template),
    /// `commits = { each = "{body.commits}", item = "- {item.message}", separator = "\n",
    /// limit = 10 }`: `item` rendered for each element of an array (`{item.…}` is the
    /// element), joined.
    Join {
        /// The array's name without braces: `body.commits`.
        each: String,
        item: Template,
        separator: String,
        limit: usize,
    },
}
