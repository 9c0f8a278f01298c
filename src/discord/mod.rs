//! The one door to Discord: everything hookbot asks of Discord, and the only place serenity's
//! REST client (`Http`) is called.
//!
//! Layout (nothing here imports this file; each file imports only those above it):
//! - `error`: [`CallError`] (Discord's status, code and message, kept) and [`ConnectError`];
//! - `pacer`: the outbound governor every write asks first ([`Pacer`]);
//! - `intents`: which gateway intents the loaded events need; `events`: what Discord reports
//!   (messages, members, reactions, interactions) as plain [`DiscordEvent`]s, each with its
//!   occurrence (`occurrences`: what tells a dispatch delivered twice from a new one);
//! - `commands`: a server's slash commands synced with one bulk overwrite, only on a change;
//!   `interactions`: the 3-second acknowledgement and the follow-ups a `reply` sends;
//! - `startup`: the bot's id from its token, and the backoff between attempts to reach Discord;
//! - `link`: how far hookbot has got in reaching Discord, and the handler READY fills in;
//!   `connector`: the task that reaches Discord (again, with backoff, while it is down),
//!   starts the shards and, after a 4014, reconnects with the privileged intents the
//!   application has;
//! - `client`: the [`Discord`] handle: the gateway, the bot's identity, readiness;
//! - `resolve`: channels, roles, users, categories and emoji of a server by id, mention or name
//!   (read-only);
//! - `write`: every write call, one file per resource, each paced and carrying its audit-log
//!   reason ([`Writer`], from [`Discord::writer`]).

mod client;
mod commands;
mod connector;
mod error;
mod events;
mod intents;
mod interactions;
mod link;
mod occurrences;
mod pacer;
mod resolve;
mod startup;
mod write;

pub use client::Discord;
pub use commands::{command_body, same_commands, Synced};
pub use error::{CallError, ConnectError};
pub use events::{DiscordEvent, EVENT_QUEUE};
pub use intents::{intents_for, portal_switches, privileged};
pub use interactions::{Ack, EPHEMERAL};
pub use link::Reconnect;
pub use occurrences::REMEMBERED as OCCURRENCES_REMEMBERED;
pub use pacer::{Holder, Pacer, RateLimitHeaders, SWEEP_EVERY};
pub use resolve::ChannelRef;
pub use startup::{bot_id_from_token, RECONNECT_CAP, RECONNECT_FIRST};
pub use write::Writer;
