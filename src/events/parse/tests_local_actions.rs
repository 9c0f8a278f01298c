//! The actions that stay on this side of Discord: `http_request`, the variable actions, `math`.

use super::tests_common::*;
use crate::events::*;

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
