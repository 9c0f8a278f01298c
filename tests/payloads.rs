//! CONTRACT §5 "Raw payloads", end to end: bodies of every shape read as `{body.…}`, headers and
//! query parameters as `{header.…}` and `{query.…}`, BotGhost requests unchanged, and bodies no one
//! expects answered clearly.

mod common;

use common::{variables_body, Answer, Harness, DEPLOYS};
use serde_json::json;

const RAW_EVENT: &str = r##"
id = "raw"
server = "123456789012345678"

[variables]
nested = "{body.deploy.service.name}"
first = "{body.deploy.targets.0.region}"
targets = "{body.deploy.targets}"
agent = "{header.user-agent}"
custom = "{header.x-deploy-stage}"
env = "{query.env}"
missing = "{body.deploy.nope}"
whole = "{body}"
field = "{body.status}"
tags = "{body.tag}"
service = "{body.service}"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "{nested}|{first}|{targets}|{agent}|{custom}|{env}|{missing}|{field}|{tags}|{service}"
"##;

async fn raw_post(h: &Harness, query: &str, body: &[u8], content_type: &str) -> Answer {
    let headers = [
        ("Authorization", h.key.clone()),
        ("Content-Type", content_type.to_owned()),
        ("User-Agent", "deploy-bot/1.0".to_owned()),
        ("X-Deploy-Stage", "canary".to_owned()),
        ("Cookie", "session=abc".to_owned()),
    ];
    h.send("raw", query, body, &headers).await
}

#[tokio::test]
async fn raw_json_nested_fields_arrays_headers_query_and_form_bodies() {
    let h = Harness::start(&[("raw.toml", RAW_EVENT)]).await;
    let body = json!({"deploy": {"service": {"name": "billing"},
        "targets": [{"region": "eu-west-1"}, {"region": "us-east-1"}]}});
    let answer = raw_post(
        &h,
        "?env=prod%20eu&x=1",
        body.to_string().as_bytes(),
        "application/json",
    )
    .await;
    let run = h.succeeded(&answer).await;
    let content = h.sandbox.messages_in(DEPLOYS)[0]["content"].clone();
    assert_eq!(
        content,
        r#"billing|eu-west-1|[{"region":"eu-west-1"},{"region":"us-east-1"}]|deploy-bot/1.0|canary|prod eu|{body.deploy.nope}|{body.status}|{body.tag}|{body.service}"#
    );
    assert_eq!(run.variables.get("whole"), Some(body.to_string().as_str()));
    // What the run keeps for {body…}, {header.…}, {query.…}: never the key or the cookie.
    assert_eq!(run.payload, Some(body.into()));
    assert_eq!(run.query["env"], "prod eu");
    assert_eq!(run.headers["x-deploy-stage"], "canary");
    assert!(!run.headers.contains_key("authorization"));
    assert!(!run.headers.contains_key("cookie"));
    let stored = serde_json::to_string(&run).unwrap();
    assert!(
        !stored.contains(&h.key),
        "the API key never reaches the store"
    );

    // A top-level array is a document too.
    let answer = raw_post(&h, "", br#"[{"a":1}]"#, "application/json").await;
    h.succeeded(&answer).await;

    // Form fields are {body.field}; a repeated field is an array.
    let answer = raw_post(
        &h,
        "",
        b"status=down&tag=a&tag=b+c",
        "application/x-www-form-urlencoded",
    )
    .await;
    let run = h.succeeded(&answer).await;
    assert_eq!(run.variables.get("field"), Some("down"));
    assert_eq!(run.variables.get("tags"), Some(r#"["a","b c"]"#));

    // Not JSON: the same 400 as before.
    raw_post(&h, "", b"status=down", "text/plain")
        .await
        .assert_error(400, "bad_request");
    h.stop().await;
}

#[tokio::test]
async fn botghost_requests_are_unchanged_and_also_seen_as_body() {
    let h = Harness::start(&[("raw.toml", RAW_EVENT)]).await;
    let body = variables_body(&[("service", json!("api")), ("version", json!(2))]);
    let answer = h.post("raw", body.clone()).await;
    let run = h.succeeded(&answer).await;
    assert_eq!(
        run.variables.get("service"),
        Some("api"),
        "{{body.service}} is the BotGhost variable"
    );
    assert_eq!(run.variables.get("version"), Some("2"));
    assert_eq!(run.payload, Some(body.into()));
    // The contract's 400s still name the item.
    let bad = h
        .post(
            "raw",
            json!({"variables": [{"name": "A", "variable": "{a}"}]}),
        )
        .await;
    bad.assert_error(400, "bad_request");
    assert_eq!(bad.body["message"], r#"variables[0] has no "value""#);
    h.stop().await;
}

/// Action templates read `{body.…}`, `{header.…}` and `{query.…}` directly, without a
/// `[variables]` table.
#[tokio::test]
async fn action_templates_read_the_request_directly() {
    let event = r##"
id = "direct"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "{body.a.0.b} {header.x-y} {query.q}"
"##;
    let h = Harness::start(&[("direct.toml", event)]).await;
    let headers = [("Authorization", h.key.clone()), ("X-Y", "h".to_owned())];
    let answer = h
        .send("direct", "?q=1", br#"{"a":[{"b":"x"}]}"#, &headers)
        .await;
    h.succeeded(&answer).await;
    assert_eq!(h.sandbox.messages_in(DEPLOYS)[0]["content"], "x h 1");
    h.stop().await;
}

/// Bodies that are not what anyone expects: a clear 4xx or a run, never a failure of the server.
#[tokio::test]
async fn strange_bodies_give_a_clear_answer() {
    let h = Harness::start(&[("raw.toml", RAW_EVENT)]).await;
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let bodies: Vec<(Vec<u8>, &str)> = vec![
        (vec![0xff, 0xfe, 0x00, 0x01], "application/json"),
        (deep.into_bytes(), "application/json"),
        (b"1e999999".to_vec(), "application/json"),
        (b"\"just a string\"".to_vec(), "application/json"),
        (b"null".to_vec(), "application/json"),
        (
            vec![0xff, b'=', 0xfe, b'&', b'%', b'z'],
            "application/x-www-form-urlencoded",
        ),
        (b"{\"variables\": 5}".to_vec(), "application/json"),
    ];
    for (body, content_type) in bodies {
        let answer = raw_post(&h, "?%zz=%ff", &body, content_type).await;
        match answer.status {
            200 => {
                h.succeeded(&answer).await;
            }
            400 => answer.assert_error(400, "bad_request"),
            other => panic!("{other} for {body:?}: {}", answer.body),
        }
    }
    h.stop().await;
}

/// Issue 14.13: a number keeps the digits the caller sent, from the body to Discord: as a
/// BotGhost variable, as `{body.…}`, inside `{body}`, after the run is stored and read back, and
/// in a `[[when]]` filter, which tells two 23-digit ids apart.
#[tokio::test]
async fn big_numbers_reach_discord_with_every_digit() {
    let event = r##"
id = "big"
server = "123456789012345678"

[[when]]
left = "{body.order}"
op = "not_equals"
right = "12345678901234567890124"

[[actions]]
type = "send_message"
channel = "#deploys"
content = "{order}|{body.order}|{body.price}|{body}"
"##;
    let h = Harness::start(&[("big.toml", event)]).await;
    let body = r#"{"variables":[{"name":"Order","variable":"{order}","value":12345678901234567890123}],
        "order": 12345678901234567890123, "price": 2.50}"#;
    let answer = h.post_raw("big", body).await;
    h.succeeded(&answer).await;
    assert_eq!(
        h.sandbox.messages_in(DEPLOYS)[0]["content"],
        r#"12345678901234567890123|12345678901234567890123|2.50|{"order":12345678901234567890123,"price":2.50,"variables":[{"name":"Order","value":12345678901234567890123,"variable":"{order}"}]}"#
    );
    // The id one higher is the one the filter leaves out: as f64 the two would be equal.
    let answer = h
        .post_raw("big", r#"{"order": 12345678901234567890124}"#)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, json!({"ok": true, "skipped": true}));
    h.stop().await;
}
