//! The stand-in over real HTTP with a plain client: Discord's rate-limit headers and 429s, and
//! an injected outage window, and `begin_outage` holding every route until `end_outage`.

use std::time::{Duration, Instant};

use serde_json::json;

use super::bench::{fixture, DEPLOYS};
use crate::{Failure, RateLimits, Sandbox, SandboxOptions};

/// Over HTTP: the headers reach a client, refused sends create nothing, 429s are counted,
/// and every created message has its arrival time.
#[tokio::test]
async fn the_stand_in_enforces_them_when_asked() {
    let limits = RateLimits {
        global_per_second: 1000,
        messages_per_channel: 2,
        per_seconds: 60,
    };
    let options = SandboxOptions::default().discord_rate_limits(limits);
    let sandbox = Sandbox::start_with(fixture(), "t", options).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v10/channels/{DEPLOYS}/messages", sandbox.api_url());
    let send = || {
        http.post(&url)
            .header("Authorization", "Bot t")
            .json(&json!({"content": "hi"}))
            .send()
    };
    let before = Instant::now();
    for remaining in ["1", "0"] {
        let answer = send().await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["x-ratelimit-remaining"], remaining);
        assert_eq!(answer.headers()["x-ratelimit-limit"], "2");
    }
    let refused = send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["x-ratelimit-scope"], "user");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((59..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["global"], json!(false));
    assert_eq!(sandbox.rate_limited_count(), 1);
    let times = sandbox.message_times(DEPLOYS);
    assert_eq!(times.len(), 2);
    assert!(times[0] >= before && times[0] <= times[1] && times[1] <= Instant::now());
    assert_eq!(sandbox.timed_messages(DEPLOYS)[1].1["content"], "hi");

    // An outage window: every matching request fails until its deadline.
    sandbox.inject(Failure::new("/users/@me", 503).for_duration(Duration::from_millis(300)));
    let me = format!("{}/api/v10/users/@me", sandbox.api_url());
    for _ in 0..3 {
        let answer = http
            .get(&me)
            .header("Authorization", "Bot t")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 503);
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    let answer = http
        .get(&me)
        .header("Authorization", "Bot t")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(sandbox.rate_limited_count(), 1);
    sandbox.shutdown().await;
}

/// `begin_outage`: every route, the token check included, and the gateway's upgrade answer the
/// status until `end_outage`.
#[tokio::test]
async fn an_outage_holds_every_route_and_the_gateway_until_it_ends() {
    let sandbox = Sandbox::start(fixture(), "t").await.unwrap();
    let http = reqwest::Client::new();
    let me = format!("{}/api/v10/users/@me", sandbox.api_url());
    let gateway = format!("{}/gateway", sandbox.api_url());
    sandbox.begin_outage(503);
    for token in ["Bot t", "Bot wrong"] {
        let answer = http.get(&me).header("Authorization", token).send().await;
        let answer = answer.unwrap();
        assert_eq!(answer.status(), 503);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(
            body,
            json!({"code": 0, "message": "503: Service Unavailable"})
        );
    }
    let upgrade = http
        .get(&gateway)
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(upgrade.status(), 503);
    sandbox.end_outage();
    let answer = http.get(&me).header("Authorization", "Bot t").send().await;
    assert_eq!(answer.unwrap().status(), 200);
    sandbox.shutdown().await;
}

/// The control API a second terminal uses: people and channels by name, clear refusals, and
/// only with the bot's token.
#[tokio::test]
async fn a_person_acts_through_the_control_api() {
    let sandbox = Sandbox::start(fixture(), "t").await.unwrap();
    let http = reqwest::Client::new();
    let act = |action: &str, body: serde_json::Value| {
        http.post(format!("{}/{action}", sandbox.control_url()))
            .header("Authorization", "Bot t")
            .json(&body)
            .send()
    };
    let said = act(
        "say",
        json!({ "channel": "#deploys", "user": "alice", "content": "hi" }),
    )
    .await
    .unwrap();
    assert_eq!(said.status(), 200);
    let said: serde_json::Value = said.json().await.unwrap();
    assert_eq!(said["ok"], json!(true));
    assert_eq!(sandbox.messages_in(DEPLOYS)[0]["content"], json!("hi"));

    let reacted = act(
        "react",
        json!({ "channel": "deploys", "user": "alice", "emoji": "👍" }),
    )
    .await
    .unwrap();
    assert_eq!(reacted.status(), 200, "the newest message by default");
    let joined = act("join", json!({ "user": "zoe" })).await.unwrap();
    assert_eq!(joined.status(), 200);
    assert!(sandbox
        .member(super::bench::GUILD, {
            let body: serde_json::Value = joined.json().await.unwrap();
            body["user"].as_str().unwrap().parse().unwrap()
        })
        .is_some());

    let refused = act(
        "say",
        json!({ "channel": "#nope", "user": "alice", "content": "x" }),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 400);
    let refused: serde_json::Value = refused.json().await.unwrap();
    assert!(
        refused["message"].as_str().unwrap().contains("#deploys"),
        "{refused}"
    );
    let no_command = act("command", json!({ "user": "alice", "name": "deploy" }))
        .await
        .unwrap();
    assert_eq!(no_command.status(), 400);

    let stranger = http
        .post(format!("{}/say", sandbox.control_url()))
        .json(&json!({ "user": "alice", "content": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);
}
