//! Discord's JSON error answers: the HTTP status, the numeric code and the exact message.

use serde_json::{json, Value};

/// A refusal as Discord words it: `{"code": N, "message": "…"}` with an HTTP status.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DiscordError {
    pub status: u16,
    pub body: Value,
}

impl DiscordError {
    fn new(status: u16, code: u32, message: &str) -> Self {
        DiscordError {
            status,
            body: json!({ "code": code, "message": message }),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(401, 0, "401: Unauthorized")
    }

    pub fn not_found() -> Self {
        Self::new(404, 0, "404: Not Found")
    }

    pub fn unknown_channel() -> Self {
        Self::new(404, 10003, "Unknown Channel")
    }

    pub fn unknown_guild() -> Self {
        Self::new(404, 10004, "Unknown Guild")
    }

    pub fn unknown_member() -> Self {
        Self::new(404, 10007, "Unknown Member")
    }

    pub fn unknown_message() -> Self {
        Self::new(404, 10008, "Unknown Message")
    }

    pub fn unknown_role() -> Self {
        Self::new(404, 10011, "Unknown Role")
    }

    pub fn unknown_user() -> Self {
        Self::new(404, 10013, "Unknown User")
    }

    pub fn unknown_emoji() -> Self {
        Self::new(404, 10014, "Unknown Emoji")
    }

    pub fn unknown_ban() -> Self {
        Self::new(404, 10026, "Unknown Ban")
    }

    pub fn unknown_application() -> Self {
        Self::new(404, 10002, "Unknown Application")
    }

    pub fn unknown_webhook() -> Self {
        Self::new(404, 10015, "Unknown Webhook")
    }

    pub fn unknown_interaction() -> Self {
        Self::new(404, 10062, "Unknown interaction")
    }

    pub fn unknown_application_command() -> Self {
        Self::new(404, 10063, "Unknown application command")
    }

    pub fn missing_access() -> Self {
        Self::new(403, 50001, "Missing Access")
    }

    pub fn invalid_webhook_token() -> Self {
        Self::new(401, 50027, "Invalid Webhook Token")
    }

    pub fn interaction_already_acknowledged() -> Self {
        Self::new(400, 40060, "Interaction has already been acknowledged.")
    }

    pub fn max_application_commands() -> Self {
        Self::new(
            400,
            30032,
            "Maximum number of application commands reached (100)",
        )
    }

    pub fn already_crossposted() -> Self {
        Self::new(400, 40033, "This message has already been crossposted.")
    }

    pub fn max_pins() -> Self {
        Self::new(400, 30003, "Maximum number of pins reached (50)")
    }

    pub fn max_roles() -> Self {
        Self::new(400, 30005, "Maximum number of guild roles reached (250)")
    }

    pub fn max_reactions() -> Self {
        Self::new(400, 30010, "Maximum number of reactions reached (20)")
    }

    pub fn max_channels() -> Self {
        Self::new(400, 30013, "Maximum number of guild channels reached (500)")
    }

    pub fn dm_channel_action() -> Self {
        Self::new(403, 50003, "Cannot execute action on a DM channel")
    }

    pub fn cannot_edit_others_message() -> Self {
        Self::new(403, 50005, "Cannot edit a message authored by another user")
    }

    pub fn wrong_channel_type() -> Self {
        Self::new(400, 50024, "Cannot execute action on this channel type")
    }

    pub fn thread_archived() -> Self {
        Self::new(400, 50083, "Thread is archived")
    }

    pub fn thread_already_created() -> Self {
        Self::new(
            400,
            160004,
            "A thread has already been created for this message",
        )
    }

    pub fn empty_message() -> Self {
        Self::new(400, 50006, "Cannot send an empty message")
    }

    pub fn cannot_message_user() -> Self {
        Self::new(403, 50007, "Cannot send messages to this user")
    }

    pub fn non_text_channel() -> Self {
        Self::new(400, 50008, "Cannot send messages in a non-text channel")
    }

    pub fn missing_permissions() -> Self {
        Self::new(403, 50013, "Missing Permissions")
    }

    pub fn invalid_json() -> Self {
        Self::new(400, 50109, "The request body contains invalid JSON.")
    }

    /// 50035 Invalid Form Body, with Discord's nested `errors` naming the field at `path`
    /// (e.g. `["embeds", "0", "title"]`) and the check it failed.
    pub fn invalid_form_body(path: &[&str], code: &str, message: &str) -> Self {
        let mut errors = json!({ "_errors": [{ "code": code, "message": message }] });
        for key in path.iter().rev() {
            errors = json!({ *key: errors });
        }
        DiscordError {
            status: 400,
            body: json!({ "code": 50035, "message": "Invalid Form Body", "errors": errors }),
        }
    }

    /// The body of an HTTP status that has no Discord code of its own (e.g. an injected 503).
    pub fn generic_body(status: u16) -> Value {
        let reason = axum::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|status| status.canonical_reason())
            .unwrap_or("Error");
        json!({ "code": 0, "message": format!("{status}: {reason}") })
    }
}
