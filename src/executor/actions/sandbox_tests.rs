//! `perform` against the Discord stand-in, through a real serenity client: what each action
//! changes in the stand-in's world, its output and summary, the audit-log reasons, the dry run,
//! and every request body checked against Discord's OpenAPI spec.

use std::time::Duration;

use serde_json::Value;

use super::{perform, ActionContext, Performed, DRY_RUN_VALUE};
use crate::discord::{CallError, Discord};
use crate::events::{
    ActionKind, ChannelKind as Kind, ColorSpec, EmbedFieldSpec, EmbedSpec, MessageSpec,
    RoleSettings,
};
use crate::lang::templates::{Template, Variables};
use crate::sandbox::{
    ChannelKind, Failure, Fixture, FixtureChannel, FixtureGuild, FixtureMember, FixtureRole,
    FixtureUser, Sandbox,
};
use serenity::all::GuildId;

#[path = "../../../tests/common/openapi.rs"]
mod openapi;

const TOKEN: &str = "actions-test-token";
const BOT: u64 = 1000;
const GUILD: u64 = 2000;
const DEPLOYS: u64 = 2001;
const VOICE: u64 = 2002;
const OPS: u64 = 2003;
const NEWS: u64 = 2004;
const STANDUP: u64 = 2005;
const DEPLOYER: u64 = 2010;
const ADMIN: u64 = 2011;
const PARTY: u64 = 2020;
const OWNER: u64 = 3000;
const ALICE: u64 = 3001;
const MALLORY: u64 = 3002;
const BOB: u64 = 4001;
const OTHER_GUILD: u64 = 5000;
const ELSEWHERE: u64 = 5001;

fn fixture() -> Fixture {
    Fixture::new(BOT, "hookbot")
        .guild(
            FixtureGuild::new(GUILD, "Acme")
                .owner(OWNER)
                .emoji(PARTY, "party")
                .channel(DEPLOYS, "deploys")
                .add_channel(FixtureChannel::new(VOICE, "Voice", ChannelKind::Voice))
                .add_channel(FixtureChannel::new(OPS, "Ops", ChannelKind::Category))
                .add_channel(FixtureChannel::new(NEWS, "news", ChannelKind::Announcement))
                .add_channel(FixtureChannel::thread(STANDUP, "standup", DEPLOYS))
                .role(DEPLOYER, "Deployer")
                .add_role(
                    FixtureRole::new(ADMIN, "Admin")
                        .position(9)
                        .bot_cannot_manage(),
                )
                .member(OWNER, "owner")
                .add_member(
                    FixtureMember::new(FixtureUser::new(ALICE, "alice"))
                        .role(DEPLOYER)
                        .nick("ali"),
                )
                .add_member(FixtureMember::new(FixtureUser::new(MALLORY, "mallory"))),
        )
        .guild(FixtureGuild::new(OTHER_GUILD, "Other").channel(ELSEWHERE, "elsewhere"))
        .user(FixtureUser::new(BOB, "bob"))
}

struct Bot {
    sandbox: Sandbox,
    discord: Discord,
    vars: Variables,
}

impl Bot {
    async fn start() -> Bot {
        let sandbox = Sandbox::start(fixture(), TOKEN)
            .await
            .expect("the stand-in starts");
        let discord = Discord::connect(TOKEN, Some(&sandbox.api_url()))
            .await
            .expect("serenity connects to the stand-in");
        assert!(discord.wait_cache_ready(Duration::from_secs(10)).await);
        let mut vars = Variables::new();
        vars.insert("service", "billing");
        vars.insert("version", "2.4.1");
        vars.insert("who", "alice");
        Bot {
            sandbox,
            discord,
            vars,
        }
    }

    async fn run(&self, kind: ActionKind) -> Result<Performed, CallError> {
        self.perform(kind, false).await
    }

    async fn dry(&self, kind: ActionKind) -> Result<Performed, CallError> {
        self.perform(kind, true).await
    }

    async fn perform(&self, kind: ActionKind, dry_run: bool) -> Result<Performed, CallError> {
        let pacer = crate::pacing::Pacer::new();
        let ctx = ActionContext {
            discord: &self.discord,
            guild: GuildId::new(GUILD),
            dry_run,
            pacer: &pacer,
            nonce: None,
            repeat: false,
        };
        perform(&ctx, &kind, &self.vars).await
    }

    fn writes(&self) -> Vec<String> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// Every request that reached the stand-in has a body Discord's spec accepts.
    async fn stop(self) {
        let spec = openapi::DiscordSpec::get();
        let mut problems = Vec::new();
        for request in self.sandbox.requests() {
            if request.path.ends_with("/gateway") || request.path.ends_with("/gateway/bot") {
                continue;
            }
            if let Err(errors) =
                spec.validate(&request.method, &request.path, request.body.as_ref())
            {
                problems.extend(errors);
            }
        }
        self.discord.shutdown().await;
        self.sandbox.shutdown().await;
        assert!(
            problems.is_empty(),
            "requests Discord would refuse: {problems:#?}"
        );
    }
}

fn t(text: &str) -> Template {
    Template::new(text)
}

fn some(text: &str) -> Option<Template> {
    Some(t(text))
}

fn text_message(content: &str) -> MessageSpec {
    MessageSpec {
        content: some(content),
        ..MessageSpec::default()
    }
}

fn out<'a>(performed: &'a Performed, field: &str) -> &'a str {
    performed.output[field]
        .as_str()
        .unwrap_or_else(|| panic!("no output field {field}: {:?}", performed.output))
}

fn id_of(performed: &Performed, field: &str) -> u64 {
    out(performed, field).parse().expect("an id")
}

#[tokio::test]
async fn message_actions_change_the_stand_in() {
    let bot = Bot::start().await;
    let asked = bot
        .sandbox
        .post_as(DEPLOYS, ALICE, "deploy billing please")
        .expect("alice can post");

    // send_message: a reply, read aloud, with an embed, the content cut to 2000.
    let long = format!("{} deployed {}", "x".repeat(2100), "{version}");
    let sent = bot
        .run(ActionKind::SendMessage {
            channel: t("#deploys"),
            message: MessageSpec {
                content: Some(Template::new(long)),
                embeds: vec![EmbedSpec {
                    title: some("{service} {version}"),
                    color: Some(ColorSpec::Template(t("#00ff00"))),
                    fields: vec![EmbedFieldSpec {
                        name: t("by"),
                        value: t("{who}"),
                        inline: true,
                    }],
                    ..EmbedSpec::default()
                }],
                ..MessageSpec::default()
            },
            reply_to: Some(Template::new(asked.to_string())),
            tts: true,
        })
        .await
        .expect("send_message");
    let message_id = id_of(&sent, "id");
    assert_eq!(out(&sent, "channel_id"), DEPLOYS.to_string());
    assert_eq!(
        out(&sent, "url"),
        format!("https://discord.com/channels/{GUILD}/{DEPLOYS}/{message_id}")
    );
    assert_eq!(
        sent.summary,
        format!("sent message {message_id} to #deploys")
    );
    assert_eq!(
        sent.warnings,
        vec!["content was 2115 characters; cut to 2000"]
    );
    assert_eq!(sent.channel, Some((DEPLOYS, "deploys".to_owned())));
    let stored = bot.sandbox.message(DEPLOYS, message_id).expect("stored");
    assert_eq!(stored["content"].as_str().unwrap().chars().count(), 2000);
    assert_eq!(stored["tts"], true);
    assert_eq!(stored["embeds"][0]["title"], "billing 2.4.1");
    assert_eq!(stored["embeds"][0]["fields"][0]["value"], "alice");
    assert_eq!(stored["allowed_mentions"]["parse"], serde_json::json!([]));
    assert_eq!(stored["message_reference"]["message_id"], asked.to_string());

    // edit_message
    let edited = bot
        .run(ActionKind::EditMessage {
            channel: t(&DEPLOYS.to_string()),
            message_id: Template::new(message_id.to_string()),
            message: text_message("{service} is live"),
        })
        .await
        .expect("edit_message");
    assert_eq!(id_of(&edited, "id"), message_id);
    let stored = bot.sandbox.message(DEPLOYS, message_id).unwrap();
    assert_eq!(stored["content"], "billing is live");

    // react: unicode, <:name:id>, and a custom emoji by name (looked up in the guild).
    for emoji in ["🎉", "<:party:2020>", "party"] {
        let reacted = bot
            .run(ActionKind::React {
                channel: t("deploys"),
                message_id: Template::new(message_id.to_string()),
                emoji: t(emoji),
            })
            .await
            .unwrap_or_else(|e| panic!("react {emoji}: {e}"));
        assert_eq!(id_of(&reacted, "message_id"), message_id);
    }
    let reactions = bot.sandbox.reactions(DEPLOYS, message_id);
    assert!(reactions.contains(&"🎉".to_owned()), "{reactions:?}");
    assert!(
        reactions.contains(&format!("party:{PARTY}")),
        "{reactions:?}"
    );
    let unknown = bot
        .run(ActionKind::React {
            channel: t("deploys"),
            message_id: Template::new(message_id.to_string()),
            emoji: t("shipit"),
        })
        .await
        .unwrap_err();
    // Not in the cache, so Discord's emoji list is asked; the stand-in does not serve
    // `GET /guilds/{id}/emojis` yet and answers 404, where Discord would list them and hookbot
    // would say `no custom emoji named "shipit"` (not_found).
    assert!(
        matches!(
            unknown,
            CallError::NotFound(_) | CallError::Discord { status: 404, .. }
        ),
        "{unknown:?}"
    );
    assert_eq!(bot.sandbox.reactions(DEPLOYS, message_id).len(), 2);

    // pin, unpin
    let pin = |kind: fn(Template, Template, Option<Template>) -> ActionKind| {
        kind(
            t("#deploys"),
            Template::new(message_id.to_string()),
            some("release {version}"),
        )
    };
    bot.run(pin(|channel, message_id, reason| ActionKind::PinMessage {
        channel,
        message_id,
        reason,
    }))
    .await
    .expect("pin_message");
    assert_eq!(bot.sandbox.pinned(DEPLOYS), vec![message_id]);
    bot.run(pin(|channel, message_id, reason| {
        ActionKind::UnpinMessage {
            channel,
            message_id,
            reason,
        }
    }))
    .await
    .expect("unpin_message");
    assert!(bot.sandbox.pinned(DEPLOYS).is_empty());

    // publish_message in an announcement channel
    let news = bot
        .run(ActionKind::SendMessage {
            channel: t("news"),
            message: text_message("{service} {version} is out"),
            reply_to: None,
            tts: false,
        })
        .await
        .expect("send to #news");
    let published = bot
        .run(ActionKind::PublishMessage {
            channel: t("news"),
            message_id: Template::new(out(&news, "id")),
        })
        .await
        .expect("publish_message");
    assert_eq!(out(&published, "id"), out(&news, "id"));

    // send_dm
    let dm = bot
        .run(ActionKind::SendDm {
            user: t(&BOB.to_string()),
            message: text_message("{service} {version} is out"),
        })
        .await
        .expect("send_dm");
    let dms = bot.sandbox.dms_to(BOB);
    assert_eq!(dms.len(), 1);
    assert_eq!(dms[0]["content"], "billing 2.4.1 is out");
    assert_eq!(dm.channel.as_ref().map(|c| c.1.as_str()), Some("@bob"));
    assert!(out(&dm, "url").starts_with("https://discord.com/channels/@me/"));

    // delete_message, with its reason in the audit log
    let deleted = bot
        .run(ActionKind::DeleteMessage {
            channel: t("#deploys"),
            message_id: Template::new(message_id.to_string()),
            reason: some("cleanup after {service}"),
        })
        .await
        .expect("delete_message");
    assert_eq!(
        deleted.summary,
        format!("deleted message {message_id} in #deploys (reason: \"cleanup after billing\")")
    );
    assert!(bot.sandbox.message(DEPLOYS, message_id).is_none());
    let reasons = bot.sandbox.audit_reasons();
    for (route, reason) in [
        ("PUT", "release 2.4.1"),
        ("DELETE", "release 2.4.1"),
        ("DELETE", "cleanup after billing"),
    ] {
        assert!(
            reasons
                .iter()
                .any(|(r, text)| r.starts_with(route) && text == reason),
            "{route} {reason}: {reasons:?}"
        );
    }

    // An empty message is refused before any request.
    let before = bot.sandbox.requests().len();
    let empty = bot
        .run(ActionKind::SendMessage {
            channel: t("#deploys"),
            message: MessageSpec {
                content: some("   "),
                ..MessageSpec::default()
            },
            reply_to: None,
            tts: false,
        })
        .await
        .unwrap_err();
    assert!(matches!(empty, CallError::Invalid(_)), "{empty}");
    assert!(empty.to_string().contains("empty"), "{empty}");
    assert_eq!(bot.sandbox.requests().len(), before);
    bot.stop().await;
}

#[tokio::test]
async fn role_and_member_actions_change_the_stand_in() {
    let bot = Bot::start().await;

    let added = bot
        .run(ActionKind::AddRole {
            user: t("@{who}"),
            role: t("Deployer"),
            reason: some("on call"),
        })
        .await
        .expect("add_role");
    assert_eq!(out(&added, "user_id"), ALICE.to_string());
    assert_eq!(out(&added, "role_id"), DEPLOYER.to_string());
    bot.run(ActionKind::RemoveRole {
        user: t(&format!("<@{ALICE}>")),
        role: t(&format!("<@&{DEPLOYER}>")),
        reason: None,
    })
    .await
    .expect("remove_role");
    assert_eq!(bot.sandbox.member_roles(GUILD, ALICE), Some(vec![]));

    // A role above the bot: Discord's refusal keeps its status and code.
    let refused = bot
        .run(ActionKind::AddRole {
            user: t("alice"),
            role: t("Admin"),
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused, CallError::Discord { status: 403, .. }),
        "{refused:?}"
    );
    assert_eq!(refused.code(), "50013");

    let created = bot
        .run(ActionKind::CreateRole {
            settings: RoleSettings {
                name: some("{service} owners"),
                color: Some(ColorSpec::Fixed(0x3366ff)),
                hoist: Some(true),
                mentionable: Some(true),
                permissions: Some(1 << 11),
            },
            reason: some("new team"),
        })
        .await
        .expect("create_role");
    let role_id = id_of(&created, "id");
    assert_eq!(out(&created, "name"), "billing owners");
    assert_eq!(out(&created, "mention"), format!("<@&{role_id}>"));
    let role = bot.sandbox.role_named(GUILD, "billing owners").unwrap();
    assert_eq!(role["color"], 0x3366ff);
    assert_eq!(role["hoist"], true);
    assert_eq!(role["permissions"], "2048");

    let edited = bot
        .run(ActionKind::EditRole {
            role: Template::new(role_id.to_string()),
            settings: RoleSettings {
                name: some("billing leads"),
                ..RoleSettings::default()
            },
            reason: None,
        })
        .await
        .expect("edit_role");
    assert_eq!(out(&edited, "name"), "billing leads");
    let deleted = bot
        .run(ActionKind::DeleteRole {
            role: t("billing leads"),
            reason: some("team gone"),
        })
        .await
        .expect("delete_role");
    assert_eq!(id_of(&deleted, "id"), role_id);
    assert!(bot.sandbox.role_named(GUILD, "billing leads").is_none());

    // Nicknames: set, remove, and the bot's own through @me.
    bot.run(ActionKind::SetNickname {
        user: t("alice"),
        nickname: t("{service} captain"),
        reason: None,
    })
    .await
    .expect("set_nickname");
    assert_eq!(
        bot.sandbox.member(GUILD, ALICE).unwrap()["nick"],
        "billing captain"
    );
    let removed = bot
        .run(ActionKind::SetNickname {
            user: t(&ALICE.to_string()),
            nickname: t(""),
            reason: None,
        })
        .await
        .expect("set_nickname empty");
    assert!(
        removed.summary.starts_with("removed the nickname of"),
        "{}",
        removed.summary
    );
    assert!(bot.sandbox.member(GUILD, ALICE).unwrap()["nick"].is_null());
    bot.run(ActionKind::SetNickname {
        user: t(&BOT.to_string()),
        nickname: t("deploy bot"),
        reason: None,
    })
    .await
    .expect("the bot's own nickname");
    assert_eq!(
        bot.sandbox.member(GUILD, BOT).unwrap()["nick"],
        "deploy bot"
    );
    assert!(bot
        .writes()
        .contains(&format!("PATCH /api/v10/guilds/{GUILD}/members/@me")));

    // Timeouts.
    let timed = bot
        .run(ActionKind::TimeoutMember {
            user: t("mallory"),
            duration: t("1h30m"),
            reason: some("spam"),
        })
        .await
        .expect("timeout_member");
    let until = out(&timed, "until").to_owned();
    assert!(serenity::all::Timestamp::parse(&until).is_ok(), "{until}");
    let member = bot.sandbox.member(GUILD, MALLORY).unwrap();
    assert!(
        member["communication_disabled_until"].is_string(),
        "{member}"
    );
    let too_long = bot
        .run(ActionKind::TimeoutMember {
            user: t("mallory"),
            duration: t("29d"),
            reason: None,
        })
        .await
        .unwrap_err();
    assert_eq!(too_long.code(), "invalid");
    assert!(too_long.to_string().contains("28 days"), "{too_long}");
    bot.run(ActionKind::RemoveTimeout {
        user: t("mallory"),
        reason: None,
    })
    .await
    .expect("remove_timeout");
    let member = bot.sandbox.member(GUILD, MALLORY).unwrap();
    assert!(member["communication_disabled_until"].is_null(), "{member}");

    // Kick, ban with a window of messages deleted, unban.
    let kicked = bot
        .run(ActionKind::KickMember {
            user: t("owner"),
            reason: some("test"),
        })
        .await;
    // The owner cannot be kicked: Discord's refusal comes back as it is.
    assert!(
        matches!(kicked, Err(CallError::Discord { .. })),
        "{kicked:?}"
    );
    bot.run(ActionKind::KickMember {
        user: t("mallory"),
        reason: some("bye"),
    })
    .await
    .expect("kick_member");
    assert!(bot.sandbox.member(GUILD, MALLORY).is_none());
    let banned = bot
        .run(ActionKind::BanMember {
            user: t(&ALICE.to_string()),
            delete_messages: some("1h"),
            reason: some("raid"),
        })
        .await
        .expect("ban_member");
    assert_eq!(out(&banned, "user_id"), ALICE.to_string());
    let ban = bot.sandbox.ban(GUILD, ALICE).expect("banned");
    assert_eq!(ban["reason"], "raid");
    let ban_request = bot
        .sandbox
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT" && r.path.contains("/bans/"))
        .unwrap();
    assert_eq!(
        ban_request.body,
        Some(serde_json::json!({ "delete_message_seconds": 3600 }))
    );
    bot.run(ActionKind::UnbanMember {
        user: t(&ALICE.to_string()),
        reason: some("appeal"),
    })
    .await
    .expect("unban_member");
    assert!(bot.sandbox.ban(GUILD, ALICE).is_none());

    let reasons: Vec<String> = bot
        .sandbox
        .audit_reasons()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    for reason in [
        "on call",
        "new team",
        "team gone",
        "spam",
        "bye",
        "raid",
        "appeal",
    ] {
        assert!(
            reasons.contains(&reason.to_owned()),
            "{reason}: {reasons:?}"
        );
    }
    bot.stop().await;
}

#[tokio::test]
async fn channel_thread_and_invite_actions_change_the_stand_in() {
    let bot = Bot::start().await;

    let created = bot
        .run(ActionKind::CreateChannel {
            name: t("{service}-alerts"),
            channel_type: Kind::Text,
            topic: some("alerts for {service}"),
            parent: some("ops"),
            reason: some("new service"),
        })
        .await
        .expect("create_channel");
    let channel_id = id_of(&created, "id");
    assert_eq!(out(&created, "name"), "billing-alerts");
    assert_eq!(out(&created, "mention"), format!("<#{channel_id}>"));
    assert_eq!(
        out(&created, "url"),
        format!("https://discord.com/channels/{GUILD}/{channel_id}")
    );
    let stored = bot.sandbox.channel(channel_id).unwrap();
    assert_eq!(stored["topic"], "alerts for billing");
    assert_eq!(stored["parent_id"], OPS.to_string());
    assert_eq!(
        created.channel,
        Some((channel_id, "billing-alerts".to_owned()))
    );

    let voice = bot
        .run(ActionKind::CreateChannel {
            name: t("war room"),
            channel_type: Kind::Voice,
            topic: some("ignored"),
            parent: None,
            reason: None,
        })
        .await
        .expect("create a voice channel");
    assert_eq!(bot.sandbox.channel(id_of(&voice, "id")).unwrap()["type"], 2);
    assert_eq!(voice.warnings.len(), 1, "{:?}", voice.warnings);

    let not_a_category = bot
        .run(ActionKind::CreateChannel {
            name: t("x"),
            channel_type: Kind::Text,
            topic: None,
            parent: some(&DEPLOYS.to_string()),
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(
        not_a_category.to_string().contains("not a category"),
        "{not_a_category}"
    );

    bot.run(ActionKind::EditChannel {
        channel: Template::new(channel_id.to_string()),
        name: some("billing-pages"),
        topic: some(""),
        parent: some(""),
        reason: some("rename"),
    })
    .await
    .expect("edit_channel");
    let stored = bot.sandbox.channel(channel_id).unwrap();
    assert_eq!(stored["name"], "billing-pages");
    assert!(stored["parent_id"].is_null(), "{stored}");

    // Threads: standalone private, from a message, then edited.
    let private = bot
        .run(ActionKind::CreateThread {
            channel: t("#deploys"),
            name: t("{service} incident"),
            message_id: None,
            private: true,
            auto_archive: some("1h"),
            reason: None,
        })
        .await
        .expect("create a private thread");
    let thread_id = id_of(&private, "id");
    let thread = bot.sandbox.channel(thread_id).unwrap();
    assert_eq!(thread["type"], 12);
    assert_eq!(thread["parent_id"], DEPLOYS.to_string());
    assert_eq!(thread["thread_metadata"]["auto_archive_duration"], 60);

    let starter = bot.sandbox.post_as(DEPLOYS, ALICE, "it broke").unwrap();
    let from_message = bot
        .run(ActionKind::CreateThread {
            channel: t("deploys"),
            name: t("it broke"),
            message_id: Some(Template::new(starter.to_string())),
            private: false,
            auto_archive: some("1w"),
            reason: some("triage"),
        })
        .await
        .expect("create a thread from a message");
    assert_eq!(
        bot.sandbox.channel(id_of(&from_message, "id")).unwrap()["type"],
        11
    );

    bot.run(ActionKind::EditThread {
        thread: t("standup"),
        name: some("standup-done"),
        archived: Some(true),
        locked: Some(true),
        reason: some("over"),
    })
    .await
    .expect("edit_thread");
    let standup = bot.sandbox.channel(STANDUP).unwrap();
    assert_eq!(standup["name"], "standup-done");
    assert_eq!(standup["thread_metadata"]["archived"], true);
    assert_eq!(standup["thread_metadata"]["locked"], true);
    let not_a_thread = bot
        .run(ActionKind::EditThread {
            thread: t("deploys"),
            name: None,
            archived: Some(true),
            locked: None,
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(
        not_a_thread.to_string().contains("not a thread"),
        "{not_a_thread}"
    );

    // A thread of another server is refused like any channel of another server.
    let elsewhere = bot
        .run(ActionKind::CreateThread {
            channel: t(&ELSEWHERE.to_string()),
            name: t("sneaky"),
            message_id: None,
            private: false,
            auto_archive: None,
            reason: None,
        })
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), "not_found", "{elsewhere}");

    // Invites.
    let invite = bot
        .run(ActionKind::CreateInvite {
            channel: t("#deploys"),
            max_age: some("1h"),
            max_uses: some("5"),
            temporary: true,
            unique: true,
            reason: some("onboarding"),
        })
        .await
        .expect("create_invite");
    let code = out(&invite, "code").to_owned();
    assert_eq!(out(&invite, "url"), format!("https://discord.gg/{code}"));
    let invites = bot.sandbox.invites(DEPLOYS);
    assert_eq!(invites.len(), 1);
    assert_eq!(invites[0]["code"], code);
    assert_eq!(invites[0]["max_uses"], 5);
    assert_eq!(invites[0]["max_age"], 3600);
    let before = bot.sandbox.requests().len();
    let too_many = bot
        .run(ActionKind::CreateInvite {
            channel: t("#deploys"),
            max_age: None,
            max_uses: some("500"),
            temporary: false,
            unique: false,
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(
        too_many.to_string().contains("max_uses \"500\""),
        "{too_many}"
    );
    assert_eq!(
        bot.sandbox.requests().len(),
        before,
        "refused before any request"
    );

    let deleted = bot
        .run(ActionKind::DeleteChannel {
            channel: t("billing-pages"),
            reason: some("done"),
        })
        .await
        .expect("delete_channel");
    assert_eq!(out(&deleted, "name"), "billing-pages");
    assert!(bot.sandbox.channel(channel_id).is_none());
    bot.stop().await;
}

#[tokio::test]
async fn a_dry_run_resolves_and_checks_but_writes_nothing() {
    let bot = Bot::start().await;
    let sent = bot
        .dry(ActionKind::SendMessage {
            channel: t("#deploys"),
            message: MessageSpec {
                content: some("{service} {version} deployed"),
                embeds: vec![EmbedSpec {
                    title: some("Release {version}"),
                    ..EmbedSpec::default()
                }],
                ..MessageSpec::default()
            },
            reply_to: None,
            tts: false,
        })
        .await
        .expect("dry send_message");
    assert_eq!(
        sent.summary,
        format!(
            "would send to #deploys ({DEPLOYS}): \"billing 2.4.1 deployed\" + 1 embed \"Release 2.4.1\""
        )
    );
    assert_eq!(sent.output["id"], DRY_RUN_VALUE);
    assert_eq!(sent.output.len(), 3);

    let role = bot
        .dry(ActionKind::AddRole {
            user: t("alice"),
            role: t("Deployer"),
            reason: None,
        })
        .await
        .expect("dry add_role");
    assert_eq!(
        role.summary,
        format!("would add role @Deployer ({DEPLOYER}) to @alice ({ALICE})")
    );
    let by_id = bot
        .dry(ActionKind::KickMember {
            user: t(&MALLORY.to_string()),
            reason: some("spam"),
        })
        .await
        .expect("dry kick");
    assert_eq!(
        by_id.summary,
        format!("would kick @mallory ({MALLORY}) (reason: \"spam\")")
    );

    let kinds = vec![
        ActionKind::SendDm {
            user: t(&BOB.to_string()),
            message: text_message("hi"),
        },
        ActionKind::React {
            channel: t("deploys"),
            message_id: t("123"),
            emoji: t("party"),
        },
        ActionKind::DeleteMessage {
            channel: t("deploys"),
            message_id: t("123"),
            reason: None,
        },
        ActionKind::CreateRole {
            settings: RoleSettings {
                name: some("x"),
                ..RoleSettings::default()
            },
            reason: None,
        },
        ActionKind::TimeoutMember {
            user: t("alice"),
            duration: t("10m"),
            reason: None,
        },
        ActionKind::BanMember {
            user: t("alice"),
            delete_messages: some("7d"),
            reason: None,
        },
        ActionKind::CreateChannel {
            name: t("new"),
            channel_type: Kind::Text,
            topic: None,
            parent: some("Ops"),
            reason: None,
        },
        ActionKind::CreateThread {
            channel: t("deploys"),
            name: t("t"),
            message_id: None,
            private: false,
            auto_archive: some("3d"),
            reason: None,
        },
        ActionKind::CreateInvite {
            channel: t("deploys"),
            max_age: some("0"),
            max_uses: None,
            temporary: false,
            unique: false,
            reason: None,
        },
        ActionKind::DeleteChannel {
            channel: t("deploys"),
            reason: None,
        },
    ];
    for kind in kinds {
        let name = kind.name();
        let performed = bot
            .dry(kind)
            .await
            .unwrap_or_else(|e| panic!("dry {name}: {e}"));
        assert!(
            performed.summary.starts_with("would "),
            "{}",
            performed.summary
        );
        assert!(performed.output.values().all(|v| v == DRY_RUN_VALUE));
    }

    // Checks still run: a bad duration fails the dry run too.
    let bad = bot
        .dry(ActionKind::TimeoutMember {
            user: t("alice"),
            duration: t("soon"),
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(
        bad.to_string().contains("\"soon\" is not a duration"),
        "{bad}"
    );

    assert_eq!(
        bot.writes(),
        Vec::<String>::new(),
        "a dry run writes nothing"
    );
    bot.stop().await;
}

#[tokio::test]
async fn discord_errors_keep_status_code_and_message() {
    let bot = Bot::start().await;
    bot.sandbox
        .inject(Failure::new(format!("/channels/{DEPLOYS}/messages"), 500).method("POST"));
    let error = bot
        .run(ActionKind::SendMessage {
            channel: t("deploys"),
            message: text_message("hi"),
            reply_to: None,
            tts: false,
        })
        .await
        .unwrap_err();
    match &error {
        CallError::Discord { status, .. } => assert_eq!(*status, 500),
        other => panic!("expected Discord's error, got {other:?}"),
    }
    assert!(!error.code().is_empty());

    let not_ours = bot
        .run(ActionKind::SendMessage {
            channel: t(&ELSEWHERE.to_string()),
            message: text_message("hi"),
            reply_to: None,
            tts: false,
        })
        .await
        .unwrap_err();
    assert_eq!(not_ours.code(), "not_found");
    assert!(bot.sandbox.messages_in(ELSEWHERE).is_empty());

    let interpreter_kind = bot.run(ActionKind::Stop).await.unwrap_err();
    assert_eq!(interpreter_kind.code(), "invalid");
    let value: Value = serde_json::json!(error.message());
    assert!(value.is_string());
    bot.stop().await;
}
