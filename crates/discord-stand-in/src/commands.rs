//! Guild application commands as Discord keeps them: the bulk overwrite that replaces a guild's
//! whole set (keeping the id of a command whose name and type stay), creating, listing and
//! deleting one, each checked as Discord checks it (names, descriptions, option counts and
//! order, choices).

use serde_json::{json, Map, Value};

use crate::describe::announce;
use crate::errors::DiscordError;
use crate::state::{StoredCommand, World};
use crate::wire::Answer;

/// Discord's limits on a command.
const MAX_COMMANDS_PER_GUILD: usize = 100;
const MAX_OPTIONS: usize = 25;
const MAX_CHOICES: usize = 25;
const MAX_NAME_CHARS: usize = 32;
const MAX_DESCRIPTION_CHARS: usize = 100;

/// Application command types (Discord's numbers).
const CHAT_INPUT: u64 = 1;
/// Option types a chat-input command may take: sub-commands (1, 2) to attachment (11).
const OPTION_TYPES: std::ops::RangeInclusive<u64> = 1..=11;
const OPTION_STRING: u64 = 3;
const OPTION_INTEGER: u64 = 4;
const OPTION_NUMBER: u64 = 10;

/// The application id in a path must be the bot's (the stand-in's application is the bot).
fn check_application(world: &World, application_id: u64) -> Result<(), DiscordError> {
    if application_id == world.bot.id {
        Ok(())
    } else {
        Err(DiscordError::unknown_application())
    }
}

fn check_guild(world: &World, guild_id: u64) -> Result<(), DiscordError> {
    world
        .guild(guild_id)
        .map(|_| ())
        .ok_or_else(DiscordError::missing_access)
}

/// `GET /applications/{app}/guilds/{guild}/commands`.
pub(crate) fn list(
    world: &World,
    application_id: u64,
    guild_id: u64,
) -> Result<Answer, DiscordError> {
    check_application(world, application_id)?;
    check_guild(world, guild_id)?;
    let listed: Vec<Value> = world
        .commands
        .iter()
        .filter(|command| command.guild_id == guild_id)
        .map(|command| command.object.clone())
        .collect();
    Ok(Answer::json(json!(listed)))
}

/// `PUT /applications/{app}/guilds/{guild}/commands`: the guild's commands become exactly the
/// body's, all checked before any is kept.
pub(crate) fn overwrite(
    world: &mut World,
    application_id: u64,
    guild_id: u64,
    body: &Value,
) -> Result<Answer, DiscordError> {
    check_application(world, application_id)?;
    check_guild(world, guild_id)?;
    let Some(wanted) = body.as_array() else {
        return Err(DiscordError::invalid_form_body(
            &[],
            "BASE_TYPE_ARRAY",
            "Must be an array.",
        ));
    };
    if wanted.len() > MAX_COMMANDS_PER_GUILD {
        return Err(DiscordError::invalid_form_body(
            &[],
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {MAX_COMMANDS_PER_GUILD} or fewer in length."),
        ));
    }
    let mut seen = Vec::new();
    for (index, command) in wanted.iter().enumerate() {
        let index = index.to_string();
        validate_command(command, &[index.as_str()])?;
        let key = (command_type(command), command["name"].clone());
        if seen.contains(&key) {
            return Err(DiscordError::invalid_form_body(
                &[index.as_str(), "name"],
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            ));
        }
        seen.push(key);
    }
    let mut kept = Vec::new();
    for command in wanted {
        let existing = world.commands.iter().find(|stored| {
            stored.guild_id == guild_id
                && stored.name() == command["name"]
                && command_type(&stored.object) == command_type(command)
        });
        let id = match existing {
            Some(stored) => stored.object["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| world.snowflakes.next()),
            None => world.snowflakes.next(),
        };
        let version = world.snowflakes.next();
        kept.push(StoredCommand {
            guild_id,
            object: command_object(command, id, version, application_id, guild_id),
        });
    }
    let names: Vec<String> = kept
        .iter()
        .map(|command| format!("/{}", command.name()))
        .collect();
    world.commands.retain(|stored| stored.guild_id != guild_id);
    let answer: Vec<Value> = kept.iter().map(|command| command.object.clone()).collect();
    world.commands.extend(kept);
    let guild_name = world
        .guild(guild_id)
        .map_or_else(String::new, |guild| guild.guild.name.clone());
    announce(&if names.is_empty() {
        format!("removed every slash command of {guild_name}")
    } else {
        format!(
            "registered the slash commands of {guild_name}: {}",
            names.join(", ")
        )
    });
    Ok(Answer::json(json!(answer)))
}

/// `POST /applications/{app}/guilds/{guild}/commands`: creates one, or replaces the one with
/// its name and type (201 for a new one, 200 for a replaced one).
pub(crate) fn upsert(
    world: &mut World,
    application_id: u64,
    guild_id: u64,
    body: &Value,
) -> Result<Answer, DiscordError> {
    check_application(world, application_id)?;
    check_guild(world, guild_id)?;
    validate_command(body, &[])?;
    let position = world.commands.iter().position(|stored| {
        stored.guild_id == guild_id
            && stored.name() == body["name"]
            && command_type(&stored.object) == command_type(body)
    });
    let version = world.snowflakes.next();
    match position {
        Some(index) => {
            let id = world.commands[index].object["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .unwrap_or(version);
            let object = command_object(body, id, version, application_id, guild_id);
            world.commands[index].object = object.clone();
            announce(&format!(
                "updated the slash command /{}",
                body["name"].as_str().unwrap_or("")
            ));
            Ok(Answer::json(object))
        }
        None => {
            let count = world
                .commands
                .iter()
                .filter(|c| c.guild_id == guild_id)
                .count();
            if count >= MAX_COMMANDS_PER_GUILD {
                return Err(DiscordError::max_application_commands());
            }
            let id = world.snowflakes.next();
            let object = command_object(body, id, version, application_id, guild_id);
            world.commands.push(StoredCommand {
                guild_id,
                object: object.clone(),
            });
            announce(&format!(
                "registered the slash command /{}",
                body["name"].as_str().unwrap_or("")
            ));
            Ok(Answer::created(object))
        }
    }
}

/// `DELETE /applications/{app}/guilds/{guild}/commands/{id}`.
pub(crate) fn delete(
    world: &mut World,
    application_id: u64,
    guild_id: u64,
    command_id: u64,
) -> Result<Answer, DiscordError> {
    check_application(world, application_id)?;
    check_guild(world, guild_id)?;
    let id = command_id.to_string();
    let position = world
        .commands
        .iter()
        .position(|stored| stored.guild_id == guild_id && stored.object["id"] == json!(id))
        .ok_or_else(DiscordError::unknown_application_command)?;
    let removed = world.commands.remove(position);
    announce(&format!("removed the slash command /{}", removed.name()));
    Ok(Answer::no_content())
}

fn command_type(command: &Value) -> u64 {
    command["type"].as_u64().unwrap_or(CHAT_INPUT)
}

/// Discord's command object for a checked request body.
fn command_object(
    body: &Value,
    id: u64,
    version: u64,
    application_id: u64,
    guild_id: u64,
) -> Value {
    let mut object = json!({
        "id": id.to_string(),
        "application_id": application_id.to_string(),
        "version": version.to_string(),
        "default_member_permissions": body.get("default_member_permissions").cloned().unwrap_or(Value::Null),
        "type": command_type(body),
        "name": body["name"],
        "name_localizations": null,
        "description": body.get("description").cloned().unwrap_or_else(|| json!("")),
        "description_localizations": null,
        "guild_id": guild_id.to_string(),
        "nsfw": body.get("nsfw").and_then(Value::as_bool).unwrap_or(false),
        "contexts": null,
        "integration_types": [0],
    });
    if let Some(options) = body["options"]
        .as_array()
        .filter(|options| !options.is_empty())
    {
        object["options"] = json!(options);
    }
    object
}

fn invalid(path: &[&str], code: &str, message: &str) -> DiscordError {
    DiscordError::invalid_form_body(path, code, message)
}

fn join<'a>(path: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    path.iter().chain(more).copied().collect()
}

/// A name Discord takes for a chat-input command or an option: 1-32 characters, lower case,
/// letters, digits, `-`, `_` and `'`.
fn valid_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=MAX_NAME_CHARS).contains(&count)
        && name
            .chars()
            .all(|c| c == '-' || c == '_' || c == '\'' || c.is_alphanumeric())
        && name.to_lowercase() == name
}

fn check_name(fields: &Map<String, Value>, path: &[&str]) -> Result<(), DiscordError> {
    let name = fields.get("name").and_then(Value::as_str).ok_or_else(|| {
        invalid(
            &join(path, &["name"]),
            "BASE_TYPE_REQUIRED",
            "This field is required",
        )
    })?;
    if !valid_name(name) {
        return Err(invalid(
            &join(path, &["name"]),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        ));
    }
    Ok(())
}

fn check_description(fields: &Map<String, Value>, path: &[&str]) -> Result<(), DiscordError> {
    let description = fields
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let count = description.chars().count();
    if count == 0 {
        return Err(invalid(
            &join(path, &["description"]),
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ));
    }
    if count > MAX_DESCRIPTION_CHARS {
        return Err(invalid(
            &join(path, &["description"]),
            "BASE_TYPE_BAD_LENGTH",
            &format!("Must be between 1 and {MAX_DESCRIPTION_CHARS} in length."),
        ));
    }
    Ok(())
}

fn validate_command(command: &Value, path: &[&str]) -> Result<(), DiscordError> {
    let Some(fields) = command.as_object() else {
        return Err(invalid(
            path,
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        ));
    };
    check_name(fields, path)?;
    if command_type(command) != CHAT_INPUT {
        // User and message commands: the stand-in's users cannot use them, but Discord keeps them.
        return Ok(());
    }
    check_description(fields, path)?;
    validate_options(fields.get("options"), path, 0)
}

fn validate_options(
    options: Option<&Value>,
    path: &[&str],
    depth: usize,
) -> Result<(), DiscordError> {
    let options = match options {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(options)) => options,
        Some(_) => {
            return Err(invalid(
                &join(path, &["options"]),
                "BASE_TYPE_ARRAY",
                "Must be an array.",
            ))
        }
    };
    if options.len() > MAX_OPTIONS {
        return Err(invalid(
            &join(path, &["options"]),
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {MAX_OPTIONS} or fewer in length."),
        ));
    }
    let mut names = Vec::new();
    let mut optional_seen = false;
    for (index, option) in options.iter().enumerate() {
        let index = index.to_string();
        let at = join(path, &["options", index.as_str()]);
        let Some(fields) = option.as_object() else {
            return Err(invalid(
                &at,
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            ));
        };
        check_name(fields, &at)?;
        check_description(fields, &at)?;
        let kind = fields.get("type").and_then(Value::as_u64).unwrap_or(0);
        if !OPTION_TYPES.contains(&kind) {
            return Err(invalid(
                &join(&at, &["type"]),
                "BASE_TYPE_CHOICES",
                &format!(
                    "Value must be one of {:?}.",
                    OPTION_TYPES.collect::<Vec<_>>()
                ),
            ));
        }
        let name = fields["name"].clone();
        if names.contains(&name) {
            return Err(invalid(
                &join(&at, &["name"]),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            ));
        }
        names.push(name);
        let required = fields
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if required && optional_seen {
            return Err(invalid(
                &join(&at, &["required"]),
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            ));
        }
        optional_seen |= !required;
        validate_choices(fields.get("choices"), kind, &at)?;
        if kind <= 2 {
            if depth >= 2 {
                return Err(invalid(
                    &at,
                    "APPLICATION_COMMAND_OPTION_INVALID",
                    "Sub-commands nest at most two levels",
                ));
            }
            validate_options(fields.get("options"), &at, depth + 1)?;
        }
    }
    Ok(())
}

fn validate_choices(choices: Option<&Value>, kind: u64, at: &[&str]) -> Result<(), DiscordError> {
    let choices = match choices {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(choices)) => choices,
        Some(_) => {
            return Err(invalid(
                &join(at, &["choices"]),
                "BASE_TYPE_ARRAY",
                "Must be an array.",
            ))
        }
    };
    if !matches!(kind, OPTION_STRING | OPTION_INTEGER | OPTION_NUMBER) && !choices.is_empty() {
        return Err(invalid(
            &join(at, &["choices"]),
            "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
            "Only string, integer and number options may have choices",
        ));
    }
    if choices.len() > MAX_CHOICES {
        return Err(invalid(
            &join(at, &["choices"]),
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {MAX_CHOICES} or fewer in length."),
        ));
    }
    for (index, choice) in choices.iter().enumerate() {
        let index = index.to_string();
        let here = join(at, &["choices", index.as_str()]);
        let name_count = choice["name"]
            .as_str()
            .map_or(0, |name| name.chars().count());
        if !(1..=100).contains(&name_count) {
            return Err(invalid(
                &join(&here, &["name"]),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        let value = &choice["value"];
        let fits = match kind {
            OPTION_STRING => value
                .as_str()
                .is_some_and(|v| (1..=100).contains(&v.chars().count())),
            OPTION_INTEGER => value.is_i64() || value.is_u64(),
            _ => value.is_number(),
        };
        if !fits {
            return Err(invalid(
                &join(&here, &["value"]),
                "BASE_TYPE_BAD_VALUE",
                "The value does not fit the option's type",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_discords_rules() {
        assert!(valid_name("deploy"));
        assert!(valid_name("deploy-now_2"));
        assert!(valid_name("déployer"));
        assert!(!valid_name("Deploy"));
        assert!(!valid_name("deploy now"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(33)));
    }
}
