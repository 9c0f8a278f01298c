//! The local admin endpoint: HTTP with JSON bodies over a Unix socket beside the database, so
//! the admin commands work while `hookbot run` holds the database (the embedded engine lets
//! one process open it).
//!
//! The socket is `<database>.sock` (`data/db.sock`; the sandbox's `data/db-sandbox.sock`),
//! mode 0600, and answers only connections from the user that runs hookbot. It is never served on
//! the public listener.
//!
//! - [`protocol`]: where the socket is and the documents that cross it;
//! - [`server`]: the socket inside the running hookbot;
//! - [`client`]: the CLI's side, and [`client::Backend`], the running hookbot or the database;
//! - [`ops`]: the operations both sides run, so commands print the same whichever served them;
//! - [`history`]: the runs, idempotency keys and revisions an export carries;
//! - [`event_guide`]: how to call an event (URL, headers, example body, curl), for `event show`
//!   and the console;
//! - [`error`]: the one error of the boundary, mapped to HTTP statuses once.

pub mod client;
pub mod error;
pub mod event_guide;
pub mod history;
pub mod ops;
pub mod protocol;
pub mod server;
