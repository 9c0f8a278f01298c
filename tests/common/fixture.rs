//! The world every test runs in: the bot, its test server with the channels, roles and members
//! the tests name, and the event file most tests need (one message, CONTRACT §3).

use discord_stand_in::{
    Fixture, FixtureChannel, FixtureGuild, FixtureMember, FixtureRole, FixtureUser,
};

pub const TOKEN: &str = "test-token";
pub const BOT_ID: u64 = 900_000_000_000_000_001;
pub const SERVER: u64 = 123_456_789_012_345_678;
pub const SERVER_NAME: &str = "Test Server";
pub const DEPLOYS: u64 = 200_000_000_000_000_001;
pub const GENERAL: u64 = 200_000_000_000_000_002;
/// A channel the bot may not send to: Discord answers 403 Missing Permissions.
pub const LOCKED: u64 = 200_000_000_000_000_003;
pub const DEPLOYER: u64 = 300_000_000_000_000_001;
/// A role above the bot's: Discord answers 403 Missing Permissions.
pub const ADMIN_ROLE: u64 = 300_000_000_000_000_002;
pub const ALICE: u64 = 400_000_000_000_000_001;
/// A member whose DMs are closed: Discord answers 403 "Cannot send messages to this user".
pub const BOB: u64 = 400_000_000_000_000_002;

/// The bot with the test server and its members: what most tests run against.
pub fn fixture() -> Fixture {
    bot_in(server().add_member(alice()).add_member(bob()))
}

/// The bot, present in `guild` only.
pub fn bot_in(guild: FixtureGuild) -> Fixture {
    Fixture::new(BOT_ID, "hookbot-test").guild(guild)
}

/// The test server's channels and roles, without members: a test that needs its members
/// otherwise adds them itself.
pub fn server() -> FixtureGuild {
    FixtureGuild::new(SERVER, SERVER_NAME)
        .channel(DEPLOYS, "deploys")
        .channel(GENERAL, "general")
        .add_channel(FixtureChannel::text(LOCKED, "locked").bot_cannot_send())
        .role(DEPLOYER, "Deployer")
        .add_role(FixtureRole::new(ADMIN_ROLE, "Admin").bot_cannot_manage())
}

pub fn alice() -> FixtureMember {
    FixtureMember::new(FixtureUser::new(ALICE, "alice").global_name("Alice A."))
}

pub fn bob() -> FixtureMember {
    FixtureMember::new(FixtureUser::new(BOB, "bob").dms_closed())
}

/// An event file in the test server whose one action sends `content` to `channel`; both are
/// templates, so `{name}` is filled from the request.
pub fn message_event(id: &str, channel: &str, content: &str) -> String {
    format!(
        "id = {id}\nserver = \"{SERVER}\"\n\n[[actions]]\ntype = \"send_message\"\nchannel = {channel}\ncontent = {content}\n",
        id = toml_string(id),
        channel = toml_string(channel),
        content = toml_string(content),
    )
}

/// `text` as a TOML string, quoted and escaped.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The event files of a `/deploy` command whose reply carries an Approve button, and of that
/// button, in the server the sandbox makes when no other is named (`111…`): what a person tries
/// first from a second terminal or the console.
pub const DEPLOY_COMMAND_EVENT: &str = r#"id = "deploy"
name = "Deploy command"
server = "111111111111111111"

[trigger]
type = "command"
name = "deploy"
description = "Deploy a service"

[[trigger.options]]
name = "service"
type = "string"
description = "Which service"
required = true

[[actions]]
type = "reply"
content = "Deploying {option_service} for {user_name}"

[[actions.buttons]]
label = "Approve"
style = "success"
event = "approve"
value = "{option_service}"
"#;

pub const APPROVE_BUTTON_EVENT: &str = r#"id = "approve"
name = "Approve button"
server = "111111111111111111"

[trigger]
type = "button"

[[actions]]
type = "reply"
content = "{user_name} approved {button_value}"
"#;
