//! Every action type, every condition form and every load-time rule of the action language.
//! Bodies are put after a two-line head (`id`, `server`), so their first line is line 3.

use std::path::Path;

use crate::events::*;
use crate::lang::templates::Template;

const HEAD: &str = "id = \"a\"\nserver = 1\n";

fn t(text: &str) -> Template {
    Template::new(text)
}

fn parse(body: &str) -> (Result<Event, Vec<crate::problem::Problem>>, Vec<String>) {
    let (event, warnings) =
        parse_event_with_warnings(Path::new("e.toml"), &format!("{HEAD}{body}"));
    let warnings = warnings
        .iter()
        .map(|w| {
            assert!(w.is_warning());
            format!("{}:{}: {}", w.line, w.col, w.message)
        })
        .collect();
    (event, warnings)
}

/// The actions of a good file (that has no warnings either).
fn actions(body: &str) -> Vec<Action> {
    let (event, warnings) = parse(body);
    let event = event.unwrap_or_else(|problems| panic!("{problems:#?}"));
    assert_eq!(warnings, Vec::<String>::new());
    event.actions
}

fn kind(body: &str) -> ActionKind {
    let mut all = actions(body);
    assert_eq!(all.len(), 1);
    all.remove(0).kind
}

/// The errors of a bad file, as `LINE:COL: message`.
fn errors(body: &str) -> Vec<String> {
    match parse(body).0 {
        Ok(event) => panic!("expected problems, got {event:#?}"),
        Err(problems) => problems
            .iter()
            .map(|p| {
                assert!(!p.is_warning());
                format!("{}:{}: {}", p.line, p.col, p.message)
            })
            .collect(),
    }
}

/// The warnings of a file that loads.
fn warnings(body: &str) -> Vec<String> {
    let (event, warnings) = parse(body);
    event.unwrap_or_else(|problems| panic!("{problems:#?}"));
    warnings
}

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
fn http_request() {
    let ActionKind::HttpRequest {
        method,
        url,
        headers,
        body,
        timeout,
    } = kind(
        r#"[[actions]]
type = "http_request"
method = "post"
url = "https://example.com/{service}"
headers = { Authorization = "Bearer {token}", X-Count = 3 }
timeout = "20s"

[actions.json]
text = "{message}"
count = 2
ratio = 0.5
ok = true
when = 2024-05-01T12:00:00Z
list = [1, "a"]
"#,
    )
    else {
        panic!()
    };
    assert_eq!(method, t("POST"));
    assert_eq!(url, t("https://example.com/{service}"));
    assert_eq!(
        headers,
        [
            ("Authorization".to_owned(), t("Bearer {token}")),
            ("X-Count".to_owned(), t("3"))
        ]
    );
    assert_eq!(
        body,
        Some(HttpBodySpec::Json(serde_json::json!({
            "text": "{message}",
            "count": 2,
            "ratio": 0.5,
            "ok": true,
            "when": "2024-05-01T12:00:00Z",
            "list": [1, "a"],
        })))
    );
    assert_eq!(timeout, Some(t("20s")));

    assert_eq!(
        kind("[[actions]]\ntype = \"http_request\"\nurl = \"{base}/x\"\n"),
        ActionKind::HttpRequest {
            method: t("GET"),
            url: t("{base}/x"),
            headers: vec![],
            body: None,
            timeout: None,
        }
    );
    let ActionKind::HttpRequest { body, .. } = kind(
        "[[actions]]\ntype = \"http_request\"\nmethod = \"PUT\"\nurl = \"http://x\"\nbody = \"raw {x}\"\n",
    ) else {
        panic!()
    };
    assert_eq!(body, Some(HttpBodySpec::Text(t("raw {x}"))));

    assert_eq!(
        errors(
            r#"[[actions]]
type = "http_request"
method = "FETCH"
url = "ftp://x"
headers = { "bad header" = "x" }
timeout = "31s"

[[actions]]
type = "http_request"
url = "https://x"
body = "text"

[[actions]]
type = "http_request"
method = "POST"
url = "https://x"
body = "text"
json = { a = 1 }
"#
        ),
        [
            r#"5:10: method must be one of: GET, POST, PUT, PATCH, DELETE, HEAD, got "FETCH""#,
            r#"6:7: url must start with http:// or https://, got "ftp://x""#,
            r#"7:13: "bad header" is not a valid HTTP header name; use letters, digits and - such as X-Api-Key"#,
            r#"8:11: timeout must be at most 30s, got "31s""#,
            r#"13:8: a GET request has no body; use method = "POST", "PUT", "PATCH" or "DELETE""#,
            "19:8: give json or body, not both: json sends a JSON document, body sends text",
        ]
    );
}

#[test]
fn variable_actions() {
    assert_eq!(
        kind(
            "[[actions]]\ntype = \"set_variable\"\nscope = \"user\"\nuser = \"{user_id}\"\nname = \"points\"\nvalue = 10\n"
        ),
        ActionKind::SetVariable {
            scope: VariableScopeSpec::User {
                user: t("{user_id}")
            },
            name: "points".into(),
            value: t("10"),
        }
    );
    assert_eq!(
        kind("[[actions]]\ntype = \"delete_variable\"\nname = \"x\"\n"),
        ActionKind::DeleteVariable {
            scope: VariableScopeSpec::Server,
            name: "x".into(),
        }
    );
    assert_eq!(
        kind(
            "[[actions]]\ntype = \"get_variable\"\nscope = \"channel\"\nchannel = \"general\"\nname = \"x\"\ndefault = \"0\"\nvariable = \"x\"\n"
        ),
        ActionKind::GetVariable {
            scope: VariableScopeSpec::Channel { channel: t("general") },
            name: "x".into(),
            default: Some(t("0")),
            variable: Some("x".into()),
        }
    );
    assert_eq!(
        kind("[[actions]]\ntype = \"delete_variable\"\nscope = \"global\"\nname = \"x\"\n"),
        ActionKind::DeleteVariable {
            scope: VariableScopeSpec::Global,
            name: "x".into(),
        }
    );
    assert_eq!(
        errors(
            r#"[[actions]]
type = "set_variable"
scope = "user"
name = "{name}"
value = "1"

[[actions]]
type = "get_variable"
scope = "server"
user = 1
name = "x"

[[actions]]
type = "delete_variable"
scope = "team"
name = "x"
"#
        ),
        [
            r#"3:1: scope = "user" needs user"#,
            r#"6:8: name must be 1-64 of A-Z a-z 0-9 _ - (no placeholders), got "{name}""#,
            r#"12:8: user is only used with scope = "user""#,
            r#"17:9: scope must be one of: global, server, user, channel, got "team""#,
        ]
    );
}

#[test]
fn math() {
    assert_eq!(
        kind("[[actions]]\ntype = \"math\"\nexpression = \"{a} * 2\"\nvariable = \"double\"\n"),
        ActionKind::Math {
            expression: t("{a} * 2"),
            variable: "double".into(),
        }
    );
    assert_eq!(
        errors(
            "[[actions]]\ntype = \"math\"\nexpression = \"1 / 0\"\nvariable = \"2x\"\n\n[[actions]]\ntype = \"math\"\nexpression = \"1\"\nvariable = \"timestamp\"\n"
        ),
        [
            r#"5:14: expression: division by zero at character 3"#,
            r#"6:12: variable must be a name of 1-32 letters, digits and _, not starting with a digit, got "2x""#,
            r#"11:12: variable "timestamp" is a built-in name; choose another"#,
        ]
    );
}

#[test]
fn flow_actions() {
    let all = actions(
        r#"[[actions]]
type = "if"
condition = { left = "{a}", op = "equals", right = "b" }

[[actions.then]]
type = "stop"

[[actions.else]]
type = "wait"
duration = "15m"

[[actions]]
type = "random"

[[actions.branches]]
weight = 3
actions = [{ type = "stop" }]

[[actions.branches]]
[[actions.branches.actions]]
type = "wait"
duration = 5

[[actions]]
type = "loop"
count = "{n}"
delay = "1s"

[[actions.actions]]
type = "stop_loop"
"#,
    );
    assert_eq!(all[0].line, 3);
    assert_eq!(
        all[0].kind,
        ActionKind::If {
            condition: Condition::Compare {
                left: t("{a}"),
                op: CompareOp::Equals,
                right: t("b"),
                ignore_case: false,
            },
            then: vec![Action {
                line: 7,
                ..Action::new(ActionKind::Stop)
            }],
            otherwise: vec![Action {
                line: 10,
                ..Action::new(ActionKind::Wait { duration: t("15m") })
            }],
        }
    );
    let ActionKind::Random { branches } = &all[1].kind else {
        panic!()
    };
    assert_eq!(branches.len(), 2);
    assert_eq!(branches[0].weight, 3);
    assert_eq!(branches[0].actions[0].kind, ActionKind::Stop);
    assert_eq!(branches[1].weight, 1);
    assert_eq!(
        branches[1].actions[0].kind,
        ActionKind::Wait { duration: t("5") }
    );
    assert_eq!(
        all[2].kind,
        ActionKind::Loop {
            count: t("{n}"),
            delay: Some(t("1s")),
            body: vec![Action {
                line: 31,
                ..Action::new(ActionKind::StopLoop)
            }],
        }
    );
    assert_eq!(
        errors(
            r#"[[actions]]
type = "loop"
count = 1001
[[actions.actions]]
type = "stop"

[[actions]]
type = "wait"
duration = "16m"

[[actions]]
type = "random"
branches = []

[[actions]]
type = "random"
branches = [{ weight = 0, actions = [] }]

[[actions]]
type = "if"
then = []
"#
        ),
        [
            "5:9: count must be a whole number from 0 to 1000 or text with {placeholders}, got 1001",
            r#"11:12: duration must be at most 15m, got "16m""#,
            "15:12: branches must list at least one branch",
            "19:24: weight must be a whole number from 1 up, got 0",
            r#"21:1: missing required key "condition" in if action"#,
        ]
    );
}

#[test]
fn save_as_and_on_error() {
    let all = actions(
        r#"[[actions]]
type = "send_message"
channel = "general"
content = "hi"
save_as = "sent"

[[actions.on_error]]
type = "send_dm"
user = 1
content = "failed: {error.message} ({error.code})"

[[actions]]
type = "react"
channel = "{sent.channel_id}"
message_id = "{sent.id}"
emoji = "✅"
"#,
    );
    assert_eq!(all[0].save_as.as_deref(), Some("sent"));
    let on_error = all[0].on_error.as_ref().unwrap();
    assert_eq!(on_error[0].kind(), "send_dm");
    assert_eq!(on_error[0].line, 9);
    assert_eq!(all[1].on_error, None);

    assert_eq!(
        errors(
            r#"[[actions]]
type = "stop"
save_as = "a"

[[actions]]
type = "stop"
save_as = "a"

[[actions]]
type = "stop"
save_as = "server_id"

[[actions]]
type = "stop"
save_as = "loop"

[[actions]]
type = "stop"
save_as = "a-b"
"#
        ),
        [
            r#"9:11: save_as "a" is already used by the action at line 3; each save_as names one action"#,
            r#"13:11: save_as "server_id" is a built-in name; choose another"#,
            r#"17:11: save_as "loop" is reserved for {loop.…}; choose another"#,
            r#"21:11: save_as must be a name of 1-32 letters, digits and _, not starting with a digit, got "a-b""#,
        ]
    );
}

#[test]
fn save_as_read_before_it_is_set_or_with_an_unknown_field() {
    assert_eq!(
        errors(
            r#"[[actions]]
type = "send_message"
channel = "general"
content = "{later.id}"

[[actions]]
type = "http_request"
url = "https://x/{call.status}"
save_as = "call"

[[actions.on_error]]
type = "send_message"
channel = "general"
content = "{call.body}"

[[actions]]
type = "send_message"
channel = "general"
content = "{call.json.a.b} {call.headers.etag} {call.nope} {call.status.x}"
save_as = "later"

[[actions]]
type = "stop"
save_as = "end"

[[actions]]
type = "send_message"
channel = "general"
content = "{end.x}"
"#
        ),
        [
            r#"6:11: {later.id} is read before save_as "later" is set: the action at line 18 that sets it comes later"#,
            r#"10:7: {call.status} is read inside the action that sets save_as "call" (line 8); it is only set once that action has finished"#,
            r#"16:11: {call.body} is read inside the action that sets save_as "call" (line 8); it is only set once that action has finished"#,
            r#"21:11: {call.nope}: save_as "call" is a http_request action, which has {call.status}, {call.ok}, {call.body}, {call.json}, {call.headers}, {call.truncated}, {call.json.…}, {call.headers.…}"#,
            r#"21:11: {call.status.x}: save_as "call" is a http_request action, which has {call.status}, {call.ok}, {call.body}, {call.json}, {call.headers}, {call.truncated}, {call.json.…}, {call.headers.…}"#,
            r#"31:11: {end.x}: save_as "end" is a stop action, which has no result to read"#,
        ]
    );
    // Inside an `if` whose own result is read in its branch.
    assert_eq!(
        errors(
            r#"[[actions]]
type = "if"
save_as = "check"
condition = { op = "is_empty", left = "{x}" }
[[actions.then]]
type = "send_message"
channel = "general"
content = "{check.branch}"
"#
        ),
        [
            r#"10:11: {check.branch} is read inside the action that sets save_as "check" (line 3); it is only set once that action has finished"#
        ]
    );
}

#[test]
fn stop_loop_and_nesting_limits() {
    assert_eq!(
        errors("[[actions]]\ntype = \"stop_loop\"\n"),
        ["3:1: stop_loop is only allowed in a loop's actions (or an on_error list inside them)"]
    );
    // An on_error list inside a loop's body counts as inside the loop.
    actions(
        r#"[[actions]]
type = "loop"
count = 2
[[actions.actions]]
type = "wait"
duration = "1s"
[[actions.actions.on_error]]
type = "stop_loop"
"#,
    );
    // The loop's own on_error is outside it.
    assert_eq!(
        errors(
            "[[actions]]\ntype = \"loop\"\ncount = 2\nactions = []\non_error = [{ type = \"stop_loop\" }]\n"
        ),
        ["7:13: stop_loop is only allowed in a loop's actions (or an on_error list inside them)"]
    );

    let nested_loops = "actions = [{ type = \"loop\", count = 1, actions = [{ type = \"loop\", count = 1, actions = [{ type = \"loop\", count = 1, actions = [{ type = \"loop\", count = 1, actions = [] }] }] }] }]\n";
    assert_eq!(
        errors(nested_loops),
        ["3:129: this loop is inside 3 other loops; loops may be nested at most 3 deep"]
    );

    // `levels` action lists, each an `if`'s `then` inside the one before.
    let nested = |levels: usize| {
        let mut list = "[]".to_owned();
        for _ in 1..levels {
            list = format!(
                "[{{ type = \"if\", condition = {{ op = \"chance\", percent = 1 }}, then = {list} }}]"
            );
        }
        format!("actions = {list}\n")
    };
    actions(&nested(MAX_NESTING));
    let text = nested(MAX_NESTING + 1);
    let at = text.rfind("then = []").unwrap() + "then = ".len() + 1;
    assert_eq!(
        errors(&text),
        [format!(
            "3:{at}: then is nested 9 action lists deep; at most 8 are allowed"
        )]
    );
}

#[test]
fn every_condition_form() {
    let condition = |text: &str| -> Condition {
        let ActionKind::If { condition, .. } = kind(&format!(
            "[[actions]]\ntype = \"if\"\nthen = []\ncondition = {text}\n"
        )) else {
            panic!()
        };
        condition
    };
    for (op, compare) in [
        ("equals", CompareOp::Equals),
        ("not_equals", CompareOp::NotEquals),
        ("contains", CompareOp::Contains),
        ("starts_with", CompareOp::StartsWith),
        ("ends_with", CompareOp::EndsWith),
        ("greater_than", CompareOp::GreaterThan),
        ("less_than", CompareOp::LessThan),
    ] {
        assert_eq!(
            condition(&format!(
                "{{ left = \"{{a}}\", op = \"{op}\", right = 5, ignore_case = true }}"
            )),
            Condition::Compare {
                left: t("{a}"),
                op: compare,
                right: t("5"),
                ignore_case: true,
            }
        );
    }
    assert_eq!(
        condition(r#"{ left = "{ref}", op = "matches", right = "^refs/heads/(main|master)$" }"#),
        Condition::Matches {
            left: t("{ref}"),
            pattern: Pattern::new("^refs/heads/(main|master)$").unwrap(),
        }
    );
    assert_eq!(
        condition(r#"{ left = "{a}", op = "matches", right = "abc", ignore_case = true }"#),
        Condition::Matches {
            left: t("{a}"),
            pattern: Pattern::new("(?i)abc").unwrap(),
        }
    );
    assert_eq!(
        condition(r#"{ left = "{a}", op = "is_empty" }"#),
        Condition::IsEmpty { left: t("{a}") }
    );
    assert_eq!(
        condition(r#"{ op = "has_role", user = "{u}", role = "Admin" }"#),
        Condition::HasRole {
            user: t("{u}"),
            role: t("Admin"),
        }
    );
    assert_eq!(
        condition(r#"{ op = "chance", percent = 12.5 }"#),
        Condition::Chance { percent: 12.5 }
    );
    assert_eq!(
        condition(
            r#"{ all = [{ op = "chance", percent = 25 }, { any = [{ left = "{a}", op = "is_empty" }] }, { not = { op = "chance", percent = 0 } }] }"#
        ),
        Condition::All(vec![
            Condition::Chance { percent: 25.0 },
            Condition::Any(vec![Condition::IsEmpty { left: t("{a}") }]),
            Condition::Not(Box::new(Condition::Chance { percent: 0.0 })),
        ])
    );
}

#[test]
fn condition_problems() {
    let problems = |condition: &str| {
        errors(&format!(
            "[[actions]]\ntype = \"if\"\nthen = []\ncondition = {condition}\n"
        ))
    };
    let ops = CONDITION_OPS.join(", ");
    assert_eq!(
        problems(r#"{ left = "a", op = "like", right = "b" }"#),
        [format!(
            r#"6:32: unknown op "like"; expected one of: {ops}"#
        )]
    );
    assert_eq!(
        problems(r#"{ left = "a", right = "b" }"#),
        [format!(
            r#"6:13: missing required key "op" in condition; it is one of: {ops}; or combine conditions with all, any or not"#
        )]
    );
    assert_eq!(
        problems(r#"{ left = "a", op = "equals" }"#),
        [r#"6:13: missing required key "right" in equals condition"#]
    );
    assert_eq!(
        problems(r#"{ left = "a", op = "is_empty", right = "b", user = 1 }"#),
        [
            r#"6:44: unknown key "right" in is_empty condition; expected one of: left"#,
            r#"6:57: unknown key "user" in is_empty condition; expected one of: left"#,
        ]
    );
    assert_eq!(
        problems(r#"{ left = "{a}", op = "greater_than", right = "many" }"#),
        [r#"6:58: right of greater_than must be a number or text with {placeholders}, got "many""#]
    );
    assert_eq!(
        problems(r#"{ left = "{a}", op = "matches", right = "(abc" }"#),
        [r#"6:53: right is not a valid regular expression: unclosed group"#]
    );
    assert_eq!(
        problems(r#"{ op = "chance", percent = 101 }"#),
        ["6:40: percent must be a number from 0 to 100, got 101"]
    );
    assert_eq!(
        problems(r#"{ all = [] }"#),
        ["6:21: all must list at least one condition table"]
    );
    assert_eq!(
        problems(r#"{ any = [{ op = "chance", percent = 1 }], not = { op = "stop" } }"#),
        ["6:13: a condition takes one of all, any and not, got any and not"]
    );
    assert_eq!(
        problems(r#"{ not = { op = "stop" } }"#),
        [format!(
            r#"6:28: unknown op "stop"; expected one of: {ops}"#
        )]
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

#[test]
fn warnings_for_placeholders_nothing_fills() {
    assert_eq!(
        warnings(
            r#"[[actions]]
type = "send_message"
channel = "general"
content = "{loop.index} {error.message} {deploy.id} {var.user.x} {var.user.1.points} {var.global.x}"

[[actions]]
type = "loop"
count = 2
[[actions.actions]]
type = "send_message"
channel = "general"
content = "{loop.index} of {loop.count}, {loop.number}"
[[actions.actions.on_error]]
type = "send_message"
channel = "general"
content = "{error.message} {error.code} {error.why} {loop.index}"
"#
        ),
        [
            "6:11: {loop.index} is outside any loop's actions; it would be left as it stands",
            "6:11: {error.message} is outside any on_error list; it would be left as it stands",
            r#"6:11: {deploy.id}: no action has save_as = "deploy", so nothing sets it"#,
            "6:11: {var.user.x} is not a variable reference; write {var.NAME}, {var.global.NAME}, {var.server.NAME}, {var.user.ID.NAME} or {var.channel.ID.NAME}",
            "14:11: {loop.number}: a loop has {loop.index}, {loop.count}, {loop.total}",
            "18:11: {error.why}: an error has {error.message}, {error.code}",
        ]
    );
    // A file with warnings loads, and `load_dir` keeps them apart from the errors.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("w.toml"),
        format!("{HEAD}[[actions]]\ntype = \"send_message\"\nchannel = 1\ncontent = \"{{loop.index}}\"\n"),
    )
    .unwrap();
    let loaded = load_dir(dir.path());
    assert_eq!(loaded.events.len(), 1);
    assert_eq!(loaded.problems, []);
    assert_eq!(
        loaded.warnings[0].to_string(),
        format!(
            "{}:6:11: warning: {{loop.index}} is outside any loop's actions; it would be left as it stands",
            dir.path().join("w.toml").display()
        )
    );
}

#[test]
fn models_roundtrip_through_json() {
    let all = actions(
        r#"[[actions]]
type = "http_request"
method = "POST"
url = "https://x"
json = { a = [1, "{b}"] }
save_as = "call"
[[actions]]
type = "if"
condition = { left = "{call.status}", op = "matches", right = "^2" }
then = [{ type = "stop" }]
"#,
    );
    let json = serde_json::to_string(&all).unwrap();
    let back: Vec<Action> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, all);
}
