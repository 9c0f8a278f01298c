//! The action language: every action type an event file may use, and its flow.
//! Plain data, produced by the parser and stored by the engine as JSON; the executor gives it
//! meaning.

use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::message::{ButtonSpec, ColorSpec, MessageSpec};
use crate::lang::templates::Template;

/// One action of an event, with what every action may carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    #[serde(flatten)]
    pub kind: ActionKind,
    /// Keeps the action's result as `{NAME.field}` for the actions after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_as: Option<String>,
    /// Run instead of stopping the run when the action fails, with `{error.message}` and
    /// `{error.code}` set. `None`: a failure stops the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<Vec<Action>>,
    /// The line of the action's table in its file, for messages (`deploy.toml:14`); 0 if unknown.
    #[serde(default)]
    pub line: u32,
}

impl Action {
    /// An action with no `save_as`, no `on_error` and no known line.
    pub fn new(kind: ActionKind) -> Self {
        Action {
            kind,
            save_as: None,
            on_error: None,
            line: 0,
        }
    }

    /// The `type` as written in event files.
    pub fn kind(&self) -> &'static str {
        self.kind.name()
    }
}

/// Where a persistent variable lives (`set_variable`, `delete_variable`, `get_variable`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scope")]
pub enum VariableScopeSpec {
    Global,
    /// The event's server.
    Server,
    /// One member of the event's server.
    User {
        user: Template,
    },
    Channel {
        channel: Template,
    },
}

/// `create_channel`'s `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Text,
    Voice,
    Category,
    Announcement,
}

impl ChannelKind {
    pub const NAMES: [&'static str; 4] = ["text", "voice", "category", "announcement"];
}

/// The body of an `http_request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpBodySpec {
    /// A JSON document whose strings are templates (rendered leaf by leaf, so a value can never
    /// break the document's syntax).
    Json(serde_json::Value),
    Text(Template),
}

/// Role settings shared by `create_role` and `edit_role`; `None` leaves a setting as it is.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoleSettings {
    pub name: Option<Template>,
    pub color: Option<ColorSpec>,
    pub hoist: Option<bool>,
    pub mentionable: Option<bool>,
    /// Discord's permission bits, already combined from the names or number in the file.
    pub permissions: Option<u64>,
}

/// One branch of a `random` action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomBranch {
    /// Relative weight, at least 1 (default 1).
    pub weight: u32,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionKind {
    // Messages
    SendMessage {
        channel: Template,
        #[serde(flatten)]
        message: MessageSpec,
        /// A message id in the same channel to reply to.
        reply_to: Option<Template>,
        tts: bool,
        /// `[[actions.buttons]]`: up to 25, five to a row.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        buttons: Vec<ButtonSpec>,
    },
    /// Answers the interaction (a slash command or a button click) that started the run.
    Reply {
        #[serde(flatten)]
        message: MessageSpec,
        /// Seen only by the person who used the command or clicked.
        ephemeral: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        buttons: Vec<ButtonSpec>,
    },
    SendDm {
        user: Template,
        #[serde(flatten)]
        message: MessageSpec,
    },
    EditMessage {
        channel: Template,
        message_id: Template,
        /// The new content and embeds; what is not given stays.
        #[serde(flatten)]
        message: MessageSpec,
    },
    DeleteMessage {
        channel: Template,
        message_id: Template,
        reason: Option<Template>,
    },
    React {
        channel: Template,
        message_id: Template,
        /// A unicode emoji, `<:name:id>`, `name:id` or a custom emoji's name.
        emoji: Template,
    },
    PinMessage {
        channel: Template,
        message_id: Template,
        reason: Option<Template>,
    },
    UnpinMessage {
        channel: Template,
        message_id: Template,
        reason: Option<Template>,
    },
    PublishMessage {
        channel: Template,
        message_id: Template,
    },

    // Roles
    AddRole {
        user: Template,
        role: Template,
        reason: Option<Template>,
    },
    RemoveRole {
        user: Template,
        role: Template,
        reason: Option<Template>,
    },
    CreateRole {
        /// `settings.name` is always set for a new role.
        #[serde(flatten)]
        settings: RoleSettings,
        reason: Option<Template>,
    },
    EditRole {
        role: Template,
        #[serde(flatten)]
        settings: RoleSettings,
        reason: Option<Template>,
    },
    DeleteRole {
        role: Template,
        reason: Option<Template>,
    },

    // Members
    SetNickname {
        user: Template,
        /// Empty after rendering: the nickname is removed.
        nickname: Template,
        reason: Option<Template>,
    },
    TimeoutMember {
        user: Template,
        /// `"10m"`, `"2h"`… at most 28 days.
        duration: Template,
        reason: Option<Template>,
    },
    RemoveTimeout {
        user: Template,
        reason: Option<Template>,
    },
    KickMember {
        user: Template,
        reason: Option<Template>,
    },
    BanMember {
        user: Template,
        /// How much of the member's recent messages to delete, `"0"` to `"7d"`.
        delete_messages: Option<Template>,
        reason: Option<Template>,
    },
    UnbanMember {
        user: Template,
        reason: Option<Template>,
    },

    // Channels and threads
    CreateChannel {
        name: Template,
        channel_type: ChannelKind,
        topic: Option<Template>,
        /// A category, by id or name.
        parent: Option<Template>,
        reason: Option<Template>,
    },
    EditChannel {
        channel: Template,
        name: Option<Template>,
        topic: Option<Template>,
        parent: Option<Template>,
        reason: Option<Template>,
    },
    DeleteChannel {
        channel: Template,
        reason: Option<Template>,
    },
    CreateThread {
        channel: Template,
        name: Template,
        /// Start the thread from this message; without it the thread stands alone.
        message_id: Option<Template>,
        private: bool,
        /// `"1h"`, `"1d"`, `"3d"` or `"1w"`.
        auto_archive: Option<Template>,
        reason: Option<Template>,
    },
    EditThread {
        thread: Template,
        name: Option<Template>,
        archived: Option<bool>,
        locked: Option<bool>,
        reason: Option<Template>,
    },

    // Server
    CreateInvite {
        channel: Template,
        /// `"0"` never expires; at most 7 days. Discord's default is 1 day.
        max_age: Option<Template>,
        /// 0 (unlimited) to 100.
        max_uses: Option<Template>,
        temporary: bool,
        unique: bool,
        reason: Option<Template>,
    },

    // Outside world
    HttpRequest {
        /// GET, POST, PUT, PATCH, DELETE or HEAD, after rendering.
        method: Template,
        url: Template,
        headers: Vec<(String, Template)>,
        body: Option<HttpBodySpec>,
        /// Default 10 s, at most 30 s.
        timeout: Option<Template>,
    },

    // Variables
    SetVariable {
        #[serde(flatten)]
        scope: VariableScopeSpec,
        name: String,
        value: Template,
    },
    DeleteVariable {
        #[serde(flatten)]
        scope: VariableScopeSpec,
        name: String,
    },
    /// Reads a persistent variable into the run as `{name.value}` via `save_as`, or as
    /// `{variable}` when `variable` is given.
    GetVariable {
        #[serde(flatten)]
        scope: VariableScopeSpec,
        name: String,
        default: Option<Template>,
        variable: Option<String>,
    },
    /// Evaluates `expression` (after rendering) and sets the run variable `{variable}`.
    Math {
        expression: Template,
        variable: String,
    },

    // Flow
    If {
        condition: Condition,
        then: Vec<Action>,
        #[serde(rename = "else")]
        otherwise: Vec<Action>,
    },
    Random {
        branches: Vec<RandomBranch>,
    },
    Loop {
        /// At most [`MAX_LOOP_COUNT`](crate::events::MAX_LOOP_COUNT) after rendering.
        count: Template,
        /// A pause between iterations.
        delay: Option<Template>,
        body: Vec<Action>,
    },
    StopLoop,
    Wait {
        /// At most 15 minutes.
        duration: Template,
    },
    Stop,
}

impl ActionKind {
    /// Every `type` an event file may use, in the order the docs list them.
    pub const NAMES: [&'static str; 37] = [
        "send_message",
        "reply",
        "send_dm",
        "edit_message",
        "delete_message",
        "react",
        "pin_message",
        "unpin_message",
        "publish_message",
        "add_role",
        "remove_role",
        "create_role",
        "edit_role",
        "delete_role",
        "set_nickname",
        "timeout_member",
        "remove_timeout",
        "kick_member",
        "ban_member",
        "unban_member",
        "create_channel",
        "edit_channel",
        "delete_channel",
        "create_thread",
        "edit_thread",
        "create_invite",
        "http_request",
        "set_variable",
        "delete_variable",
        "get_variable",
        "math",
        "if",
        "random",
        "loop",
        "stop_loop",
        "wait",
        "stop",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::SendMessage { .. } => "send_message",
            ActionKind::Reply { .. } => "reply",
            ActionKind::SendDm { .. } => "send_dm",
            ActionKind::EditMessage { .. } => "edit_message",
            ActionKind::DeleteMessage { .. } => "delete_message",
            ActionKind::React { .. } => "react",
            ActionKind::PinMessage { .. } => "pin_message",
            ActionKind::UnpinMessage { .. } => "unpin_message",
            ActionKind::PublishMessage { .. } => "publish_message",
            ActionKind::AddRole { .. } => "add_role",
            ActionKind::RemoveRole { .. } => "remove_role",
            ActionKind::CreateRole { .. } => "create_role",
            ActionKind::EditRole { .. } => "edit_role",
            ActionKind::DeleteRole { .. } => "delete_role",
            ActionKind::SetNickname { .. } => "set_nickname",
            ActionKind::TimeoutMember { .. } => "timeout_member",
            ActionKind::RemoveTimeout { .. } => "remove_timeout",
            ActionKind::KickMember { .. } => "kick_member",
            ActionKind::BanMember { .. } => "ban_member",
            ActionKind::UnbanMember { .. } => "unban_member",
            ActionKind::CreateChannel { .. } => "create_channel",
            ActionKind::EditChannel { .. } => "edit_channel",
            ActionKind::DeleteChannel { .. } => "delete_channel",
            ActionKind::CreateThread { .. } => "create_thread",
            ActionKind::EditThread { .. } => "edit_thread",
            ActionKind::CreateInvite { .. } => "create_invite",
            ActionKind::HttpRequest { .. } => "http_request",
            ActionKind::SetVariable { .. } => "set_variable",
            ActionKind::DeleteVariable { .. } => "delete_variable",
            ActionKind::GetVariable { .. } => "get_variable",
            ActionKind::Math { .. } => "math",
            ActionKind::If { .. } => "if",
            ActionKind::Random { .. } => "random",
            ActionKind::Loop { .. } => "loop",
            ActionKind::StopLoop => "stop_loop",
            ActionKind::Wait { .. } => "wait",
            ActionKind::Stop => "stop",
        }
    }

    /// The fields of the result `save_as` keeps, read as `{NAME.field}`. For `http_request`,
    /// `json.…` and `headers.…` go deeper into the response.
    pub fn output_fields(&self) -> &'static [&'static str] {
        use ActionKind as K;
        match self {
            K::SendMessage { .. } | K::SendDm { .. } | K::EditMessage { .. } | K::Reply { .. } => {
                &["id", "channel_id", "url"]
            }
            K::PublishMessage { .. } => &["id", "channel_id", "url"],
            K::DeleteMessage { .. }
            | K::React { .. }
            | K::PinMessage { .. }
            | K::UnpinMessage { .. } => &["message_id", "channel_id"],
            K::AddRole { .. } | K::RemoveRole { .. } => &["user_id", "role_id"],
            K::CreateRole { .. } | K::EditRole { .. } => &["id", "name", "mention"],
            K::DeleteRole { .. } => &["id", "name"],
            K::TimeoutMember { .. } => &["user_id", "until"],
            K::SetNickname { .. }
            | K::RemoveTimeout { .. }
            | K::KickMember { .. }
            | K::BanMember { .. }
            | K::UnbanMember { .. } => &["user_id"],
            K::CreateChannel { .. }
            | K::EditChannel { .. }
            | K::CreateThread { .. }
            | K::EditThread { .. } => &["id", "name", "mention", "url"],
            K::DeleteChannel { .. } => &["id", "name"],
            K::CreateInvite { .. } => &["code", "url"],
            K::HttpRequest { .. } => &["status", "ok", "body", "json", "headers", "truncated"],
            K::SetVariable { .. } | K::GetVariable { .. } | K::Math { .. } => &["value"],
            K::DeleteVariable { .. } => &["deleted"],
            K::If { .. } | K::Random { .. } => &["branch"],
            K::Loop { .. } => &["count"],
            K::Wait { .. } => &["seconds"],
            K::StopLoop | K::Stop => &[],
        }
    }

    /// The action lists nested in this action (branches, loop bodies), not counting `on_error`.
    pub fn nested(&self) -> Vec<&[Action]> {
        match self {
            ActionKind::If {
                then, otherwise, ..
            } => vec![then, otherwise],
            ActionKind::Random { branches } => {
                branches.iter().map(|b| b.actions.as_slice()).collect()
            }
            ActionKind::Loop { body, .. } => vec![body],
            _ => Vec::new(),
        }
    }
}

/// Every template in `actions` and in the actions nested in them.
pub fn all_templates(actions: &[Action]) -> Vec<&Template> {
    let mut all = Vec::new();
    walk_actions(actions, &mut |action| all.extend(action.kind.templates()));
    all
}

/// Every action in `actions`, depth first, nested ones and `on_error` lists included.
pub fn walk_actions<'a>(actions: &'a [Action], visit: &mut impl FnMut(&'a Action)) {
    for action in actions {
        visit(action);
        for list in action.kind.nested() {
            walk_actions(list, visit);
        }
        if let Some(on_error) = &action.on_error {
            walk_actions(on_error, visit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::condition::Pattern;

    #[test]
    fn every_kind_has_its_name_listed() {
        let kinds = [
            ActionKind::Stop,
            ActionKind::StopLoop,
            ActionKind::Wait {
                duration: Template::new("1s"),
            },
        ];
        for kind in kinds {
            assert!(ActionKind::NAMES.contains(&kind.name()));
        }
    }

    #[test]
    fn actions_roundtrip_through_json() {
        let action = Action {
            kind: ActionKind::If {
                condition: Condition::All(vec![
                    Condition::Matches {
                        left: Template::new("{ref}"),
                        pattern: Pattern::new("^refs/heads/(main|master)$").unwrap(),
                    },
                    Condition::Not(Box::new(Condition::Chance { percent: 12.5 })),
                ]),
                then: vec![Action::new(ActionKind::Stop)],
                otherwise: vec![],
            },
            save_as: Some("check".into()),
            on_error: Some(vec![Action::new(ActionKind::StopLoop)]),
            line: 7,
        };
        let json = serde_json::to_string(&action).unwrap();
        let back: Action = serde_json::from_str(&json).unwrap();
        assert_eq!(back, action);
    }
}
