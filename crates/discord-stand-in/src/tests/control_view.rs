//! The control API's read routes over real HTTP: the world a person sees (servers, channels,
//! members, the bot's slash commands) and a channel's messages with their buttons and
//! reactions, as acting through the control API changes them.

use serde_json::{json, Value};

use super::bench::{fixture, ALICE, DEPLOYS, GUILD, OPS};
use crate::Sandbox;

async fn get(http: &reqwest::Client, url: String, token: &str) -> (u16, Value) {
    let answer = http
        .get(url)
        .header("Authorization", format!("Bot {token}"))
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

#[tokio::test]
async fn a_person_reads_the_world_and_a_channels_messages() {
    let sandbox = Sandbox::start(fixture(), "t").await.unwrap();
    let http = reqwest::Client::new();
    let control = sandbox.control_url();

    let commands = format!(
        "{}/api/v10/applications/1000/guilds/{GUILD}/commands",
        sandbox.api_url()
    );
    let registered = http
        .put(commands)
        .header("Authorization", "Bot t")
        .json(
            &json!([{ "name": "deploy", "description": "Deploy", "options": [
                { "type": 3, "name": "service", "description": "Which", "required": true }
            ]}]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 200);

    let (status, world) = get(&http, format!("{control}/world"), "t").await;
    assert_eq!(status, 200, "{world}");
    assert_eq!(world["ok"], true);
    let server = &world["servers"][0];
    assert_eq!(server["name"], "Acme");
    let deploys = server["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == DEPLOYS.to_string().as_str())
        .expect("#deploys is listed");
    assert_eq!(deploys["holds_messages"], true);
    let category = server["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == OPS.to_string().as_str())
        .unwrap();
    assert_eq!(category["holds_messages"], false);
    let names: Vec<&str> = server["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"alice") && names.contains(&"hookbot"),
        "{names:?}"
    );
    let marked = |name: &str, mark: &str| {
        server["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["username"] == name)
            .map(|m| m[mark] == true)
            .unwrap()
    };
    assert!(marked("hookbot", "bot") && !marked("alice", "bot"));
    assert!(marked("owner", "owner") && !marked("alice", "owner"));
    assert_eq!(server["commands"][0]["name"], "deploy");
    assert_eq!(server["commands"][0]["options"][0]["name"], "service");

    // The bot posts a message with a button; alice says something and reacts to it.
    let sent = http
        .post(format!(
            "{}/api/v10/channels/{DEPLOYS}/messages",
            sandbox.api_url()
        ))
        .header("Authorization", "Bot t")
        .json(&json!({
            "content": "Ship billing?",
            "embeds": [{ "title": "billing", "description": "v2" }],
            "components": [{ "type": 1, "components": [
                { "type": 2, "style": 1, "label": "Approve", "custom_id": "approve" }
            ]}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let said = http
        .post(format!("{control}/say"))
        .header("Authorization", "Bot t")
        .json(&json!({ "user": ALICE.to_string(), "channel": "#deploys", "content": "yes" }))
        .send()
        .await
        .unwrap();
    assert_eq!(said.status(), 200);
    let reacted = http
        .post(format!("{control}/react"))
        .header("Authorization", "Bot t")
        .json(&json!({ "user": "alice", "channel": "#deploys", "emoji": "👍" }))
        .send()
        .await
        .unwrap();
    assert_eq!(reacted.status(), 200);

    let messages_url = format!("{control}/channels/{DEPLOYS}/messages");
    let (status, read) = get(&http, messages_url.clone(), "t").await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["channel"]["name"], "deploys");
    assert_eq!(read["total"], 2);
    let messages = read["messages"].as_array().unwrap();
    assert_eq!(messages[0]["content"], "Ship billing?");
    assert_eq!(messages[0]["embeds"][0]["title"], "billing");
    assert_eq!(
        messages[0]["components"][0]["components"][0]["label"],
        "Approve"
    );
    assert_eq!(messages[1]["content"], "yes");
    assert_eq!(messages[1]["author"]["username"], "alice");
    assert_eq!(messages[1]["reactions"][0]["emoji"]["name"], "👍");

    // The newest first: a limit keeps the last ones, oldest first.
    let (_, newest) = get(&http, format!("{messages_url}?limit=1"), "t").await;
    assert_eq!(newest["messages"].as_array().unwrap().len(), 1);
    assert_eq!(newest["messages"][0]["content"], "yes");
    assert_eq!(newest["total"], 2);

    let (status, refused) = get(&http, format!("{messages_url}?limit=0"), "t").await;
    assert_eq!(status, 400);
    assert!(refused["message"].as_str().unwrap().contains("limit"));
    let (status, _) = get(&http, format!("{messages_url}?limit=101"), "t").await;
    assert_eq!(status, 400);
    let (status, missing) = get(&http, format!("{control}/channels/42/messages"), "t").await;
    assert_eq!(status, 404);
    assert_eq!(missing["ok"], false);
    let (status, _) = get(&http, format!("{control}/world"), "wrong").await;
    assert_eq!(status, 401);
    let (status, _) = get(&http, messages_url, "wrong").await;
    assert_eq!(status, 401);
    sandbox.shutdown().await;
}
