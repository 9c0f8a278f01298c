//! The stand-in's world for `--sandbox`: a server for every server id the events name, with the
//! channels, roles and members they refer to, and an example request that works against it.

use std::collections::BTreeSet;

use crate::events::{caller_names, walk_actions, ChannelFilter, Event, Trigger};
use crate::lang::shell::shell_quote;
use discord_stand_in::{Fixture, FixtureGuild};

/// The sandbox bot's user id.
pub const SANDBOX_BOT_ID: u64 = 1_300_000_000_000_000_001;
/// The token the sandbox accepts; nothing secret, it never leaves loopback.
pub const SANDBOX_TOKEN: &str = "sandbox-token";
/// Members every sandbox server has, so `{user_id}`-style variables have someone to point at.
pub const SANDBOX_MEMBERS: [(u64, &str); 2] = [
    (1_300_000_000_000_000_101, "alice"),
    (1_300_000_000_000_000_102, "bob"),
];
/// The server's owner: someone other than alice and bob, because Discord lets no bot kick, ban,
/// time out or rename a server's owner, and the examples do that to alice.
pub const SANDBOX_OWNER: (u64, &str) = (1_300_000_000_000_000_100, "owner");
const DEFAULT_CHANNEL: &str = "general";

/// One guild per server id, holding what the events' fixed references name.
pub fn fixture_for(events: &[Event]) -> Fixture {
    let servers: BTreeSet<u64> = events.iter().map(|e| e.server).collect();
    let mut fixture = Fixture::new(SANDBOX_BOT_ID, "hookbot");
    for (index, server) in servers.into_iter().enumerate() {
        let mut ids = IdSource::for_guild(index as u64);
        let mut channels = BTreeSet::from([DEFAULT_CHANNEL.to_owned()]);
        let mut channel_ids = BTreeSet::new();
        let mut roles = BTreeSet::new();
        let mut role_ids = BTreeSet::new();
        let mut user_ids = BTreeSet::new();
        for event in events.iter().filter(|e| e.server == server) {
            let mut references = Vec::new();
            walk_actions(&event.actions, &mut |action| {
                references.extend(action.kind.references())
            });
            // A message trigger's channel must exist for a member to say something in it.
            match &event.trigger {
                Trigger::Message {
                    channel: Some(ChannelFilter::Name(name)),
                } => {
                    channels.insert(name.clone());
                }
                Trigger::Message {
                    channel: Some(ChannelFilter::Id(id)),
                } => {
                    channel_ids.insert(*id);
                }
                _ => {}
            }
            {
                for (kind, template) in references {
                    if !template.is_static() {
                        continue;
                    }
                    let text = template.as_str().trim();
                    let id = mention_id(text);
                    match (kind, id) {
                        ("channel", Some(id)) => {
                            channel_ids.insert(id);
                        }
                        ("channel", None) => {
                            channels.insert(text.trim_start_matches('#').to_owned());
                        }
                        ("role", Some(id)) => {
                            role_ids.insert(id);
                        }
                        ("role", None) => {
                            roles.insert(text.trim_start_matches('@').to_owned());
                        }
                        ("user", Some(id)) => {
                            user_ids.insert(id);
                        }
                        _ => {}
                    }
                }
            }
        }
        let mut guild = FixtureGuild::new(server, "hookbot sandbox")
            .owner(SANDBOX_OWNER.0)
            .member(SANDBOX_OWNER.0, SANDBOX_OWNER.1);
        for name in channels {
            guild = guild.channel(ids.next(), name);
        }
        for id in channel_ids {
            guild = guild.channel(id, format!("channel-{id}"));
        }
        for name in roles {
            guild = guild.role(ids.next(), name);
        }
        for id in role_ids {
            guild = guild.role(id, format!("role-{id}"));
        }
        for (id, name) in SANDBOX_MEMBERS {
            guild = guild.member(id, name);
        }
        for id in user_ids
            .into_iter()
            .filter(|id| SANDBOX_MEMBERS.iter().all(|(m, _)| m != id))
        {
            guild = guild.member(id, format!("user-{id}"));
        }
        fixture = fixture.guild(guild);
    }
    fixture
}

/// Variables for an example request to `event`: every name a caller is expected to send (not a
/// built-in, nor one the event sets itself), with a value that works in the sandbox.
pub fn example_variables(event: &Event) -> Vec<(String, String)> {
    caller_names(event)
        .into_iter()
        .map(|name| {
            let value = example_value(&name);
            (name, value)
        })
        .collect()
}

/// A value that works in the sandbox for a variable named `name`: a member's id for `*id` names
/// about people, a member's name for other names about people, a channel for channel names.
fn example_value(name: &str) -> String {
    let lower = name.to_lowercase();
    let about_people = ["user", "member", "owner", "author"]
        .iter()
        .any(|w| lower.contains(w));
    let (alice_id, alice) = SANDBOX_MEMBERS[0];
    if lower.contains("channel") {
        format!("#{DEFAULT_CHANNEL}")
    } else if about_people && lower.ends_with("id") {
        alice_id.to_string()
    } else if about_people {
        alice.to_owned()
    } else {
        format!("example {name}")
    }
}

/// A `curl` command that works as pasted into a POSIX shell.
pub fn curl_line(url: &str, api_key: &str, variables: &[(String, String)]) -> String {
    let items: Vec<serde_json::Value> = variables
        .iter()
        .map(|(name, value)| {
            serde_json::json!({"name": name, "variable": format!("{{{name}}}"), "value": value})
        })
        .collect();
    let body = serde_json::json!({ "variables": items }).to_string();
    format!(
        "curl -X POST {} -H {} -H 'Content-Type: application/json' -d {}",
        shell_quote(url),
        shell_quote(&format!("Authorization: {api_key}")),
        shell_quote(&body)
    )
}

fn mention_id(text: &str) -> Option<u64> {
    let inner = text
        .trim_start_matches(['<', '#', '@', '&', '!'])
        .trim_end_matches('>');
    (!inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()))
        .then(|| inner.parse().ok())
        .flatten()
}

/// Ids for the things the sandbox makes up, distinct from the server id and from each other.
struct IdSource {
    next: u64,
}

impl IdSource {
    /// A million ids per guild, above the fixed ids this module uses.
    fn for_guild(index: u64) -> Self {
        IdSource {
            next: 1_200_000_000_000_000_000 + index * 1_000_000,
        }
    }

    fn next(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Action, ActionKind, MessageSpec};
    use crate::lang::templates::Template;

    fn event(server: u64, actions: Vec<Action>) -> Event {
        Event {
            id: "e".into(),
            name: "E".into(),
            server,
            enabled: true,
            actions,
            file: "e.toml".into(),
            auth: Default::default(),
            when: Vec::new(),
            variables: Vec::new(),
            trigger: Default::default(),
        }
    }

    #[test]
    fn servers_hold_what_the_events_name() {
        let e = event(
            42,
            vec![
                Action::new(ActionKind::SendMessage {
                    channel: Template::new("#deploys"),
                    message: MessageSpec {
                        content: Some(Template::new("{service} by {user_id}")),
                        ..MessageSpec::default()
                    },
                    reply_to: None,
                    tts: false,
                    buttons: vec![],
                }),
                Action::new(ActionKind::AddRole {
                    user: Template::new("{user_id}"),
                    role: Template::new("Deployer"),
                    reason: None,
                }),
            ],
        );
        let fixture = fixture_for(std::slice::from_ref(&e));
        assert_eq!(fixture.guilds.len(), 1);
        let guild = &fixture.guilds[0];
        assert_eq!(guild.id, 42);
        let channels: Vec<_> = guild.channels.iter().map(|c| c.name.as_str()).collect();
        assert!(channels.contains(&"deploys") && channels.contains(&"general"));
        assert!(guild.roles.iter().any(|r| r.name == "Deployer"));
        assert!(guild.members.iter().any(|m| m.user.username == "alice"));

        let vars = example_variables(&e);
        assert_eq!(
            vars,
            vec![
                ("service".to_owned(), "example service".to_owned()),
                ("user_id".to_owned(), SANDBOX_MEMBERS[0].0.to_string())
            ]
        );
    }

    #[test]
    fn curl_survives_single_quotes() {
        let line = curl_line(
            "http://x/webhook/1/e",
            "hk_1",
            &[("a".into(), "it's".into())],
        );
        assert!(line.contains(r"it'\''s"));
        assert!(line.starts_with("curl -X POST 'http://x/webhook/1/e' -H 'Authorization: hk_1'"));
    }
}
