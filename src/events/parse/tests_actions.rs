//! The Discord actions: messages, roles, members, channels, threads and invites, and the
//! limits Discord puts on their fixed texts.

use super::tests_common::*;
use crate::events::*;

#[test]
fn message_actions() {
    assert_eq!(
        kind(
            r#"[[actions]]
type = "send_message"
channel = "general"
content = "hi"
reply_to = "{message_id}"
tts = true
"#
        ),
        ActionKind::SendMessage {
            channel: t("general"),
            message: MessageSpec {
                content: Some(t("hi")),
                ..MessageSpec::default()
            },
            reply_to: Some(t("{message_id}")),
            tts: true,
            buttons: vec![],
        }
    );
    assert_eq!(
        kind(
            r#"[[actions]]
type = "edit_message"
channel = 5
message_id = 6
embeds = [{ title = "new" }]
allowed_mentions = ["users"]
"#
        ),
        ActionKind::EditMessage {
            channel: t("5"),
            message_id: t("6"),
            message: MessageSpec {
                content: None,
                embeds: vec![EmbedSpec {
                    title: Some(t("new")),
                    ..EmbedSpec::default()
                }],
                allowed_mentions: AllowedMentions {
                    users: true,
                    ..AllowedMentions::default()
                },
            },
        }
    );
    let base = "channel = \"general\"\nmessage_id = \"{m}\"\n";
    assert_eq!(
        kind(&format!(
            "[[actions]]\ntype = \"delete_message\"\n{base}reason = \"spam\"\n"
        )),
        ActionKind::DeleteMessage {
            channel: t("general"),
            message_id: t("{m}"),
            reason: Some(t("spam")),
        }
    );
    assert_eq!(
        kind(&format!(
            "[[actions]]\ntype = \"react\"\n{base}emoji = \"👍\"\n"
        )),
        ActionKind::React {
            channel: t("general"),
            message_id: t("{m}"),
            emoji: t("👍"),
        }
    );
    assert_eq!(
        kind(&format!("[[actions]]\ntype = \"pin_message\"\n{base}")),
        ActionKind::PinMessage {
            channel: t("general"),
            message_id: t("{m}"),
            reason: None,
        }
    );
    assert_eq!(
        kind(&format!(
            "[[actions]]\ntype = \"unpin_message\"\n{base}reason = \"old\"\n"
        )),
        ActionKind::UnpinMessage {
            channel: t("general"),
            message_id: t("{m}"),
            reason: Some(t("old")),
        }
    );
    assert_eq!(
        kind(&format!("[[actions]]\ntype = \"publish_message\"\n{base}")),
        ActionKind::PublishMessage {
            channel: t("general"),
            message_id: t("{m}"),
        }
    );
    assert_eq!(
        errors("[[actions]]\ntype = \"edit_message\"\nchannel = 1\nmessage_id = 2\n"),
        ["3:1: edit_message needs content or embeds"]
    );
}

#[test]
fn role_actions() {
    assert_eq!(
        kind(
            r##"[[actions]]
type = "create_role"
name = "Deployer"
color = "#2ecc71"
hoist = true
mentionable = false
permissions = ["send_messages", "MANAGE_ROLES"]
reason = "new team"
"##
        ),
        ActionKind::CreateRole {
            settings: RoleSettings {
                name: Some(t("Deployer")),
                color: Some(ColorSpec::Fixed(0x2ecc71)),
                hoist: Some(true),
                mentionable: Some(false),
                permissions: Some((1 << 11) | (1 << 28)),
            },
            reason: Some(t("new team")),
        }
    );
    assert_eq!(
        kind("[[actions]]\ntype = \"edit_role\"\nrole = \"R\"\npermissions = \"8\"\ncolor = \"{c}\"\n"),
        ActionKind::EditRole {
            role: t("R"),
            settings: RoleSettings {
                color: Some(ColorSpec::Template(t("{c}"))),
                permissions: Some(8),
                ..RoleSettings::default()
            },
            reason: None,
        }
    );
    assert_eq!(
        kind("[[actions]]\ntype = \"delete_role\"\nrole = 7\nreason = \"r\"\n"),
        ActionKind::DeleteRole {
            role: t("7"),
            reason: Some(t("r")),
        }
    );
    assert_eq!(
        kind("[[actions]]\ntype = \"add_role\"\nuser = 1\nrole = \"R\"\nreason = \"r\"\n"),
        ActionKind::AddRole {
            user: t("1"),
            role: t("R"),
            reason: Some(t("r")),
        }
    );
    assert_eq!(
        errors(
            "[[actions]]\ntype = \"create_role\"\npermissions = [\"fly\", 3]\n\n[[actions]]\ntype = \"edit_role\"\nrole = \"R\"\n"
        ),
        [
            r#"3:1: missing required key "name" in create_role action"#,
            r#"5:16: unknown permission "fly"; use Discord's names in lower case, such as send_messages, manage_roles, kick_members"#,
            r#"5:23: unknown permission 3; use Discord's names in lower case, such as send_messages, manage_roles, kick_members"#,
            r#"7:1: edit_role needs at least one of: name, color, hoist, mentionable, permissions"#,
        ]
    );
}

#[test]
fn member_actions() {
    assert_eq!(
        kind("[[actions]]\ntype = \"set_nickname\"\nuser = \"{u}\"\nnickname = \"\"\n"),
        ActionKind::SetNickname {
            user: t("{u}"),
            nickname: t(""),
            reason: None,
        }
    );
    assert_eq!(
        kind("[[actions]]\ntype = \"timeout_member\"\nuser = 1\nduration = \"1h30m\"\nreason = \"calm\"\n"),
        ActionKind::TimeoutMember {
            user: t("1"),
            duration: t("1h30m"),
            reason: Some(t("calm")),
        }
    );
    assert_eq!(
        kind("[[actions]]\ntype = \"ban_member\"\nuser = 1\ndelete_messages = \"7d\"\n"),
        ActionKind::BanMember {
            user: t("1"),
            delete_messages: Some(t("7d")),
            reason: None,
        }
    );
    for (name, expected) in [
        (
            "remove_timeout",
            ActionKind::RemoveTimeout {
                user: t("1"),
                reason: Some(t("r")),
            },
        ),
        (
            "kick_member",
            ActionKind::KickMember {
                user: t("1"),
                reason: Some(t("r")),
            },
        ),
        (
            "unban_member",
            ActionKind::UnbanMember {
                user: t("1"),
                reason: Some(t("r")),
            },
        ),
    ] {
        assert_eq!(
            kind(&format!(
                "[[actions]]\ntype = \"{name}\"\nuser = 1\nreason = \"r\"\n"
            )),
            expected
        );
    }
    assert_eq!(
        errors(
            r#"[[actions]]
type = "timeout_member"
user = 1
duration = "29d"

[[actions]]
type = "ban_member"
user = 1
delete_messages = "8d"

[[actions]]
type = "set_nickname"
user = 1
nickname = "a name much too long for discord!"

[[actions]]
type = "timeout_member"
user = 1
duration = "soon"
"#
        ),
        [
            r#"6:12: duration must be at most 4w, got "29d""#,
            r#"11:19: delete_messages must be at most 1w, got "8d""#,
            r#"16:12: nickname is 33 characters long; Discord allows at most 32"#,
            r#"21:12: duration: "soon" is not a duration; write it like 30s, 10m, 2h, 1d or 1w"#,
        ]
    );
}

#[test]
fn channel_and_thread_actions() {
    assert_eq!(
        kind(
            r#"[[actions]]
type = "create_channel"
name = "release-{version}"
kind = "voice"
topic = "t"
parent = "Projects"
reason = "r"
"#
        ),
        ActionKind::CreateChannel {
            name: t("release-{version}"),
            channel_type: ChannelKind::Voice,
            topic: Some(t("t")),
            parent: Some(t("Projects")),
            reason: Some(t("r")),
        }
    );
    let ActionKind::CreateChannel { channel_type, .. } =
        kind("[[actions]]\ntype = \"create_channel\"\nname = \"x\"\n")
    else {
        panic!()
    };
    assert_eq!(channel_type, ChannelKind::Text);
    assert_eq!(
        kind("[[actions]]\ntype = \"edit_channel\"\nchannel = \"general\"\ntopic = \"new\"\n"),
        ActionKind::EditChannel {
            channel: t("general"),
            name: None,
            topic: Some(t("new")),
            parent: None,
            reason: None,
        }
    );
    assert_eq!(
        kind("[[actions]]\ntype = \"delete_channel\"\nchannel = 9\n"),
        ActionKind::DeleteChannel {
            channel: t("9"),
            reason: None,
        }
    );
    assert_eq!(
        kind(
            r#"[[actions]]
type = "create_thread"
channel = "general"
name = "Discuss {service}"
message_id = "{m}"
auto_archive = "24h"
reason = "r"
"#
        ),
        ActionKind::CreateThread {
            channel: t("general"),
            name: t("Discuss {service}"),
            message_id: Some(t("{m}")),
            private: false,
            auto_archive: Some(t("1d")),
            reason: Some(t("r")),
        }
    );
    assert_eq!(
        kind("[[actions]]\ntype = \"edit_thread\"\nthread = 3\narchived = true\nlocked = false\n"),
        ActionKind::EditThread {
            thread: t("3"),
            name: None,
            archived: Some(true),
            locked: Some(false),
            reason: None,
        }
    );
    assert_eq!(
        errors(
            r#"[[actions]]
type = "create_thread"
channel = "general"
name = "x"
message_id = 1
private = true
auto_archive = "2h"

[[actions]]
type = "create_channel"
name = "x"
kind = "stage"

[[actions]]
type = "edit_channel"
channel = 1

[[actions]]
type = "edit_thread"
thread = 1
"#
        ),
        [
            "8:11: a thread started from a message cannot be private; leave out private or message_id",
            r#"9:16: auto_archive must be one of "1h", "1d", "3d", "1w", got "2h""#,
            r#"14:8: kind must be one of: text, voice, category, announcement, got "stage""#,
            "16:1: edit_channel needs at least one of: name, topic, parent",
            "20:1: edit_thread needs at least one of: name, archived, locked",
        ]
    );
}

#[test]
fn create_invite() {
    assert_eq!(
        kind(
            r#"[[actions]]
type = "create_invite"
channel = "general"
max_age = "0"
max_uses = 5
temporary = true
unique = true
reason = "r"
"#
        ),
        ActionKind::CreateInvite {
            channel: t("general"),
            max_age: Some(t("0")),
            max_uses: Some(t("5")),
            temporary: true,
            unique: true,
            reason: Some(t("r")),
        }
    );
    assert_eq!(
        errors("[[actions]]\ntype = \"create_invite\"\nchannel = 1\nmax_age = \"8d\"\nmax_uses = 101\n"),
        [
            r#"6:11: max_age must be at most 1w, got "8d""#,
            "7:12: max_uses must be a whole number from 0 to 100 or text with {placeholders}, got 101",
        ]
    );
}

#[test]
fn discord_limits_on_fixed_texts() {
    let long = "x".repeat(1500);
    let field = format!("{{ name = \"n\", value = \"{}\" }}", "v".repeat(1000));
    let fields = vec![field; 7].join(", ");
    assert_eq!(
        errors(&format!(
            "[[actions]]\ntype = \"send_message\"\nchannel = 1\nembeds = [{{ description = \"{long}\", fields = [{fields}] }}]\n"
        )),
        ["6:10: embeds have 8507 characters of text together; Discord allows at most 6000"]
    );
    assert_eq!(
        errors(&format!(
            "[[actions]]\ntype = \"create_role\"\nname = \"{}\"\nreason = \"{}\"\n",
            "r".repeat(101),
            "w".repeat(513)
        )),
        [
            "5:8: name is 101 characters long; Discord allows at most 100",
            "6:10: reason is 513 characters long; Discord allows at most 512",
        ]
    );
}

/// Issue 14 point 10: `allowed_mentions` by id, checked at load with positions.
#[test]
fn allowed_mentions_by_id() {
    let ActionKind::SendMessage { message, .. } = kind(
        r#"[[actions]]
type = "send_message"
channel = "general"
content = "<@&223456789012345678> {monitor}"
allowed_mentions = { roles = ["223456789012345678"], users = ["5"] }
"#,
    ) else {
        panic!("a send_message")
    };
    assert_eq!(
        message.allowed_mentions,
        AllowedMentions {
            role_ids: vec![223456789012345678],
            user_ids: vec![5],
            ..AllowedMentions::default()
        }
    );
    assert_eq!(
        errors(
            r#"[[actions]]
type = "send_message"
channel = "general"
content = "hi"
allowed_mentions = { roles = ["@oncall", 5], user = ["5"] }
"#
        ),
        [
            r#"7:31: allowed_mentions.roles takes ids in quotes, like "223456789012345678"; "@oncall" is not one"#,
            r#"7:42: allowed_mentions.roles takes ids in quotes, like "223456789012345678"; 5 is not one"#,
            r#"7:46: unknown key "user" in allowed_mentions; expected one of: users, roles, everyone"#,
        ]
    );
}
