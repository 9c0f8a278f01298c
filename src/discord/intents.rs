//! Which gateway intents hookbot asks Discord for: exactly what the loaded events need, and
//! the developer portal's words for the privileged ones Discord may refuse (close code 4014).

use serenity::all::GatewayIntents;

use crate::events::TriggerKind;

/// The intents for events of these trigger kinds: servers (for the cache) always; messages
/// with their text for `message`; members for `member_join`/`member_leave`; reactions for
/// `reaction_add`/`reaction_remove`. Slash commands and buttons need none: Discord sends
/// interactions to every connection.
pub fn intents_for(kinds: impl IntoIterator<Item = TriggerKind>) -> GatewayIntents {
    kinds
        .into_iter()
        .fold(GatewayIntents::GUILDS, |intents, kind| {
            intents
                | match kind {
                    TriggerKind::Message => {
                        GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
                    }
                    TriggerKind::MemberJoin | TriggerKind::MemberLeave => {
                        GatewayIntents::GUILD_MEMBERS
                    }
                    TriggerKind::ReactionAdd | TriggerKind::ReactionRemove => {
                        GatewayIntents::GUILD_MESSAGE_REACTIONS
                    }
                    TriggerKind::Webhook
                    | TriggerKind::Command
                    | TriggerKind::Button
                    | TriggerKind::Schedule => GatewayIntents::empty(),
                }
        })
}

/// The privileged intents among `intents`: the ones the developer portal must switch on.
pub fn privileged(intents: GatewayIntents) -> GatewayIntents {
    intents
        & (GatewayIntents::GUILD_MEMBERS
            | GatewayIntents::GUILD_PRESENCES
            | GatewayIntents::MESSAGE_CONTENT)
}

/// What to ask for after Discord refused a privileged intent among `wanted` (4014 does not
/// say which): no privileged intent, and no GUILD_MESSAGES either when it was only there for
/// message events, which cannot read a message's text without MESSAGE_CONTENT.
pub fn without_privileged(wanted: GatewayIntents) -> GatewayIntents {
    let mut kept = wanted - privileged(wanted);
    if wanted.contains(GatewayIntents::MESSAGE_CONTENT) {
        kept -= GatewayIntents::GUILD_MESSAGES;
    }
    kept
}

/// `"Server Members Intent" (member_join, member_leave events)` and the like, as the
/// developer portal's Bot page names the switches.
pub fn portal_switches(intents: GatewayIntents) -> Vec<String> {
    let mut switches = Vec::new();
    if intents.contains(GatewayIntents::GUILD_MEMBERS) {
        switches
            .push("\"Server Members Intent\" (for member_join and member_leave events)".to_owned());
    }
    if intents.contains(GatewayIntents::GUILD_PRESENCES) {
        switches.push("\"Presence Intent\"".to_owned());
    }
    if intents.contains(GatewayIntents::MESSAGE_CONTENT) {
        switches.push("\"Message Content Intent\" (for message events)".to_owned());
    }
    switches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_set_asks_for_exactly_what_it_needs() {
        assert_eq!(intents_for([]), GatewayIntents::GUILDS);
        assert_eq!(
            intents_for([
                TriggerKind::Webhook,
                TriggerKind::Command,
                TriggerKind::Button,
                TriggerKind::Schedule
            ]),
            GatewayIntents::GUILDS
        );
        assert_eq!(
            intents_for([TriggerKind::Message]),
            GatewayIntents::GUILDS
                | GatewayIntents::GUILD_MESSAGES
                | GatewayIntents::MESSAGE_CONTENT
        );
        assert_eq!(
            intents_for([TriggerKind::MemberLeave, TriggerKind::ReactionRemove]),
            GatewayIntents::GUILDS
                | GatewayIntents::GUILD_MEMBERS
                | GatewayIntents::GUILD_MESSAGE_REACTIONS
        );
        let all = intents_for([TriggerKind::Message, TriggerKind::MemberJoin]);
        assert_eq!(
            privileged(all),
            GatewayIntents::GUILD_MEMBERS | GatewayIntents::MESSAGE_CONTENT
        );
        assert_eq!(portal_switches(privileged(all)).len(), 2);
        assert_eq!(without_privileged(all), GatewayIntents::GUILDS);
        let reactions = intents_for([TriggerKind::Message, TriggerKind::ReactionAdd]);
        assert_eq!(
            without_privileged(reactions),
            GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGE_REACTIONS
        );
    }
}
