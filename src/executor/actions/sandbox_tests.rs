//! `perform` against the Discord stand-in, through a real serenity client: what each action
//! changes in the stand-in's world, its output and summary, the audit-log reasons, the dry run,
//! and every request body checked against Discord's OpenAPI spec. This file holds the stand-in's
//! world and the bot that drives it; the tests are in `sandbox_tests/`, one file per family.

use std::time::Duration;

use serde_json::Value;

use super::job::DRY_RUN_VALUE;
use super::{perform, ActionContext, Performed};
use crate::discord::{CallError, Discord};
use crate::events::{
    ActionKind, ChannelKind as Kind, ColorSpec, EmbedFieldSpec, EmbedSpec, MessageSpec,
    RoleSettings,
};
use crate::lang::templates::{Template, Variables};
use discord_stand_in::{
    ChannelKind, Failure, Fixture, FixtureChannel, FixtureGuild, FixtureMember, FixtureRole,
    FixtureUser, Sandbox,
};
use serenity::all::GuildId;

#[path = "../../../tests/common/openapi.rs"]
mod openapi;

mod channels;
mod failures;
mod members;
mod messages;

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
        let pacer = crate::discord::Pacer::new();
        let ctx = ActionContext {
            discord: &self.discord,
            guild: GuildId::new(GUILD),
            dry_run,
            pacer: &pacer,
            holder: None,
            nonce: None,
            repeat: false,
            interaction: None,
            replied: false,
            store: None,
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
