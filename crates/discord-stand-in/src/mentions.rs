//! Who a message pings: the user, role and `@everyone` mentions in its content, filtered by
//! its `allowed_mentions` as Discord filters them.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{json, Value};

use crate::errors::DiscordError;
use crate::shapes;
use crate::state::World;

/// Who a message pings: the mentions in its content that `allowed_mentions` lets through.
pub(crate) struct Mentions {
    pub users: Vec<Value>,
    pub roles: Vec<String>,
    pub everyone: bool,
    /// `@alice`, `@Deployer`, `@everyone` for the log.
    pub pinged: Vec<String>,
}

impl Mentions {
    pub(crate) fn resolve(
        world: &World,
        guild_id: Option<u64>,
        content: &str,
        allowed: Option<&Value>,
    ) -> Result<Mentions, DiscordError> {
        let allowed = AllowedMentions::parse(allowed)?;
        let mut mentions = Mentions {
            users: Vec::new(),
            roles: Vec::new(),
            everyone: false,
            pinged: Vec::new(),
        };
        for captures in mention_pattern().captures_iter(content) {
            if let Some(user_id) = captures
                .name("user")
                .and_then(|id| id.as_str().parse().ok())
            {
                let Some(user) = world.user(user_id) else {
                    continue;
                };
                let already = mentions
                    .users
                    .iter()
                    .any(|u| u["id"] == json!(user_id.to_string()));
                if allowed.user(user_id) && !already {
                    mentions.users.push(shapes::user(user));
                    mentions.pinged.push(format!("@{}", user.username));
                }
            } else if let Some(role_id) = captures
                .name("role")
                .and_then(|id| id.as_str().parse::<u64>().ok())
            {
                let role = guild_id
                    .and_then(|guild_id| world.guild(guild_id))
                    .and_then(|guild| guild.role(role_id));
                let id = role_id.to_string();
                if let (Some(role), true) = (role, allowed.role(role_id)) {
                    if !mentions.roles.contains(&id) {
                        mentions.roles.push(id);
                        mentions.pinged.push(format!("@{}", role.name));
                    }
                }
            } else if let Some(everyone) = captures.name("everyone") {
                if allowed.everyone && !mentions.everyone {
                    mentions.everyone = true;
                    mentions.pinged.push(everyone.as_str().to_owned());
                }
            }
        }
        Ok(mentions)
    }
}

fn mention_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"<@!?(?P<user>\d+)>|<@&(?P<role>\d+)>|(?P<everyone>@everyone|@here)")
            .expect("the mention pattern is valid")
    })
}

/// A message's `allowed_mentions`; without one, Discord pings everything mentioned.
struct AllowedMentions {
    all_users: bool,
    all_roles: bool,
    everyone: bool,
    users: Vec<u64>,
    roles: Vec<u64>,
}

impl AllowedMentions {
    fn parse(allowed: Option<&Value>) -> Result<AllowedMentions, DiscordError> {
        let Some(allowed) = allowed.filter(|allowed| !allowed.is_null()) else {
            return Ok(AllowedMentions {
                all_users: true,
                all_roles: true,
                everyone: true,
                users: Vec::new(),
                roles: Vec::new(),
            });
        };
        let parse: Vec<&str> = allowed["parse"]
            .as_array()
            .map(|kinds| kinds.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let ids = |key: &str| -> Vec<u64> {
            allowed[key]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| {
                            id.as_str()
                                .and_then(|id| id.parse().ok())
                                .or_else(|| id.as_u64())
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (users, roles) = (ids("users"), ids("roles"));
        for (kind, listed) in [("users", &users), ("roles", &roles)] {
            if parse.contains(&kind) && !listed.is_empty() {
                return Err(DiscordError::invalid_form_body(
                    &["allowed_mentions"],
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    &format!("parse:[\"{kind}\"] and {kind}: [ids...] are mutually exclusive."),
                ));
            }
        }
        Ok(AllowedMentions {
            all_users: parse.contains(&"users"),
            all_roles: parse.contains(&"roles"),
            everyone: parse.contains(&"everyone"),
            users,
            roles,
        })
    }

    fn user(&self, id: u64) -> bool {
        self.all_users || self.users.contains(&id)
    }

    fn role(&self, id: u64) -> bool {
        self.all_roles || self.roles.contains(&id)
    }
}
