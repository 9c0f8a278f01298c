//! How far hookbot has got in reaching Discord, as the connection task writes it and the
//! [`Discord`](super::Discord) handle reads it: the link's stage, the bot's identity, whether
//! the cache is ready; and the serenity handler that fills in what the gateway says.

use std::time::Duration;

use serenity::all::{Context, EventHandler, GuildId, Ready, UserId};
use serenity::async_trait;
use tokio::sync::watch;

use super::error::ConnectError;

/// Whether hookbot keeps trying while Discord cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnect {
    /// `hookbot run`: try again with backoff until Discord answers or refuses the token.
    UntilReached,
    /// One-shot commands (`hookbot event test`): the first failure is the answer.
    Once,
}

/// How far hookbot has got in reaching Discord.
#[derive(Debug, Clone)]
pub(super) enum Link {
    /// The first attempt is under way.
    Connecting,
    /// An attempt failed and another follows.
    Retrying {
        attempt: u32,
        reason: String,
        retry_in: Duration,
    },
    /// Discord answered and the shards are started; serenity keeps them connected from here.
    Up,
    /// No more attempts: Discord refused the token (or, with [`Reconnect::Once`], the one
    /// attempt failed).
    Failed(ConnectError),
}

/// What Discord has told hookbot so far.
#[derive(Debug, Clone)]
pub(super) struct GatewayState {
    pub link: Link,
    /// The bot's user id and name, from `GET /users/@me`.
    pub me: Option<(UserId, String)>,
    /// The bot's user id and name, from READY.
    pub identity: Option<(UserId, String)>,
    /// Every server in READY has arrived in the cache (or READY named none: serenity then never
    /// says "cache ready").
    pub cache_ready: bool,
}

impl GatewayState {
    pub fn connecting() -> GatewayState {
        GatewayState {
            link: Link::Connecting,
            me: None,
            identity: None,
            cache_ready: false,
        }
    }
}

/// Writes READY and "cache ready" into the [`GatewayState`].
pub(super) struct GatewayHandler {
    pub state: watch::Sender<GatewayState>,
}

#[async_trait]
impl EventHandler for GatewayHandler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(
            bot = %ready.user.name,
            id = %ready.user.id,
            servers = ready.guilds.len(),
            "connected to the Discord gateway"
        );
        // Guild commands and interaction follow-ups are addressed by the application's id.
        ctx.http.set_application_id(ready.application.id);
        let identity = (ready.user.id, ready.user.name.clone());
        let no_servers = ready.guilds.is_empty();
        self.state.send_modify(|s| {
            s.identity = Some(identity);
            s.cache_ready |= no_servers;
        });
    }

    async fn cache_ready(&self, _ctx: Context, guilds: Vec<GuildId>) {
        tracing::info!(servers = guilds.len(), "Discord cache ready");
        self.state.send_modify(|s| s.cache_ready = true);
    }
}

/// The gateway state once `done` holds, or `None` after `timeout`.
pub(super) async fn wait_for_gateway(
    gateway: &watch::Receiver<GatewayState>,
    timeout: Duration,
    done: impl Fn(&GatewayState) -> bool,
) -> Option<GatewayState> {
    let mut gateway = gateway.clone();
    let state = tokio::time::timeout(timeout, gateway.wait_for(|s| done(s)))
        .await
        .ok()?
        .ok()?
        .clone();
    Some(state)
}
