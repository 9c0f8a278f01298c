//! `hookbot check`: the config and every event file, each problem as `FILE:LINE:COL: message`.

use std::io::Write;
use std::path::Path;

use crate::config::{Config, ConfigError};
use crate::events;
use crate::problem::Problem;

/// `hookbot check`: every problem as `FILE:LINE:COL: message`; false when there was one.
pub fn check(config_path: &Path, out: &mut impl Write) -> anyhow::Result<bool> {
    let config = match Config::load(config_path, false) {
        Ok(config) => config,
        Err(ConfigError::Invalid(problems)) => {
            for problem in problems {
                writeln!(out, "{problem}")?;
            }
            return Ok(false);
        }
        Err(other) => return Err(other.into()),
    };
    let loaded = events::load_dir(&config.events.dir);
    // Warnings print among the errors, in file order, as `FILE:LINE:COL: warning: …`; they do
    // not change the exit status.
    let mut shown: Vec<&Problem> = loaded.problems.iter().chain(&loaded.warnings).collect();
    shown.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    for problem in shown {
        writeln!(out, "{problem}")?;
    }
    if loaded.problems.is_empty() {
        eprintln!(
            "{}: ok; {} event(s) in {}: ok",
            config_path.display(),
            loaded.events.len(),
            config.events.dir.display()
        );
    }
    Ok(loaded.problems.is_empty())
}
