//! Event files: the model, parsing with positions, validation, loading a folder of them and
//! writing a fresh one.

pub mod action;
mod action_refs;
mod caller_names;
pub mod condition;
mod load;
pub mod message;
pub mod model;
pub mod names;
mod new_file;
mod parse;
pub mod trigger;

pub use action::*;
pub use caller_names::caller_names;
pub use condition::*;
pub use load::{load_dir, LoadedEvents};
pub use message::*;
pub use model::*;
pub use names::{BUILTIN_NAMES, RESERVED_PREFIXES};
pub use new_file::{slugify, write_new_event, NewEventError};
pub use parse::limits::*;
pub use parse::{
    is_valid_event_id, parse_event, parse_event_with_warnings, parse_hex_color, parse_snowflake,
    ACTION_TYPES, MAX_BUTTONS, MAX_BUTTON_LABEL_CHARS, MAX_BUTTON_URL_CHARS, MENTION_KINDS,
};
pub use trigger::*;
