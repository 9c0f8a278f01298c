//! CONTRACT §4: every status of `POST /webhook/{bot_id}/{event_id}`, its body and headers, in the
//! contract's order, through the real listener, the real serenity client and the stand-in.

mod common;

use common::*;
use serde_json::json;

/// One message naming both variables of CONTRACT §4's example body.
fn deploy() -> String {
    message_event("deploy", "#deploys", "{service} {version} is live")
}

const DISABLED: &str = r##"
id = "off"
server = "123456789012345678"
enabled = false

[[actions]]
type = "send_message"
channel = "#deploys"
content = "never"
"##;

async fn harness() -> Harness {
    Harness::start(&[("deploy.toml", &deploy()), ("off.toml", DISABLED)]).await
}

#[tokio::test]
async fn a_botghost_request_runs_the_event_with_its_variables() {
    let h = harness().await;
    let answer = h
        .post(
            "deploy",
            variables_body(&[("service", json!("billing")), ("version", json!("2.4.1"))]),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["ok"], true);
    let run = answer.body["run"].as_str().expect("run id");
    assert_eq!(
        answer.body.as_object().unwrap().len(),
        2,
        "exactly ok and run: {}",
        answer.body
    );
    h.wait_run(run).await;
    let sent = h.sandbox.messages_in(DEPLOYS);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["content"], "billing 2.4.1 is live");
    h.stop().await;
}

#[tokio::test]
async fn every_method_but_post_is_405_with_allow() {
    let h = harness().await;
    let url = h.webhook_url("deploy");
    for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let response = h
            .http
            .request(method.parse().unwrap(), &url)
            .header("Authorization", &h.key)
            .send()
            .await
            .unwrap();
        let answer = Answer::from(response).await;
        answer.assert_error(405, "method_not_allowed");
        assert_eq!(answer.header("allow"), Some("POST"), "{method}");
    }
    let head = h.http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 405);
    assert_eq!(head.headers()["allow"], "POST");
    // 405 comes first: even a wrong bot id and no key answer 405.
    let wrong = h
        .http
        .get(format!("{}/webhook/1/nope", h.base))
        .send()
        .await
        .unwrap();
    Answer::from(wrong)
        .await
        .assert_error(405, "method_not_allowed");
    h.stop().await;
}

#[tokio::test]
async fn a_wrong_bot_id_is_404_before_the_key_is_checked() {
    let h = harness().await;
    let response = h
        .http
        .post(format!("{}/webhook/42/deploy", h.base))
        .send()
        .await
        .unwrap();
    Answer::from(response).await.assert_error(404, "not_found");
    let response = h
        .http
        .post(format!("{}/webhook/not-a-number/deploy", h.base))
        .send()
        .await
        .unwrap();
    Answer::from(response).await.assert_error(404, "not_found");
    h.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_401_and_bearer_is_accepted() {
    let h = harness().await;
    let url = h.webhook_url("deploy");
    let missing = Answer::from(h.http.post(&url).send().await.unwrap()).await;
    missing.assert_error(401, "unauthorized");
    let wrong = Answer::from(
        h.http
            .post(&url)
            .header("Authorization", "hk_wrong")
            .send()
            .await
            .unwrap(),
    )
    .await;
    wrong.assert_error(401, "unauthorized");
    // 401 comes before the event lookup: an unknown event with no key is 401, not 404.
    let unknown = Answer::from(h.http.post(h.webhook_url("nope")).send().await.unwrap()).await;
    unknown.assert_error(401, "unauthorized");

    let bearer = Answer::from(
        h.http
            .post(&url)
            .header("Authorization", format!("Bearer {}", h.key))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bearer.status, 200, "{}", bearer.body);
    h.stop().await;
}

#[tokio::test]
async fn an_unknown_or_disabled_event_is_404() {
    let h = harness().await;
    h.post("nope", json!({}))
        .await
        .assert_error(404, "not_found");
    h.post("off", json!({}))
        .await
        .assert_error(404, "not_found");
    // 404 comes before the body is looked at.
    h.post_raw("nope", "not json")
        .await
        .assert_error(404, "not_found");
    h.stop().await;
}

#[tokio::test]
async fn the_body_rules_answer_400_naming_the_item() {
    let h = harness().await;
    let cases: &[(&str, &str)] = &[
        ("{not json", "not valid JSON"),
        (r#"{"variables": null}"#, "\"variables\" must be an array"),
        (r#"{"variables": "x"}"#, "\"variables\" must be an array"),
        (
            r#"{"variables": [{"name":"A","variable":"{a}","value":"1"},{"name":"B","variable":"{b}"}]}"#,
            r#"variables[1] has no "value""#,
        ),
        (
            r#"{"variables": [{"variable":"{a}","value":"1"}]}"#,
            r#"variables[0] has no "name""#,
        ),
        (
            r#"{"variables": [{"name":"A","variable":"a","value":"1"}]}"#,
            "variables[0].variable",
        ),
        (
            r#"{"variables": [{"name":"A","variable":"{}","value":"1"}]}"#,
            "variables[0].variable",
        ),
        (
            r#"{"variables": [{"name":"A","variable":"{a{b}","value":"1"}]}"#,
            "variables[0].variable",
        ),
        (
            r#"{"variables": [{"name":"A","variable":"{a}","value":null}]}"#,
            "variables[0].value",
        ),
        (
            r#"{"variables": [{"name":"A","variable":"{a}","value":{}}]}"#,
            "variables[0].value",
        ),
        (r#"{"variables": [7]}"#, "variables[0]"),
    ];
    for (body, expected) in cases {
        let answer = h.post_raw("deploy", body).await;
        answer.assert_error(400, "bad_request");
        let message = answer.body["message"].as_str().unwrap();
        assert!(message.contains(expected), "{body}: {message}");
    }
    assert!(
        h.sandbox.messages_in(DEPLOYS).is_empty(),
        "a refused request runs nothing"
    );
    h.stop().await;
}

#[tokio::test]
async fn empty_bodies_and_other_keys_mean_no_variables() {
    let h = harness().await;
    for body in ["", "{}", r#"{"something": "else"}"#, r#"{"variables": []}"#] {
        let answer = h.post_raw("deploy", body).await;
        assert_eq!(answer.status, 200, "{body:?}: {}", answer.body);
        h.wait_run(answer.body["run"].as_str().unwrap()).await;
    }
    let sent = h.sandbox.messages_in(DEPLOYS);
    assert_eq!(sent.len(), 4);
    assert_eq!(
        sent[0]["content"], "{service} {version} is live",
        "unknown names stay as written"
    );
    h.stop().await;
}

#[tokio::test]
async fn numbers_and_booleans_are_used_as_json_writes_them_and_the_later_duplicate_wins() {
    let h = harness().await;
    let body = json!({"variables": [
        {"name": "S", "variable": "{service}", "value": "first"},
        {"name": "S", "variable": "{service}", "value": true},
        {"name": "V", "variable": "{version}", "value": 1.5},
    ]});
    let answer = h.post("deploy", body).await;
    h.wait_run(answer.body["run"].as_str().unwrap()).await;
    assert_eq!(
        h.sandbox.messages_in(DEPLOYS)[0]["content"],
        "true 1.5 is live"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_after_auth_and_event_checks() {
    let h = Harness::start_with(
        fixture(),
        &[("deploy.toml", &deploy())],
        "max_body_bytes = 100",
        "",
    )
    .await;
    let big = format!(r#"{{"variables": [], "pad": "{}"}}"#, "x".repeat(200));
    h.post_raw("deploy", &big)
        .await
        .assert_error(413, "payload_too_large");
    // Order: a bad key or an unknown event is reported before the size.
    let no_key = Answer::from(
        h.http
            .post(h.webhook_url("deploy"))
            .body(big.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    no_key.assert_error(401, "unauthorized");
    h.post_raw("nope", &big)
        .await
        .assert_error(404, "not_found");
    // A body sent without a Content-Length (chunked) is measured as it arrives.
    let chunks = futures::stream::iter(vec![Ok::<_, std::io::Error>(big.clone().into_bytes())]);
    let chunked = h
        .http
        .post(h.webhook_url("deploy"))
        .header("Authorization", &h.key)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    Answer::from(chunked)
        .await
        .assert_error(413, "payload_too_large");
    // Exactly at the limit is fine.
    let fits = format!(r#"{{"pad":"{}"}}"#, "x".repeat(100 - 10));
    assert_eq!(fits.len(), 100);
    assert_eq!(h.post_raw("deploy", &fits).await.status, 200);
    h.stop().await;
}

#[tokio::test]
async fn the_per_event_limit_answers_429_with_retry_after() {
    let h = Harness::start_with(
        fixture(),
        &[("deploy.toml", &deploy())],
        "",
        "[limits]\nper_event_per_minute = 3\n",
    )
    .await;
    for _ in 0..3 {
        assert_eq!(h.post("deploy", json!({})).await.status, 200);
    }
    let limited = h.post("deploy", json!({})).await;
    limited.assert_error(429, "rate_limited");
    let retry: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
    // 429 comes before the body check.
    h.post_raw("deploy", "{broken")
        .await
        .assert_error(429, "rate_limited");
    // Unauthenticated requests do not count and are still told 401.
    let no_key = Answer::from(h.http.post(h.webhook_url("deploy")).send().await.unwrap()).await;
    no_key.assert_error(401, "unauthorized");
    h.stop().await;
}

#[tokio::test]
async fn an_address_that_keeps_failing_authentication_is_slowed_down() {
    let h = harness().await;
    let url = h.webhook_url("deploy");
    // 20 failures are allowed at once; the allowance refills at one a second, so on a slow
    // machine a few more may pass before the first 429.
    let mut statuses = Vec::new();
    while statuses.last() != Some(&429) && statuses.len() < 40 {
        let response = h
            .http
            .post(&url)
            .header("Authorization", "hk_guess")
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    let first_429 = statuses
        .iter()
        .position(|s| *s == 429)
        .expect("slowed down");
    assert!(first_429 >= 20, "{statuses:?}");
    assert!(
        statuses[..first_429].iter().all(|s| *s == 401),
        "{statuses:?}"
    );
    // While slowed down, even the right key is not looked at.
    let right = h.post("deploy", json!({})).await;
    right.assert_error(429, "rate_limited");
    assert!(right.header("retry-after").is_some());
    h.stop().await;
}

#[tokio::test]
async fn other_paths_answer_json_404() {
    let h = harness().await;
    let answer = Answer::from(
        h.http
            .post(format!("{}/nothing/here", h.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    answer.assert_error(404, "not_found");
    h.stop().await;
}

#[tokio::test]
async fn a_200_means_the_run_is_on_disk() {
    let mut h = harness().await;
    let answer = h
        .post("deploy", variables_body(&[("service", json!("api"))]))
        .await;
    let run_id = answer.body["run"].as_str().unwrap().to_owned();
    h.wait_run(&run_id).await;
    h.halt().await;
    // Reopen the database as a new process would.
    let store = hookbot::engine::Store::open(&h.config().storage.path).unwrap();
    let run = store
        .run(hookbot::run::RunId::parse(&run_id).unwrap())
        .await
        .unwrap()
        .expect("the run survives a restart");
    assert_eq!(run.event_id, "deploy");
    assert_eq!(run.variables.get("service"), Some("api"));
    drop(store);
    h.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_run_accepted_before_a_stop_executes_on_the_next_start() {
    let mut h = harness().await;
    h.halt().await;
    // What a crash right after answering 200 leaves behind: a recorded, queued run.
    let store = hookbot::engine::Store::open(&h.config().storage.path).unwrap();
    let mut variables = hookbot::lang::templates::Variables::new();
    variables.insert("service", "queued");
    variables.insert("version", "1.0");
    let id = store.next_run_id().await.unwrap();
    let run = hookbot::run::Run::new(id, "deploy".into(), variables, 0);
    store.accept_run(&run, None).await.unwrap();
    drop(store);

    h.boot().await;
    let finished = h.wait_run(&id.to_text()).await;
    assert_eq!(
        finished.status,
        hookbot::run::RunStatus::Succeeded,
        "{:?}",
        finished.error
    );
    assert_eq!(
        h.sandbox.messages_in(DEPLOYS)[0]["content"],
        "queued 1.0 is live"
    );
    h.stop().await;
}

#[tokio::test]
async fn the_bot_id_comes_from_ready_when_users_me_is_not_served() {
    let mut h = harness().await;
    h.halt().await;
    // A minimal proxy or stand-in that does not serve GET /users/@me.
    h.sandbox
        .inject(discord_stand_in::Failure::new("/users/@me", 404).times(1));
    h.boot().await;
    assert_eq!(h.running.as_ref().unwrap().bot_id, BOT_ID);
    let answer = h
        .post("deploy", variables_body(&[("service", json!("api"))]))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    h.stop().await;
}
