//! The action language: every action type an event file may use, its conditions and flow.
//! Plain data, produced by the parser and stored in sled as JSON; the executor gives it meaning.

use serde::{Deserialize, Serialize};

use super::model::{ColorSpec, MessageSpec};
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
    pub const NAMES: [&'static str; 36] = [
        "send_message",
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

    /// The references to Discord things an action names directly, by kind: `("channel", …)`,
    /// `("user", …)`, `("role", …)`. Nested actions are not included.
    pub fn references(&self) -> Vec<(&'static str, &Template)> {
        use ActionKind as K;
        let mut refs: Vec<(&'static str, &Template)> = Vec::new();
        match self {
            K::SendMessage { channel, .. }
            | K::EditMessage { channel, .. }
            | K::DeleteMessage { channel, .. }
            | K::React { channel, .. }
            | K::PinMessage { channel, .. }
            | K::UnpinMessage { channel, .. }
            | K::PublishMessage { channel, .. }
            | K::EditChannel { channel, .. }
            | K::DeleteChannel { channel, .. }
            | K::CreateThread { channel, .. }
            | K::CreateInvite { channel, .. } => refs.push(("channel", channel)),
            K::EditThread { thread, .. } => refs.push(("channel", thread)),
            K::SendDm { user, .. }
            | K::SetNickname { user, .. }
            | K::TimeoutMember { user, .. }
            | K::RemoveTimeout { user, .. }
            | K::KickMember { user, .. }
            | K::BanMember { user, .. }
            | K::UnbanMember { user, .. } => refs.push(("user", user)),
            K::AddRole { user, role, .. } | K::RemoveRole { user, role, .. } => {
                refs.push(("user", user));
                refs.push(("role", role));
            }
            K::EditRole { role, .. } | K::DeleteRole { role, .. } => refs.push(("role", role)),
            K::SetVariable { scope, .. }
            | K::DeleteVariable { scope, .. }
            | K::GetVariable { scope, .. } => match scope {
                VariableScopeSpec::User { user } => refs.push(("user", user)),
                VariableScopeSpec::Channel { channel } => refs.push(("channel", channel)),
                _ => {}
            },
            K::If { condition, .. } => condition.references(&mut refs),
            _ => {}
        }
        if let K::CreateChannel {
            parent: Some(parent),
            ..
        }
        | K::EditChannel {
            parent: Some(parent),
            ..
        } = self
        {
            refs.push(("channel", parent));
        }
        refs
    }

    /// Every template the action itself holds (not those of nested actions).
    pub fn templates(&self) -> Vec<&Template> {
        use ActionKind as K;
        let mut all: Vec<&Template> = self.references().into_iter().map(|(_, t)| t).collect();
        match self {
            K::SendMessage {
                message, reply_to, ..
            } => {
                all.extend(reply_to.as_ref());
                all.extend(message.templates());
            }
            K::SendDm { message, .. } => all.extend(message.templates()),
            K::EditMessage {
                message_id,
                message,
                ..
            } => {
                all.push(message_id);
                all.extend(message.templates());
            }
            K::DeleteMessage {
                message_id, reason, ..
            }
            | K::PinMessage {
                message_id, reason, ..
            }
            | K::UnpinMessage {
                message_id, reason, ..
            } => {
                all.extend(reason.as_ref());
                all.push(message_id);
            }
            K::React {
                message_id, emoji, ..
            } => {
                all.push(message_id);
                all.push(emoji);
            }
            K::PublishMessage { message_id, .. } => all.push(message_id),
            K::AddRole { reason, .. }
            | K::RemoveRole { reason, .. }
            | K::DeleteRole { reason, .. }
            | K::RemoveTimeout { reason, .. }
            | K::KickMember { reason, .. }
            | K::UnbanMember { reason, .. }
            | K::DeleteChannel { reason, .. } => all.extend(reason.as_ref()),
            K::CreateRole { settings, reason }
            | K::EditRole {
                settings, reason, ..
            } => {
                all.extend(reason.as_ref());
                all.extend(settings.name.as_ref());
                if let Some(ColorSpec::Template(t)) = &settings.color {
                    all.push(t);
                }
            }
            K::SetNickname {
                nickname, reason, ..
            } => {
                all.extend(reason.as_ref());
                all.push(nickname);
            }
            K::TimeoutMember {
                duration, reason, ..
            } => {
                all.extend(reason.as_ref());
                all.push(duration);
            }
            K::BanMember {
                delete_messages,
                reason,
                ..
            } => {
                all.extend(reason.as_ref());
                all.extend(delete_messages.as_ref());
            }
            K::CreateChannel {
                name,
                topic,
                reason,
                ..
            } => {
                all.extend(topic.as_ref());
                all.extend(reason.as_ref());
                all.push(name);
            }
            K::EditChannel {
                name,
                topic,
                reason,
                ..
            } => {
                all.extend(name.as_ref());
                all.extend(topic.as_ref());
                all.extend(reason.as_ref());
            }
            K::CreateThread {
                name,
                message_id,
                auto_archive,
                reason,
                ..
            } => {
                all.extend(message_id.as_ref());
                all.extend(auto_archive.as_ref());
                all.extend(reason.as_ref());
                all.push(name);
            }
            K::EditThread { name, reason, .. } => {
                all.extend(name.as_ref());
                all.extend(reason.as_ref());
            }
            K::CreateInvite {
                max_age,
                max_uses,
                reason,
                ..
            } => {
                all.extend(max_age.as_ref());
                all.extend(max_uses.as_ref());
                all.extend(reason.as_ref());
            }
            K::HttpRequest {
                method,
                url,
                headers,
                body,
                timeout,
            } => {
                all.extend(timeout.as_ref());
                all.push(method);
                all.push(url);
                all.extend(headers.iter().map(|(_, value)| value));
                if let Some(HttpBodySpec::Text(text)) = body {
                    all.push(text);
                }
            }
            K::SetVariable { value, .. } => all.push(value),
            K::GetVariable { default, .. } => all.extend(default.as_ref()),
            K::Math { expression, .. } => all.push(expression),
            K::If { condition, .. } => condition.templates(&mut all),
            K::Loop { count, delay, .. } => {
                all.extend(delay.as_ref());
                all.push(count);
            }
            K::Wait { duration } => all.push(duration),
            K::DeleteVariable { .. } | K::Random { .. } | K::StopLoop | K::Stop => {}
        }
        all
    }

    /// The fields of the result `save_as` keeps, read as `{NAME.field}`. For `http_request`,
    /// `json.…` and `headers.…` go deeper into the response.
    pub fn output_fields(&self) -> &'static [&'static str] {
        use ActionKind as K;
        match self {
            K::SendMessage { .. } | K::SendDm { .. } | K::EditMessage { .. } => {
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

/// How two rendered texts are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Equals,
    NotEquals,
    Contains,
    StartsWith,
    EndsWith,
    /// Numeric; false when either side is not a number.
    GreaterThan,
    LessThan,
}

impl CompareOp {
    pub fn name(self) -> &'static str {
        match self {
            CompareOp::Equals => "equals",
            CompareOp::NotEquals => "not_equals",
            CompareOp::Contains => "contains",
            CompareOp::StartsWith => "starts_with",
            CompareOp::EndsWith => "ends_with",
            CompareOp::GreaterThan => "greater_than",
            CompareOp::LessThan => "less_than",
        }
    }
}

/// Every `op` a condition table may have.
pub const CONDITION_OPS: [&str; 11] = [
    "equals",
    "not_equals",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "greater_than",
    "less_than",
    "is_empty",
    "has_role",
    "chance",
];

/// A condition of an `if` action (and of an event's `[[when]]` filters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Compare {
        left: Template,
        op: CompareOp,
        right: Template,
        /// Compare texts without regard to case.
        ignore_case: bool,
    },
    /// `left` matches a regular expression, compiled once when the event is loaded.
    Matches {
        left: Template,
        pattern: Pattern,
    },
    /// `left` is empty or only whitespace after rendering.
    IsEmpty {
        left: Template,
    },
    HasRole {
        user: Template,
        role: Template,
    },
    /// True `percent` times in a hundred (0-100, decimals allowed).
    Chance {
        percent: f64,
    },
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    fn references<'a>(&'a self, refs: &mut Vec<(&'static str, &'a Template)>) {
        match self {
            Condition::HasRole { user, role } => {
                refs.push(("user", user));
                refs.push(("role", role));
            }
            Condition::All(list) | Condition::Any(list) => {
                list.iter().for_each(|c| c.references(refs))
            }
            Condition::Not(inner) => inner.references(refs),
            _ => {}
        }
    }

    /// Every template of the condition and of the conditions inside it.
    pub fn templates<'a>(&'a self, all: &mut Vec<&'a Template>) {
        match self {
            Condition::Compare { left, right, .. } => {
                all.push(left);
                all.push(right);
            }
            Condition::Matches { left, .. } | Condition::IsEmpty { left } => all.push(left),
            Condition::HasRole { user, role } => {
                all.push(user);
                all.push(role);
            }
            Condition::Chance { .. } => {}
            Condition::All(list) | Condition::Any(list) => {
                list.iter().for_each(|c| c.templates(all))
            }
            Condition::Not(inner) => inner.templates(all),
        }
    }
}

/// A regular expression as written in the file, compiled once. Stored as its source text.
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: regex::Regex,
}

/// The most a compiled pattern may take, so a file cannot make a regex that eats memory.
pub const MAX_PATTERN_BYTES: usize = 1 << 20;

impl Pattern {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        regex::RegexBuilder::new(source)
            .size_limit(MAX_PATTERN_BYTES)
            .build()
            .map(|regex| Pattern { regex })
    }

    pub fn regex(&self) -> &regex::Regex {
        &self.regex
    }

    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        Pattern::new(&source).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
