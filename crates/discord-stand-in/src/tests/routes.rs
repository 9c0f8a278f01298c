//! What each route the bot's actions use does to the world, and how it refuses.

use serde_json::json;

use super::bench::*;
use crate::ids::{rfc3339_from_unix_millis, unix_millis_now};

#[test]
fn editing_a_message_changes_it_and_dispatches_message_update() {
    let mut bench = Bench::new();
    let id = bench.send(DEPLOYS, "deploying");
    let path = format!("/channels/{DEPLOYS}/messages/{id}");
    let edited = bench.ok(
        "PATCH",
        &path,
        Some(json!({ "content": "deployed <@3001>" })),
    );
    assert_eq!(edited["content"], json!("deployed <@3001>"));
    assert!(edited["edited_timestamp"].is_string());
    assert_eq!(edited["mentions"][0]["id"], json!("3001"));
    let events = bench.events();
    assert_eq!(events[0].0, "MESSAGE_UPDATE");
    assert_eq!(events[0].1["guild_id"], json!(GUILD.to_string()));
    // Emptying it is refused like sending an empty message; too long is 50035.
    let empty = json!({ "content": "", "embeds": [] });
    assert_eq!(bench.code("PATCH", &path, Some(empty)), 50006);
    let long = json!({ "content": "x".repeat(2001) });
    assert_eq!(bench.code("PATCH", &path, Some(long)), 50035);
    let unknown = format!("/channels/{DEPLOYS}/messages/99");
    assert_eq!(
        bench.code("PATCH", &unknown, Some(json!({ "content": "x" }))),
        10008
    );
}

#[test]
fn only_the_bots_own_messages_can_be_edited() {
    let mut bench = Bench::new();
    let (event, _) =
        crate::messages::from_user(&mut bench.world, DEPLOYS, ALICE, "hi").expect("alice writes");
    let id = event["id"].as_str().expect("id").to_owned();
    let path = format!("/channels/{DEPLOYS}/messages/{id}");
    assert_eq!(
        bench.code("PATCH", &path, Some(json!({ "content": "x" }))),
        50005
    );
}

#[test]
fn deleting_a_message_removes_it() {
    let mut bench = Bench::new();
    let id = bench.send(DEPLOYS, "oops");
    let path = format!("/channels/{DEPLOYS}/messages/{id}");
    let answer = bench.call("DELETE", &path, None).expect("deleted");
    assert_eq!(answer.status, 204);
    assert!(bench.world.message(DEPLOYS, id).is_none());
    assert_eq!(bench.events()[0].0, "MESSAGE_DELETE");
    assert_eq!(bench.code("DELETE", &path, None), 10008);
}

#[test]
fn others_messages_need_moderation_rights_to_delete() {
    let mut fixture = fixture();
    fixture.guilds[0] = fixture.guilds[0].clone().bot_cannot_moderate();
    let mut bench = Bench::with(fixture);
    let (event, _) =
        crate::messages::from_user(&mut bench.world, DEPLOYS, ALICE, "hi").expect("alice writes");
    let id = event["id"].as_str().expect("id").to_owned();
    let path = format!("/channels/{DEPLOYS}/messages/{id}");
    assert_eq!(bench.code("DELETE", &path, None), 50013);
}

#[test]
fn reactions_take_unicode_and_the_guilds_custom_emojis() {
    let mut bench = Bench::new();
    let id = bench.send(DEPLOYS, "react to me");
    let react = |emoji: &str| format!("/channels/{DEPLOYS}/messages/{id}/reactions/{emoji}/@me");
    let answer = bench.call("PUT", &react("%F0%9F%91%8D"), None).expect("👍");
    assert_eq!(answer.status, 204);
    bench
        .call("PUT", &react("party:2020"), None)
        .expect("custom");
    // Again: no change, still 204.
    bench
        .call("PUT", &react("party:2020"), None)
        .expect("again");
    let message = bench.world.message(DEPLOYS, id).expect("message");
    let reactions = message.object["reactions"].as_array().expect("reactions");
    assert_eq!(reactions.len(), 2);
    assert_eq!(reactions[0]["emoji"]["name"], json!("👍"));
    assert_eq!(reactions[1]["emoji"]["id"], json!("2020"));
    let events = bench.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].0, "MESSAGE_REACTION_ADD");
    assert_eq!(bench.code("PUT", &react("nope:9999"), None), 10014);
    assert_eq!(bench.code("PUT", &react("thumbsup"), None), 10014);
    bench
        .call("DELETE", &react("party:2020"), None)
        .expect("removed");
    assert_eq!(bench.events()[0].0, "MESSAGE_REACTION_REMOVE");
}

#[test]
fn pins_on_both_paths_and_the_listing() {
    let mut bench = Bench::new();
    let first = bench.send(DEPLOYS, "first");
    let second = bench.send(DEPLOYS, "second");
    let answer = bench
        .call("PUT", &format!("/channels/{DEPLOYS}/pins/{first}"), None)
        .expect("pinned");
    assert_eq!(answer.status, 204);
    bench.ok(
        "PUT",
        &format!("/channels/{DEPLOYS}/messages/pins/{second}"),
        None,
    );
    assert_eq!(bench.events()[0].0, "CHANNEL_PINS_UPDATE");
    let listed = bench.ok("GET", &format!("/channels/{DEPLOYS}/pins"), None);
    assert_eq!(
        listed[0]["id"],
        json!(second.to_string()),
        "newest pin first"
    );
    assert_eq!(listed[0]["pinned"], json!(true));
    let paged = bench.ok("GET", &format!("/channels/{DEPLOYS}/messages/pins"), None);
    assert_eq!(paged["items"].as_array().map(Vec::len), Some(2));
    bench.ok("DELETE", &format!("/channels/{DEPLOYS}/pins/{first}"), None);
    assert_eq!(bench.world.pins.len(), 1);
    assert_eq!(
        bench.code("PUT", &format!("/channels/{DEPLOYS}/pins/77"), None),
        10008
    );
}

#[test]
fn crossposting_only_in_announcement_channels_and_once() {
    let mut bench = Bench::new();
    let news = bench.send(NEWS, "release 2.0");
    let path = format!("/channels/{NEWS}/messages/{news}/crosspost");
    let published = bench.ok("POST", &path, None);
    assert_eq!(published["flags"], json!(1));
    assert_eq!(bench.code("POST", &path, None), 40033);
    let plain = bench.send(DEPLOYS, "not news");
    let path = format!("/channels/{DEPLOYS}/messages/{plain}/crosspost");
    assert_eq!(bench.code("POST", &path, None), 50024);
}

#[test]
fn replies_and_tts() {
    let mut bench = Bench::new();
    let first = bench.send(DEPLOYS, "deploy?");
    let body = json!({
        "content": "done",
        "tts": true,
        "message_reference": { "message_id": first.to_string() },
    });
    let reply = bench.ok("POST", &format!("/channels/{DEPLOYS}/messages"), Some(body));
    assert_eq!(reply["type"], json!(19));
    assert_eq!(reply["tts"], json!(true));
    assert_eq!(reply["referenced_message"]["id"], json!(first.to_string()));
    let missing = json!({
        "content": "x",
        "message_reference": { "message_id": "5", "fail_if_not_exists": false },
    });
    let plain = bench.ok(
        "POST",
        &format!("/channels/{DEPLOYS}/messages"),
        Some(missing),
    );
    assert_eq!(plain["type"], json!(0));
}

#[test]
fn roles_are_created_edited_and_deleted() {
    let mut bench = Bench::new();
    let body = json!({ "name": "Releaser", "color": 0x3498db, "hoist": true, "permissions": "0" });
    let role = bench
        .call_with_reason(
            "POST",
            &format!("/guilds/{GUILD}/roles"),
            Some(body),
            Some("release"),
        )
        .expect("created")
        .body
        .expect("a role");
    assert_eq!(role["name"], json!("Releaser"));
    assert_eq!(role["color"], json!(0x3498db));
    assert_eq!(role["position"], json!(1));
    let events = bench.events();
    assert_eq!(events[0].0, "GUILD_ROLE_CREATE");
    let id = role["id"].as_str().expect("id").to_owned();
    let path = format!("/guilds/{GUILD}/roles/{id}");
    let edited = bench.ok(
        "PATCH",
        &path,
        Some(json!({ "name": "Shipper", "mentionable": true })),
    );
    assert_eq!(edited["name"], json!("Shipper"));
    assert_eq!(bench.events()[0].0, "GUILD_ROLE_UPDATE");
    // Alice gets it, then it is deleted and leaves her.
    let id: u64 = id.parse().expect("number");
    bench.ok(
        "PUT",
        &format!("/guilds/{GUILD}/members/{ALICE}/roles/{id}"),
        None,
    );
    bench.ok("DELETE", &path, None);
    let alice = bench
        .world
        .guild(GUILD)
        .and_then(|g| g.member(ALICE))
        .expect("alice");
    assert_eq!(alice.roles, vec![DEPLOYER]);
    assert_eq!(bench.code("DELETE", &path, None), 10011);
    // Out-of-range colour, a role above the bot, permissions the bot lacks.
    let roles = format!("/guilds/{GUILD}/roles");
    assert_eq!(
        bench.code("POST", &roles, Some(json!({ "color": 16777216 }))),
        50035
    );
    let admin = format!("/guilds/{GUILD}/roles/{ADMIN}");
    assert_eq!(
        bench.code("PATCH", &admin, Some(json!({ "name": "x" }))),
        50013
    );
    assert_eq!(bench.code("DELETE", &admin, None), 50013);
    let administrator = json!({ "permissions": "8" });
    assert_eq!(bench.code("POST", &roles, Some(administrator)), 50013);
}

#[test]
fn members_get_nicknames_and_timeouts() {
    let mut bench = Bench::new();
    let path = format!("/guilds/{GUILD}/members/{ALICE}");
    let until = rfc3339_from_unix_millis(unix_millis_now() as u64 + 3_600_000);
    let body = json!({ "nick": "Alice (deploys)", "communication_disabled_until": until });
    let member = bench.ok("PATCH", &path, Some(body));
    assert_eq!(member["nick"], json!("Alice (deploys)"));
    assert_eq!(member["communication_disabled_until"], json!(until));
    assert_eq!(bench.events()[0].0, "GUILD_MEMBER_UPDATE");
    let cleared = bench.ok(
        "PATCH",
        &path,
        Some(json!({ "communication_disabled_until": null })),
    );
    assert!(cleared["communication_disabled_until"].is_null());
    let too_far = rfc3339_from_unix_millis(unix_millis_now() as u64 + 29 * 86_400_000);
    let error = bench
        .call(
            "PATCH",
            &path,
            Some(json!({ "communication_disabled_until": too_far })),
        )
        .expect_err("refused");
    assert_eq!(
        error.body["errors"]["communication_disabled_until"]["_errors"][0]["code"],
        json!("INVALID_COMMUNICATION_DISABLED_TIMESTAMP")
    );
    let long = json!({ "nick": "x".repeat(33) });
    assert_eq!(bench.code("PATCH", &path, Some(long)), 50035);
    // The owner and protected members are out of the bot's reach; unknown members are 10007.
    let timeout = json!({ "communication_disabled_until": until });
    let owner = format!("/guilds/{GUILD}/members/{OWNER}");
    assert_eq!(bench.code("PATCH", &owner, Some(timeout.clone())), 50013);
    let mallory = format!("/guilds/{GUILD}/members/{MALLORY}");
    assert_eq!(bench.code("PATCH", &mallory, Some(timeout)), 50013);
    let stranger = format!("/guilds/{GUILD}/members/{BOB}");
    assert_eq!(
        bench.code("PATCH", &stranger, Some(json!({ "nick": "b" }))),
        10007
    );
    // The bot renames itself.
    let me = bench.ok(
        "PATCH",
        &format!("/guilds/{GUILD}/members/@me"),
        Some(json!({ "nick": "Deploy Bot" })),
    );
    assert_eq!(me["nick"], json!("Deploy Bot"));
}

#[test]
fn kicks_remove_members_but_not_the_owner() {
    let mut bench = Bench::new();
    let path = format!("/guilds/{GUILD}/members/{ALICE}");
    let answer = bench
        .call_with_reason("DELETE", &path, None, Some("spam"))
        .expect("kicked");
    assert_eq!(answer.status, 204);
    assert!(bench
        .world
        .guild(GUILD)
        .and_then(|g| g.member(ALICE))
        .is_none());
    assert!(bench.world.user(ALICE).is_some(), "still a Discord user");
    assert_eq!(bench.events()[0].0, "GUILD_MEMBER_REMOVE");
    assert_eq!(bench.code("DELETE", &path, None), 10007);
    assert_eq!(
        bench.code("DELETE", &format!("/guilds/{GUILD}/members/{OWNER}"), None),
        50013
    );
}

#[test]
fn bans_hold_their_reason_and_can_be_lifted() {
    let mut bench = Bench::new();
    crate::messages::from_user(&mut bench.world, DEPLOYS, ALICE, "spam").expect("written");
    let path = format!("/guilds/{GUILD}/bans/{ALICE}");
    let body = json!({ "delete_message_seconds": 3600 });
    let answer = bench
        .call_with_reason("PUT", &path, Some(body), Some("spam links"))
        .expect("banned");
    assert_eq!(answer.status, 204);
    assert!(bench
        .world
        .guild(GUILD)
        .and_then(|g| g.member(ALICE))
        .is_none());
    assert!(
        bench.world.messages.is_empty(),
        "her last hour of messages went"
    );
    let events: Vec<String> = bench.events().into_iter().map(|e| e.0).collect();
    assert_eq!(
        events,
        ["GUILD_MEMBER_REMOVE", "GUILD_BAN_ADD", "MESSAGE_DELETE"]
    );
    let ban = bench.ok("GET", &path, None);
    assert_eq!(ban["reason"], json!("spam links"));
    assert_eq!(ban["user"]["id"], json!(ALICE.to_string()));
    // serenity sends the window in the query.
    let bob = format!("/guilds/{GUILD}/bans/{BOB}?delete_message_seconds=604801");
    assert_eq!(bench.code("PUT", &bob, None), 50035);
    assert_eq!(
        bench.code("PUT", &format!("/guilds/{GUILD}/bans/{OWNER}"), None),
        50013
    );
    assert_eq!(
        bench.code("PUT", &format!("/guilds/{GUILD}/bans/{MALLORY}"), None),
        50013
    );
    assert_eq!(
        bench.code("PUT", &format!("/guilds/{GUILD}/bans/12345"), None),
        10013
    );
    bench.ok("DELETE", &path, None);
    assert_eq!(bench.code("DELETE", &path, None), 10026);
    assert_eq!(bench.code("GET", &path, None), 10026);
}

#[test]
fn channels_are_created_edited_and_deleted() {
    let mut bench = Bench::new();
    let body = json!({ "name": "Release Notes", "type": 0, "topic": "what shipped", "parent_id": OPS.to_string() });
    let answer = bench
        .call("POST", &format!("/guilds/{GUILD}/channels"), Some(body))
        .expect("created");
    assert_eq!(answer.status, 201);
    let channel = answer.body.expect("channel");
    assert_eq!(channel["name"], json!("release-notes"));
    assert_eq!(channel["parent_id"], json!(OPS.to_string()));
    assert_eq!(channel["topic"], json!("what shipped"));
    assert_eq!(bench.events()[0].0, "CHANNEL_CREATE");
    let id = channel["id"].as_str().expect("id").to_owned();
    let path = format!("/channels/{id}");
    let edited = bench.ok(
        "PATCH",
        &path,
        Some(json!({ "name": "changelog", "parent_id": null })),
    );
    assert_eq!(edited["name"], json!("changelog"));
    assert!(edited["parent_id"].is_null());
    assert_eq!(bench.events()[0].0, "CHANNEL_UPDATE");
    let deleted = bench.ok("DELETE", &path, None);
    assert_eq!(deleted["id"], json!(id));
    assert_eq!(bench.events()[0].0, "CHANNEL_DELETE");
    assert_eq!(bench.code("DELETE", &path, None), 10003);
    // A parent that is not a category, a type Discord does not create here, no name.
    let channels = format!("/guilds/{GUILD}/channels");
    let bad_parent = json!({ "name": "x", "parent_id": DEPLOYS.to_string() });
    assert_eq!(bench.code("POST", &channels, Some(bad_parent)), 50035);
    assert_eq!(
        bench.code("POST", &channels, Some(json!({ "name": "x", "type": 1 }))),
        50035
    );
    assert_eq!(
        bench.code("POST", &channels, Some(json!({ "type": 0 }))),
        50035
    );
}

#[test]
fn threads_start_from_messages_or_alone_and_take_messages() {
    let mut bench = Bench::new();
    let id = bench.send(DEPLOYS, "deploy 2.4.1");
    let path = format!("/channels/{DEPLOYS}/messages/{id}/threads");
    let body = json!({ "name": "deploy 2.4.1", "auto_archive_duration": 60 });
    let answer = bench
        .call("POST", &path, Some(body.clone()))
        .expect("started");
    assert_eq!(answer.status, 201);
    let thread = answer.body.expect("thread");
    assert_eq!(
        thread["id"],
        json!(id.to_string()),
        "a message's thread takes its id"
    );
    assert_eq!(thread["type"], json!(11));
    assert_eq!(
        thread["thread_metadata"]["auto_archive_duration"],
        json!(60)
    );
    assert_eq!(bench.events()[0].0, "THREAD_CREATE");
    assert_eq!(bench.code("POST", &path, Some(body)), 160004);
    let bad = json!({ "name": "x", "auto_archive_duration": 61 });
    let other = bench.send(DEPLOYS, "other");
    let other_path = format!("/channels/{DEPLOYS}/messages/{other}/threads");
    assert_eq!(bench.code("POST", &other_path, Some(bad)), 50035);
    // Messages go into the thread.
    bench.send(id, "in the thread");
    assert_eq!(
        bench
            .world
            .messages
            .iter()
            .filter(|m| m.channel_id == id)
            .count(),
        1
    );
    // Archive and lock it; a locked archived thread takes no messages.
    let archived = bench.ok(
        "PATCH",
        &format!("/channels/{id}"),
        Some(json!({ "archived": true, "locked": true })),
    );
    assert_eq!(archived["thread_metadata"]["locked"], json!(true));
    assert_eq!(bench.events()[0].0, "THREAD_UPDATE");
    let refused = bench.code(
        "POST",
        &format!("/channels/{id}/messages"),
        Some(json!({ "content": "x" })),
    );
    assert_eq!(refused, 50083);
    // A standalone private thread; none in a voice channel.
    let private = bench.ok(
        "POST",
        &format!("/channels/{DEPLOYS}/threads"),
        Some(json!({ "name": "incident", "type": 12, "invitable": false })),
    );
    assert_eq!(private["type"], json!(12));
    assert_eq!(private["thread_metadata"]["invitable"], json!(false));
    let voice = format!("/channels/{VOICE}/threads");
    assert_eq!(
        bench.code("POST", &voice, Some(json!({ "name": "x" }))),
        50024
    );
    // Deleting the thread.
    let thread_id = private["id"].as_str().expect("id").to_owned();
    bench.events();
    bench.ok("DELETE", &format!("/channels/{thread_id}"), None);
    assert_eq!(bench.events()[0].0, "THREAD_DELETE");
}

#[test]
fn invites_are_created_and_reused_unless_unique() {
    let mut bench = Bench::new();
    let path = format!("/channels/{DEPLOYS}/invites");
    let body = json!({ "max_age": 3600, "max_uses": 5, "temporary": false });
    let invite = bench.ok("POST", &path, Some(body.clone()));
    assert_eq!(invite["code"].as_str().map(str::len), Some(8));
    assert_eq!(invite["max_uses"], json!(5));
    assert_eq!(
        invite["guild"]["icon"],
        json!("a_0123456789abcdef0123456789abcdef")
    );
    assert_eq!(bench.events()[0].0, "INVITE_CREATE");
    let again = bench.ok("POST", &path, Some(body.clone()));
    assert_eq!(again["code"], invite["code"]);
    let mut unique = body;
    unique["unique"] = json!(true);
    let fresh = bench.ok("POST", &path, Some(unique));
    assert_ne!(fresh["code"], invite["code"]);
    assert_eq!(
        bench.ok("GET", &path, None).as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        bench.code("POST", &path, Some(json!({ "max_uses": 101 }))),
        50035
    );
    assert_eq!(
        bench.code("POST", &path, Some(json!({ "max_age": 604801 }))),
        50035
    );
    assert_eq!(
        bench.code("POST", &format!("/channels/{OPS}/invites"), None),
        50024
    );
    assert_eq!(bench.code("POST", "/channels/77/invites", None), 10003);
}

#[test]
fn the_guild_carries_icon_owner_and_counts() {
    let mut bench = Bench::new();
    let guild = bench.ok("GET", &format!("/guilds/{GUILD}"), None);
    assert_eq!(guild["icon"], json!("a_0123456789abcdef0123456789abcdef"));
    assert_eq!(guild["owner_id"], json!(OWNER.to_string()));
    assert!(guild.get("approximate_member_count").is_none());
    assert_eq!(guild["emojis"][0]["name"], json!("party"));
    let counted = bench.ok("GET", &format!("/guilds/{GUILD}?with_counts=true"), None);
    // owner, alice, mallory and the bot.
    assert_eq!(counted["approximate_member_count"], json!(4));
}

#[test]
fn moderation_flags_answer_missing_permissions() {
    let mut fixture = fixture();
    fixture.guilds[0] = fixture.guilds[0]
        .clone()
        .bot_cannot_moderate()
        .bot_cannot_manage_roles()
        .bot_cannot_manage_channels();
    let mut bench = Bench::with(fixture);
    let kick = format!("/guilds/{GUILD}/members/{ALICE}");
    assert_eq!(bench.code("DELETE", &kick, None), 50013);
    assert_eq!(
        bench.code("PUT", &format!("/guilds/{GUILD}/bans/{ALICE}"), None),
        50013
    );
    let roles = format!("/guilds/{GUILD}/roles");
    assert_eq!(
        bench.code("POST", &roles, Some(json!({ "name": "x" }))),
        50013
    );
    let role = format!("/guilds/{GUILD}/members/{ALICE}/roles/{DEPLOYER}");
    assert_eq!(bench.code("DELETE", &role, None), 50013);
    let channels = format!("/guilds/{GUILD}/channels");
    assert_eq!(
        bench.code("POST", &channels, Some(json!({ "name": "x" }))),
        50013
    );
    assert_eq!(
        bench.code("DELETE", &format!("/channels/{DEPLOYS}"), None),
        50013
    );
    let bot_role = bench.world.guild(GUILD).expect("guild").bot_permissions();
    assert_eq!(bot_role & (1 << 28), 0, "no MANAGE_ROLES");
}
