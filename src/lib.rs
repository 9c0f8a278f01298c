//! hookbot: a self-hosted Discord bot runtime with a BotGhost-compatible webhook listener.
//!
//! # Layout
//!
//! A webhook's path through the house: `http::webhook` accepts it and stores a run, the
//! `executor` takes the run and carries out its actions, which reach Discord through `discord`.
//!
//! * `server`: the process's life: `start`, `Running`, `stop`, `run` around a shutdown signal.
//! * `http`: every HTTP route: the webhook listener (`http::webhook`) and `/healthz`, `/readyz`,
//!   `/metrics` (`http::health`).
//! * `executor`: takes queued runs, interprets their actions, retries and dead-letters them;
//!   its `conditions` also decide the listener's `[[when]]` filters.
//! * `discord`: the one door to Discord: the client and the bot's identity, name resolution,
//!   the outbound pacer, and every write call, paced and carrying its audit-log reason.
//! * `store`: the sled database: events, runs and their journals, the queue, variables, keys.
//! * `run`: a run: its variables, its request, and its journal of steps.
//! * `events`: event files: the model, parsing with positions, loading a folder.
//! * `reload`: watches the events folder; broken files keep their last good version.
//! * `retention`: deletes old finished runs and idempotency keys.
//! * `lang`: the event language, pure functions: `{name}` templates, the request's `{body…}`,
//!   the BotGhost `variables` array, exact arithmetic, written durations, shell quoting.
//! * `keys`: API keys: made at random, stored as a hash, compared in constant time.
//! * `metrics`: the metric names and the Prometheus recorder.
//! * `admin`: the local admin socket the CLI uses while hookbot runs.
//! * `cli`: one function per subcommand.
//! * `config`: `config.toml`.
//! * `problem`: a problem in a file, with its position, as every check reports it.
//! * `sandbox`, `sandbox_world`: the local Discord stand-in for `--sandbox`, and its servers
//!   built from the event files.
#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod config;
pub mod discord;
pub mod events;
pub mod executor;
pub mod http;
pub mod keys;
pub mod lang;
pub mod metrics;
pub mod problem;
pub mod reload;
pub mod retention;
pub mod run;
pub mod sandbox;
pub mod sandbox_world;
pub mod server;
pub mod store;

pub use server::{run, start, Running, StartError};
