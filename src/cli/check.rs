//! `hookbot check`: the config and every event file, each problem as `FILE:LINE:COL: message`.

use std::io::Write;
use std::path::Path;

use toml::de::DeValue;

use crate::config::{Config, ConfigError, TOKEN_ENV};
use crate::events;
use crate::problem::{Checker, Problem};

/// `hookbot check`: every problem as `FILE:LINE:COL: message`; false when there was one.
pub fn check(config_path: &Path, sandbox: bool, out: &mut impl Write) -> anyhow::Result<bool> {
    let config = match Config::load(config_path, sandbox) {
        Ok(config) => config,
        Err(ConfigError::Invalid(problems)) => {
            for problem in problems {
                writeln!(out, "{problem}")?;
            }
            return Ok(false);
        }
        Err(other) => return Err(other.into()),
    };
    // `run` refuses to start without a token (outside the sandbox); check says so first.
    let no_token = missing_token(config_path, &config);
    if let Some(problem) = &no_token {
        writeln!(out, "{problem}")?;
    }
    let loaded = events::load_dir(&config.events.dir);
    // Warnings print among the errors, in file order, as `FILE:LINE:COL: warning: …`; they do
    // not change the exit status.
    let mut shown: Vec<&Problem> = loaded.problems.iter().chain(&loaded.warnings).collect();
    shown.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    for problem in shown {
        writeln!(out, "{problem}")?;
    }
    if loaded.problems.is_empty() && no_token.is_none() {
        eprintln!(
            "{}: ok; {} event(s) in {}: ok",
            config_path.display(),
            loaded.events.len(),
            config.events.dir.display()
        );
    }
    Ok(loaded.problems.is_empty() && no_token.is_none())
}

/// The problem `hookbot run` would stop on: no Discord token in the file (or an empty one) and
/// none in the environment. Placed at `token`'s value when the file has one, else at its start.
fn missing_token(config_path: &Path, config: &Config) -> Option<Problem> {
    if config.sandbox || config.discord.token.is_some() {
        return None;
    }
    let message = format!(
        "no Discord token: set discord.token, or {TOKEN_ENV} in the environment `hookbot run` \
         starts in (or try `hookbot run --sandbox`, which needs none)"
    );
    let text = std::fs::read_to_string(config_path).unwrap_or_default();
    let checker = Checker::new(config_path, &text);
    let token_span = checker.parse().and_then(|document| {
        let discord = document.get_ref().get("discord")?;
        let DeValue::Table(discord) = discord.get_ref() else {
            return None;
        };
        discord.get("token").map(|token| token.span())
    });
    Some(match token_span {
        Some(span) => checker.problem_at(&span, message),
        None => Problem::at_start(config_path, message),
    })
}
