//! hookbot: a self-hosted Discord bot runtime with a BotGhost-compatible webhook listener.
//!
//! # Layout
//!
//! A webhook's path through the house: `http::webhook` accepts it and enqueues a run on the
//! `queue`, the `executor` claims the run and carries out its actions, which reach Discord
//! through `discord`.
//!
//! * `server`: the process's life: `start`, `Running`, `stop`, `run` around a shutdown signal.
//! * `leader`: what one instance at a time does (the gateway, the executor) while it holds the
//!   store's lease; with the embedded store the one process always leads.
//! * `http`: every HTTP route: the webhook listener (`http::webhook`) and `/healthz`, `/readyz`,
//!   `/metrics` (`http::health`).
//! * `queue`: a run's whole life: enqueue (backpressure, durable write, wake-up), claim, the
//!   retry schedule, finish, requeue, list.
//! * `executor`: claims due runs, interprets their actions, and reports each outcome to the queue;
//!   its `conditions` also decide the listener's `[[when]]` filters.
//! * `triggers`: what starts runs besides webhooks (Discord's events and interactions,
//!   schedules): one entry point, `start_run`, through the same queue.
//! * `discord`: the one door to Discord: the client and the bot's identity, name resolution,
//!   the outbound pacer, and every write call, paced and carrying its audit-log reason.
//! * `engine`: storage behind one trait (`Engine`, held as a `Store`): definitions, settings,
//!   variables, runs and their journals, the pending queue, idempotency keys.
//! * `run`: a run: its variables, its request, and its journal of steps.
//! * `events`: event files: the model, parsing with positions, loading a folder.
//! * `reload`: watches the events folder; broken files keep their last good version.
//! * `retention`: deletes old finished runs and idempotency keys.
//! * `lang`: the event language, pure functions: `{name}` templates, the request's `{body…}`,
//!   the BotGhost `variables` array, exact arithmetic, written durations, shell quoting.
//! * `backoff`: exponential backoff with jitter, for a run's retries and Discord's reconnects.
//! * `keys`: API keys: made at random, stored as a hash, compared in constant time.
//! * `metrics`: the metric names and the Prometheus recorder.
//! * `admin`: the local admin socket the CLI uses while hookbot runs: protocol, server, client,
//!   one error.
//! * `cli`: one function per subcommand, and how their output is written.
//! * `config`: `config.toml`: the model and defaults, reading, checking with positions.
//! * `problem`: a problem in a file, with its position, as every check reports it.
//! * `sandbox_world`: the servers of the local Discord stand-in that `--sandbox` runs (the
//!   `discord-stand-in` crate), built from the event files.
#![forbid(unsafe_code)]

pub mod admin;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod discord;
pub mod engine;
pub mod events;
pub mod executor;
pub mod gateway_runs;
pub mod http;
pub mod keys;
pub mod lang;
pub mod leader;
pub mod metrics;
pub mod problem;
pub mod queue;
pub mod reload;
pub mod retention;
pub mod run;
pub mod sandbox_control;
pub mod sandbox_world;
pub mod server;
pub mod triggers;

pub use server::{run, start, Running, StartError};
