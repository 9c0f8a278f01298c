//! Event files: the model, parsing with positions, validation, loading a folder of them and
//! writing a fresh one.

pub mod action;
mod load;
pub mod model;
mod new_file;
mod parse;

pub use action::*;
pub use load::{load_dir, LoadedEvents};
pub use model::*;
pub use new_file::{slugify, write_new_event, NewEventError};
pub use parse::{
    is_valid_event_id, parse_event, parse_hex_color, parse_snowflake, ACTION_TYPES,
    MAX_CONTENT_CHARS, MAX_EMBEDS, MAX_EMBED_FIELDS, MAX_EVENT_ID_CHARS, MENTION_KINDS,
};
