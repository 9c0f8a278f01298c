//! The gateway honours the intents a real serenity client identifies with: events reach it
//! only when its intents allow them (interactions always), other people's message text only
//! with MESSAGE_CONTENT, and a privileged intent the portal does not enable closes the
//! connection with 4014, which serenity reports as such.

use std::time::Duration;

use serenity::all::{
    Client, ClientBuilder, Context, EventHandler, GatewayIntents, HttpBuilder, Interaction, Member,
    Message, Ready,
};
use serenity::gateway::GatewayError;
use tokio::sync::mpsc;

use crate::{Fixture, FixtureGuild, PrivilegedIntent, Sandbox};

const TOKEN: &str = "intents-test-token";
const DEADLINE: Duration = Duration::from_secs(20);
const BOT: u64 = 1000;
const GUILD: u64 = 2000;
const DEPLOYS: u64 = 2001;
const ALICE: u64 = 3001;

fn fixture() -> Fixture {
    Fixture::new(BOT, "hookbot").guild(
        FixtureGuild::new(GUILD, "Acme")
            .channel(DEPLOYS, "deploys")
            .member(ALICE, "alice"),
    )
}

#[derive(Debug, PartialEq)]
enum Seen {
    Ready,
    Message(String),
    Joined(String),
    Interaction,
}

struct Recorder(mpsc::UnboundedSender<Seen>);

#[serenity::async_trait]
impl EventHandler for Recorder {
    async fn ready(&self, _: Context, _: Ready) {
        let _ = self.0.send(Seen::Ready);
    }
    async fn message(&self, _: Context, message: Message) {
        let _ = self.0.send(Seen::Message(message.content));
    }
    async fn guild_member_addition(&self, _: Context, member: Member) {
        let _ = self.0.send(Seen::Joined(member.user.name));
    }
    async fn interaction_create(&self, _: Context, _: Interaction) {
        let _ = self.0.send(Seen::Interaction);
    }
}

async fn connect(
    sandbox: &Sandbox,
    intents: GatewayIntents,
) -> (Client, mpsc::UnboundedReceiver<Seen>) {
    let http = HttpBuilder::new(TOKEN)
        .proxy(sandbox.api_url())
        .ratelimiter_disabled(true)
        .build();
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let client = ClientBuilder::new_with_http(http, intents)
        .event_handler(Recorder(seen_tx))
        .await
        .expect("client builds");
    (client, seen)
}

async fn next(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(DEADLINE, seen.recv())
        .await
        .expect("serenity reported nothing in time")
        .expect("the handler is gone")
}

#[tokio::test]
async fn events_follow_the_identified_intents() {
    let sandbox = Sandbox::start(fixture(), TOKEN).await.expect("starts");
    let intents = GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES;
    let (mut client, mut seen) = connect(&sandbox, intents).await;
    let shards = client.shard_manager.clone();
    tokio::spawn(async move { client.start().await });
    assert_eq!(next(&mut seen).await, Seen::Ready);
    assert_eq!(sandbox.identified_intents(), Some(intents.bits()));

    sandbox.member_joins(GUILD, 5005, "dave").expect("joins");
    sandbox
        .post_as(DEPLOYS, ALICE, "hello there")
        .expect("posted");
    // No GUILD_MEMBERS: the join never arrives; no MESSAGE_CONTENT: the text is withheld.
    assert_eq!(next(&mut seen).await, Seen::Message(String::new()));

    shards.shutdown_all().await;

    let intents = GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::MESSAGE_CONTENT;
    let (mut client, mut seen) = connect(&sandbox, intents).await;
    let shards = client.shard_manager.clone();
    tokio::spawn(async move { client.start().await });
    assert_eq!(next(&mut seen).await, Seen::Ready);
    sandbox.member_joins(GUILD, 5006, "erin").expect("joins");
    assert_eq!(next(&mut seen).await, Seen::Joined("erin".into()));
    sandbox
        .post_as(DEPLOYS, ALICE, "hello again")
        .expect("posted");
    assert_eq!(next(&mut seen).await, Seen::Message("hello again".into()));
    shards.shutdown_all().await;
}

#[tokio::test]
async fn a_privileged_intent_the_portal_does_not_enable_is_refused_with_4014() {
    let sandbox = Sandbox::start(fixture(), TOKEN).await.expect("starts");
    sandbox.disable_privileged_intents(&[PrivilegedIntent::MessageContent]);
    let intents = GatewayIntents::GUILDS | GatewayIntents::MESSAGE_CONTENT;
    let (mut client, _seen) = connect(&sandbox, intents).await;
    let ended = tokio::time::timeout(DEADLINE, client.start())
        .await
        .expect("serenity gives up at once");
    match ended {
        Err(serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents)) => {}
        other => panic!("expected DisallowedGatewayIntents, got {other:?}"),
    }
    assert_eq!(sandbox.identified_intents(), Some(intents.bits()));

    // Without it, the same bot connects, and interactions reach it whatever its intents.
    let (mut client, mut seen) = connect(&sandbox, GatewayIntents::GUILDS).await;
    let shards = client.shard_manager.clone();
    tokio::spawn(async move { client.start().await });
    assert_eq!(next(&mut seen).await, Seen::Ready);
    let http = HttpBuilder::new(TOKEN)
        .proxy(sandbox.api_url())
        .ratelimiter_disabled(true)
        .application_id(BOT.into())
        .build();
    let ping = serenity::all::CreateCommand::new("ping").description("Ping");
    serenity::all::GuildId::new(GUILD)
        .set_commands(&http, vec![ping])
        .await
        .expect("registered");
    sandbox
        .use_command(DEPLOYS, ALICE, "ping", &[])
        .expect("used");
    assert_eq!(next(&mut seen).await, Seen::Interaction);
    shards.shutdown_all().await;
}
