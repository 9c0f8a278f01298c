//! A local Discord for bots under test: the REST API and the gateway on one loopback port,
//! answering the real serenity 0.12.5 client as Discord does.
//!
//! # What it serves
//! - **REST** under `/api/v10` ([`Sandbox::api_url`], given to serenity as its proxy): the
//!   routes a bot uses to write and read messages, DMs, reactions, pins, threads, channels,
//!   invites, roles and members, with Discord's status codes, `{"code","message"}` error
//!   bodies, permission refusals and object shapes. Every request is recorded
//!   ([`Sandbox::requests`]).
//! - **The gateway** at `/gateway` ([`Sandbox::gateway_url`]): HELLO, IDENTIFY and RESUME,
//!   heartbeats, READY and GUILD_CREATE from the [`Fixture`], then a dispatch for every change.
//! - **An HTTP echo** at `/echo` ([`Sandbox::echo_url`]): the calls a bot would make to other
//!   services, recorded ([`Sandbox::echoed`]), logged and answered 200, so none leaves the
//!   machine.
//! - **A plain-words log** of what the bot did, by name, under the tracing target
//!   [`LOG_TARGET`].
//!
//! # The knobs a test turns
//! - [`Fixture`] and its builders: the bot, its servers, channels, roles, members and users,
//!   and which permissions the bot lacks.
//! - [`Failure`], through [`Sandbox::inject`]: fail matching requests with any status and body,
//!   a number of times or for a while, including Discord-shaped 429s.
//! - [`Sandbox::begin_outage`] and [`Sandbox::end_outage`]: Discord down until told otherwise,
//!   every REST route and every new gateway connection answered with one status (e.g. 503).
//! - [`RateLimits`], through [`SandboxOptions::discord_rate_limits`]: enforce Discord's global
//!   and per-channel limits with real 429s and `X-RateLimit-*` headers.
//! - [`Sandbox::post_as`] (a user writes a message), [`Sandbox::close_gateway_connections`]
//!   (force a reconnect or a resume), [`Sandbox::wait_until`] (await a condition).
//! - Read-back of the world as Discord would answer it: [`Sandbox::messages_in`],
//!   [`Sandbox::member`], [`Sandbox::roles`], [`Sandbox::audit_reasons`] and the rest.
//!
//! It depends on no bot's code on purpose: a stand-in built from the bot's own types would
//! agree with the bot's mistakes.
//!
//! # Layout
//! Each module uses only modules listed below it.
//! - `acting`: people acting in the servers (join, leave, react, slash commands, clicks), the
//!   portal's privileged intents, and read-back of commands and interactions.
//! - `sandbox`: [`Sandbox`] itself: start, the knobs, read-back, shutdown.
//! - `gateway`: the websocket: handshake, heartbeats, resumes, dispatches.
//! - `control`: the control API a person acts through (`hookbot sandbox …`). `control_view`:
//!   its read-only half, the servers and a channel's messages as a member sees them.
//! - `echo`: the HTTP echo for the bot's calls to other services.
//! - `rest`: the REST front door: records, injects failures, rate-limits, checks the token.
//! - `routes`: the routing table: which handler answers which method and path.
//! - `interactions`: the 3-second callback and the token's follow-ups. `invoke`:
//!   INTERACTION_CREATE for a slash command or a click. `commands`: guild application commands. `people`: members joining,
//!   leaving and reacting.
//! - `message_actions`, `messages`, `mentions`, `channels`, `guild_admin`: the handlers, what
//!   each kind of route does to the world. `components`: buttons, checked and found.
//! - `shapes`: Discord's JSON objects, built from the world.
//! - `state`: the world behind a lock, and the gateway's dispatch channel.
//! - `rate_limits`: Discord's buckets, when asked for. `failure`: injected failures.
//! - `fixture`: the world the stand-in starts with.
//! - `wire`: the API prefix, a parsed request, an answer, a recorded request, percent-decoding.
//! - `ids`: snowflakes and timestamps. `errors`: Discord's error bodies. `describe`: the log.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod acting;
mod channels;
mod commands;
mod components;
mod control;
mod control_view;
mod describe;
mod echo;
mod errors;
mod failure;
mod fixture;
mod gateway;
mod guild_admin;
mod ids;
mod interactions;
mod invoke;
mod mentions;
mod message_actions;
mod messages;
mod people;
mod rate_limits;
mod rest;
mod routes;
mod sandbox;
mod shapes;
mod state;
mod wire;

#[cfg(test)]
mod tests;

pub use acting::PrivilegedIntent;
pub use describe::LOG_TARGET;
pub use echo::ECHO_URL_HEADER;
pub use failure::Failure;
pub use fixture::{
    ChannelKind, Fixture, FixtureChannel, FixtureEmoji, FixtureGuild, FixtureMember, FixtureRole,
    FixtureThread, FixtureUser,
};
pub use interactions::{CALLBACK_WINDOW, TOKEN_LIFETIME};
pub use rate_limits::RateLimits;
pub use sandbox::{Sandbox, SandboxOptions};
pub use wire::RecordedRequest;
