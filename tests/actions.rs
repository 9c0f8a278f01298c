//! CONTRACT §3: what each action makes Discord do, with variables filled in, checked at the
//! stand-in and against Discord's OpenAPI spec.

mod common;

use common::*;
use hookbot::run::RunStatus;
use serde_json::json;

#[tokio::test]
async fn variables_fill_content_embeds_and_references() {
    let event = r##"
id = "deploy"
name = "Deploy finished"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#{channel}"
content = "{service} {version} is live, deployed by {user} (run {run_id} of {event_name} in {server_name})"

[[actions.embeds]]
title = "{service} {version}"
description = "by {user}"
url = "https://example.com/{service}"
color = "{color}"
timestamp = "{when}"
footer = { text = "event {event_id} on {server_id}", icon_url = "https://example.com/f.png" }
author = { name = "{user}", url = "https://example.com/u/{user}" }
image = { url = "https://example.com/{service}.png" }
thumbnail = { url = "https://example.com/t.png" }
fields = [{ name = "Service", value = "{service}", inline = true }, { name = "Bot", value = "{bot_id}" }]
"##;
    let h = Harness::start(&[("deploy.toml", event)]).await;
    let run = h
        .trigger(
            "deploy",
            &[
                ("channel", json!("deploys")),
                ("service", json!("billing")),
                ("version", json!("2.4.1")),
                ("user", json!("ana")),
                ("color", json!("#ff8800")),
                ("when", json!("2024-05-01T12:00:00Z")),
            ],
        )
        .await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let sent = h.sandbox.messages_in(DEPLOYS);
    assert_eq!(sent.len(), 1);
    let message = &sent[0];
    assert_eq!(
        message["content"],
        format!(
            "billing 2.4.1 is live, deployed by ana (run {} of Deploy finished in Test Server)",
            run.id
        )
    );
    let embed = &message["embeds"][0];
    assert_eq!(embed["title"], "billing 2.4.1");
    assert_eq!(embed["description"], "by ana");
    assert_eq!(embed["url"], "https://example.com/billing");
    assert_eq!(embed["color"], 0xff8800);
    assert!(embed["timestamp"]
        .as_str()
        .unwrap()
        .starts_with("2024-05-01T12:00:00"));
    assert_eq!(embed["footer"]["text"], format!("event deploy on {SERVER}"));
    assert_eq!(embed["author"]["name"], "ana");
    assert_eq!(embed["image"]["url"], "https://example.com/billing.png");
    assert_eq!(
        embed["fields"][0],
        json!({"name": "Service", "value": "billing", "inline": true})
    );
    assert_eq!(embed["fields"][1]["value"], BOT_ID.to_string());
    h.stop().await;
}

#[tokio::test]
async fn caller_text_never_pings_unless_the_event_opts_in() {
    let event = r##"
id = "say"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#general"
content = "{text}"

[[actions]]
type = "send_message"
channel = "#general"
content = "roles may ping: {text}"
allowed_mentions = ["roles"]
"##;
    let h = Harness::start(&[("say.toml", event)]).await;
    let hostile = format!("@everyone @here <@&{DEPLOYER}> <@{ALICE}>");
    let run = h.trigger("say", &[("text", json!(hostile))]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let sent = h.sandbox.messages_in(GENERAL);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0]["content"], hostile,
        "text is sent verbatim, not escaped"
    );
    assert_eq!(sent[0]["allowed_mentions"]["parse"], json!([]));
    assert_eq!(sent[0]["allowed_mentions"]["users"], json!([]));
    assert_eq!(sent[0]["allowed_mentions"]["roles"], json!([]));
    assert_eq!(sent[1]["allowed_mentions"]["parse"], json!(["roles"]));
    // Every request that creates a message carries allowed_mentions.
    for request in h
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
    {
        assert!(request
            .body
            .as_ref()
            .unwrap()
            .get("allowed_mentions")
            .is_some());
    }
    h.stop().await;
}

#[tokio::test]
async fn dms_roles_by_id_and_name_and_actions_in_order() {
    let event = r##"
id = "onboard"
server = "123456789012345678"

[[actions]]
type = "add_role"
user = "{user_id}"
role = "Deployer"

[[actions]]
type = "send_dm"
user = "<@{user_id}>"
content = "Welcome, {name}!"

[[actions]]
type = "remove_role"
user = "alice"
role = 300000000000000001

[[actions]]
type = "add_role"
user = 400000000000000001
role = "<@&300000000000000001>"

[[actions]]
type = "send_message"
channel = 200000000000000001
content = "done with {name}"
"##;
    let h = Harness::start(&[("onboard.toml", event)]).await;
    let run = h
        .trigger(
            "onboard",
            &[
                ("user_id", json!(ALICE.to_string())),
                ("name", json!("Alice")),
            ],
        )
        .await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(run.steps, 5);

    let dms = h.sandbox.dms_to(ALICE);
    assert_eq!(dms.len(), 1);
    assert_eq!(dms[0]["content"], "Welcome, Alice!");
    assert_eq!(dms[0]["allowed_mentions"]["parse"], json!([]));
    assert_eq!(h.sandbox.member_roles(SERVER, ALICE), Some(vec![DEPLOYER]));
    assert_eq!(
        h.sandbox.messages_in(DEPLOYS)[0]["content"],
        "done with Alice"
    );

    // The calls reached Discord in the order of the actions.
    let changes: Vec<String> = h
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let role_path = format!("/api/v10/guilds/{SERVER}/members/{ALICE}/roles/{DEPLOYER}");
    let position = |needle: &str| {
        changes
            .iter()
            .position(|c| c == needle)
            .unwrap_or_else(|| panic!("{needle} in {changes:?}"))
    };
    let first_add = position(&format!("PUT {role_path}"));
    let dm = position("POST /api/v10/users/@me/channels");
    let remove = position(&format!("DELETE {role_path}"));
    let send = position(&format!("POST /api/v10/channels/{DEPLOYS}/messages"));
    assert!(
        first_add < dm && dm < remove && remove < send,
        "{changes:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_failing_action_records_discords_error_and_stops_the_run() {
    let event = r##"
id = "locked"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "#general"
content = "first"

[[actions]]
type = "send_message"
channel = "#locked"
content = "second"

[[actions]]
type = "send_message"
channel = "#general"
content = "third"
"##;
    let h = Harness::start(&[("locked.toml", event)]).await;
    let run = h.trigger("locked", &[]).await;
    assert_eq!(run.status, RunStatus::Failed);
    let error = run.error.expect("the failure is recorded");
    assert_eq!(error.path, "2");
    assert_eq!(error.action, "send_message");
    assert_eq!(error.message, "Missing Permissions");
    assert_eq!(error.discord_code, Some(50013));
    assert_eq!(error.http_status, Some(403));
    assert_eq!(
        run.steps, 2,
        "the first action is journaled, then the failure"
    );
    let sent: Vec<_> = h
        .sandbox
        .messages_in(GENERAL)
        .into_iter()
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(sent, vec![json!("first")], "the run stopped at the failure");
    h.stop().await;
}

#[tokio::test]
async fn unknown_names_and_closed_dms_fail_clearly() {
    let cases = [
        (
            "channel",
            "type = \"send_message\"\nchannel = \"#nowhere\"\ncontent = \"x\"",
            "no channel named #nowhere",
        ),
        (
            "role",
            "type = \"add_role\"\nuser = \"alice\"\nrole = \"Nobody\"",
            "no role named \"Nobody\"",
        ),
        (
            "user",
            "type = \"send_dm\"\nuser = \"zed\"\ncontent = \"x\"",
            "no member named \"zed\"",
        ),
        (
            "dm",
            "type = \"send_dm\"\nuser = \"bob\"\ncontent = \"x\"",
            "Cannot send messages to this user",
        ),
        (
            "admin",
            "type = \"add_role\"\nuser = \"alice\"\nrole = \"Admin\"",
            "Missing Permissions",
        ),
        (
            "empty",
            "type = \"send_message\"\nchannel = \"#general\"\ncontent = \"{nothing}\"",
            "empty",
        ),
    ];
    let files: Vec<(String, String)> = cases
        .iter()
        .map(|(id, action, _)| {
            (
                format!("{id}.toml"),
                format!("id = \"{id}\"\nserver = \"{SERVER}\"\n\n[[actions]]\n{action}\n"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let h = Harness::start(&refs).await;
    for (id, _, expected) in cases {
        let vars = if id == "empty" {
            vec![("nothing", json!(""))]
        } else {
            vec![]
        };
        let run = h.trigger(id, &vars).await;
        assert_eq!(run.status, RunStatus::Failed, "{id}");
        let message = run.error.unwrap().message;
        assert!(message.contains(expected), "{id}: {message}");
    }
    assert!(
        h.sandbox.messages_in(GENERAL).is_empty(),
        "an empty message is never sent"
    );
    h.stop().await;
}

#[tokio::test]
async fn channels_and_users_by_name_resolve_in_the_events_server() {
    let event = r##"
id = "names"
server = "123456789012345678"

[[actions]]
type = "send_message"
channel = "deploys"
content = "bare name"

[[actions]]
type = "send_message"
channel = "<#200000000000000002>"
content = "mention form"

[[actions]]
type = "send_dm"
user = "Alice A."
content = "by display name"
"##;
    let h = Harness::start(&[("names.toml", event)]).await;
    let run = h.trigger("names", &[]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(h.sandbox.messages_in(DEPLOYS)[0]["content"], "bare name");
    assert_eq!(h.sandbox.messages_in(GENERAL)[0]["content"], "mention form");
    assert_eq!(h.sandbox.dms_to(ALICE)[0]["content"], "by display name");
    h.stop().await;
}

#[tokio::test]
async fn a_channel_id_from_another_server_is_refused() {
    const OTHER_SERVER: u64 = 123_456_789_012_345_999;
    const ELSEWHERE: u64 = 200_000_000_000_000_999;
    let event = message_event("relay", "{channel}", "hello");
    let fixture = fixture().guild(
        discord_stand_in::FixtureGuild::new(OTHER_SERVER, "Other").channel(ELSEWHERE, "elsewhere"),
    );
    let h = Harness::start_with(fixture, &[("relay.toml", &event)], "", "").await;
    let run = h
        .trigger("relay", &[("channel", json!(ELSEWHERE.to_string()))])
        .await;
    assert_eq!(run.status, RunStatus::Failed);
    let message = run.error.unwrap().message;
    assert!(message.contains("is not in server"), "{message}");
    assert!(
        h.sandbox.messages_in(ELSEWHERE).is_empty(),
        "nothing reached the other server"
    );
    let run = h
        .trigger("relay", &[("channel", json!(DEPLOYS.to_string()))])
        .await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    h.stop().await;
}

/// docs/actions.md's table of `{error.code}`: an `http_request` that gets no answer in time fails
/// with `http_error` (every failure of the outside call has that code, and none is retried:
/// the call may not be safe to repeat); `timeout` is a Discord call's.
#[tokio::test]
async fn a_timed_out_http_request_gives_http_error() {
    // Accepts connections (the backlog does) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let event = format!(
        r##"
id = "outside"
server = "123456789012345678"

[[actions]]
type = "http_request"
url = "http://{addr}/slow"
timeout = "1s"
save_as = "api"

[[actions.on_error]]
type = "send_message"
channel = "#general"
content = "{{error.code}}: {{error.message}}"
"##
    );
    let h = Harness::start(&[("outside.toml", &event)]).await;
    let run = h.trigger("outside", &[]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    let said: Vec<String> = h
        .sandbox
        .messages_in(GENERAL)
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        said,
        [format!("http_error: {addr} did not answer within 1s")]
    );
    drop(silent);
    h.stop().await;
}
