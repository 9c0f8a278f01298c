//! Slash commands as Discord keeps them for a server: what the events want, compared with what
//! Discord has, and one bulk overwrite only when they differ.

use serde_json::{json, Value};
use serenity::all::{Command, GuildId};

use super::client::Discord;
use super::error::CallError;
use crate::events::{ChoiceValue, CommandSpec};

/// What a sync did for one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// Discord already had exactly these commands: no write.
    Unchanged,
    /// One bulk overwrite made them so.
    Overwritten { names: Vec<String> },
}

/// The command as hookbot registers it (Discord's create-command body).
pub fn command_body(spec: &CommandSpec) -> Value {
    let options: Vec<Value> = spec
        .options
        .iter()
        .map(|option| {
            let mut body = json!({
                "type": option.kind.discord_type(),
                "name": option.name,
                "description": option.description,
                "required": option.required,
            });
            if !option.choices.is_empty() {
                let choices: Vec<Value> = option
                    .choices
                    .iter()
                    .map(|choice| {
                        let value = match &choice.value {
                            ChoiceValue::String(text) => json!(text),
                            ChoiceValue::Integer(number) => json!(number),
                            ChoiceValue::Number(text) => text
                                .parse::<f64>()
                                .map_or_else(|_| json!(text), |n| json!(n)),
                        };
                        json!({ "name": choice.name, "value": value })
                    })
                    .collect();
                body["choices"] = json!(choices);
            }
            body
        })
        .collect();
    json!({
        "type": 1,
        "name": spec.name,
        "description": spec.description,
        "options": options,
    })
}

/// What of a command decides whether Discord's copy is the one wanted: its name, description
/// and options with their types, descriptions, required flags and choices, in order.
fn comparable(command: &Value) -> Value {
    let options: Vec<Value> = command["options"]
        .as_array()
        .map(|options| {
            options
                .iter()
                .map(|option| {
                    let choices: Vec<Value> = option["choices"]
                        .as_array()
                        .map(|choices| {
                            choices
                                .iter()
                                .map(|c| json!([c["name"], c["value"].to_string()]))
                                .collect()
                        })
                        .unwrap_or_default();
                    json!([
                        option["type"],
                        option["name"],
                        option["description"],
                        option["required"].as_bool().unwrap_or(false),
                        choices
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    json!([
        command["type"].as_u64().unwrap_or(1),
        command["name"],
        command["description"],
        options
    ])
}

/// Whether Discord's `existing` commands are exactly the `wanted` bodies, whatever the order.
pub fn same_commands(existing: &[Value], wanted: &[Value]) -> bool {
    let mut have: Vec<String> = existing.iter().map(|c| comparable(c).to_string()).collect();
    let mut want: Vec<String> = wanted.iter().map(|c| comparable(c).to_string()).collect();
    have.sort();
    want.sort();
    have == want
}

impl Discord {
    /// Makes `guild`'s slash commands exactly `specs`: reads what Discord has and, only when it
    /// differs, replaces the whole set with one bulk overwrite (which also removes commands
    /// whose event is gone).
    pub async fn sync_commands(
        &self,
        guild: u64,
        specs: &[&CommandSpec],
    ) -> Result<Synced, CallError> {
        let guild = GuildId::new(guild);
        let existing: Vec<Command> = self.http.get_guild_commands(guild).await?;
        let existing: Vec<Value> = existing
            .iter()
            .map(|command| serde_json::to_value(command).unwrap_or(Value::Null))
            .collect();
        let wanted: Vec<Value> = specs.iter().map(|spec| command_body(spec)).collect();
        if same_commands(&existing, &wanted) {
            return Ok(Synced::Unchanged);
        }
        self.http
            .create_guild_commands(guild, &Value::Array(wanted))
            .await?;
        Ok(Synced::Overwritten {
            names: specs.iter().map(|spec| spec.name.clone()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{CommandOption, OptionChoice, OptionType};

    fn spec() -> CommandSpec {
        CommandSpec {
            name: "deploy".into(),
            description: "Deploy a service".into(),
            options: vec![CommandOption {
                name: "service".into(),
                kind: OptionType::String,
                description: "Which".into(),
                required: true,
                choices: vec![OptionChoice {
                    name: "billing".into(),
                    value: ChoiceValue::String("billing".into()),
                }],
            }],
        }
    }

    #[test]
    fn discords_copy_with_its_own_fields_is_the_same_command() {
        let wanted = command_body(&spec());
        let mut registered = wanted.clone();
        registered["id"] = json!("123");
        registered["version"] = json!("456");
        registered["guild_id"] = json!("1");
        registered["nsfw"] = json!(false);
        assert!(same_commands(
            std::slice::from_ref(&registered),
            std::slice::from_ref(&wanted)
        ));
        let mut changed = spec();
        changed.options[0].required = false;
        assert!(!same_commands(
            &[registered.clone()],
            &[command_body(&changed)]
        ));
        assert!(!same_commands(&[registered], &[]));
        assert!(same_commands(&[], &[]));
    }
}
