//! What every console page can reach ([`ConsoleState`]) and the console's bounds.

use std::sync::Arc;

use super::session::Auth;
use crate::engine::Store;
use crate::executor::http_request::Destination;
use crate::leader::Leadership;
use crate::queue::Queue;

/// The largest request body the console reads: its forms are small (a test run's variables are
/// the largest), and the CSRF check buffers the body before any handler sees it.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The listener's connection cap: a console has a handful of people, not the internet.
pub const MAX_CONNECTIONS: usize = 64;

/// What every console page can reach; cheap to clone.
#[derive(Clone)]
pub struct ConsoleState {
    pub store: Store,
    /// Retries and test runs wake the workers through it, as the admin socket does.
    pub queue: Queue,
    /// The connection to Discord (or the stand-in) while this instance leads; test runs use it.
    pub leadership: Leadership,
    pub bot_id: u64,
    /// The webhook listener's public base URL, for the URLs the pages show.
    pub base_url: String,
    /// Where test runs' `http_request` calls go (the stand-in's echo in the sandbox).
    pub http_destination: Destination,
    /// With `--sandbox`: the stand-in's control API, which the `/sandbox` pages act through.
    pub sandbox: Option<SandboxLink>,
    pub auth: Arc<Auth>,
    /// `http.trusted_proxies`: behind them, the failed-sign-in limit counts the client that
    /// `X-Forwarded-For` names, as the webhook's does.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// How the console reaches the sandbox's stand-in: the one control client `hookbot sandbox …`
/// uses too.
pub type SandboxLink = crate::sandbox_control::ControlClient;

impl ConsoleState {
    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }
}
