//! What a bot's triggers meet: guild commands registered and checked, a slash command and a
//! button click as INTERACTION_CREATE, the 3-second callback and the 15-minute token, members
//! joining and leaving, reactions. Every payload is parsed by serenity's own types.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use serenity::model::application::{Command, CommandDataOptionValue, Interaction};
use serenity::model::channel::{Message, ReactionType};
use serenity::model::event::{Event, GatewayEvent};

use super::bench::{Bench, ALICE, BOT, DEPLOYER, DEPLOYS, GUILD, PARTY};
use crate::fixture::FixtureUser;
use crate::{interactions, invoke, people};

fn parse<T: DeserializeOwned>(what: &str, value: Value) -> T {
    serde_json::from_value(value.clone())
        .unwrap_or_else(|error| panic!("serenity rejects the {what}: {error}\n{value:#}"))
}

fn dispatch(event: &str, data: Value) -> Event {
    let payload = json!({ "op": 0, "s": 1, "t": event, "d": data });
    match parse::<GatewayEvent>(event, payload) {
        GatewayEvent::Dispatch(1, Event::Unknown(unknown)) => {
            panic!("serenity does not understand {event}: {unknown:?}")
        }
        GatewayEvent::Dispatch(1, parsed) => parsed,
        other => panic!("{event} parsed as {other:?}"),
    }
}

fn commands_path() -> String {
    format!("/applications/{BOT}/guilds/{GUILD}/commands")
}

fn deploy_command() -> Value {
    json!({
        "name": "deploy",
        "description": "Deploy a service",
        "type": 1,
        "options": [
            { "type": 3, "name": "service", "description": "Which", "required": true,
              "choices": [{ "name": "billing", "value": "billing" }, { "name": "web", "value": "web" }] },
            { "type": 4, "name": "count", "description": "How many" },
            { "type": 5, "name": "dry", "description": "Dry run" },
            { "type": 6, "name": "who", "description": "Who" },
            { "type": 7, "name": "where", "description": "Where" },
            { "type": 8, "name": "role", "description": "Role" },
            { "type": 10, "name": "ratio", "description": "Ratio" },
        ],
    })
}

fn register(bench: &mut Bench, commands: Value) -> Value {
    bench.ok("PUT", &commands_path(), Some(commands))
}

#[test]
fn a_bulk_overwrite_replaces_the_set_and_keeps_ids_of_kept_names() {
    let mut bench = Bench::new();
    let ping = json!({ "name": "ping", "description": "Ping", "type": 1 });
    let first = register(&mut bench, json!([deploy_command(), ping]));
    let parsed: Vec<Command> = parse("commands", first.clone());
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].options.len(), 7);
    let listed: Vec<Command> = parse("listed commands", bench.ok("GET", &commands_path(), None));
    assert_eq!(listed.len(), 2);

    let second = register(&mut bench, json!([deploy_command()]));
    assert_eq!(second[0]["id"], first[0]["id"], "a kept name keeps its id");
    assert_eq!(
        bench
            .ok("GET", &commands_path(), None)
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    register(&mut bench, json!([]));
    assert_eq!(bench.ok("GET", &commands_path(), None), json!([]));
}

#[test]
fn commands_discord_would_refuse_are_refused() {
    let mut bench = Bench::new();
    let path = commands_path();
    let bad_name = json!([{ "name": "Deploy Now", "description": "x" }]);
    assert_eq!(bench.code("PUT", &path, Some(bad_name)), 50035);
    let no_description = json!([{ "name": "deploy" }]);
    assert_eq!(bench.code("PUT", &path, Some(no_description)), 50035);
    let options: Vec<Value> = (0..26)
        .map(|i| json!({ "type": 3, "name": format!("o{i}"), "description": "x" }))
        .collect();
    let too_many = json!([{ "name": "deploy", "description": "x", "options": options }]);
    assert_eq!(bench.code("PUT", &path, Some(too_many)), 50035);
    let order = json!([{ "name": "deploy", "description": "x", "options": [
        { "type": 3, "name": "a", "description": "x" },
        { "type": 3, "name": "b", "description": "x", "required": true },
    ] }]);
    assert_eq!(bench.code("PUT", &path, Some(order)), 50035);
    let twice = json!([{ "name": "a", "description": "x" }, { "name": "a", "description": "y" }]);
    assert_eq!(bench.code("PUT", &path, Some(twice)), 50035);
    let other_app = format!("/applications/999/guilds/{GUILD}/commands");
    assert_eq!(bench.code("GET", &other_app, None), 10002);
    assert!(
        bench.world.commands.is_empty(),
        "nothing kept from a refused overwrite"
    );
}

#[test]
fn a_slash_command_arrives_typed_and_resolved() {
    let mut bench = Bench::new();
    register(&mut bench, json!([deploy_command()]));
    let options: Vec<(String, String)> = [
        ("service", "billing"),
        ("count", "3"),
        ("dry", "true"),
        ("who", "alice"),
        ("where", "#deploys"),
        ("role", "Deployer"),
        ("ratio", "0.5"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let (payload, id) =
        invoke::use_command(&mut bench.world, DEPLOYS, ALICE, "deploy", &options).expect("used");
    let Event::InteractionCreate(event) = dispatch("INTERACTION_CREATE", payload) else {
        panic!("not INTERACTION_CREATE")
    };
    let Interaction::Command(command) = event.interaction else {
        panic!("not a command")
    };
    assert_eq!(command.id.get(), id);
    assert_eq!(command.data.name, "deploy");
    assert_eq!(
        command.user.id.get(),
        ALICE,
        "serenity takes the user from the member"
    );
    assert_eq!(command.guild_id.map(|g| g.get()), Some(GUILD));
    assert_eq!(command.channel_id.get(), DEPLOYS);
    let value = |name: &str| {
        command
            .data
            .options
            .iter()
            .find(|option| option.name == name)
            .map(|option| option.value.clone())
            .unwrap_or_else(|| panic!("no option {name}"))
    };
    assert_eq!(
        value("service"),
        CommandDataOptionValue::String("billing".into())
    );
    assert_eq!(value("count"), CommandDataOptionValue::Integer(3));
    assert_eq!(value("dry"), CommandDataOptionValue::Boolean(true));
    assert_eq!(value("who"), CommandDataOptionValue::User(ALICE.into()));
    assert_eq!(
        value("where"),
        CommandDataOptionValue::Channel(DEPLOYS.into())
    );
    assert_eq!(value("role"), CommandDataOptionValue::Role(DEPLOYER.into()));
    assert_eq!(value("ratio"), CommandDataOptionValue::Number(0.5));
    assert!(command.data.resolved.users.contains_key(&ALICE.into()));
    assert!(command.data.resolved.channels.contains_key(&DEPLOYS.into()));

    let refuse = |bench: &mut Bench, name: &str, options: &[(&str, &str)]| {
        let options: Vec<(String, String)> = options
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        invoke::use_command(&mut bench.world, DEPLOYS, ALICE, name, &options).expect_err("refused")
    };
    assert!(refuse(&mut bench, "nope", &[]).contains("/deploy"));
    assert!(refuse(&mut bench, "deploy", &[]).contains("needs the option \"service\""));
    assert!(refuse(&mut bench, "deploy", &[("service", "db")]).contains("must be one of"));
    assert!(
        refuse(&mut bench, "deploy", &[("service", "web"), ("count", "x")])
            .contains("whole number")
    );
}

fn button_message(bench: &mut Bench) -> u64 {
    let body = json!({
        "content": "Deploy billing?",
        "allowed_mentions": { "parse": [] },
        "components": [{ "type": 1, "components": [
            { "type": 2, "style": 3, "label": "Approve", "custom_id": "hb1:approve:v" },
            { "type": 2, "style": 5, "label": "Docs", "url": "https://example.com" },
        ] }],
    });
    let sent = bench.ok("POST", &format!("/channels/{DEPLOYS}/messages"), Some(body));
    let _: Message = parse("message with buttons", sent.clone());
    sent["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("id")
}

#[test]
fn a_click_arrives_with_the_message_and_its_custom_id() {
    let mut bench = Bench::new();
    let message_id = button_message(&mut bench);
    let (payload, _) = invoke::click(&mut bench.world, DEPLOYS, message_id, ALICE, "approve")
        .expect("clicked by label");
    let Event::InteractionCreate(event) = dispatch("INTERACTION_CREATE", payload) else {
        panic!("not INTERACTION_CREATE")
    };
    let Interaction::Component(click) = event.interaction else {
        panic!("not a component interaction")
    };
    assert_eq!(click.data.custom_id, "hb1:approve:v");
    assert_eq!(click.message.id.get(), message_id);
    assert_eq!(click.user.id.get(), ALICE);
    let error = invoke::click(&mut bench.world, DEPLOYS, message_id, ALICE, "Docs")
        .expect_err("a link button is not clicked through the bot");
    assert!(error.contains("\"Approve\""), "{error}");
}

fn interaction_paths(bench: &Bench, id: u64) -> (String, String) {
    let stored = bench
        .world
        .interactions
        .iter()
        .find(|stored| stored.id == id)
        .expect("stored");
    (
        format!("/interactions/{id}/{}/callback", stored.token),
        format!("/webhooks/{BOT}/{}", stored.token),
    )
}

fn use_ping(bench: &mut Bench) -> u64 {
    register(bench, json!([{ "name": "ping", "description": "Ping" }]));
    invoke::use_command(&mut bench.world, DEPLOYS, ALICE, "ping", &[])
        .expect("used")
        .1
}

#[tokio::test(start_paused = true)]
async fn the_callback_must_come_within_three_seconds_and_once() {
    let mut bench = Bench::new();
    let id = use_ping(&mut bench);
    let (callback, _) = interaction_paths(&bench, id);
    tokio::time::advance(Duration::from_millis(3100)).await;
    assert_eq!(
        bench.code("POST", &callback, Some(json!({ "type": 5 }))),
        10062
    );

    let id = invoke::use_command(&mut bench.world, DEPLOYS, ALICE, "ping", &[])
        .expect("used")
        .1;
    let (callback, _) = interaction_paths(&bench, id);
    tokio::time::advance(Duration::from_millis(2900)).await;
    let answer = bench.call(
        "POST",
        &callback,
        Some(json!({ "type": 4, "data": {
        "content": "pong", "allowed_mentions": { "parse": [] } } })),
    );
    assert_eq!(answer.expect("in time").status, 204);
    assert_eq!(
        bench.code(
            "POST",
            &callback,
            Some(json!({ "type": 4, "data": { "content": "again" } }))
        ),
        40060
    );
    let described = interactions::describe(&bench.world, id).expect("described");
    assert_eq!(described["original"]["content"], "pong");
    assert_eq!(described["acknowledged_after_ms"], 2900);
    let _: Message = parse("an interaction's answer", described["original"].clone());
}

#[tokio::test(start_paused = true)]
async fn a_deferred_answer_is_replaced_by_the_first_follow_up_for_fifteen_minutes() {
    let mut bench = Bench::new();
    let id = use_ping(&mut bench);
    let (callback, webhook) = interaction_paths(&bench, id);
    assert_eq!(
        bench.code("POST", &webhook, Some(json!({ "content": "early" }))),
        10015
    );
    bench.ok(
        "POST",
        &callback,
        Some(json!({ "type": 5, "data": { "flags": 64 } })),
    );
    let thinking = interactions::describe(&bench.world, id).expect("described");
    assert_eq!(thinking["original"]["flags"], json!(64 | 128));

    tokio::time::advance(Duration::from_secs(60)).await;
    let first = bench.ok(
        "POST",
        &webhook,
        Some(json!({ "content": "done", "allowed_mentions": { "parse": [] } })),
    );
    assert_eq!(
        first["id"], thinking["original"]["id"],
        "the thinking message became the answer"
    );
    assert_eq!(
        first["flags"],
        json!(64),
        "still ephemeral, no longer loading"
    );
    let second = bench.ok(
        "POST",
        &webhook,
        Some(json!({ "content": "more", "allowed_mentions": { "parse": [] } })),
    );
    assert_ne!(second["id"], first["id"]);
    let _: Message = parse("a follow-up", second);
    let edited = bench.ok(
        "PATCH",
        &format!("{webhook}/messages/@original"),
        Some(json!({ "content": "edited" })),
    );
    assert_eq!(edited["content"], "edited");

    tokio::time::advance(Duration::from_secs(15 * 60)).await;
    assert_eq!(
        bench.code("POST", &webhook, Some(json!({ "content": "late" }))),
        50027
    );
}

#[test]
fn a_click_can_be_acknowledged_silently_then_followed_up() {
    let mut bench = Bench::new();
    let message_id = button_message(&mut bench);
    let (_, id) = invoke::click(
        &mut bench.world,
        DEPLOYS,
        message_id,
        ALICE,
        "hb1:approve:v",
    )
    .expect("clicked");
    let (callback, webhook) = interaction_paths(&bench, id);
    bench.ok("POST", &callback, Some(json!({ "type": 6 })));
    let follow_up = bench.ok(
        "POST",
        &webhook,
        Some(json!({ "content": "approved", "allowed_mentions": { "parse": [] } })),
    );
    assert_eq!(follow_up["content"], "approved");
    assert_eq!(follow_up["flags"], json!(0));
    // serenity reads the follow-up as a message: a click's metadata names the clicked message.
    let parsed: Message = parse("a click's follow-up", follow_up.clone());
    assert_eq!(
        follow_up["interaction_metadata"]["interacted_message_id"],
        message_id.to_string()
    );
    assert!(parsed.interaction_metadata.is_some());
    let (_, command) = {
        register(
            &mut bench,
            json!([{ "name": "ping", "description": "Ping" }]),
        );
        invoke::use_command(&mut bench.world, DEPLOYS, ALICE, "ping", &[]).expect("used")
    };
    let (callback, _) = interaction_paths(&bench, command);
    assert_eq!(
        bench.code("POST", &callback, Some(json!({ "type": 6 }))),
        50035,
        "only a click takes type 6"
    );
}

#[test]
fn members_join_and_leave_with_discords_payloads() {
    let mut bench = Bench::new();
    let (name, payload, _) =
        people::join(&mut bench.world, GUILD, FixtureUser::new(5005, "dave")).expect("joined");
    let Event::GuildMemberAdd(added) = dispatch(name, payload) else {
        panic!("not GUILD_MEMBER_ADD")
    };
    assert_eq!(added.member.user.name, "dave");
    assert_eq!(added.member.guild_id.get(), GUILD);
    assert!(people::join(&mut bench.world, GUILD, FixtureUser::new(5005, "dave")).is_err());
    let (name, payload, _) = people::leave(&mut bench.world, GUILD, 5005).expect("left");
    let Event::GuildMemberRemove(removed) = dispatch(name, payload) else {
        panic!("not GUILD_MEMBER_REMOVE")
    };
    assert_eq!(removed.user.id.get(), 5005);
    assert!(
        bench.world.user(5005).is_some(),
        "Discord still knows who left"
    );
}

#[test]
fn reactions_by_members_carry_the_emoji() {
    let mut bench = Bench::new();
    let message_id = bench.send(DEPLOYS, "react to me");
    let (name, payload, _) =
        people::react(&mut bench.world, DEPLOYS, message_id, ALICE, "👍", true).expect("reacted");
    let Event::ReactionAdd(added) = dispatch(name, payload) else {
        panic!("not MESSAGE_REACTION_ADD")
    };
    assert_eq!(added.reaction.emoji, ReactionType::Unicode("👍".into()));
    assert_eq!(added.reaction.user_id.map(|u| u.get()), Some(ALICE));
    assert!(added.reaction.member.is_some());
    let (name, payload, _) =
        people::react(&mut bench.world, DEPLOYS, message_id, ALICE, "party", true).expect("custom");
    let Event::ReactionAdd(custom) = dispatch(name, payload) else {
        panic!("not MESSAGE_REACTION_ADD")
    };
    assert!(matches!(custom.reaction.emoji, ReactionType::Custom { id, .. } if id.get() == PARTY));
    assert!(people::react(&mut bench.world, DEPLOYS, message_id, ALICE, "👍", true).is_err());
    let (name, payload, _) =
        people::react(&mut bench.world, DEPLOYS, message_id, ALICE, "👍", false).expect("removed");
    let Event::ReactionRemove(removed) = dispatch(name, payload) else {
        panic!("not MESSAGE_REACTION_REMOVE")
    };
    assert_eq!(removed.reaction.message_id.get(), message_id);
    let message = bench.world.message(DEPLOYS, message_id).expect("message");
    assert_eq!(
        message.object["reactions"].as_array().map(Vec::len),
        Some(1)
    );
}
