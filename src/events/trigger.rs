//! `[trigger]`: what starts an event besides its webhook (a slash command, a button, a message,
//! a member joining or leaving, a reaction, a schedule), with the variables each one gives.
//! Plain data and pure matching rules; `crate::triggers` starts the runs.

use serde::{Deserialize, Serialize};

use crate::lang::schedule::Schedule;

/// What starts an event. `Webhook` unless the file has a `[trigger]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    #[default]
    Webhook,
    /// A guild slash command of the event's server.
    Command(CommandSpec),
    /// A click on a button that a `send_message` (or `reply`) put under a message.
    Button,
    /// A message in the event's server (from a person: bots never start one).
    Message {
        /// Only in this channel; any channel when `None`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<ChannelFilter>,
    },
    MemberJoin,
    MemberLeave,
    ReactionAdd {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        emoji: Option<EmojiFilter>,
    },
    ReactionRemove {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        emoji: Option<EmojiFilter>,
    },
    Schedule(Schedule),
}

/// The kind of a trigger, without its settings: what a run records as what started it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    #[default]
    Webhook,
    Command,
    Button,
    Message,
    MemberJoin,
    MemberLeave,
    ReactionAdd,
    ReactionRemove,
    Schedule,
}

impl TriggerKind {
    /// Every `type` a `[trigger]` may have, in the order the docs list them.
    pub const NAMES: [&'static str; 9] = [
        "webhook",
        "command",
        "button",
        "message",
        "member_join",
        "member_leave",
        "reaction_add",
        "reaction_remove",
        "schedule",
    ];

    pub fn name(self) -> &'static str {
        match self {
            TriggerKind::Webhook => "webhook",
            TriggerKind::Command => "command",
            TriggerKind::Button => "button",
            TriggerKind::Message => "message",
            TriggerKind::MemberJoin => "member_join",
            TriggerKind::MemberLeave => "member_leave",
            TriggerKind::ReactionAdd => "reaction_add",
            TriggerKind::ReactionRemove => "reaction_remove",
            TriggerKind::Schedule => "schedule",
        }
    }

    pub fn from_name(name: &str) -> Option<TriggerKind> {
        use TriggerKind as K;
        [
            K::Webhook,
            K::Command,
            K::Button,
            K::Message,
            K::MemberJoin,
            K::MemberLeave,
            K::ReactionAdd,
            K::ReactionRemove,
            K::Schedule,
        ]
        .into_iter()
        .find(|kind| kind.name() == name)
    }

    /// A Discord interaction starts the run (a `reply` can answer it).
    pub fn is_interaction(self) -> bool {
        matches!(self, TriggerKind::Command | TriggerKind::Button)
    }

    /// The variables a run of this kind is given, besides the built-ins (contract §7);
    /// `{option_NAME}` of a command is not listed (it depends on the options).
    pub fn variables(self) -> &'static [&'static str] {
        match self {
            TriggerKind::Webhook => &[],
            TriggerKind::Command => &["user_id", "user_name", "channel_id"],
            TriggerKind::Button => &[
                "button_value",
                "user_id",
                "user_name",
                "channel_id",
                "message_id",
            ],
            TriggerKind::Message => &[
                "message_content",
                "message_id",
                "user_id",
                "user_name",
                "channel_id",
            ],
            TriggerKind::MemberJoin | TriggerKind::MemberLeave => &["user_id", "user_name"],
            TriggerKind::ReactionAdd | TriggerKind::ReactionRemove => {
                &["emoji", "message_id", "user_id", "channel_id"]
            }
            TriggerKind::Schedule => &["scheduled_time"],
        }
    }
}

impl std::fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        match self {
            Trigger::Webhook => TriggerKind::Webhook,
            Trigger::Command(_) => TriggerKind::Command,
            Trigger::Button => TriggerKind::Button,
            Trigger::Message { .. } => TriggerKind::Message,
            Trigger::MemberJoin => TriggerKind::MemberJoin,
            Trigger::MemberLeave => TriggerKind::MemberLeave,
            Trigger::ReactionAdd { .. } => TriggerKind::ReactionAdd,
            Trigger::ReactionRemove { .. } => TriggerKind::ReactionRemove,
            Trigger::Schedule(_) => TriggerKind::Schedule,
        }
    }

    pub fn is_webhook(&self) -> bool {
        *self == Trigger::Webhook
    }

    pub fn command(&self) -> Option<&CommandSpec> {
        match self {
            Trigger::Command(command) => Some(command),
            _ => None,
        }
    }

    pub fn schedule(&self) -> Option<&Schedule> {
        match self {
            Trigger::Schedule(schedule) => Some(schedule),
            _ => None,
        }
    }
}

/// A slash command: what hookbot registers with Discord for the event's server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSpec {
    /// 1-32 characters, lower case, as Discord requires (checked at load).
    pub name: String,
    /// 1-100 characters.
    pub description: String,
    /// At most 25; required ones first (Discord's rule).
    #[serde(default)]
    pub options: Vec<CommandOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOption {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OptionType,
    pub description: String,
    #[serde(default)]
    pub required: bool,
    /// At most 25; only for `string`, `integer` and `number` options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<OptionChoice>,
}

/// A command option's `type`, as event files name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionType {
    String,
    Integer,
    Number,
    Boolean,
    User,
    Channel,
    Role,
}

impl OptionType {
    pub const NAMES: [&'static str; 7] = [
        "string", "integer", "number", "boolean", "user", "channel", "role",
    ];

    pub fn name(self) -> &'static str {
        match self {
            OptionType::String => "string",
            OptionType::Integer => "integer",
            OptionType::Number => "number",
            OptionType::Boolean => "boolean",
            OptionType::User => "user",
            OptionType::Channel => "channel",
            OptionType::Role => "role",
        }
    }

    pub fn from_name(name: &str) -> Option<OptionType> {
        use OptionType as O;
        [
            O::String,
            O::Integer,
            O::Number,
            O::Boolean,
            O::User,
            O::Channel,
            O::Role,
        ]
        .into_iter()
        .find(|kind| kind.name() == name)
    }

    /// Discord's `ApplicationCommandOptionType` number.
    pub fn discord_type(self) -> u8 {
        match self {
            OptionType::String => 3,
            OptionType::Integer => 4,
            OptionType::Boolean => 5,
            OptionType::User => 6,
            OptionType::Channel => 7,
            OptionType::Role => 8,
            OptionType::Number => 10,
        }
    }

    /// Whether Discord lets this type offer `choices`.
    pub fn takes_choices(self) -> bool {
        matches!(
            self,
            OptionType::String | OptionType::Integer | OptionType::Number
        )
    }
}

/// One of an option's fixed choices: the name the user sees and the value the run gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionChoice {
    pub name: String,
    pub value: ChoiceValue,
}

/// A choice's value, typed as Discord wants it for the option's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceValue {
    String(String),
    Integer(i64),
    /// Kept as written (`1.5`), so the model stays `Eq`; parsed when registered.
    Number(String),
}

impl ChoiceValue {
    /// As the run's `{option_NAME}` shows it.
    pub fn as_text(&self) -> String {
        match self {
            ChoiceValue::String(text) | ChoiceValue::Number(text) => text.clone(),
            ChoiceValue::Integer(number) => number.to_string(),
        }
    }
}

/// A `message` trigger's `channel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelFilter {
    Id(u64),
    /// Without the `#`.
    Name(String),
}

impl ChannelFilter {
    /// Whether a message in the channel with this id and name passes.
    pub fn matches(&self, id: u64, name: Option<&str>) -> bool {
        match self {
            ChannelFilter::Id(wanted) => *wanted == id,
            ChannelFilter::Name(wanted) => name == Some(wanted.as_str()),
        }
    }
}

/// A reaction trigger's `emoji`: a unicode emoji or a custom one (`name:id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmojiFilter {
    Unicode(String),
    Custom { name: String, id: u64 },
}

impl EmojiFilter {
    /// Whether a reaction with this emoji passes: a custom emoji by its id (its name may have
    /// changed), a unicode one by its text.
    pub fn matches(&self, name: Option<&str>, id: Option<u64>) -> bool {
        match self {
            EmojiFilter::Custom { id: wanted, .. } => id == Some(*wanted),
            EmojiFilter::Unicode(wanted) => id.is_none() && name == Some(wanted.as_str()),
        }
    }
}

/// `{emoji}` of a reaction: the unicode emoji, or `name:id` for a custom one.
pub fn emoji_text(name: Option<&str>, id: Option<u64>) -> String {
    match (name, id) {
        (name, Some(id)) => format!("{}:{id}", name.unwrap_or("")),
        (Some(name), None) => name.to_owned(),
        (None, None) => String::new(),
    }
}

/// Whether `name` is a name Discord takes for a slash command or an option: 1-32 characters,
/// each a letter, digit, `-`, `_` or `'`, with no upper-case letter.
pub fn is_valid_command_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=MAX_COMMAND_NAME_CHARS).contains(&count)
        && name.chars().all(|c| {
            (c.is_alphanumeric() || matches!(c, '-' | '_' | '\''))
                && !c.is_uppercase()
                && c.to_lowercase().eq([c])
        })
}

/// Discord's limits on slash commands.
pub const MAX_COMMAND_NAME_CHARS: usize = 32;
pub const MAX_COMMAND_DESCRIPTION_CHARS: usize = 100;
pub const MAX_COMMAND_OPTIONS: usize = 25;
pub const MAX_OPTION_CHOICES: usize = 25;
pub const MAX_CHOICE_NAME_CHARS: usize = 100;
pub const MAX_CHOICE_STRING_CHARS: usize = 100;
/// Discord's limit on slash commands per server.
pub const MAX_GUILD_COMMANDS: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::schedule::Cadence;

    #[test]
    fn command_names_follow_discords_rules() {
        for name in [
            "deploy",
            "a",
            "roll-dice",
            "user_info",
            "don't",
            "données",
            "x2",
        ] {
            assert!(is_valid_command_name(name), "{name}");
        }
        for name in [
            "",
            "Deploy",
            "two words",
            "slash/cmd",
            &"a".repeat(33),
            "émoji😀",
        ] {
            assert!(!is_valid_command_name(name), "{name}");
        }
        assert!(is_valid_command_name(&"a".repeat(32)));
    }

    #[test]
    fn every_kind_has_its_name() {
        for name in TriggerKind::NAMES {
            assert_eq!(TriggerKind::from_name(name).unwrap().name(), name);
        }
        for name in OptionType::NAMES {
            assert_eq!(OptionType::from_name(name).unwrap().name(), name);
        }
    }

    #[test]
    fn triggers_roundtrip_through_json() {
        let triggers = [
            Trigger::Webhook,
            Trigger::Command(CommandSpec {
                name: "deploy".into(),
                description: "Deploy a service".into(),
                options: vec![CommandOption {
                    name: "env".into(),
                    kind: OptionType::String,
                    description: "Where".into(),
                    required: true,
                    choices: vec![OptionChoice {
                        name: "prod".into(),
                        value: ChoiceValue::String("prod".into()),
                    }],
                }],
            }),
            Trigger::Message {
                channel: Some(ChannelFilter::Name("general".into())),
            },
            Trigger::ReactionAdd {
                emoji: Some(EmojiFilter::Custom {
                    name: "party".into(),
                    id: 7,
                }),
            },
            Trigger::Schedule(Schedule {
                cadence: Cadence::Cron("0 9 * * 1-5".into()),
                timezone: "Europe/Berlin".into(),
            }),
        ];
        for trigger in triggers {
            let json = serde_json::to_string(&trigger).unwrap();
            let back: Trigger = serde_json::from_str(&json).unwrap();
            assert_eq!(back, trigger, "{json}");
        }
    }

    #[test]
    fn emoji_filters_match_by_id_or_text() {
        let custom = EmojiFilter::Custom {
            name: "party".into(),
            id: 7,
        };
        assert!(custom.matches(Some("renamed"), Some(7)));
        assert!(!custom.matches(Some("party"), Some(8)));
        let unicode = EmojiFilter::Unicode("👍".into());
        assert!(unicode.matches(Some("👍"), None));
        assert!(!unicode.matches(Some("👎"), None));
        assert_eq!(emoji_text(Some("party"), Some(7)), "party:7");
        assert_eq!(emoji_text(Some("👍"), None), "👍");
    }
}
