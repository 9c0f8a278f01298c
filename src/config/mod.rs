//! `config.toml`: the model with its defaults ([`model`]), reading the file with environment
//! overrides ([`load`]), and checking each section and value where it is written, so every
//! problem is reported as `FILE:LINE:COL: message` ([`read`], [`values`]).

mod load;
mod model;
mod read;
#[cfg(test)]
mod tests;
mod values;

pub use load::ConfigError;
pub use model::*;
