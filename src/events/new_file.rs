//! `hookbot event new`: a fresh event file with a random id and a working example action.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::model::Event;
use super::parse::{parse_event, parse_snowflake};

/// The longest slug of the name put before the random part of an id (40 + 1 + 8 stays well
/// under the 64 an id may have).
const MAX_SLUG_CHARS: usize = 40;

/// How often a fresh id is drawn when the file name is taken; with 32 random bits a second try
/// is already unlikely, so running out means something else is wrong.
const ID_ATTEMPTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum NewEventError {
    #[error("the server must be a Discord server id (digits), got {0:?}")]
    InvalidServer(String),
    #[error("the event name must not be empty")]
    EmptyName,
    #[error("cannot write event file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The written file did not load back; a bug, reported rather than leaving a bad file
    /// unmentioned.
    #[error("the new event file {} does not load: {problems}", path.display())]
    Invalid { path: PathBuf, problems: String },
}

/// Writes `<dir>/<id>.toml` for a new event named `name` in server `server`, creating `dir` if
/// needed and never overwriting a file. Returns the event as it loads back, and the file's path.
pub fn write_new_event(
    dir: &Path,
    name: &str,
    server: &str,
) -> Result<(Event, PathBuf), NewEventError> {
    let server_id = parse_snowflake(server.trim())
        .ok_or_else(|| NewEventError::InvalidServer(server.to_owned()))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(NewEventError::EmptyName);
    }
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| NewEventError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;

    let slug = slugify(name);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let id = format!("{slug}-{:08x}", rand::random::<u32>());
        let path = dir.join(format!("{id}.toml"));
        let text = new_event_text(&id, name, server_id);
        let mut file = match std::fs::File::create_new(&path) {
            Ok(file) => file,
            Err(error)
                if error.kind() == std::io::ErrorKind::AlreadyExists && attempts < ID_ATTEMPTS =>
            {
                continue
            }
            Err(error) => return Err(io_error(&path)(error)),
        };
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io_error(&path))?;
        let event = parse_event(&path, &text).map_err(|problems| NewEventError::Invalid {
            path: path.clone(),
            problems: problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        })?;
        return Ok((event, path));
    }
}

/// The part of an id taken from a name: lower-case ASCII letters and digits, runs of anything
/// else as one `-`, at most 40 characters; `event` when nothing is left.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for ch in name.chars() {
        if slug.len() >= MAX_SLUG_CHARS {
            break;
        }
        if ch.is_ascii_alphanumeric() {
            slug.push(ch.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "event".to_owned()
    } else {
        slug.to_owned()
    }
}

/// The file: the event itself, one working `send_message`, and commented examples that also
/// work when uncommented.
fn new_event_text(id: &str, name: &str, server: u64) -> String {
    let name = toml::Value::String(name.to_owned()).to_string();
    format!(
        r##"# A custom event. Its webhook: POST /webhook/<bot id>/{id}
# Every text in an action is a template: {{name}} takes the value of the webhook variable
# "{{name}}". Check the file with `hookbot check`.

id = "{id}"
name = {name}
server = "{server}"      # the Discord server (guild) the event runs in
enabled = true

# Post the caller's {{message}} variable to #general.
[[actions]]
type = "send_message"
channel = "#general"    # a channel id, "#name", or text that renders to either
content = "{{message}}"
# allowed_mentions = ["users"]   # who may be pinged: users, roles, everyone; default: no one

# An embed, with or instead of content:
# [[actions.embeds]]
# title = "{{service}} {{version}} is live"
# description = "Deployed by {{user}}"
# color = "#2ecc71"
# fields = [{{ name = "Service", value = "{{service}}", inline = true }}]

# Give a user a role (remove_role takes the same keys):
# [[actions]]
# type = "add_role"
# user = "{{user_id}}"     # a user id, or text that renders to one
# role = "Deployer"      # a role id or a role name
"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::action::ActionKind;
    use crate::events::load::load_dir;
    use crate::events::message::MessageSpec;
    use crate::lang::templates::Template;

    #[test]
    fn slugs() {
        assert_eq!(slugify("Deploy finished!"), "deploy-finished");
        assert_eq!(slugify("  --Ünïcode__Name 2 "), "n-code-name-2");
        assert_eq!(slugify("日本語"), "event");
        assert_eq!(slugify(&"ab ".repeat(30)).len(), 40);
        assert!(!slugify(&"abcdefghi ".repeat(5)).ends_with('-'));
    }

    #[test]
    fn writes_a_file_that_loads_back() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("new/events");
        let (event, path) =
            write_new_event(&dir, "Deploy \"finished\"", "123456789012345678").unwrap();

        assert_eq!(path.parent(), Some(dir.as_path()));
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("{}.toml", event.id)
        );
        let (slug, random) = event.id.rsplit_once('-').unwrap();
        assert_eq!(slug, "deploy-finished");
        assert_eq!(random.len(), 8);
        assert!(random.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(event.name, "Deploy \"finished\"");
        assert_eq!(event.server, 123456789012345678);
        assert!(event.enabled);
        assert_eq!(
            event.actions[0].kind,
            ActionKind::SendMessage {
                channel: Template::new("#general"),
                message: MessageSpec {
                    content: Some(Template::new("{message}")),
                    ..MessageSpec::default()
                },
                reply_to: None,
                tts: false,
                buttons: vec![],
            }
        );

        let loaded = load_dir(&dir);
        assert_eq!(loaded.problems, []);
        assert_eq!(loaded.events, std::slice::from_ref(&event));

        // A second event never takes the first one's file.
        let (second, second_path) = write_new_event(&dir, "Deploy \"finished\"", "1").unwrap();
        assert_ne!(second.id, event.id);
        assert_ne!(second_path, path);
    }

    #[test]
    fn the_commented_examples_work_when_uncommented() {
        let text = new_event_text("x-00000000", "X", 1);
        let uncommented: String = text
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") || rest.starts_with("[[") => rest,
                _ => line,
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let event = parse_event(Path::new("x.toml"), &uncommented).unwrap();
        assert_eq!(event.actions.len(), 2);
        let ActionKind::SendMessage { message, .. } = &event.actions[0].kind else {
            panic!("{:?}", event.actions[0]);
        };
        assert_eq!(message.embeds.len(), 1);
        assert!(message.allowed_mentions.users);
        assert_eq!(event.actions[1].kind(), "add_role");
    }

    #[test]
    fn rejects_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            write_new_event(dir.path(), "x", "abc"),
            Err(NewEventError::InvalidServer(server)) if server == "abc"
        ));
        assert!(matches!(
            write_new_event(dir.path(), "x", "0"),
            Err(NewEventError::InvalidServer(_))
        ));
        assert!(matches!(
            write_new_event(dir.path(), "  ", "1"),
            Err(NewEventError::EmptyName)
        ));
        assert_eq!(
            NewEventError::InvalidServer("abc".into()).to_string(),
            "the server must be a Discord server id (digits), got \"abc\""
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
