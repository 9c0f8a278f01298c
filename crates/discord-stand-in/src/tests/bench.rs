//! A stand-in world without sockets, for tests that call routes directly and look at the
//! answers and the gateway dispatches they cause.

use axum::http::{HeaderMap, HeaderValue};
use serde_json::Value;
use std::sync::Mutex;
use tokio::sync::{broadcast, Notify};

use crate::errors::DiscordError;
use crate::fixture::{
    ChannelKind, Fixture, FixtureChannel, FixtureGuild, FixtureMember, FixtureRole, FixtureUser,
};
use crate::routes;
use crate::state::{Dispatch, Shared, World};
use crate::wire::{Answer, Request};

pub(crate) const BOT: u64 = 1000;
pub(crate) const GUILD: u64 = 2000;
pub(crate) const DEPLOYS: u64 = 2001;
pub(crate) const VOICE: u64 = 2002;
pub(crate) const OPS: u64 = 2003;
pub(crate) const NEWS: u64 = 2004;
pub(crate) const DEPLOYER: u64 = 2010;
pub(crate) const ADMIN: u64 = 2011;
pub(crate) const PARTY: u64 = 2020;
pub(crate) const OWNER: u64 = 3000;
pub(crate) const ALICE: u64 = 3001;
pub(crate) const MALLORY: u64 = 3002;
pub(crate) const BOB: u64 = 4001;

/// Acme: #deploys, a voice channel, the Ops category, #news (announcements), Deployer and
/// Admin (above the bot), the owner, alice (Deployer, nick "ali") and mallory (protected).
pub(crate) fn fixture() -> Fixture {
    Fixture::new(BOT, "hookbot")
        .guild(
            FixtureGuild::new(GUILD, "Acme")
                .owner(OWNER)
                .icon("a_0123456789abcdef0123456789abcdef")
                .emoji(PARTY, "party")
                .channel(DEPLOYS, "deploys")
                .add_channel(FixtureChannel::new(VOICE, "Voice", ChannelKind::Voice))
                .add_channel(FixtureChannel::new(OPS, "Ops", ChannelKind::Category))
                .add_channel(FixtureChannel::new(NEWS, "news", ChannelKind::Announcement))
                .role(DEPLOYER, "Deployer")
                .add_role(
                    FixtureRole::new(ADMIN, "Admin")
                        .position(9)
                        .bot_cannot_manage(),
                )
                .member(OWNER, "owner")
                .add_member(
                    FixtureMember::new(FixtureUser::new(ALICE, "alice").global_name("Alice A."))
                        .role(DEPLOYER)
                        .nick("ali"),
                )
                .add_member(FixtureMember::new(FixtureUser::new(MALLORY, "mallory")).protected()),
        )
        .user(FixtureUser::new(BOB, "bob"))
}

pub(crate) struct Bench {
    pub shared: Shared,
    pub world: World,
    dispatches: broadcast::Receiver<Dispatch>,
}

impl Bench {
    pub fn new() -> Bench {
        Self::with(fixture())
    }

    pub fn with(fixture: Fixture) -> Bench {
        let fixture = fixture.completed().expect("valid fixture");
        let (sender, dispatches) = broadcast::channel(256);
        let shared = Shared {
            world: Mutex::new(World::new(Fixture::new(BOT, "unused"))),
            token: "token".to_owned(),
            gateway_url: "ws://127.0.0.1:1/gateway".to_owned(),
            heartbeat_interval_ms: 1000,
            dispatches: sender,
            gateway_closes: broadcast::channel(1).0,
            changed: Notify::new(),
            last_dispatches: Mutex::default(),
        };
        Bench {
            shared,
            world: World::new(fixture),
            dispatches,
        }
    }

    /// Calls a route, e.g. `call("PATCH", "/channels/1/messages/2", Some(body), None)`.
    pub fn call_with_reason(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
        reason: Option<&str>,
    ) -> Result<Answer, DiscordError> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut headers = HeaderMap::new();
        if let Some(reason) = reason {
            let encoded = reason.replace(' ', "%20");
            headers.insert(
                "x-audit-log-reason",
                HeaderValue::from_str(&encoded).expect("header"),
            );
        }
        let request = Request {
            method,
            path,
            query,
            headers: &headers,
            body: Ok(body),
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        routes::route(&self.shared, &mut self.world, &request, &segments)
    }

    pub fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Answer, DiscordError> {
        self.call_with_reason(method, path, body, None)
    }

    /// The answer's body of a call that must succeed.
    pub fn ok(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        match self.call(method, path, body) {
            Ok(answer) => answer.body.unwrap_or(Value::Null),
            Err(error) => panic!("{method} {path} refused: {:?}", error.body),
        }
    }

    /// The Discord code of a call that must fail.
    pub fn code(&mut self, method: &str, path: &str, body: Option<Value>) -> u64 {
        match self.call(method, path, body) {
            Ok(_) => panic!("{method} {path} was accepted"),
            Err(error) => error.body["code"].as_u64().expect("a code"),
        }
    }

    /// The dispatches caused since the last call, as (event, data, intent).
    pub fn events(&mut self) -> Vec<(String, Value, u64)> {
        let mut events = Vec::new();
        while let Ok(dispatch) = self.dispatches.try_recv() {
            events.push((dispatch.event.to_owned(), dispatch.data, dispatch.intent));
        }
        events
    }

    /// Sends a message as the bot into `channel_id` and returns its id.
    pub fn send(&mut self, channel_id: u64, content: &str) -> u64 {
        let body = serde_json::json!({ "content": content });
        let sent = self.ok(
            "POST",
            &format!("/channels/{channel_id}/messages"),
            Some(body),
        );
        self.events();
        sent["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("an id")
    }
}
