//! The event-level parts of the parser, messages and embeds.

use std::path::Path;

use crate::events::*;
use crate::lang::templates::Template;
use crate::problem::Problem;

fn parse(text: &str) -> Result<Event, Vec<Problem>> {
    parse_event(Path::new("events/test.toml"), text)
}

/// The problems of a bad file, as `LINE:COL: message`.
fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(event) => panic!("expected problems, got {event:?}"),
        Err(problems) => problems
            .iter()
            .map(|p| {
                assert_eq!(p.file, Path::new("events/test.toml"));
                format!("{}:{}: {}", p.line, p.col, p.message)
            })
            .collect(),
    }
}

fn t(text: &str) -> Template {
    Template::new(text)
}

#[test]
fn the_contract_example() {
    let event = parse(
        r##"
id = "deploy-4f9c2a7b"      # the {event_id} of the webhook URL
name = "Deploy finished"    # free text
server = "123456789012345678"
enabled = true

[[actions]]
type = "send_message"
channel = "#deploys"
content = "{service} {version} is live, deployed by {user}"

[[actions]]
type = "add_role"
user = "{user_id}"
role = "Deployer"
"##,
    )
    .unwrap();
    assert_eq!(event.id, "deploy-4f9c2a7b");
    assert_eq!(event.name, "Deploy finished");
    assert_eq!(event.server, 123456789012345678);
    assert!(event.enabled);
    assert_eq!(event.file, "events/test.toml");
    let kinds: Vec<&ActionKind> = event.actions.iter().map(|a| &a.kind).collect();
    assert_eq!(
        kinds,
        [
            &ActionKind::SendMessage {
                channel: t("#deploys"),
                message: MessageSpec {
                    content: Some(t("{service} {version} is live, deployed by {user}")),
                    ..MessageSpec::default()
                },
                reply_to: None,
                tts: false,
                buttons: vec![],
            },
            &ActionKind::AddRole {
                user: t("{user_id}"),
                role: t("Deployer"),
                reason: None,
            },
        ]
    );
}

#[test]
fn defaults_of_the_optional_keys() {
    let event = parse("id = \"a\"\nserver = 1\n").unwrap();
    assert_eq!(event.name, "a");
    assert!(event.enabled);
    assert!(event.actions.is_empty());
    assert_eq!(event.server, 1);
}

#[test]
fn every_field() {
    let event = parse(
        r##"
id = "every_field-1"
name = "Every field"
server = 123456789012345678
enabled = false

[[actions]]
type = "send_message"
channel = 987654321
content = "hello {user}"
allowed_mentions = ["users", "roles", "everyone"]

[[actions.embeds]]
title = "{service} is live"
description = "Deployed"
url = "https://example.com/{run}"
color = "#2ecc71"
timestamp = 2024-05-01T12:00:00Z
footer = { text = "footer {x}", icon_url = "https://example.com/f.png" }
author = { name = "Bot", url = "https://example.com", icon_url = "https://example.com/a.png" }
image = { url = "https://example.com/i.png" }
thumbnail = { url = "https://example.com/t.png" }
fields = [
  { name = "Service", value = "{service}", inline = true },
  { name = "Version", value = "{version}" },
]

[[actions.embeds]]
description = "second"
color = 255
timestamp = "{now}"

[[actions.embeds]]
title = "third"
color = "{color}"
timestamp = "2024-05-01 13:00:00+02:00"

[[actions]]
type = "send_dm"
user = "{user_id}"
embeds = [{ title = "dm" }]

[[actions]]
type = "remove_role"
user = 42
role = "{role}"
"##,
    )
    .unwrap();
    assert!(!event.enabled);
    assert_eq!(event.actions.len(), 3);
    let first_embed = EmbedSpec {
        title: Some(t("{service} is live")),
        description: Some(t("Deployed")),
        url: Some(t("https://example.com/{run}")),
        color: Some(ColorSpec::Fixed(0x2ecc71)),
        timestamp: Some(t("2024-05-01T12:00:00Z")),
        footer: Some(EmbedFooterSpec {
            text: t("footer {x}"),
            icon_url: Some(t("https://example.com/f.png")),
        }),
        author: Some(EmbedAuthorSpec {
            name: t("Bot"),
            url: Some(t("https://example.com")),
            icon_url: Some(t("https://example.com/a.png")),
        }),
        image: Some(t("https://example.com/i.png")),
        thumbnail: Some(t("https://example.com/t.png")),
        fields: vec![
            EmbedFieldSpec {
                name: t("Service"),
                value: t("{service}"),
                inline: true,
            },
            EmbedFieldSpec {
                name: t("Version"),
                value: t("{version}"),
                inline: false,
            },
        ],
    };
    let second_embed = EmbedSpec {
        description: Some(t("second")),
        color: Some(ColorSpec::Fixed(255)),
        timestamp: Some(t("{now}")),
        ..EmbedSpec::default()
    };
    let third_embed = EmbedSpec {
        title: Some(t("third")),
        color: Some(ColorSpec::Template(t("{color}"))),
        timestamp: Some(t("2024-05-01T13:00:00+02:00")),
        ..EmbedSpec::default()
    };
    assert_eq!(
        event.actions[0].kind,
        ActionKind::SendMessage {
            reply_to: None,
            tts: false,
            buttons: vec![],
            channel: t("987654321"),
            message: MessageSpec {
                content: Some(t("hello {user}")),
                embeds: vec![first_embed, second_embed, third_embed],
                allowed_mentions: AllowedMentions {
                    users: true,
                    roles: true,
                    everyone: true,
                    ..AllowedMentions::default()
                },
            },
        }
    );
    assert_eq!(
        event.actions[1].kind,
        ActionKind::SendDm {
            user: t("{user_id}"),
            message: MessageSpec {
                embeds: vec![EmbedSpec {
                    title: Some(t("dm")),
                    ..EmbedSpec::default()
                }],
                ..MessageSpec::default()
            },
        }
    );
    assert_eq!(
        event.actions[2].kind,
        ActionKind::RemoveRole {
            user: t("42"),
            role: t("{role}"),
            reason: None,
        }
    );
}

#[test]
fn many_problems_in_one_file_each_at_its_place() {
    let text = r##"id = "bad id!"
server = "abc"
enabled = "yes"
colour = 1

[[actions]]
type = "send_message"
chanel = "#x"
content = 5

[[actions]]
type = "send_mesage"

[[actions]]
type = "add_role"
user = ""

[[actions]]
type = "send_dm"
user = "{user_id}"
allowed_mentions = ["users", "here"]
"##;
    assert_eq!(
        problems(text),
        [
            r#"1:6: id must be 1-64 of A-Z a-z 0-9 _ -, got "bad id!""#,
            r#"2:10: server must be a Discord server id (digits), got "abc""#,
            r#"3:11: enabled must be true or false, got "yes""#,
            r#"4:1: unknown key "colour" in event file; expected one of: id, name, server, enabled, actions, trigger, auth, when, variables"#,
            r#"6:1: missing required key "channel" in send_message action"#,
            r#"8:1: unknown key "chanel" in send_message action; expected one of: channel, content, embeds, allowed_mentions, reply_to, tts, buttons, save_as, on_error"#,
            r#"9:11: content must be a string, got 5"#,
            format!(
                r#"12:8: unknown action type "send_mesage"; expected one of: {}"#,
                ACTION_TYPES.join(", ")
            )
            .as_str(),
            r#"14:1: missing required key "role" in add_role action"#,
            r#"16:8: user must be a user id or text that renders to one, got """#,
            r#"18:1: send_dm needs content or embeds"#,
            r#"21:30: unknown allowed_mentions entry "here"; expected one of: users, roles, everyone"#,
        ]
    );
}

#[test]
fn missing_id_and_server_are_reported_at_the_file_start() {
    assert_eq!(
        problems("name = \"x\"\n"),
        [
            r#"1:1: missing required key "id" in event file"#,
            r#"1:1: missing required key "server" in event file"#,
        ]
    );
}

#[test]
fn server_ids() {
    for bad in [
        "\"0\"",
        "0",
        "-5",
        "\"18446744073709551616\"",
        "\" 12\"",
        "1.5",
        "\"\"",
    ] {
        let text = format!("id = \"a\"\nserver = {bad}\n");
        assert_eq!(
            problems(&text),
            [format!(
                "2:10: server must be a Discord server id (digits), got {bad}"
            )],
            "{bad}"
        );
    }
    let text = "id = \"a\"\nserver = \"18446744073709551615\"\n";
    assert_eq!(parse(text).unwrap().server, u64::MAX);
}

#[test]
fn ids() {
    let long = "x".repeat(65);
    assert!(is_valid_event_id(&"x".repeat(64)));
    for bad in ["", "a b", "é", "a/b", long.as_str()] {
        assert!(!is_valid_event_id(bad), "{bad}");
    }
    assert_eq!(
        problems("id = 7\nserver = 1\n"),
        ["1:6: id must be 1-64 of A-Z a-z 0-9 _ -, got 7"]
    );
}

#[test]
fn bad_types_of_the_top_level_keys() {
    assert_eq!(
        problems("id = \"a\"\nserver = 1\nname = \"\"\nactions = \"none\"\n"),
        [
            r#"3:8: name must not be empty (leave it out to use the id)"#,
            r#"4:11: actions must be an array, got "none""#,
        ]
    );
    assert_eq!(
        problems("id = \"a\"\nserver = 1\nactions = [1]\n"),
        ["3:12: actions[0] must be a table, got 1"]
    );
}

#[test]
fn action_types() {
    assert_eq!(
        problems("id = \"a\"\nserver = 1\n[[actions]]\nchannel = \"#x\"\n"),
        [format!(
            r#"3:1: missing required key "type" in action; it is one of: {}"#,
            ACTION_TYPES.join(", ")
        )]
    );
    assert_eq!(
        problems("id = \"a\"\nserver = 1\n[[actions]]\ntype = 1\n"),
        [format!(
            "4:8: type must be one of: {}, got 1",
            ACTION_TYPES.join(", ")
        )]
    );
}

#[test]
fn message_limits() {
    let long = "x".repeat(MAX_CONTENT_CHARS + 1);
    let text = format!(
        "id = \"a\"\nserver = 1\n[[actions]]\ntype = \"send_message\"\nchannel = \"#x\"\ncontent = \"{long}\"\n"
    );
    assert_eq!(
        problems(&text),
        ["6:11: content is 2001 characters long; Discord allows at most 2000"]
    );
    // With a placeholder the length is judged after rendering.
    let text = text.replace(&long, &format!("{long}{{x}}"));
    assert!(parse(&text).is_ok());

    let at_limit = "é".repeat(MAX_CONTENT_CHARS);
    let text = format!(
        "id = \"a\"\nserver = 1\n[[actions]]\ntype = \"send_message\"\nchannel = \"#x\"\ncontent = \"{at_limit}\"\n"
    );
    assert!(parse(&text).is_ok());

    let embeds = ["{ title = \"t\" }"; 11].join(", ");
    let text = format!(
        "id = \"a\"\nserver = 1\n[[actions]]\ntype = \"send_message\"\nchannel = \"#x\"\nembeds = [{embeds}]\n"
    );
    assert_eq!(
        problems(&text),
        ["6:10: embeds has 11 embeds; Discord allows at most 10"]
    );

    let fields = ["{ name = \"n\", value = \"v\" }"; 26].join(", ");
    let text = format!(
        "id = \"a\"\nserver = 1\n[[actions]]\ntype = \"send_message\"\nchannel = \"#x\"\n[[actions.embeds]]\nfields = [{fields}]\n"
    );
    assert_eq!(
        problems(&text),
        ["7:10: fields has 26 fields; Discord allows at most 25"]
    );
}

#[test]
fn needs_content_or_embeds() {
    let base = "id = \"a\"\nserver = 1\n[[actions]]\ntype = \"send_message\"\nchannel = \"#x\"\n";
    assert_eq!(
        problems(base),
        ["3:1: send_message needs content or embeds"]
    );
    assert_eq!(
        problems(&format!("{base}embeds = []\n")),
        ["3:1: send_message needs content or embeds"]
    );
    assert_eq!(
        problems(&format!("{base}content = \"\"\n")),
        ["6:11: content must not be empty"]
    );
}

#[test]
fn embed_problems() {
    let text = r##"id = "a"
server = 1
[[actions]]
type = "send_message"
channel = "#x"

[[actions.embeds]]
color = "red"
titel = "x"

[[actions.embeds]]
title = "ok"
color = 16777216
timestamp = 2024-05-01
footer = { icon_url = "x" }
author = "me"
image = { link = "x" }
fields = [{ name = "n", value = "", inline = "yes" }, 3]

[[actions.embeds]]
description = "ok"
timestamp = "yesterday"
color = 1.5
"##;
    assert_eq!(
        problems(text),
        [
            r#"7:1: embed has nothing to show; give it at least one of: title, description, fields, author, footer, image, thumbnail, timestamp"#,
            r##"8:9: color must be an integer from 0 to 16777215 (0xFFFFFF), "#rrggbb" or text with {placeholders}, got "red""##,
            r#"9:1: unknown key "titel" in embed; expected one of: title, description, url, color, timestamp, footer, author, image, thumbnail, fields"#,
            r##"13:9: color must be an integer from 0 to 16777215 (0xFFFFFF), "#rrggbb" or text with {placeholders}, got 16777216"##,
            r#"14:13: timestamp must be a date and time with an offset, such as 2024-05-01T12:00:00Z, or text with {placeholders}, got 2024-05-01"#,
            r#"15:10: missing required key "text" in embed footer"#,
            r#"16:10: author must be a table, got "me""#,
            r#"17:9: missing required key "url" in embed image"#,
            r#"17:11: unknown key "link" in embed image; expected one of: url"#,
            r#"18:33: field.value must not be empty"#,
            r#"18:46: field.inline must be true or false, got "yes""#,
            r#"18:55: fields[1] must be a table, got 3"#,
            r#"22:13: timestamp must be a date and time with an offset, such as 2024-05-01T12:00:00Z, or text with {placeholders}, got "yesterday""#,
            r##"23:9: color must be an integer from 0 to 16777215 (0xFFFFFF), "#rrggbb" or text with {placeholders}, got 1.5"##,
        ]
    );
}

#[test]
fn hex_colors() {
    assert_eq!(parse_hex_color("#2ecc71"), Some(0x2ecc71));
    assert_eq!(parse_hex_color("#FFFFFF"), Some(0xFFFFFF));
    for bad in ["2ecc71", "#2ecc7", "#2ecc711", "#gggggg", "#+12345"] {
        assert_eq!(parse_hex_color(bad), None, "{bad}");
    }
}

#[test]
fn snowflakes() {
    assert_eq!(
        parse_snowflake("123456789012345678"),
        Some(123456789012345678)
    );
    for bad in ["", "0", "+1", "-1", "1 ", "abc", "18446744073709551616"] {
        assert_eq!(parse_snowflake(bad), None, "{bad}");
    }
}

#[test]
fn syntax_error_is_reported_with_its_position() {
    assert_eq!(
        problems("id = \"a\"\nserver = \n"),
        ["2:10: TOML syntax error: string values must be quoted, expected literal string"]
    );
}
