//! Checks every JSON shape the stand-in sends against serenity 0.12.5's own model types: a
//! gateway dispatch that does not fit becomes `Event::Unknown` silently, so only this catches it.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use serenity::model::application::CurrentApplicationInfo;
use serenity::model::channel::{GuildChannel, Message, PrivateChannel};
use serenity::model::event::{Event, GatewayEvent};
use serenity::model::gateway::{BotGateway, Ready};
use serenity::model::guild::{Guild, Member, PartialGuild, Role};
use serenity::model::user::{CurrentUser, User};

use super::fixture::{
    ChannelKind, Fixture, FixtureChannel, FixtureGuild, FixtureMember, FixtureRole, FixtureUser,
};
use super::messages;
use super::shapes;
use super::state::{DmChannel, World};

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
    let application: CurrentApplicationInfo =
        parse("application", shapes::application(&world.bot, owner));
    assert_eq!(application.id.get(), 1000);
    let gateway: BotGateway = parse(
        "gateway/bot",
        shapes::bot_gateway("ws://127.0.0.1:1/gateway", 3),
    );
    assert_eq!(gateway.shards, 1);
}
