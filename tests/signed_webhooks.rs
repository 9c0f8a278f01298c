//! CONTRACT §5 "Per-event authentication" and "Filters", end to end: the ready-made examples in
//! data/events/examples/ with payloads written from each provider's documented format and real
//! signatures, every scheme right, wrong, missing, expired and replayed, `[[when]]` filters
//! skipping what the event is not for, and events whose secret cannot be read left unloaded.

mod common;

use std::sync::Once;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::logs::logged;
use common::signing::{b64, hex, hmac_sha256};
use common::{message_event, Answer, Harness, DEPLOYS, GENERAL, UNAUTHORIZED_MESSAGE};
use serde_json::{json, Value};

const GITHUB_SECRET: &str = "gh-test-secret-8f2e";
const STRIPE_SECRET: &str = "whsec_test_5Wq3yLwT0mJb9Zc";
/// The Standard Webhooks spec's example secret.
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const UPTIME_KEY: &str = "uptime-key-4b7d1e";
const HMAC_SECRET: &str = "generic-hmac-secret";

const GITHUB_PUSH: &str = include_str!("../data/events/examples/github-push.toml");
const GITHUB_RELEASE: &str = include_str!("../data/events/examples/github-release.toml");
const STRIPE_CHECKOUT: &str = include_str!("../data/events/examples/stripe-checkout.toml");
const UPTIME_ALERT: &str = include_str!("../data/events/examples/uptime-alert.toml");
const STANDARD_WEBHOOKS: &str = include_str!("../data/events/examples/standard-webhooks.toml");

/// The examples read their secrets from these variables; every test sets the same values.
fn secrets() {
    static SET: Once = Once::new();
    SET.call_once(|| {
        std::env::set_var("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET);
        std::env::set_var("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET);
        std::env::set_var("STANDARD_WEBHOOK_SECRET", STANDARD_SECRET);
        std::env::set_var("UPTIME_WEBHOOK_KEY", UPTIME_KEY);
        std::env::set_var("HOOKBOT_PAYLOADS_HMAC", HMAC_SECRET);
    });
}

async fn start(events: &[(&str, &str)]) -> Harness {
    secrets();
    Harness::start(events).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn assert_no_run(answer: &Answer, field: &str) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, json!({"ok": true, field: true}));
}

/// The caller hears the one 401 message of CONTRACT §4; the log line with the answer's request
/// id names the exact cause.
async fn assert_unauthorized(answer: &Answer, names: &str) {
    answer.assert_error(401, "unauthorized");
    assert_eq!(answer.body["message"], UNAUTHORIZED_MESSAGE);
    let id = answer
        .header("x-request-id")
        .expect("an X-Request-Id header");
    let line = logged(&[id, "webhook refused"]).await;
    assert!(line.contains(names), "{names:?} in {line:?}");
}

// ---------------------------------------------------------------------------------------------
// GitHub

/// A push as GitHub documents it (trimmed to the fields a reader would look at).
fn github_push(branch: &str, sender_type: &str) -> Value {
    json!({
        "ref": format!("refs/heads/{branch}"),
        "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "created": false,
        "deleted": false,
        "forced": false,
        "base_ref": null,
        "compare": "https://github.com/octo-org/hello-world/compare/6113728f27ae...0d1a26e67d8f",
        "commits": [
            {
                "id": "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d",
                "tree_id": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4",
                "distinct": true,
                "message": "Fix the login redirect",
                "timestamp": "2024-05-14T10:21:03+02:00",
                "url": "https://github.com/octo-org/hello-world/commit/7fd1a60b01f91b314f59955a4e4d4e80d8edf11d",
                "author": {"name": "Mona Lisa", "email": "mona@github.com", "username": "monalisa"},
                "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
                "added": [], "removed": [], "modified": ["src/login.rs"]
            },
            {
                "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
                "tree_id": "f2ca1bb6c7e907d06dafe4687e579fce76b37e4e",
                "distinct": true,
                "message": "Bump version to 2.4.1",
                "timestamp": "2024-05-14T10:25:41+02:00",
                "url": "https://github.com/octo-org/hello-world/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
                "author": {"name": "The Octocat", "email": "octocat@github.com", "username": "octocat"},
                "committer": {"name": "The Octocat", "email": "octocat@github.com", "username": "octocat"},
                "added": [], "removed": [], "modified": ["Cargo.toml"]
            }
        ],
        "head_commit": {
            "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            "message": "Bump version to 2.4.1",
            "url": "https://github.com/octo-org/hello-world/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            "author": {"name": "The Octocat", "email": "octocat@github.com", "username": "octocat"}
        },
        "repository": {
            "id": 1296269,
            "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
            "name": "hello-world",
            "full_name": "octo-org/hello-world",
            "private": false,
            "owner": {"login": "octo-org", "id": 9919, "type": "Organization"},
            "html_url": "https://github.com/octo-org/hello-world",
            "default_branch": "main"
        },
        "pusher": {"name": "octocat", "email": "octocat@github.com"},
        "sender": {"login": "octocat", "id": 583231, "type": sender_type}
    })
}

/// The headers GitHub sends, with a real signature of `body`.
fn github_headers(
    event: &str,
    delivery: &str,
    body: &[u8],
    secret: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/json".into()),
        ("User-Agent", "GitHub-Hookshot/f1aeb3c".into()),
        ("X-GitHub-Event", event.into()),
        ("X-GitHub-Delivery", delivery.into()),
        ("X-GitHub-Hook-ID", "292430182".into()),
        (
            "X-Hub-Signature-256",
            format!("sha256={}", hex(&hmac_sha256(secret.as_bytes(), &[body]))),
        ),
    ]
}

#[tokio::test]
async fn github_push_example_lists_the_commits_and_refuses_bad_signatures() {
    let h = start(&[("github-push.toml", GITHUB_PUSH)]).await;
    let body = github_push("main", "User").to_string();
    let headers = github_headers(
        "push",
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        body.as_bytes(),
        GITHUB_SECRET,
    );

    let run = h
        .succeeded(&h.send("github-push", "", body.as_bytes(), &headers).await)
        .await;
    assert_eq!(run.headers["x-github-event"], "push");
    assert!(
        !run.headers.contains_key("x-hub-signature-256"),
        "signatures are never stored"
    );
    let sent = h.sandbox.messages_in(DEPLOYS);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["content"],
        "octocat pushed to octo-org/hello-world main"
    );
    let embed = &sent[0]["embeds"][0];
    assert_eq!(embed["title"], "octo-org/hello-world: new commits on main");
    assert_eq!(
        embed["description"],
        "[`7fd1a60b01f91b314f59955a4e4d4e80d8edf11d`](https://github.com/octo-org/hello-world/commit/7fd1a60b01f91b314f59955a4e4d4e80d8edf11d) Fix the login redirect — Mona Lisa\n\
         [`0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c`](https://github.com/octo-org/hello-world/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c) Bump version to 2.4.1 — The Octocat"
    );
    assert_eq!(embed["footer"]["text"], "latest: Bump version to 2.4.1");

    // Replayed: the same delivery again is answered 200 and runs nothing.
    let again = h.send("github-push", "", body.as_bytes(), &headers).await;
    assert_no_run(&again, "replayed");

    // Wrong secret, a changed body, no signature, the bot's key instead: 401 naming the header.
    let other = github_headers("push", "d-2", body.as_bytes(), "not-the-secret");
    assert_unauthorized(
        &h.send("github-push", "", body.as_bytes(), &other).await,
        "X-Hub-Signature-256",
    )
    .await;
    let tampered = body.replace("octocat", "mallory");
    let signed_original = github_headers("push", "d-3", body.as_bytes(), GITHUB_SECRET);
    assert_unauthorized(
        &h.send("github-push", "", tampered.as_bytes(), &signed_original)
            .await,
        "X-Hub-Signature-256 header does not match",
    )
    .await;
    let unsigned: Vec<_> = signed_original
        .iter()
        .filter(|(name, _)| *name != "X-Hub-Signature-256")
        .cloned()
        .collect();
    let missing = h.send("github-push", "", body.as_bytes(), &unsigned).await;
    assert_unauthorized(&missing, "X-Hub-Signature-256 header is missing").await;
    let with_bot_key = [unsigned.clone(), vec![("Authorization", h.key.clone())]].concat();
    assert_unauthorized(
        &h.send("github-push", "", body.as_bytes(), &with_bot_key)
            .await,
        "X-Hub-Signature-256 header is missing",
    )
    .await;

    // Filters: another branch, a bot's push, GitHub's ping: 200 skipped, nothing runs.
    for (event, body) in [
        ("push", github_push("feature/x", "User")),
        ("push", github_push("main", "Bot")),
        (
            "ping",
            json!({"zen": "Design for failure.", "hook_id": 292430182}),
        ),
    ] {
        let body = body.to_string();
        let headers = github_headers(
            event,
            &format!("skip-{event}-{}", body.len()),
            body.as_bytes(),
            GITHUB_SECRET,
        );
        assert_no_run(
            &h.send("github-push", "", body.as_bytes(), &headers).await,
            "skipped",
        );
    }
    assert_eq!(
        h.sandbox.messages_in(DEPLOYS).len(),
        1,
        "only the first push ran"
    );
    h.stop().await;
}

#[tokio::test]
async fn github_release_example() {
    let h = start(&[("github-release.toml", GITHUB_RELEASE)]).await;
    let release = |action: &str| {
        json!({
            "action": action,
            "release": {
                "url": "https://api.github.com/repos/octo-org/hello-world/releases/1",
                "html_url": "https://github.com/octo-org/hello-world/releases/tag/v2.4.1",
                "id": 1,
                "tag_name": "v2.4.1",
                "target_commitish": "main",
                "name": "v2.4.1 — faster logins",
                "draft": false,
                "prerelease": false,
                "created_at": "2024-05-14T08:30:00Z",
                "published_at": "2024-05-14T08:31:12Z",
                "author": {"login": "octocat", "id": 583231, "type": "User"},
                "body": "## What's changed\n* Fix the login redirect by @monalisa"
            },
            "repository": {"id": 1296269, "name": "hello-world", "full_name": "octo-org/hello-world"},
            "sender": {"login": "octocat", "id": 583231, "type": "User"}
        })
        .to_string()
    };
    let body = release("published");
    let headers = github_headers("release", "rel-1", body.as_bytes(), GITHUB_SECRET);
    h.succeeded(
        &h.send("github-release", "", body.as_bytes(), &headers)
            .await,
    )
    .await;
    let sent = h.sandbox.messages_in(DEPLOYS);
    assert_eq!(sent[0]["content"], "octo-org/hello-world v2.4.1 is out");
    let embed = &sent[0]["embeds"][0];
    assert_eq!(embed["title"], "v2.4.1 — faster logins");
    assert_eq!(
        embed["url"],
        "https://github.com/octo-org/hello-world/releases/tag/v2.4.1"
    );
    assert_eq!(
        embed["description"],
        "## What's changed\n* Fix the login redirect by @monalisa"
    );
    assert_eq!(embed["footer"]["text"], "released by octocat");

    let created = release("created");
    let headers = github_headers("release", "rel-2", created.as_bytes(), GITHUB_SECRET);
    assert_no_run(
        &h.send("github-release", "", created.as_bytes(), &headers)
            .await,
        "skipped",
    );
    h.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Stripe

fn stripe_event(id: &str) -> String {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1715677200,
        "type": "checkout.session.completed",
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "data": {"object": {
            "id": "cs_test_a1b2c3d4e5f6g7h8i9j0",
            "object": "checkout.session",
            "amount_subtotal": 4999,
            "amount_total": 4999,
            "currency": "eur",
            "customer": "cus_Q2x7Jb4kL9mN0p",
            "customer_details": {"email": "jenny.rosen@example.com", "name": "Jenny Rosen", "phone": null},
            "mode": "payment",
            "payment_status": "paid",
            "status": "complete"
        }}
    })
    .to_string()
}

fn stripe_signature(body: &[u8], timestamp: u64, secret: &str) -> (&'static str, String) {
    let signature = hmac_sha256(
        secret.as_bytes(),
        &[format!("{timestamp}.").as_bytes(), body],
    );
    (
        "Stripe-Signature",
        format!("t={timestamp},v1={},v0={}", hex(&signature), "0".repeat(64)),
    )
}

#[tokio::test]
async fn stripe_checkout_example_right_wrong_missing_expired_replayed() {
    let h = start(&[("stripe-checkout.toml", STRIPE_CHECKOUT)]).await;
    let body = stripe_event("evt_1PQx2bLkdIwHu7ix0aB3cD4e");
    let json_type = ("Content-Type", "application/json; charset=utf-8".to_owned());
    let signed = [
        json_type.clone(),
        stripe_signature(body.as_bytes(), now(), STRIPE_SECRET),
    ];
    h.succeeded(
        &h.send("stripe-checkout", "", body.as_bytes(), &signed)
            .await,
    )
    .await;
    let sent = h.sandbox.messages_in(GENERAL);
    assert_eq!(sent.len(), 1);
    let embed = &sent[0]["embeds"][0];
    assert_eq!(embed["title"], "New sale: 49.99 eur");
    assert_eq!(embed["description"], "Jenny Rosen completed checkout.");
    assert_eq!(embed["footer"]["text"], "cs_test_a1b2c3d4e5f6g7h8i9j0");

    // Stripe retries the same event with a fresh timestamp and signature: not run twice.
    let retry = [
        json_type.clone(),
        stripe_signature(body.as_bytes(), now() + 1, STRIPE_SECRET),
    ];
    assert_no_run(
        &h.send("stripe-checkout", "", body.as_bytes(), &retry).await,
        "replayed",
    );

    let other = stripe_event("evt_other");
    let wrong = [
        json_type.clone(),
        stripe_signature(other.as_bytes(), now(), "whsec_wrong"),
    ];
    assert_unauthorized(
        &h.send("stripe-checkout", "", other.as_bytes(), &wrong)
            .await,
        "Stripe-Signature header does not match",
    )
    .await;
    let expired = [
        json_type.clone(),
        stripe_signature(other.as_bytes(), now() - 600, STRIPE_SECRET),
    ];
    assert_unauthorized(
        &h.send("stripe-checkout", "", other.as_bytes(), &expired)
            .await,
        "Stripe-Signature timestamp is more than 5 minutes",
    )
    .await;
    let missing = [json_type.clone(), ("Authorization", h.key.clone())];
    assert_unauthorized(
        &h.send("stripe-checkout", "", other.as_bytes(), &missing)
            .await,
        "Stripe-Signature header is missing",
    )
    .await;
    let garbled = [json_type, ("Stripe-Signature", "v1=abc".to_owned())];
    assert_unauthorized(
        &h.send("stripe-checkout", "", other.as_bytes(), &garbled)
            .await,
        "Stripe-Signature",
    )
    .await;
    assert_eq!(h.sandbox.messages_in(GENERAL).len(), 1);
    h.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks

fn standard_headers(
    id: &str,
    timestamp: u64,
    body: &[u8],
    secrets: &[&str],
) -> Vec<(&'static str, String)> {
    let signatures: Vec<String> = secrets
        .iter()
        .map(|secret| {
            let key = base64::engine::general_purpose::STANDARD
                .decode(secret.strip_prefix("whsec_").unwrap())
                .unwrap();
            let signed = hmac_sha256(&key, &[format!("{id}.{timestamp}.").as_bytes(), body]);
            format!("v1,{}", b64(&signed))
        })
        .collect();
    vec![
        ("Content-Type", "application/json".into()),
        ("webhook-id", id.into()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signatures.join(" ")),
    ]
}

#[tokio::test]
async fn standard_webhooks_example_right_rotated_wrong_missing_expired_replayed() {
    let h = start(&[("standard-webhooks.toml", STANDARD_WEBHOOKS)]).await;
    let body = json!({
        "type": "invoice.paid",
        "timestamp": "2024-05-14T08:00:00.344522Z",
        "data": {"invoice": "in_1Hq", "amount": 1200, "lines": [{"sku": "pro", "qty": 1}]}
    })
    .to_string();
    let old_secret = "whsec_b2xkIHNlY3JldCBiZWluZyByb3RhdGVkIG91dA==";
    // During a key rotation the sender signs with the old and the new secret.
    let headers = standard_headers(
        "msg_2Lh8W9Qm3pXcT1",
        now(),
        body.as_bytes(),
        &[old_secret, STANDARD_SECRET],
    );
    let run = h
        .succeeded(
            &h.send("standard-webhooks", "", body.as_bytes(), &headers)
                .await,
        )
        .await;
    assert_eq!(run.headers["webhook-id"], "msg_2Lh8W9Qm3pXcT1");
    assert!(!run.headers.contains_key("webhook-signature"));
    let sent = h.sandbox.messages_in(GENERAL);
    assert_eq!(sent[0]["content"], "Webhook `invoice.paid` received");
    assert_eq!(
        sent[0]["embeds"][0]["description"],
        "```json\n{\"amount\":1200,\"invoice\":\"in_1Hq\",\"lines\":[{\"qty\":1,\"sku\":\"pro\"}]}\n```"
    );

    assert_no_run(
        &h.send("standard-webhooks", "", body.as_bytes(), &headers)
            .await,
        "replayed",
    );

    let wrong = standard_headers("msg_2", now(), body.as_bytes(), &[old_secret]);
    assert_unauthorized(
        &h.send("standard-webhooks", "", body.as_bytes(), &wrong)
            .await,
        "webhook-signature header does not match",
    )
    .await;
    let expired = standard_headers("msg_3", now() - 301, body.as_bytes(), &[STANDARD_SECRET]);
    assert_unauthorized(
        &h.send("standard-webhooks", "", body.as_bytes(), &expired)
            .await,
        "webhook-timestamp timestamp is more than 5 minutes",
    )
    .await;
    let future = standard_headers("msg_4", now() + 400, body.as_bytes(), &[STANDARD_SECRET]);
    assert_unauthorized(
        &h.send("standard-webhooks", "", body.as_bytes(), &future)
            .await,
        "webhook-timestamp",
    )
    .await;
    for left_out in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let partial: Vec<_> = standard_headers("msg_5", now(), body.as_bytes(), &[STANDARD_SECRET])
            .into_iter()
            .filter(|(name, _)| *name != left_out)
            .collect();
        let answer = h
            .send("standard-webhooks", "", body.as_bytes(), &partial)
            .await;
        assert_unauthorized(&answer, &format!("{left_out} header is missing")).await;
    }
    assert_eq!(h.sandbox.messages_in(GENERAL).len(), 1);
    h.stop().await;
}

// ---------------------------------------------------------------------------------------------
// An event key, and a generic HMAC

fn uptime_kuma(status: u8, message: &str) -> String {
    json!({
        "heartbeat": {
            "monitorID": 3,
            "status": status,
            "time": "2024-05-14 08:00:00.123",
            "msg": message,
            "important": true,
            "duration": 60,
            "ping": null
        },
        "monitor": {"id": 3, "name": "API", "url": "https://api.example.com/health", "type": "http", "interval": 60},
        "msg": format!("[API] [{}] {message}", if status == 0 { "🔴 Down" } else { "✅ Up" })
    })
    .to_string()
}

#[tokio::test]
async fn uptime_example_with_its_own_key() {
    let h = start(&[("uptime-alert.toml", UPTIME_ALERT)]).await;
    let with_key = |key: &str| {
        vec![
            ("Content-Type", "application/json".to_owned()),
            ("Authorization", format!("Bearer {key}")),
        ]
    };
    let down = uptime_kuma(0, "connect ECONNREFUSED 10.0.0.5:443");
    h.succeeded(
        &h.send("uptime-alert", "", down.as_bytes(), &with_key(UPTIME_KEY))
            .await,
    )
    .await;
    let up = uptime_kuma(1, "200 - OK");
    h.succeeded(
        &h.send("uptime-alert", "", up.as_bytes(), &with_key(UPTIME_KEY))
            .await,
    )
    .await;
    let sent = h.sandbox.messages_in(DEPLOYS);
    assert_eq!(sent[0]["content"], "🔴 API is DOWN");
    assert_eq!(
        sent[0]["embeds"][0]["description"],
        "connect ECONNREFUSED 10.0.0.5:443"
    );
    assert_eq!(
        sent[0]["embeds"][0]["url"],
        "https://api.example.com/health"
    );
    assert_eq!(sent[1]["content"], "🟢 API is back UP");

    // Uptime Kuma's test notification: no heartbeat, so nothing to announce.
    let test =
        json!({"heartbeat": null, "monitor": null, "msg": "Uptime Kuma Testing"}).to_string();
    assert_no_run(
        &h.send("uptime-alert", "", test.as_bytes(), &with_key(UPTIME_KEY))
            .await,
        "skipped",
    );

    assert_unauthorized(
        &h.send("uptime-alert", "", down.as_bytes(), &with_key("wrong"))
            .await,
        "API key is wrong",
    )
    .await;
    assert_unauthorized(
        &h.send(
            "uptime-alert",
            "",
            down.as_bytes(),
            &[("Content-Type", "application/json".to_owned())],
        )
        .await,
        "missing API key",
    )
    .await;
    let bot_key = h.key.clone();
    assert_unauthorized(
        &h.send("uptime-alert", "", down.as_bytes(), &with_key(&bot_key))
            .await,
        "API key is wrong",
    )
    .await;
    assert_eq!(h.sandbox.messages_in(DEPLOYS).len(), 2);
    h.stop().await;
}

const HMAC_EVENT: &str = r##"
id = "signed-hmac"
server = "123456789012345678"

[auth]
scheme = "hmac"
secret_env = "HOOKBOT_PAYLOADS_HMAC"
header = "X-Signature"
encoding = "base64"

[variables]
what = "{body.what}"

[[actions]]
type = "send_message"
channel = "#general"
content = "signed: {what}"
"##;

const KEY_OR_BOT_EVENT: &str = r##"
id = "key-or-bot"
server = "123456789012345678"

[auth]
scheme = "key"
secret_env = "HOOKBOT_PAYLOADS_HMAC"
allow_bot_key = true

[[actions]]
type = "send_message"
channel = "#general"
content = "keyed"
"##;

#[tokio::test]
async fn generic_hmac_and_a_key_besides_the_bots() {
    let h = start(&[("hmac.toml", HMAC_EVENT), ("key.toml", KEY_OR_BOT_EVENT)]).await;
    let body = br#"{"what":"deploy"}"#;
    let signature = b64(&hmac_sha256(HMAC_SECRET.as_bytes(), &[body]));
    let run = h
        .succeeded(
            &h.send(
                "signed-hmac",
                "",
                body,
                &[("X-Signature", signature.clone())],
            )
            .await,
        )
        .await;
    assert!(!run.headers.contains_key("x-signature"));
    assert_unauthorized(
        &h.send(
            "signed-hmac",
            "",
            b"{\"what\":\"x\"}",
            &[("X-Signature", signature)],
        )
        .await,
        "X-Signature header does not match",
    )
    .await;
    assert_unauthorized(
        &h.send("signed-hmac", "", body, &[]).await,
        "X-Signature header is missing",
    )
    .await;
    let not_base64 = [("X-Signature", "%%%".to_owned())];
    assert_unauthorized(
        &h.send("signed-hmac", "", body, &not_base64).await,
        "X-Signature must be base64",
    )
    .await;

    for key in [HMAC_SECRET.to_owned(), h.key.clone()] {
        h.succeeded(
            &h.send("key-or-bot", "", b"", &[("Authorization", key)])
                .await,
        )
        .await;
    }
    assert_unauthorized(
        &h.send("key-or-bot", "", b"", &[("Authorization", "nope".into())])
            .await,
        "API key is wrong",
    )
    .await;
    assert_eq!(h.sandbox.messages_in(GENERAL).len(), 3);
    h.stop().await;
}

/// A provider's retry of one delivery never runs twice, even after hookbot restarted (the
/// in-memory replay guard is gone then; the durable idempotency store still knows the id).
#[tokio::test]
async fn a_github_delivery_replayed_after_a_restart_runs_nothing() {
    let mut h = start(&[("github-push.toml", GITHUB_PUSH)]).await;
    let body = github_push("main", "User").to_string();
    let headers = github_headers("push", "restart-delivery-1", body.as_bytes(), GITHUB_SECRET);
    let first = h.send("github-push", "", body.as_bytes(), &headers).await;
    let run = h.succeeded(&first).await;
    h.halt().await;
    h.boot().await;
    let again = h.send("github-push", "", body.as_bytes(), &headers).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        again.body["run"],
        run.id.to_text(),
        "the first answer again"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(h.sandbox.messages_in(DEPLOYS).len(), 1, "one message");
    h.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Loading

#[tokio::test]
async fn an_event_whose_secret_cannot_be_read_is_not_loaded_and_check_says_why() {
    let unreadable = GITHUB_PUSH.replace("GITHUB_WEBHOOK_SECRET", "HOOKBOT_PAYLOADS_UNSET");
    let h = start(&[
        ("github-push.toml", &unreadable),
        (
            "deploy.toml",
            &message_event("deploy", "#deploys", "{service} is live"),
        ),
    ])
    .await;
    let body = github_push("main", "User").to_string();
    let headers = [
        github_headers("push", "d-1", body.as_bytes(), GITHUB_SECRET),
        vec![("Authorization", h.key.clone())],
    ]
    .concat();
    h.send("github-push", "", body.as_bytes(), &headers)
        .await
        .assert_error(404, "not_found");
    let mut out = Vec::new();
    let ok = hookbot::cli::check(&h.config_path(), false, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(!ok);
    assert!(
        out.contains("github-push.toml:14:14: the environment variable HOOKBOT_PAYLOADS_UNSET is not set; the event is not loaded until its secret can be read"),
        "{out}"
    );
    h.stop().await;
}

#[test]
fn the_shipped_events_and_the_examples_load() {
    secrets();
    let shipped = hookbot::events::load_dir(std::path::Path::new("data/events"));
    assert!(shipped.problems.is_empty(), "{:?}", shipped.problems);
    let ids: Vec<&str> = shipped.events.iter().map(|e| e.id.as_str()).collect();
    assert!(
        !ids.iter().any(|id| id.starts_with("github")),
        "examples are not loaded from data/events"
    );
    let examples = hookbot::events::load_dir(std::path::Path::new("data/events/examples"));
    assert!(examples.problems.is_empty(), "{:?}", examples.problems);
    assert!(examples.warnings.is_empty(), "{:?}", examples.warnings);
    assert_eq!(examples.events.len(), 5);
}
