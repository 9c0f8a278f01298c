//! Drives the real serenity client against the stand-in, end to end: gateway handshake and
//! cache, messages, DMs, roles, refusals, injected failures, heartbeats and a resume.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use serenity::all::{
    ChannelId, Client, ClientBuilder, Context, CreateAllowedMentions, CreateEmbed, CreateMessage,
    EventHandler, GatewayIntents, GuildId, HttpBuilder, Ready, RoleId, UserId,
};
use serenity::http::{Http, HttpError};
use tokio::sync::mpsc;

use crate::{
    ChannelKind, Failure, Fixture, FixtureChannel, FixtureGuild, FixtureRole, FixtureUser, Sandbox,
    LOG_TARGET,
};

const TOKEN: &str = "sandbox-test-token";
const DEADLINE: Duration = Duration::from_secs(20);

const BOT: u64 = 1000;
const GUILD: u64 = 2000;
const DEPLOYS: u64 = 2001;
const LOCKED: u64 = 2002;
const DEPLOYER: u64 = 2010;
const ADMIN: u64 = 2011;
const ALICE: u64 = 3001;
const BOB: u64 = 4001;
const CAROL: u64 = 4002;

fn fixture() -> Fixture {
    Fixture::new(BOT, "hookbot")
        .guild(
            FixtureGuild::new(GUILD, "Acme")
                .channel(DEPLOYS, "deploys")
                .add_channel(FixtureChannel::text(LOCKED, "announcements").bot_cannot_send())
                .role(DEPLOYER, "Deployer")
                .add_role(
                    FixtureRole::new(ADMIN, "Admin")
                        .position(5)
                        .bot_cannot_manage(),
                )
                .member(ALICE, "alice"),
        )
        .user(FixtureUser::new(BOB, "bob"))
        .user(FixtureUser::new(CAROL, "carol").dms_closed())
}

#[derive(Debug)]
enum Seen {
    Ready,
    CacheReady(Vec<GuildId>),
}

struct Recorder(mpsc::UnboundedSender<Seen>);

#[serenity::async_trait]
impl EventHandler for Recorder {
    async fn ready(&self, _: Context, _: Ready) {
        let _ = self.0.send(Seen::Ready);
    }

    async fn cache_ready(&self, _: Context, guilds: Vec<GuildId>) {
        let _ = self.0.send(Seen::CacheReady(guilds));
    }
}

/// `cargo test -- --nocapture` then shows what a `--sandbox` user would see.
fn show_the_plain_words_log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(format!("{LOG_TARGET}=debug"))
        .with_test_writer()
        .try_init();
}

fn http_for(sandbox: &Sandbox, token: &str) -> Http {
    HttpBuilder::new(token)
        .proxy(sandbox.api_url())
        .ratelimiter_disabled(true)
        .build()
}

async fn next_seen(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(DEADLINE, seen.recv())
        .await
        .expect("serenity reported nothing in time")
        .expect("the event handler is gone")
}

/// The status, Discord code and message of a refused request.
fn refusal(error: serenity::Error) -> (u16, isize, String) {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => (
            response.status_code.as_u16(),
            response.error.code,
            response.error.message,
        ),
        other => panic!("expected an unsuccessful request, got {other:?}"),
    }
}

#[tokio::test]
async fn serenity_runs_against_the_stand_in() {
    show_the_plain_words_log();
    let sandbox = Sandbox::start(fixture(), TOKEN)
        .await
        .expect("sandbox starts");
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let mut client: Client =
        ClientBuilder::new_with_http(http_for(&sandbox, TOKEN), GatewayIntents::GUILDS)
            .event_handler(Recorder(seen_tx))
            .await
            .expect("client builds");
    let shard_manager = Arc::clone(&client.shard_manager);
    let cache = Arc::clone(&client.cache);
    let http = Arc::clone(&client.http);
    let running = tokio::spawn(async move { client.start_autosharded().await });

    // Handshake: READY, then the cache fills from GUILD_CREATE.
    assert!(matches!(next_seen(&mut seen).await, Seen::Ready));
    let Seen::CacheReady(guilds) = next_seen(&mut seen).await else {
        panic!("expected cache_ready")
    };
    assert_eq!(guilds, vec![GuildId::new(GUILD)]);
    {
        let guild = cache
            .guild(GuildId::new(GUILD))
            .expect("the guild is cached");
        assert_eq!(guild.name, "Acme");
        assert_eq!(guild.channels[&ChannelId::new(DEPLOYS)].name, "deploys");
        assert_eq!(guild.roles[&RoleId::new(DEPLOYER)].name, "Deployer");
        assert!(guild.roles.contains_key(&RoleId::new(GUILD)), "@everyone");
        // Without GUILD_PRESENCES, Discord lists only the bot itself.
        assert_eq!(guild.members.len(), 1);
    }
    assert_eq!(sandbox.gateway_identified(), 1);
    // All serenity asks before connecting: where the gateway is, and how many shards.
    let startup: Vec<String> = sandbox
        .requests()
        .iter()
        .map(|request| format!("{} {} {}", request.method, request.path, request.status))
        .collect();
    assert_eq!(
        startup,
        ["GET /api/v10/gateway 200", "GET /api/v10/gateway/bot 200"]
    );
    assert!(
        sandbox
            .wait_until(DEADLINE, |s| s.heartbeats_acked() >= 1)
            .await,
        "serenity heartbeats one interval after IDENTIFY and the stand-in ACKs it"
    );

    // A message with no pings allowed, and an embed.
    let sent = ChannelId::new(DEPLOYS)
        .send_message(
            &http,
            CreateMessage::new()
                .content("billing 2.4.1 is live, thanks <@3001>")
                .embed(CreateEmbed::new().title("Deploy"))
                .allowed_mentions(CreateAllowedMentions::new()),
        )
        .await
        .expect("message sent");
    assert_eq!(sent.content, "billing 2.4.1 is live, thanks <@3001>");
    assert!(
        sent.mentions.is_empty(),
        "allowed_mentions forbade the ping"
    );
    let messages = sandbox.messages_in(DEPLOYS);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["embeds"][0]["title"], json!("Deploy"));
    assert_eq!(messages[0]["allowed_mentions"]["parse"], json!([]));

    // A DM: open the channel, then send into it.
    let dm = UserId::new(BOB)
        .create_dm_channel(&http)
        .await
        .expect("DM opened");
    assert_eq!(dm.recipient.id.get(), BOB);
    dm.id
        .send_message(&http, CreateMessage::new().content("your deploy finished"))
        .await
        .expect("DM sent");
    let dms = sandbox.dms_to(BOB);
    assert_eq!(dms.len(), 1);
    assert_eq!(dms[0]["content"], json!("your deploy finished"));

    // Roles, with an audit-log reason.
    http.add_member_role(
        GuildId::new(GUILD),
        UserId::new(ALICE),
        RoleId::new(DEPLOYER),
        Some("deploy finished"),
    )
    .await
    .expect("role added");
    assert_eq!(sandbox.member_roles(GUILD, ALICE), Some(vec![DEPLOYER]));
    let put = sandbox
        .requests()
        .into_iter()
        .find(|request| request.method == "PUT")
        .expect("the PUT was recorded");
    assert_eq!(
        put.path,
        format!("/api/v10/guilds/{GUILD}/members/{ALICE}/roles/{DEPLOYER}")
    );
    assert_eq!(put.status, 204);
    assert_eq!(put.header("x-audit-log-reason"), Some("deploy%20finished"));
    http.remove_member_role(
        GuildId::new(GUILD),
        UserId::new(ALICE),
        RoleId::new(DEPLOYER),
        None,
    )
    .await
    .expect("role removed");
    assert_eq!(sandbox.member_roles(GUILD, ALICE), Some(vec![]));

    // Refusals come back as serenity errors carrying Discord's code and message.
    let error = http
        .add_member_role(
            GuildId::new(GUILD),
            UserId::new(ALICE),
            RoleId::new(ADMIN),
            None,
        )
        .await
        .expect_err("the bot may not manage Admin");
    assert_eq!(
        refusal(error),
        (403, 50013, "Missing Permissions".to_owned())
    );
    let error = ChannelId::new(LOCKED)
        .send_message(&http, CreateMessage::new().content("hi"))
        .await
        .expect_err("the bot may not post here");
    assert_eq!(
        refusal(error),
        (403, 50013, "Missing Permissions".to_owned())
    );
    let carol_dm = UserId::new(CAROL)
        .create_dm_channel(&http)
        .await
        .expect("DM opened");
    let error = carol_dm
        .id
        .send_message(&http, CreateMessage::new().content("hi"))
        .await
        .expect_err("carol closed her DMs");
    assert_eq!(
        refusal(error),
        (403, 50007, "Cannot send messages to this user".to_owned())
    );

    // An injected failure is used up once.
    sandbox.inject(Failure::new(format!("/channels/{DEPLOYS}/messages"), 503).method("POST"));
    let send_again =
        || ChannelId::new(DEPLOYS).send_message(&http, CreateMessage::new().content("again"));
    let error = send_again().await.expect_err("injected 503");
    assert_eq!(
        refusal(error),
        (503, 0, "503: Service Unavailable".to_owned())
    );
    send_again().await.expect("the failure was used up");
    let statuses: Vec<u16> = sandbox
        .requests()
        .iter()
        .filter(|request| {
            request
                .path
                .ends_with(&format!("/channels/{DEPLOYS}/messages"))
        })
        .map(|request| request.status)
        .collect();
    assert_eq!(statuses, vec![200, 503, 200]);

    // A dropped connection is resumed, not identified anew.
    sandbox.close_gateway_connections(4000);
    assert!(
        sandbox
            .wait_until(DEADLINE, |s| s.gateway_identified() == 2)
            .await,
        "serenity resumed"
    );
    assert_eq!(sandbox.gateway_resumes(), 1);
    // The closed connection's session ended before the resumed one began: one at a time.
    assert_eq!(sandbox.gateway_sessions_live(), 1);
    assert_eq!(sandbox.gateway_sessions_peak(), 1);

    shard_manager.shutdown_all().await;
    assert!(
        sandbox
            .wait_until(DEADLINE, |s| s.gateway_sessions_live() == 0)
            .await,
        "a closed connection's session is no longer live"
    );
    let finished = tokio::time::timeout(DEADLINE, running)
        .await
        .expect("the client stops after shutdown_all")
        .expect("the client task did not panic");
    assert!(finished.is_ok(), "{finished:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_wrong_token_is_refused_like_discord() {
    let sandbox = Sandbox::start(fixture(), TOKEN)
        .await
        .expect("sandbox starts");
    let error = http_for(&sandbox, "not-the-token")
        .get_current_user()
        .await
        .expect_err("wrong token");
    assert_eq!(refusal(error), (401, 0, "401: Unauthorized".to_owned()));
    assert_eq!(sandbox.requests()[0].status, 401);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_gateway_closes_with_4004_on_a_wrong_token() {
    let sandbox = Sandbox::start(fixture(), TOKEN)
        .await
        .expect("sandbox starts");
    let mut client: Client =
        ClientBuilder::new_with_http(http_for(&sandbox, "not-the-token"), GatewayIntents::GUILDS)
            .await
            .expect("client builds: GET /gateway needs no token");
    // `start` skips GET /gateway/bot (which would answer 401), so IDENTIFY carries the token.
    let outcome = tokio::time::timeout(DEADLINE, client.start())
        .await
        .expect("serenity gives up on a rejected token");
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(sandbox.gateway_identified(), 0);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn lookups_answer_what_serenity_expects() {
    let sandbox = Sandbox::start(fixture(), TOKEN)
        .await
        .expect("sandbox starts");
    let http = http_for(&sandbox, TOKEN);
    let guild = GuildId::new(GUILD);

    assert_eq!(http.get_current_user().await.expect("@me").name, "hookbot");
    assert_eq!(
        http.get_user(UserId::new(BOB)).await.expect("bob").name,
        "bob"
    );
    let error = http
        .get_user(UserId::new(9))
        .await
        .expect_err("unknown user");
    assert_eq!(refusal(error), (404, 10013, "Unknown User".to_owned()));
    http.get_current_application_info()
        .await
        .expect("application");
    assert_eq!(http.get_guild(guild).await.expect("guild").name, "Acme");
    assert_eq!(http.get_channels(guild).await.expect("channels").len(), 2);
    let roles = http.get_guild_roles(guild).await.expect("roles");
    assert!(roles.iter().any(|role| role.name == "Deployer"));
    let alice = http
        .get_member(guild, UserId::new(ALICE))
        .await
        .expect("alice");
    assert_eq!(alice.user.name, "alice");
    let error = http
        .get_member(guild, UserId::new(BOB))
        .await
        .expect_err("not a member");
    assert_eq!(refusal(error), (404, 10007, "Unknown Member".to_owned()));
    let found = http
        .search_guild_members(guild, "AL", Some(5))
        .await
        .expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].user.id.get(), ALICE);
    let error = http
        .get_channel(ChannelId::new(12345))
        .await
        .expect_err("unknown channel");
    assert_eq!(refusal(error), (404, 10003, "Unknown Channel".to_owned()));
    let search = sandbox
        .requests()
        .into_iter()
        .find(|request| request.path.ends_with("/members/search"))
        .expect("recorded");
    assert!(search.query.contains("query=AL"), "{}", search.query);

    // A 429 is not retried with serenity's ratelimiter off: it comes back as an error.
    sandbox.inject(Failure::rate_limited("/users/@me", 1.5));
    let error = http.get_current_user().await.expect_err("rate limited");
    assert_eq!(
        refusal(error),
        (429, 0, "You are being rate limited.".to_owned())
    );
    let limited = sandbox.requests().pop().expect("recorded");
    assert_eq!(limited.status, 429);

    // An empty message, and a route the stand-in does not know.
    let error = ChannelId::new(DEPLOYS)
        .send_message(&http, CreateMessage::new().content(""))
        .await
        .expect_err("empty");
    assert_eq!(
        refusal(error),
        (400, 50006, "Cannot send an empty message".to_owned())
    );
    let error = http
        .get_guild_webhooks(guild)
        .await
        .expect_err("not served");
    assert_eq!(refusal(error), (404, 0, "404: Not Found".to_owned()));
    assert_eq!(sandbox.requests().last().map(|r| r.status), Some(404));
    sandbox.shutdown().await;
}

/// Every route the bot's actions use, called the way serenity's `Http` calls them.
#[tokio::test]
async fn serenity_http_drives_every_action_route() {
    use serenity::all::{
        AutoArchiveDuration, ChannelType, CreateChannel, CreateInvite, CreateThread, EditMember,
        EditMessage, EditRole, EditThread, ReactionType,
    };

    show_the_plain_words_log();
    let fixture = Fixture::new(BOT, "hookbot").guild(
        FixtureGuild::new(GUILD, "Acme")
            .owner(CAROL)
            .member(CAROL, "carol")
            .icon("0123456789abcdef0123456789abcdef")
            .emoji(5000, "party")
            .channel(DEPLOYS, "deploys")
            .add_channel(FixtureChannel::new(
                LOCKED,
                "news",
                ChannelKind::Announcement,
            ))
            .role(DEPLOYER, "Deployer")
            .member(ALICE, "alice")
            .member(BOB, "bob"),
    );
    let sandbox = Sandbox::start(fixture, TOKEN)
        .await
        .expect("sandbox starts");
    let http = http_for(&sandbox, TOKEN);
    let (guild, deploys) = (GuildId::new(GUILD), ChannelId::new(DEPLOYS));

    // Messages: edit, react, pin, thread, crosspost, delete.
    let sent = deploys
        .send_message(&http, CreateMessage::new().content("deploying").tts(true))
        .await
        .expect("sent");
    let edited = http
        .edit_message(
            deploys,
            sent.id,
            &EditMessage::new().content("deployed"),
            vec![],
        )
        .await
        .expect("edited");
    assert_eq!(edited.content, "deployed");
    http.create_reaction(deploys, sent.id, &ReactionType::Unicode("🚀".to_owned()))
        .await
        .expect("unicode reaction");
    let party = ReactionType::Custom {
        animated: false,
        id: 5000.into(),
        name: Some("party".to_owned()),
    };
    http.create_reaction(deploys, sent.id, &party)
        .await
        .expect("custom reaction");
    assert_eq!(
        sandbox.reactions(DEPLOYS, sent.id.get()),
        ["🚀", "party:5000"]
    );
    http.pin_message(deploys, sent.id, Some("keep"))
        .await
        .expect("pinned");
    assert_eq!(sandbox.pinned(DEPLOYS), [sent.id.get()]);
    assert_eq!(http.get_pins(deploys).await.expect("pins").len(), 1);
    let thread = http
        .create_thread_from_message(
            deploys,
            sent.id,
            &CreateThread::new("deploy").auto_archive_duration(AutoArchiveDuration::OneHour),
            None,
        )
        .await
        .expect("thread");
    ChannelId::new(thread.id.get())
        .send_message(&http, CreateMessage::new().content("in the thread"))
        .await
        .expect("sent into the thread");
    http.edit_thread(thread.id, &EditThread::new().archived(true), None)
        .await
        .expect("archived");
    let private = http
        .create_thread(
            deploys,
            &CreateThread::new("incident").kind(ChannelType::PrivateThread),
            None,
        )
        .await
        .expect("private thread");
    assert_eq!(private.kind, ChannelType::PrivateThread);
    let news = ChannelId::new(LOCKED)
        .send_message(&http, CreateMessage::new().content("2.0 is out"))
        .await
        .expect("news");
    http.crosspost_message(news.channel_id, news.id)
        .await
        .expect("published");
    let error = http
        .crosspost_message(news.channel_id, news.id)
        .await
        .expect_err("twice");
    assert_eq!(refusal(error).1, 40033);
    http.delete_message(deploys, sent.id, None)
        .await
        .expect("deleted");
    assert!(sandbox.message(DEPLOYS, sent.id.get()).is_none());

    // Roles.
    let role = http
        .create_role(
            guild,
            &EditRole::new()
                .name("Releaser")
                .colour(0x3498db)
                .hoist(true),
            Some("release day"),
        )
        .await
        .expect("role");
    assert_eq!(
        sandbox.role_named(GUILD, "Releaser").expect("stored")["color"],
        json!(0x3498db)
    );
    http.edit_role(guild, role.id, &EditRole::new().name("Shipper"), None)
        .await
        .expect("edited role");
    http.delete_role(guild, role.id, None)
        .await
        .expect("deleted role");
    assert!(sandbox.role_named(GUILD, "Shipper").is_none());

    // Members: nickname, timeout, kick, ban.
    let until = crate::ids::rfc3339_from_unix_millis(crate::ids::unix_millis_now() as u64 + 60_000);
    let member = http
        .edit_member(
            guild,
            UserId::new(ALICE),
            &EditMember::new()
                .nickname("Al")
                .disable_communication_until(until),
            Some("cool down"),
        )
        .await
        .expect("edited member");
    assert_eq!(member.nick.as_deref(), Some("Al"));
    assert!(
        sandbox.member(GUILD, ALICE).expect("alice")["communication_disabled_until"].is_string()
    );
    http.edit_nickname(guild, Some("Deploy Bot"), None)
        .await
        .expect("own nickname");
    http.kick_member(guild, UserId::new(ALICE), Some("spam"))
        .await
        .expect("kicked");
    assert!(sandbox.member(GUILD, ALICE).is_none());
    http.ban_user(guild, UserId::new(BOB), 1, Some("spam links"))
        .await
        .expect("banned");
    assert_eq!(
        sandbox.ban(GUILD, BOB).expect("banned")["reason"],
        json!("spam links")
    );
    let ban = http
        .get_ban(guild, UserId::new(BOB))
        .await
        .expect("looked up");
    assert_eq!(ban.expect("a ban").reason.as_deref(), Some("spam links"));
    let error = http
        .kick_member(guild, UserId::new(CAROL), None)
        .await
        .expect_err("the owner");
    assert_eq!(refusal(error).1, 50013);
    http.remove_ban(guild, UserId::new(BOB), None)
        .await
        .expect("unbanned");
    let error = http
        .remove_ban(guild, UserId::new(BOB), None)
        .await
        .expect_err("not banned");
    assert_eq!(refusal(error).1, 10026);

    // Channels and invites.
    let channel = http
        .create_channel(
            guild,
            &CreateChannel::new("Release Notes").topic("what shipped"),
            None,
        )
        .await
        .expect("channel");
    assert_eq!(channel.name, "release-notes");
    assert!(sandbox.channel_named(GUILD, "release-notes").is_some());
    let invite = http
        .create_invite(
            channel.id,
            &CreateInvite::new().max_age(3600).max_uses(10),
            None,
        )
        .await
        .expect("invite");
    assert_eq!(invite.max_uses, 10);
    assert_eq!(sandbox.invites(channel.id.get()).len(), 1);
    http.delete_channel(channel.id, None)
        .await
        .expect("deleted channel");
    assert!(sandbox.channel(channel.id.get()).is_none());

    let counted = http.get_guild_with_counts(guild).await.expect("guild");
    // carol and the bot: alice was kicked, bob banned.
    assert_eq!(counted.approximate_member_count, Some(2));
    assert!(counted.icon.is_some());

    let reasons = sandbox.audit_reasons();
    assert!(reasons.contains(&(
        format!("PUT /guilds/{GUILD}/bans/{BOB}"),
        "spam links".to_owned()
    )));
    let failed: Vec<String> = sandbox
        .requests()
        .iter()
        .filter(|r| r.status >= 400)
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    sandbox.shutdown().await;
}
