//! Reading `config.toml`: the file or, for the sandbox, the defaults; the token from the
//! environment; every problem reported at once as `FILE:LINE:COL: message`.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::model::{Config, STORAGE_URL_ENV, TOKEN_ENV};
use super::read::read_config;
use super::values::{non_empty, tidy};
use crate::problem::{Checker, Problem};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "config file {} not found; copy config.example.toml to {} or pass --config",
        .0.display(),
        .0.display()
    )]
    NotFound(PathBuf),
    #[error("cannot read config file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Every problem found, in file order.
    #[error("{}", display_lines(.0))]
    Invalid(Vec<Problem>),
}

fn display_lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Reads `path`. A missing file is [`ConfigError::NotFound`], except with `sandbox`, where
    /// it means every default with paths relative to the working folder. A non-empty
    /// `HOOKBOT_DISCORD_TOKEN` overrides `discord.token` either way.
    pub fn load(path: &Path, sandbox: bool) -> Result<Config, ConfigError> {
        let env_token = std::env::var(TOKEN_ENV).ok();
        let env_storage_url = std::env::var(STORAGE_URL_ENV).ok();
        let mut config = match std::fs::read_to_string(path) {
            Ok(text) => Config::from_toml_with_env(&text, path, env_token, env_storage_url),
            Err(error) if error.kind() == ErrorKind::NotFound && sandbox => {
                let here = std::env::current_dir().map_err(|source| ConfigError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
                let mut config = Config::defaults_in(&here);
                config.discord.token = non_empty(env_token);
                Ok(config)
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {
                Err(ConfigError::NotFound(path.to_path_buf()))
            }
            Err(source) => Err(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }?;
        config.sandbox = sandbox;
        Ok(config)
    }

    /// Parses and validates the text of the config file `file` (named in problems as given;
    /// relative paths in it are taken from its folder). `env_token`, when non-empty, replaces
    /// `discord.token`. Reports every problem, not just the first.
    pub fn from_toml(
        text: &str,
        file: &Path,
        env_token: Option<String>,
    ) -> Result<Config, ConfigError> {
        Config::from_toml_with_env(text, file, env_token, None)
    }

    /// [`from_toml`](Self::from_toml), with `env_storage_url` (`HOOKBOT_STORAGE_URL`) replacing
    /// `storage.url` when non-empty.
    pub fn from_toml_with_env(
        text: &str,
        file: &Path,
        env_token: Option<String>,
        env_storage_url: Option<String>,
    ) -> Result<Config, ConfigError> {
        let base_dir = config_folder(file).map_err(|source| ConfigError::Io {
            path: file.to_path_buf(),
            source,
        })?;
        let mut config = Config::defaults_in(&base_dir);
        let checker = Checker::new(file, text);
        if let Some(document) = checker.parse() {
            read_config(
                &checker,
                &document,
                &base_dir,
                env_storage_url.as_deref(),
                &mut config,
            );
        }
        if checker.has_problems() {
            return Err(ConfigError::Invalid(checker.into_problems()));
        }
        if let Some(token) = non_empty(env_token) {
            config.discord.token = Some(token);
        }
        Ok(config)
    }
}

/// The absolute folder holding the config file (`config.toml` alone means the working folder).
fn config_folder(file: &Path) -> std::io::Result<PathBuf> {
    let folder = file.parent().unwrap_or(Path::new(""));
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    std::path::absolute(folder).map(|absolute| tidy(&absolute))
}
