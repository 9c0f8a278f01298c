//! Checks every JSON shape the stand-in sends against serenity 0.12.5's own model types: a
//! gateway dispatch that does not fit becomes `Event::Unknown` silently, so only this catches it.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use serenity::model::application::CurrentApplicationInfo;
use serenity::model::channel::{GuildChannel, Message, PrivateChannel};
use serenity::model::event::{Event, GatewayEvent};
use serenity::model::gateway::{BotGateway, Ready};
use serenity::model::guild::{Ban, Guild, Member, PartialGuild, Role};
use serenity::model::invite::RichInvite;
use serenity::model::user::{CurrentUser, User};

use super::bench::{Bench, ALICE, BOT, DEPLOYS, GUILD, NEWS, OPS, OWNER};
use crate::fixture::{
    ChannelKind, Fixture, FixtureChannel, FixtureGuild, FixtureMember, FixtureRole, FixtureUser,
};
use crate::ids::{rfc3339_from_unix_millis, unix_millis_now};
use crate::messages;
use crate::shapes;
use crate::state::{DmChannel, World};

fn world() -> World {
    let fixture = Fixture::new(1000, "hookbot")
        .guild(
            FixtureGuild::new(2000, "Acme")
                .channel(2001, "deploys")
                .add_channel(FixtureChannel::new(2002, "Voice", ChannelKind::Voice))
                .add_channel(FixtureChannel::new(2003, "Ops", ChannelKind::Category))
                .add_channel(
                    FixtureChannel::new(2004, "news", ChannelKind::Announcement).bot_cannot_send(),
                )
                .role(2010, "Deployer")
                .add_role(
                    FixtureRole::new(2011, "Admin")
                        .position(9)
                        .bot_cannot_manage(),
                )
                .add_member(
                    FixtureMember::new(FixtureUser::new(3001, "alice").global_name("Alice A."))
                        .role(2010)
                        .nick("ali"),
                ),
        )
        .user(FixtureUser::new(4001, "bob"));
    World::new(fixture.completed().expect("valid fixture"))
}

fn parse<T: DeserializeOwned>(what: &str, value: Value) -> T {
    serde_json::from_value(value.clone())
        .unwrap_or_else(|error| panic!("serenity rejects the {what}: {error}\n{value:#}"))
}

/// Parses a dispatch the way the shard does and fails on `Event::Unknown`.
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

#[test]
fn users_parse() {
    let world = world();
    let bot: CurrentUser = parse("current user", shapes::current_user(&world.bot));
    assert!(bot.bot);
    assert_eq!(bot.name, "hookbot");
    let alice: User = parse("user", shapes::user(world.user(3001).expect("alice")));
    assert_eq!(alice.global_name.as_deref(), Some("Alice A."));
    assert!(!alice.bot);
}

#[test]
fn ready_parses_as_a_dispatch() {
    let world = world();
    let ready = shapes::ready(&world.bot, &[2000], "session", "ws://127.0.0.1:1/gateway");
    let Event::Ready(event) = dispatch("READY", ready.clone()) else {
        panic!("not READY")
    };
    assert_eq!(event.ready.user.id.get(), 1000);
    assert_eq!(event.ready.guilds[0].id.get(), 2000);
    let _: Ready = parse("READY", ready);
}

#[test]
fn guild_create_parses_with_channels_roles_and_members() {
    let world = world();
    let guild_state = world.guild(2000).expect("guild");
    for all_members in [false, true] {
        let data = shapes::guild_create(guild_state, 1000, &world.joined_at, all_members);
        let Event::GuildCreate(event) = dispatch("GUILD_CREATE", data.clone()) else {
            panic!("not GUILD_CREATE")
        };
        let guild = event.guild;
        assert_eq!(
            guild.channels.len(),
            4,
            "a channel failed to parse and was dropped"
        );
        // @everyone, Deployer, Admin and the bot's own managed role.
        assert_eq!(guild.roles.len(), 4);
        let everyone = &guild.roles[&guild.id.get().into()];
        assert_eq!(everyone.name, "@everyone");
        assert!(everyone.permissions.send_messages());
        let expected_members = if all_members { 2 } else { 1 };
        assert_eq!(guild.members.len(), expected_members);
        assert_eq!(guild.member_count, 2);
        let _: Guild = parse("guild", data);
    }
}

#[test]
fn rest_guild_objects_parse() {
    let world = world();
    let guild = world.guild(2000).expect("guild");
    let partial: PartialGuild = parse("partial guild", shapes::guild(guild, 1000));
    assert_eq!(partial.name, "Acme");
    let roles: Vec<Role> = parse("roles", json!(shapes::guild_roles(guild, 1000)));
    let bot_role = roles.iter().find(|role| role.managed).expect("bot role");
    assert!(bot_role.permissions.manage_roles());
    let deployer = roles
        .iter()
        .find(|role| role.name == "Deployer")
        .expect("Deployer");
    assert!(
        bot_role.position > deployer.position,
        "the bot must outrank what it manages"
    );
    let channels: Vec<GuildChannel> = parse("channels", json!(shapes::guild_channels(guild, 1000)));
    assert_eq!(channels.len(), 4);
    let news = channels.iter().find(|c| c.name == "news").expect("news");
    assert_eq!(
        news.permission_overwrites.len(),
        1,
        "the bot's SEND_MESSAGES denial"
    );
    let member = guild.member(3001).expect("alice");
    let mut member_json = shapes::member(member, &world.joined_at);
    // serenity's REST calls add guild_id themselves before parsing.
    member_json["guild_id"] = json!(2000);
    let member: Member = parse("member", member_json);
    assert_eq!(member.nick.as_deref(), Some("ali"));
    assert_eq!(member.roles[0].get(), 2010);
}

#[test]
fn dm_channel_parses() {
    let world = world();
    let channel = DmChannel {
        id: 5000,
        recipient_id: 4001,
    };
    let dm: PrivateChannel = parse(
        "DM channel",
        shapes::dm_channel(&channel, world.user(4001).expect("bob")),
    );
    assert_eq!(dm.recipient.name, "bob");
}

#[test]
fn sent_messages_parse_as_answers_and_as_message_create() {
    let mut world = world();
    let body = json!({
        "content": "billing 2.4.1 is live <@3001>",
        "embeds": [{ "title": "Deploy", "color": 3066993, "fields": [{ "name": "a", "value": "b" }] }],
        "allowed_mentions": { "parse": ["users"] },
        "nonce": "run-1",
        "enforce_nonce": true,
    });
    let sent = messages::create(&mut world, 2001, &body).expect("sent");
    let message: Message = parse("message", sent.object);
    assert_eq!(message.embeds[0].title.as_deref(), Some("Deploy"));
    assert_eq!(message.mentions[0].id.get(), 3001);
    let (event, _) = sent.event.expect("an event");
    let Event::MessageCreate(created) = dispatch("MESSAGE_CREATE", event) else {
        panic!("not MESSAGE_CREATE")
    };
    assert_eq!(created.message.guild_id.map(|id| id.get()), Some(2000));
    assert!(created.message.member.is_some());
}

#[test]
fn member_updates_parse() {
    let world = world();
    let member = world
        .guild(2000)
        .and_then(|g| g.member(3001))
        .expect("alice");
    let update = shapes::guild_member_update(member, 2000, &world.joined_at);
    let Event::GuildMemberUpdate(event) = dispatch("GUILD_MEMBER_UPDATE", update) else {
        panic!("not GUILD_MEMBER_UPDATE")
    };
    assert_eq!(event.roles[0].get(), 2010);
}

#[test]
fn resumed_and_control_payloads_parse() {
    assert!(matches!(dispatch("RESUMED", json!({})), Event::Resumed(_)));
    let hello = parse::<GatewayEvent>(
        "HELLO",
        json!({ "op": 10, "d": { "heartbeat_interval": 41250 } }),
    );
    assert!(matches!(hello, GatewayEvent::Hello(41250)));
    let ack = parse::<GatewayEvent>("heartbeat ACK", json!({ "op": 11 }));
    assert!(matches!(ack, GatewayEvent::HeartbeatAck));
    let invalid = parse::<GatewayEvent>("INVALID_SESSION", json!({ "op": 9, "d": false }));
    assert!(matches!(invalid, GatewayEvent::InvalidateSession(false)));
}

#[test]
fn application_and_gateway_lookups_parse() {
    let world = world();
    let owner = world.user(3001);
    let application: CurrentApplicationInfo = parse(
        "application",
        shapes::application(&world.bot, owner, world.application_flags()),
    );
    assert_eq!(application.id.get(), 1000);
    let flags = application.flags.expect("flags").bits();
    assert_eq!(flags, (1 << 12) | (1 << 14) | (1 << 18), "every switch on");
    let gateway: BotGateway = parse(
        "gateway/bot",
        shapes::bot_gateway("ws://127.0.0.1:1/gateway", 3),
    );
    assert_eq!(gateway.shards, 1);
}

/// Every dispatch the bench saw must parse as the event serenity expects.
fn parse_events(bench: &mut Bench) -> Vec<Event> {
    bench
        .events()
        .into_iter()
        .map(|(event, data, _)| dispatch(&event, data))
        .collect()
}

#[test]
fn edited_messages_reactions_pins_and_deletions_parse() {
    let mut bench = Bench::new();
    let id = bench.send(NEWS, "release");
    let path = format!("/channels/{NEWS}/messages/{id}");
    let edited: Message = parse(
        "edited message",
        bench.ok("PATCH", &path, Some(json!({ "content": "release 2.0" }))),
    );
    assert!(edited.edited_timestamp.is_some());
    bench.ok("PUT", &format!("{path}/reactions/%F0%9F%9A%80/@me"), None);
    bench.ok("PUT", &format!("{path}/reactions/party:2020/@me"), None);
    bench.ok("DELETE", &format!("{path}/reactions/party:2020/@me"), None);
    bench.ok("PUT", &format!("/channels/{NEWS}/pins/{id}"), None);
    let published: Message = parse(
        "crossposted message",
        bench.ok("POST", &format!("{path}/crosspost"), None),
    );
    assert_eq!(published.reactions.len(), 1);
    assert!(published.pinned);
    let pins: Vec<Message> = parse(
        "pins",
        bench.ok("GET", &format!("/channels/{NEWS}/pins"), None),
    );
    assert_eq!(pins.len(), 1);
    bench.ok("DELETE", &path, None);
    let events = parse_events(&mut bench);
    assert!(matches!(events[0], Event::MessageUpdate(_)));
    let Event::ReactionAdd(added) = &events[1] else {
        panic!("not MESSAGE_REACTION_ADD: {:?}", events[1])
    };
    assert!(added.reaction.emoji.unicode_eq("🚀"));
    assert!(matches!(events[3], Event::ReactionRemove(_)));
    assert!(matches!(events[4], Event::ChannelPinsUpdate(_)));
    assert!(matches!(events[5], Event::MessageUpdate(_)));
    assert!(matches!(events[6], Event::MessageDelete(_)));
}

#[test]
fn created_and_edited_roles_parse() {
    let mut bench = Bench::new();
    let body =
        json!({ "name": "Releaser", "color": 0x3498db, "hoist": true, "permissions": "2048" });
    let mut created = bench.ok("POST", &format!("/guilds/{GUILD}/roles"), Some(body));
    let id = created["id"].as_str().expect("id").to_owned();
    // serenity adds guild_id to role answers before parsing.
    created["guild_id"] = json!(GUILD);
    let role: Role = parse("created role", created);
    assert_eq!(role.colour.0, 0x3498db);
    assert!(role.permissions.send_messages());
    let path = format!("/guilds/{GUILD}/roles/{id}");
    let mut edited = bench.ok("PATCH", &path, Some(json!({ "name": "Shipper" })));
    edited["guild_id"] = json!(GUILD);
    let role: Role = parse("edited role", edited);
    assert_eq!(role.name, "Shipper");
    bench.ok("DELETE", &path, None);
    let events = parse_events(&mut bench);
    assert!(matches!(events[0], Event::GuildRoleCreate(_)));
    assert!(matches!(events[1], Event::GuildRoleUpdate(_)));
    assert!(matches!(events[2], Event::GuildRoleDelete(_)));
}

#[test]
fn edited_members_bans_and_removals_parse() {
    let mut bench = Bench::new();
    let until = rfc3339_from_unix_millis(unix_millis_now() as u64 + 3_600_000);
    let body = json!({ "nick": "Al", "communication_disabled_until": until });
    let mut answer = bench.ok(
        "PATCH",
        &format!("/guilds/{GUILD}/members/{ALICE}"),
        Some(body),
    );
    answer["guild_id"] = json!(GUILD);
    let member: Member = parse("edited member", answer);
    assert!(member.communication_disabled_until.is_some());
    let mut me = bench.ok(
        "PATCH",
        &format!("/guilds/{GUILD}/members/@me"),
        Some(json!({ "nick": "bot" })),
    );
    me["guild_id"] = json!(GUILD);
    let _: Member = parse("bot member", me);
    bench.ok("PUT", &format!("/guilds/{GUILD}/bans/{ALICE}"), None);
    let ban: Ban = parse(
        "ban",
        bench.ok("GET", &format!("/guilds/{GUILD}/bans/{ALICE}"), None),
    );
    assert_eq!(ban.user.id.get(), ALICE);
    let bans: Vec<Ban> = parse(
        "bans",
        bench.ok("GET", &format!("/guilds/{GUILD}/bans"), None),
    );
    assert_eq!(bans.len(), 1);
    bench.ok("DELETE", &format!("/guilds/{GUILD}/bans/{ALICE}"), None);
    let events = parse_events(&mut bench);
    let Event::GuildMemberUpdate(update) = &events[0] else {
        panic!("not GUILD_MEMBER_UPDATE")
    };
    assert!(update.communication_disabled_until.is_some());
    assert!(matches!(events[2], Event::GuildMemberRemove(_)));
    assert!(matches!(events[3], Event::GuildBanAdd(_)));
    assert!(matches!(events[4], Event::GuildBanRemove(_)));
}

#[test]
fn created_channels_threads_and_their_events_parse() {
    let mut bench = Bench::new();
    let body =
        json!({ "name": "release notes", "topic": "what shipped", "parent_id": OPS.to_string() });
    let channel: GuildChannel = parse(
        "created channel",
        bench.ok("POST", &format!("/guilds/{GUILD}/channels"), Some(body)),
    );
    assert_eq!(channel.parent_id.map(|id| id.get()), Some(OPS));
    assert_eq!(channel.topic.as_deref(), Some("what shipped"));
    let channel_path = format!("/channels/{}", channel.id);
    let _: GuildChannel = parse(
        "edited channel",
        bench.ok("PATCH", &channel_path, Some(json!({ "topic": null }))),
    );
    let events = parse_events(&mut bench);
    assert!(matches!(events[0], Event::ChannelCreate(_)));
    assert!(matches!(events[1], Event::ChannelUpdate(_)));
    let id = bench.send(DEPLOYS, "deploy");
    let body = json!({ "name": "deploy", "auto_archive_duration": 4320 });
    let thread: GuildChannel = parse(
        "thread from a message",
        bench.ok(
            "POST",
            &format!("/channels/{DEPLOYS}/messages/{id}/threads"),
            Some(body),
        ),
    );
    let metadata = thread.thread_metadata.expect("thread_metadata");
    assert_eq!(u16::from(metadata.auto_archive_duration), 4320);
    let starter: Message = parse(
        "starter message",
        bench
            .world
            .message(DEPLOYS, id)
            .expect("starter")
            .object
            .clone(),
    );
    assert!(starter.thread.is_some());
    let private: GuildChannel = parse(
        "private thread",
        bench.ok(
            "POST",
            &format!("/channels/{DEPLOYS}/threads"),
            Some(json!({ "name": "incident" })),
        ),
    );
    assert_eq!(
        private.kind,
        serenity::model::channel::ChannelType::PrivateThread
    );
    let thread_path = format!("/channels/{}", thread.id);
    let _: GuildChannel = parse(
        "archived thread",
        bench.ok("PATCH", &thread_path, Some(json!({ "archived": true }))),
    );
    let _: GuildChannel = parse("deleted thread", bench.ok("DELETE", &thread_path, None));
    let _: GuildChannel = parse("deleted channel", bench.ok("DELETE", &channel_path, None));
    let kinds: Vec<&'static str> = parse_events(&mut bench)
        .iter()
        .map(|event| match event {
            Event::ChannelCreate(_) => "CHANNEL_CREATE",
            Event::ChannelUpdate(_) => "CHANNEL_UPDATE",
            Event::ChannelDelete(_) => "CHANNEL_DELETE",
            Event::ThreadCreate(_) => "THREAD_CREATE",
            Event::ThreadUpdate(_) => "THREAD_UPDATE",
            Event::ThreadDelete(_) => "THREAD_DELETE",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "THREAD_CREATE",
            "THREAD_CREATE",
            "THREAD_UPDATE",
            "THREAD_DELETE",
            "CHANNEL_DELETE"
        ]
    );
}

#[test]
fn invites_parse_as_rich_invites() {
    let mut bench = Bench::new();
    let body = json!({ "max_age": 0, "max_uses": 100, "temporary": true, "unique": true });
    let invite: RichInvite = parse(
        "invite",
        bench.ok("POST", &format!("/channels/{DEPLOYS}/invites"), Some(body)),
    );
    assert_eq!(invite.max_uses, 100);
    assert!(invite.temporary);
    assert_eq!(invite.guild.expect("guild").name, "Acme");
    let listed: Vec<RichInvite> = parse(
        "invites",
        bench.ok("GET", &format!("/channels/{DEPLOYS}/invites"), None),
    );
    assert_eq!(listed.len(), 1);
    let events = parse_events(&mut bench);
    assert!(matches!(events[0], Event::InviteCreate(_)));
}

#[test]
fn guilds_with_icon_counts_emojis_and_threads_parse() {
    let mut bench = Bench::new();
    let partial: PartialGuild = parse(
        "guild with counts",
        bench.ok("GET", &format!("/guilds/{GUILD}?with_counts=true"), None),
    );
    assert_eq!(partial.owner_id.get(), OWNER);
    assert_eq!(partial.approximate_member_count, Some(4));
    assert_eq!(partial.emojis.len(), 1);
    let id = bench.send(DEPLOYS, "deploy");
    bench.ok(
        "POST",
        &format!("/channels/{DEPLOYS}/messages/{id}/threads"),
        Some(json!({ "name": "t" })),
    );
    let guild_state = bench.world.guild(GUILD).expect("guild");
    let data = shapes::guild_create(guild_state, BOT, &bench.world.joined_at, true);
    let Event::GuildCreate(event) = dispatch("GUILD_CREATE", data) else {
        panic!("not GUILD_CREATE")
    };
    assert!(event.guild.icon.is_some());
    assert_eq!(event.guild.threads.len(), 1);
    assert_eq!(
        event.guild.channels.len(),
        4,
        "threads are not channels here"
    );
    assert_eq!(event.guild.member_count, 4);
}
