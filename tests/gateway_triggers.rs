//! CONTRACT §7 through the gateway: what members do in the stand-in (write, join, leave, react,
//! use a slash command) reaches hookbot through serenity and starts the right event's run with
//! the right variables, in its own server only; interactions are acknowledged within Discord's
//! 3 seconds and answered by `reply`; slash commands are registered only when they change; the
//! gateway intents follow the events, and a refused privileged intent leaves the rest working.

mod common;

use common::*;
use discord_stand_in::{FixtureGuild, FixtureMember, FixtureUser, PrivilegedIntent};
use serde_json::{json, Value};

const OTHER_SERVER: u64 = 123_456_789_012_345_999;
const OTHER_DEPLOYS: u64 = 200_000_000_000_000_901;
const ROBOT: u64 = 400_000_000_000_000_009;

/// GUILDS, GUILD_MEMBERS, GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS, MESSAGE_CONTENT.
const GUILDS: u64 = 1;
const GUILD_MEMBERS: u64 = 1 << 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
const MESSAGE_CONTENT: u64 = 1 << 15;

fn event(id: &str, trigger: &str, actions: &str) -> String {
    format!("id = \"{id}\"\nserver = \"{SERVER}\"\n\n[trigger]\n{trigger}\n\n{actions}")
}

fn say(channel: &str, content: &str) -> String {
    format!(
        "[[actions]]\ntype = \"send_message\"\nchannel = \"{channel}\"\ncontent = \"{content}\"\n"
    )
}

/// The test server with alice and a bot member, and a second server where alice is too.
fn two_servers() -> discord_stand_in::Fixture {
    let robot = FixtureMember::new(FixtureUser::new(ROBOT, "robot").bot());
    bot_in(server().add_member(alice()).add_member(robot)).guild(
        FixtureGuild::new(OTHER_SERVER, "Other")
            .channel(OTHER_DEPLOYS, "deploys")
            .add_member(alice()),
    )
}

fn by_hookbot(message: &Value) -> bool {
    message["author"]["id"]
        .as_str()
        .and_then(|id| id.parse::<u64>().ok())
        == Some(BOT_ID)
}

/// What hookbot wrote in a channel.
fn contents(h: &Harness, channel: u64) -> Vec<String> {
    h.sandbox
        .messages_in(channel)
        .iter()
        .filter(|m| by_hookbot(m))
        .map(|m| m["content"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn wait_for_message(h: &Harness, channel: u64, wanted: &str) {
    let found = h
        .sandbox
        .wait_until(DEADLINE, |s| {
            s.messages_in(channel)
                .iter()
                .any(|m| m["content"].as_str() == Some(wanted))
        })
        .await;
    assert!(
        found,
        "no message {wanted:?}; there are {:?}",
        contents(h, channel)
    );
}

#[tokio::test]
async fn messages_members_and_reactions_start_their_events_in_their_server_only() {
    let events = [
        (
            "said.toml",
            event(
                "said",
                "type = \"message\"\nchannel = \"#deploys\"",
                &format!(
                    "[[when]]\nleft = \"{{message_content}}\"\nop = \"not_equals\"\nright = \"skip me\"\n\n{}",
                    say(
                        "#general",
                        "{user_name} ({user_id}) said {message_content} in {channel_id} as {message_id}",
                    )
                ),
            ),
        ),
        (
            "join.toml",
            event(
                "join",
                "type = \"member_join\"",
                &say("#general", "welcome {user_name} {user_id}"),
            ),
        ),
        (
            "leave.toml",
            event(
                "leave",
                "type = \"member_leave\"",
                &say("#general", "bye {user_name} {user_id}"),
            ),
        ),
        (
            "thumbs.toml",
            event(
                "thumbs",
                "type = \"reaction_add\"\nemoji = \"👍\"",
                &say(
                    "#general",
                    "{user_id} reacted {emoji} in {channel_id} on {message_id}",
                ),
            ),
        ),
        (
            "unreact.toml",
            event(
                "unreact",
                "type = \"reaction_remove\"",
                &say("#general", "took back {emoji}"),
            ),
        ),
        (
            "hook.toml",
            message_event("hook", "#deploys", "from a webhook"),
        ),
    ];
    let events: Vec<(&str, &str)> = events.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let h = Harness::start_with(two_servers(), &events, "", "").await;
    assert_eq!(
        h.sandbox.identified_intents(),
        Some(GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | GUILD_MESSAGE_REACTIONS | MESSAGE_CONTENT),
        "exactly the intents these events need"
    );

    // Not started: another channel, another server, a bot, hookbot itself.
    h.sandbox
        .post_as(GENERAL, ALICE, "wrong channel")
        .expect("posted");
    h.sandbox
        .post_as(OTHER_DEPLOYS, ALICE, "wrong server")
        .expect("posted");
    h.sandbox.post_as(DEPLOYS, ROBOT, "beep").expect("posted");
    h.sandbox
        .post_as(DEPLOYS, ALICE, "skip me")
        .expect("posted, and filtered out by [[when]]");
    h.succeeded(&h.post("hook", json!({})).await).await;
    let shipped = h
        .sandbox
        .post_as(DEPLOYS, ALICE, "ship it")
        .expect("posted");
    let said_it = format!("alice ({ALICE}) said ship it in {DEPLOYS} as {shipped}");
    wait_for_message(&h, GENERAL, &said_it).await;

    h.sandbox.member_joins(SERVER, 5005, "dave").expect("joins");
    wait_for_message(&h, GENERAL, "welcome dave 5005").await;
    h.sandbox
        .member_joins(OTHER_SERVER, 5006, "erin")
        .expect("joins the other server");
    h.sandbox.member_leaves(SERVER, 5005).expect("leaves");
    wait_for_message(&h, GENERAL, "bye dave 5005").await;

    let target = h
        .sandbox
        .post_as(DEPLOYS, ROBOT, "react here")
        .expect("posted");
    h.sandbox
        .react_as(DEPLOYS, target, ALICE, "🎉", true)
        .expect("reacts");
    h.sandbox
        .react_as(DEPLOYS, target, ALICE, "👍", true)
        .expect("reacts");
    let reacted = format!("{ALICE} reacted 👍 in {DEPLOYS} on {target}");
    wait_for_message(&h, GENERAL, &reacted).await;
    h.sandbox
        .react_as(DEPLOYS, target, ALICE, "👍", false)
        .expect("takes it back");
    wait_for_message(&h, GENERAL, "took back 👍").await;

    let mut said = contents(&h, GENERAL);
    said.sort();
    let mut expected = vec![
        said_it,
        "welcome dave 5005".to_owned(),
        "bye dave 5005".to_owned(),
        reacted,
        "took back 👍".to_owned(),
    ];
    expected.sort();
    assert_eq!(said, expected, "nothing else started a run");
    let written = h.sandbox.messages_in(GENERAL);
    for message in written.iter().filter(|m| by_hookbot(m)) {
        assert_eq!(message["allowed_mentions"]["parse"], json!([]));
    }
    h.stop().await;
}

/// How many times hookbot wrote `wanted` in #general.
fn said_times(h: &Harness, wanted: &str) -> usize {
    contents(h, GENERAL).iter().filter(|c| *c == wanted).count()
}

async fn wait_for_times(h: &Harness, wanted: &str, times: usize) {
    let found = h
        .sandbox
        .wait_until(DEADLINE, |_| said_times(h, wanted) >= times)
        .await;
    assert!(
        found,
        "{wanted:?} {times} times: {:?}",
        contents(h, GENERAL)
    );
}

#[tokio::test]
async fn a_gateway_event_delivered_twice_starts_one_run_and_a_new_occurrence_another() {
    let events = [
        (
            "join.toml",
            event(
                "join",
                "type = \"member_join\"",
                &say("#general", "welcome {user_name}"),
            ),
        ),
        (
            "leave.toml",
            event(
                "leave",
                "type = \"member_leave\"",
                &say("#general", "bye {user_name} {user_id}"),
            ),
        ),
        (
            "thumbs.toml",
            event(
                "thumbs",
                "type = \"reaction_add\"",
                &say("#general", "reacted {emoji}"),
            ),
        ),
        (
            "unreact.toml",
            event(
                "unreact",
                "type = \"reaction_remove\"",
                &say("#general", "took back {emoji}"),
            ),
        ),
    ];
    let events: Vec<(&str, &str)> = events.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let h = Harness::start(&events).await;

    // Each dispatch once, then the same dispatch again (as after a RESUME), then, for joins and
    // reactions, a genuinely new occurrence of the same thing.
    h.sandbox.member_joins(SERVER, 5005, "dave").expect("joins");
    wait_for_times(&h, "welcome dave", 1).await;
    h.sandbox.dispatch_again("GUILD_MEMBER_ADD").expect("again");
    logs::logged(&["arrived again", "member_join"]).await;
    h.sandbox.member_leaves(SERVER, 5005).expect("leaves");
    wait_for_times(&h, "bye dave 5005", 1).await;
    h.sandbox
        .dispatch_again("GUILD_MEMBER_REMOVE")
        .expect("again");
    logs::logged(&["arrived again", "member_leave"]).await;
    h.sandbox
        .member_joins(SERVER, 5005, "dave")
        .expect("joins again");
    wait_for_times(&h, "welcome dave", 2).await;

    let target = h
        .sandbox
        .post_as(DEPLOYS, ALICE, "react here")
        .expect("posted");
    h.sandbox
        .react_as(DEPLOYS, target, ALICE, "👍", true)
        .expect("reacts");
    wait_for_times(&h, "reacted 👍", 1).await;
    h.sandbox
        .dispatch_again("MESSAGE_REACTION_ADD")
        .expect("again");
    logs::logged(&["arrived again", "reaction_add"]).await;
    h.sandbox
        .react_as(DEPLOYS, target, ALICE, "👍", false)
        .expect("takes it back");
    wait_for_times(&h, "took back 👍", 1).await;
    h.sandbox
        .dispatch_again("MESSAGE_REACTION_REMOVE")
        .expect("again");
    logs::logged(&["arrived again", "reaction_remove"]).await;
    h.sandbox
        .react_as(DEPLOYS, target, ALICE, "👍", true)
        .expect("reacts again");
    wait_for_times(&h, "reacted 👍", 2).await;

    let mut said = contents(&h, GENERAL);
    said.sort();
    let mut expected = [
        "welcome dave",
        "welcome dave",
        "bye dave 5005",
        "reacted 👍",
        "reacted 👍",
        "took back 👍",
    ];
    expected.sort();
    assert_eq!(said, expected, "one run per occurrence");
    h.stop().await;
}

fn deploy_command(reply: &str) -> String {
    let trigger = "type = \"command\"\nname = \"deploy\"\ndescription = \"Deploy a service\"\n\n\
        [[trigger.options]]\nname = \"service\"\ntype = \"string\"\ndescription = \"Which\"\nrequired = true\nchoices = [\"billing\", \"web\"]\n\n\
        [[trigger.options]]\nname = \"count\"\ntype = \"integer\"\ndescription = \"How many\"\n\n\
        [[trigger.options]]\nname = \"who\"\ntype = \"user\"\ndescription = \"For whom\"";
    let actions = format!(
        "[[actions]]\ntype = \"wait\"\nduration = \"4s\"\n\n[[actions]]\ntype = \"reply\"\n{reply}\n"
    );
    event("deploy", trigger, &actions)
}

#[tokio::test]
async fn a_slow_command_is_acknowledged_within_three_seconds_and_replied_to() {
    let reply = "content = \"deploying {option_service} x{option_count} for {option_who} by {user_name} ({user_id}) in {channel_id}\"\nephemeral = true";
    let quiet = event(
        "quiet",
        "type = \"command\"\nname = \"ping\"\ndescription = \"Ping\"",
        &say("#general", "pinged by {user_id}"),
    );
    let deploy = deploy_command(reply);
    let h = Harness::start(&[("deploy.toml", &deploy), ("quiet.toml", &quiet)]).await;
    let registered = h
        .sandbox
        .wait_until(DEADLINE, |s| s.commands(SERVER).len() == 2)
        .await;
    assert!(
        registered,
        "commands registered: {:?}",
        h.sandbox.commands(SERVER)
    );

    let id = h
        .sandbox
        .use_command(
            DEPLOYS,
            ALICE,
            "deploy",
            &[("service", "billing"), ("who", "alice")],
        )
        .expect("used");
    let answered = h
        .sandbox
        .wait_until(DEADLINE, |s| {
            s.interaction(id).is_some_and(|i| {
                i["original"]["flags"]
                    .as_u64()
                    .is_some_and(|f| f & 128 == 0)
            })
        })
        .await;
    let interaction = h.sandbox.interaction(id).expect("recorded");
    assert!(answered, "replied: {interaction:#}");
    assert_eq!(interaction["acknowledged"], "DeferredMessage");
    assert!(
        interaction["acknowledged_after_ms"]
            .as_u64()
            .expect("acknowledged")
            < 3000,
        "{interaction:#}"
    );
    assert_eq!(
        interaction["original"]["content"],
        format!("deploying billing x for {ALICE} by alice ({ALICE}) in {DEPLOYS}"),
        "an option left out renders as empty"
    );
    assert_eq!(interaction["original"]["flags"], json!(64), "ephemeral");
    let callbacks: Vec<Value> = h
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/callback"))
        .map(|r| json!(r.status))
        .collect();
    assert_eq!(callbacks, vec![json!(204)]);

    // A command whose run never replies gets a short answer at once.
    let id = h
        .sandbox
        .use_command(GENERAL, ALICE, "ping", &[])
        .expect("used");
    wait_for_message(&h, GENERAL, &format!("pinged by {ALICE}")).await;
    let interaction = h.sandbox.interaction(id).expect("recorded");
    assert_eq!(interaction["acknowledged"], "Message");
    assert_eq!(interaction["original"]["flags"], json!(64));
    h.stop().await;
}

fn put_count(h: &Harness) -> usize {
    h.sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("/commands"))
        .count()
}

fn get_count(h: &Harness) -> usize {
    h.sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/commands"))
        .count()
}

#[tokio::test]
async fn commands_are_registered_only_when_what_discord_has_differs() {
    let ping = |description: &str| {
        event(
            "ping",
            &format!("type = \"command\"\nname = \"ping\"\ndescription = \"{description}\""),
            "[[actions]]\ntype = \"reply\"\ncontent = \"pong\"\n",
        )
    };
    let mut h = Harness::start(&[("ping.toml", &ping("Ping"))]).await;
    assert!(
        h.sandbox
            .wait_until(DEADLINE, |s| s.commands(SERVER).len() == 1)
            .await
    );
    assert_eq!(put_count(&h), 1);

    // A restart with the same events: Discord is asked, and not written to.
    let gets = get_count(&h);
    h.halt().await;
    h.boot().await;
    assert!(
        h.sandbox
            .wait_until(DEADLINE, |_| get_count(&h) > gets)
            .await,
        "asked again"
    );
    assert_eq!(put_count(&h), 1, "nothing changed, nothing written");

    // A change is registered; a deleted event's command goes.
    std::fs::write(h.dir.path().join("events/ping.toml"), ping("Ping the bot")).unwrap();
    assert!(
        h.sandbox
            .wait_until(DEADLINE, |s| s
                .commands(SERVER)
                .first()
                .is_some_and(|c| c["description"] == "Ping the bot"))
            .await
    );
    assert_eq!(put_count(&h), 2);
    std::fs::remove_file(h.dir.path().join("events/ping.toml")).unwrap();
    assert!(
        h.sandbox
            .wait_until(DEADLINE, |s| s.commands(SERVER).is_empty())
            .await
    );
    assert_eq!(put_count(&h), 3);
    h.stop().await;
}

#[tokio::test]
async fn intents_follow_reloads_and_a_refused_privileged_intent_leaves_the_rest_working() {
    let reactions = event(
        "thumbs",
        "type = \"reaction_add\"",
        &say("#general", "reacted {emoji}"),
    );
    let join = event(
        "join",
        "type = \"member_join\"",
        &say("#general", "welcome {user_name}"),
    );
    let said = event(
        "said",
        "type = \"message\"",
        &say("#general", "said {message_content}"),
    );
    let hook = message_event("hook", "#deploys", "from a webhook");
    let h = Harness::start_with(
        fixture(),
        &[
            ("thumbs.toml", &reactions),
            ("join.toml", &join),
            ("hook.toml", &hook),
        ],
        "",
        "",
    )
    .await;
    let before = GUILDS | GUILD_MESSAGE_REACTIONS | GUILD_MEMBERS;
    assert_eq!(h.sandbox.identified_intents(), Some(before));

    // The portal enables Server Members but not Message Content; a message event needs it.
    h.sandbox
        .disable_privileged_intents(&[PrivilegedIntent::MessageContent]);
    std::fs::write(h.dir.path().join("events/said.toml"), said).unwrap();
    let identified = h
        .sandbox
        .wait_until(DEADLINE, |s| {
            s.identified_intents() == Some(before) && s.gateway_identified() >= 2
        })
        .await;
    assert!(
        identified,
        "asked with MESSAGE_CONTENT, refused, asked again with every intent the application has: {:?}",
        h.sandbox.identified_intents()
    );
    let asked_flags = h
        .sandbox
        .requests()
        .iter()
        .any(|r| r.method == "GET" && r.path.ends_with("/applications/@me"));
    assert!(asked_flags, "hookbot asked Discord which intents it has");
    let told = logs::logged(&["4014", "Message Content Intent", "for message events"]).await;
    assert!(!told.contains("Server Members"), "{told}");

    // Everything that does not need it keeps working, members events included.
    let target = h.sandbox.post_as(DEPLOYS, ALICE, "hello").expect("posted");
    h.sandbox
        .react_as(DEPLOYS, target, ALICE, "👍", true)
        .expect("reacts");
    wait_for_message(&h, GENERAL, "reacted 👍").await;
    h.sandbox
        .member_joins(SERVER, 5007, "frank")
        .expect("joins");
    wait_for_message(&h, GENERAL, "welcome frank").await;
    h.succeeded(&h.post("hook", json!({})).await).await;
    assert!(!contents(&h, GENERAL).iter().any(|c| c.starts_with("said")));
    h.stop().await;
}

#[tokio::test]
async fn without_the_application_flags_a_4014_drops_every_privileged_intent() {
    let join = event(
        "join",
        "type = \"member_join\"",
        &say("#general", "welcome {user_name}"),
    );
    let reactions = event(
        "thumbs",
        "type = \"reaction_add\"",
        &say("#general", "reacted {emoji}"),
    );
    let sandbox = discord_stand_in::Sandbox::start_with(fixture(), TOKEN, Default::default())
        .await
        .expect("stand-in starts");
    // The portal refuses Server Members, yet the flags claim it is on (they lag behind).
    sandbox.disable_privileged_intents(&[PrivilegedIntent::GuildMembers]);
    sandbox.set_application_flags(Some(1 << 14));
    let h = Harness::start_on(
        sandbox,
        &[("join.toml", &join), ("thumbs.toml", &reactions)],
    )
    .await;
    let identified = h
        .sandbox
        .wait_until(DEADLINE, |s| {
            s.identified_intents() == Some(GUILDS | GUILD_MESSAGE_REACTIONS)
        })
        .await;
    assert!(identified, "{:?}", h.sandbox.identified_intents());
    let target = h.sandbox.post_as(DEPLOYS, ALICE, "hello").expect("posted");
    h.sandbox
        .react_as(DEPLOYS, target, ALICE, "👍", true)
        .expect("reacts");
    wait_for_message(&h, GENERAL, "reacted 👍").await;
    h.stop().await;
}

#[tokio::test]
async fn buttons_run_their_event_also_after_a_restart_and_carry_long_values() {
    let long = "v".repeat(150);
    let offer = format!(
        "id = \"offer\"\nserver = \"{SERVER}\"\n\n[[actions]]\ntype = \"send_message\"\nchannel = \"#deploys\"\n\
         content = \"Deploy?\"\n\n[[actions.buttons]]\nlabel = \"Approve\"\nstyle = \"success\"\nevent = \"approve\"\nvalue = \"{{service}}\"\n\n\
         [[actions.buttons]]\nlabel = \"Long\"\nevent = \"approve\"\nvalue = \"{long}\"\n\n\
         [[actions.buttons]]\nlabel = \"Docs\"\nstyle = \"link\"\nurl = \"https://example.com/docs\"\n"
    );
    let approve = event(
        "approve",
        "type = \"button\"",
        "[[actions]]\ntype = \"reply\"\ncontent = \"approved {button_value} by {user_name} ({user_id}) on {message_id} in {channel_id}\"\n",
    );
    let mut h = Harness::start(&[("offer.toml", &offer), ("approve.toml", &approve)]).await;
    h.succeeded(
        &h.post("offer", variables_body(&[("service", json!("billing"))]))
            .await,
    )
    .await;
    let sent = h.sandbox.messages_in(DEPLOYS)[0].clone();
    let buttons = &sent["components"][0]["components"];
    assert_eq!(buttons[0]["label"], "Approve");
    assert_eq!(buttons[2]["url"], "https://example.com/docs");
    assert!(buttons[1]["custom_id"].as_str().unwrap().chars().count() <= 100);
    let message: u64 = sent["id"].as_str().unwrap().parse().unwrap();

    // A restart in between: the button itself says what to run.
    h.halt().await;
    h.boot().await;
    for (label, value) in [("Approve", "billing".to_owned()), ("Long", long.clone())] {
        let id = h
            .sandbox
            .click(DEPLOYS, message, ALICE, label)
            .expect("clicked");
        let wanted = format!("approved {value} by alice ({ALICE}) on {message} in {DEPLOYS}");
        let answered = h
            .sandbox
            .wait_until(DEADLINE, |s| {
                s.interaction(id).is_some_and(|i| {
                    i["follow_ups"]
                        .as_array()
                        .is_some_and(|f| f.iter().any(|m| m["content"] == wanted.as_str()))
                })
            })
            .await;
        let interaction = h.sandbox.interaction(id).expect("recorded");
        assert!(answered, "{interaction:#}");
        assert_eq!(interaction["acknowledged"], "DeferredUpdate");
        assert!(interaction["acknowledged_after_ms"].as_u64().unwrap() < 3000);
    }
    h.stop().await;
}
