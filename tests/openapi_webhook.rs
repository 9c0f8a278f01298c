//! Issue 14 point 20: `docs/openapi.yaml` describes the webhook API as the running listener
//! answers it. Each request below provokes one documented status; every answer's status must
//! be in the document, with its content type, required headers and a body its schema accepts,
//! so an answer the document does not describe fails here.
//!
//! The document is written as JSON, which is YAML as well (YAML 1.2 is a superset): OpenAPI
//! tools read it as YAML, and this test reads it with serde_json, with no YAML parser to depend
//! on. Its schemas are JSON Schema 2020-12 (OpenAPI 3.1), checked with `jsonschema`.

mod common;

use common::*;
use jsonschema::Draft;
use serde_json::{json, Value};

const PATH: &str = "/webhook/{bot_id}/{event_id}";

fn document() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml"))
        .expect("docs/openapi.yaml exists");
    serde_json::from_str(&text).expect("docs/openapi.yaml is JSON-compatible YAML")
}

/// Checks one answer against the document: its status is described, and so are its content
/// type, required headers and body.
fn assert_described(doc: &Value, what: &str, answer: &Answer) {
    let status = answer.status.to_string();
    let operation = &doc["paths"][PATH]["post"];
    let Some(response) = operation["responses"].get(&status) else {
        panic!(
            "{what}: status {status} is not in docs/openapi.yaml; body {}",
            answer.body
        );
    };
    let content_type = answer.header("content-type").unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let Some(content) = response["content"].get(media) else {
        panic!("{what}: {status} answered {content_type:?}, which the document does not list");
    };
    if let Some(headers) = response["headers"].as_object() {
        for (name, header) in headers {
            if header["required"] == json!(true) {
                assert!(
                    answer.header(name).is_some(),
                    "{what}: {status} lacks {name}"
                );
            }
        }
    }
    // The response schema, with the document's components beside it so its `$ref`s resolve.
    let mut schema = content["schema"].clone();
    schema["components"] = doc["components"].clone();
    let validator = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&schema)
        .unwrap_or_else(|e| panic!("the {status} schema compiles: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&answer.body)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the {status} body {} does not match docs/openapi.yaml: {errors:?}",
        answer.body
    );
}

#[tokio::test]
async fn the_listener_answers_as_docs_openapi_yaml_says() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let events = [
        (
            "good.toml",
            message_event("good", "#deploys", "hello {name}"),
        ),
        ("waited.toml", message_event("waited", "#deploys", "hi")),
        ("locked.toml", message_event("locked", "#locked", "secret")),
        ("bad.toml", message_event("bad", "#deploys", "hi")),
        ("big.toml", message_event("big", "#deploys", "hi")),
        ("limited.toml", message_event("limited", "#deploys", "hi")),
    ];
    let events: Vec<(&str, &str)> = events.iter().map(|(f, t)| (*f, t.as_str())).collect();
    // One authenticated request a minute per event, so the second to `limited` is a 429.
    let h = Harness::start_with(
        fixture(),
        &events,
        "max_body_bytes = 1024",
        "[limits]\nper_event_per_minute = 1\n",
    )
    .await;
    let key = ("Authorization", h.key.clone());
    let mut seen = std::collections::BTreeSet::new();
    let mut check = |what: &str, answer: Answer, status: u16| {
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        assert_described(&doc, what, &answer);
        seen.insert(status);
    };

    let answer = h
        .post("good", variables_body(&[("name", json!("x"))]))
        .await;
    check("a plain trigger", answer, 200);
    let answer = h
        .send("waited", "?wait=true", b"", std::slice::from_ref(&key))
        .await;
    check("?wait=true, succeeded", answer, 200);
    let answer = h
        .send("locked", "?wait=true", b"", std::slice::from_ref(&key))
        .await;
    check("?wait=true, failed", answer, 502);
    let answer = h.post_raw("bad", r#"{"variables": null}"#).await;
    check("variables null", answer, 400);
    let answer = Answer::from(
        h.http
            .post(format!("{}/webhook/{BOT_ID}/%ff", h.base))
            .header("Authorization", &h.key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    check("an event id that is not UTF-8", answer, 400);
    let answer = h.send("good", "", b"", &[]).await;
    check("no key", answer, 401);
    let answer = Answer::from(
        h.http
            .post(format!("{}/webhook/1/good", h.base))
            .header("Authorization", &h.key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    check("another bot", answer, 404);
    let answer = h.send("nope", "", b"", std::slice::from_ref(&key)).await;
    check("no such event", answer, 404);
    let answer = Answer::from(h.http.get(h.webhook_url("good")).send().await.unwrap()).await;
    check("GET", answer, 405);
    let answer = h
        .send("big", "", &[b' '; 2048], std::slice::from_ref(&key))
        .await;
    check("a body over max_body_bytes", answer, 413);
    let answer = h.send("limited", "", b"", std::slice::from_ref(&key)).await;
    check("the first request this minute", answer, 200);
    let answer = h.send("limited", "", b"", std::slice::from_ref(&key)).await;
    check("the second request this minute", answer, 429);

    // Every status the document lists for the webhook, but those this test cannot provoke
    // without waiting (408 after 10 s of a slow body, 202 after 10 s of a run) or filling the
    // queue (503), was answered above.
    let listed: std::collections::BTreeSet<u16> = doc["paths"][PATH]["post"]["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(|status| status.parse().unwrap())
        .filter(|status| ![202, 408, 503].contains(status))
        .collect();
    assert_eq!(seen, listed);
    h.stop().await;
}

/// The document's own schemas refuse what the API never answers, so the test above can fail.
#[test]
fn the_document_refuses_undocumented_bodies() {
    let doc = document();
    let answer = |status: u16, body: Value| Answer {
        status,
        body,
        headers: {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert("content-type", "application/json".parse().unwrap());
            headers
        },
    };
    let refused = |what: &str, a: Answer| {
        let result = std::panic::catch_unwind(|| assert_described(&doc, what, &a));
        assert!(result.is_err(), "{what} was accepted");
    };
    refused("a 200 without run", answer(200, json!({"ok": true})));
    refused(
        "an error without message",
        answer(400, json!({"ok": false, "error": "bad_request"})),
    );
    refused(
        "a wrong error code",
        answer(
            401,
            json!({"ok": false, "error": "not_found", "message": "x"}),
        ),
    );
    refused(
        "an undocumented status",
        answer(418, json!({"ok": false, "error": "teapot", "message": "x"})),
    );
    assert_described(
        &doc,
        "a good 200",
        &answer(200, json!({"ok": true, "run": "run_1"})),
    );
}
