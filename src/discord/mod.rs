//! The one door to Discord: everything hookbot asks of Discord, and the only place serenity's
//! REST client (`Http`) is called.
//!
//! Layout (nothing here imports this file; each file imports only those above it):
//! - `error`: [`CallError`] (Discord's status, code and message, kept) and [`ConnectError`];
//! - `pacer`: the outbound governor every write asks first ([`Pacer`]);
//! - `client`: the [`Discord`] handle: reaching Discord (again, with backoff, while it is down),
//!   the gateway, the bot's identity, readiness;
//! - `resolve`: channels, roles, users, categories and emoji of a server by id, mention or name
//!   (read-only);
//! - `write`: every write call, one file per resource, each paced and carrying its audit-log
//!   reason ([`Writer`], from [`Discord::writer`]).

mod client;
mod error;
mod pacer;
mod resolve;
mod write;

pub use client::{bot_id_from_token, Discord, Reconnect, RECONNECT_CAP, RECONNECT_FIRST};
pub use error::{CallError, ConnectError};
pub use pacer::{Holder, Pacer, RateLimitHeaders};
pub use resolve::ChannelRef;
pub use write::Writer;
