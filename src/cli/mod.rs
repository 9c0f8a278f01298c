//! The command line's work: one function per subcommand, each opening what it needs (config,
//! event files, the running hookbot or the database), plus how the output is written.
//! `main.rs` parses the arguments and calls these.

mod bot_url;
mod check;
mod console;
mod event;
mod event_test;
mod format;
mod key;
mod logs;
mod run;
mod runs;
mod sandbox;
mod transfer;

pub use check::check;
pub use console::console_key;
pub use event::{event_list, event_new, event_show};
pub use event_test::event_test;
pub use key::key_rotate;
pub use logs::init_logs;
pub use run::run;
pub use runs::{runs_list, runs_retry, runs_show};
pub use sandbox::{sandbox_act, Act};
pub use transfer::{export, import};
