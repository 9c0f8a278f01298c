//! Flow and the rules of the whole file: `if`, `random`, `loop`, `save_as`, `on_error`,
//! nesting limits, every condition form, warnings, and the model through JSON.

use super::tests_common::*;
use crate::events::*;

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
