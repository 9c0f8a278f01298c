//! The event language: pure functions over text and documents, no I/O (no tokio, sled or
//! serenity), so the event model, the listener and the executor can share them.
//!
//! - [`templates`]: `{name}` rendering, the [`Lookup`](templates::Lookup) trait, [`Variables`](templates::Variables)
//! - [`request`]: `{body…}`, `{header.…}`, `{query.…}` of the request that started a run
//! - [`document`]: a JSON document whose numbers keep the digits the caller sent
//! - [`botghost`]: the BotGhost `variables` array, read by one set of rules
//! - [`math`]: the `math` action's exact decimal arithmetic
//! - [`duration`]: `30s`, `1h30m` and back
//! - [`schedule`]: when a cron line or an `every` interval is due, in an IANA time zone
//! - [`shell`]: quoting for the `curl` lines hookbot prints

pub mod botghost;
pub mod document;
pub mod duration;
pub mod math;
pub mod request;
pub mod schedule;
pub mod shell;
pub mod templates;
