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

/// What to ask for instead of `wanted` while Discord refuses the privileged intents
/// `refused`: `wanted` without them, and without GUILD_MESSAGES either when MESSAGE_CONTENT is
/// refused, since message events (the only ones that want GUILD_MESSAGES) cannot read a
/// message's text without it.
pub fn without(wanted: GatewayIntents, refused: GatewayIntents) -> GatewayIntents {
    let refused = privileged(refused);
    let mut kept = wanted - refused;
    if refused.contains(GatewayIntents::MESSAGE_CONTENT)
        && wanted.contains(GatewayIntents::MESSAGE_CONTENT)
    {
        kept -= GatewayIntents::GUILD_MESSAGES;
    }
    kept
}

/// The application's flags (`GET /oauth2/applications/@me`) that grant a privileged intent:
/// each intent's own flag, or its `_LIMITED` one (a bot in fewer than 100 servers).
const FLAG_GRANTS: [(u64, GatewayIntents); 3] = [
    ((1 << 12) | (1 << 13), GatewayIntents::GUILD_PRESENCES),
    ((1 << 14) | (1 << 15), GatewayIntents::GUILD_MEMBERS),
    ((1 << 18) | (1 << 19), GatewayIntents::MESSAGE_CONTENT),
];

/// The privileged intents an application whose flags are `flags` may ask for.
pub fn granted_by_flags(flags: u64) -> GatewayIntents {
    FLAG_GRANTS
        .iter()
        .filter(|(bits, _)| flags & bits != 0)
        .fold(GatewayIntents::empty(), |granted, (_, intent)| {
            granted | *intent
        })
}

/// Which privileged intents among `asked` to stop asking for after Discord closed the gateway
/// with 4014 (which does not say which): the ones the application's flags do not grant, when
/// Discord said them (`granted`); every one of them when it did not, or when the flags grant
/// them all (they are out of date), so hookbot never identifies again with what was refused.
pub fn refused_after_4014(
    asked: GatewayIntents,
    granted: Option<GatewayIntents>,
) -> GatewayIntents {
    let asked = privileged(asked);
    match granted.map(|granted| asked - granted) {
        Some(missing) if !missing.is_empty() => missing,
        _ => asked,
    }
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
        switches.push("\"Presence Intent\" (no event of hookbot needs it)".to_owned());
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
        assert_eq!(without(all, privileged(all)), GatewayIntents::GUILDS);
        let reactions = intents_for([TriggerKind::Message, TriggerKind::ReactionAdd]);
        assert_eq!(
            without(reactions, GatewayIntents::MESSAGE_CONTENT),
            GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGE_REACTIONS
        );
    }

    #[test]
    fn after_a_4014_only_what_the_application_lacks_is_dropped() {
        let wanted = intents_for([
            TriggerKind::Message,
            TriggerKind::MemberJoin,
            TriggerKind::ReactionAdd,
        ]);
        // The portal has Server Members (its _LIMITED flag) but not Message Content.
        let granted = granted_by_flags((1 << 15) | (1 << 12));
        assert_eq!(
            granted,
            GatewayIntents::GUILD_MEMBERS | GatewayIntents::GUILD_PRESENCES
        );
        let refused = refused_after_4014(wanted, Some(granted));
        assert_eq!(refused, GatewayIntents::MESSAGE_CONTENT);
        assert_eq!(
            without(wanted, refused),
            GatewayIntents::GUILDS
                | GatewayIntents::GUILD_MEMBERS
                | GatewayIntents::GUILD_MESSAGE_REACTIONS
        );
        assert_eq!(granted_by_flags(1 << 18), GatewayIntents::MESSAGE_CONTENT);
        assert_eq!(granted_by_flags(1 << 19), GatewayIntents::MESSAGE_CONTENT);
        assert_eq!(granted_by_flags(0), GatewayIntents::empty());
        // Without an answer, or with flags that grant everything refused: none at all.
        assert_eq!(refused_after_4014(wanted, None), privileged(wanted));
        let everything = granted_by_flags((1 << 12) | (1 << 14) | (1 << 18));
        assert_eq!(
            refused_after_4014(wanted, Some(everything)),
            privileged(wanted)
        );
    }
}
