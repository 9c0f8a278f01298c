//! `[trigger]` (every type and its keys), buttons on message actions, and `reply`: whole files
//! through the parser, each problem at its `LINE:COL`.

use super::tests_common::{errors, parse};
use crate::events::*;
use crate::lang::schedule::{Cadence, Schedule};

const SEND: &str =
    "[[actions]]\ntype = \"send_message\"\nchannel = \"#general\"\ncontent = \"hi\"\n";

fn trigger(table: &str) -> Trigger {
    let (event, warnings) = parse(&format!("{table}\n{SEND}"));
    let event = event.unwrap_or_else(|problems| panic!("{problems:#?}"));
    assert_eq!(warnings, Vec::<String>::new());
    event.trigger
}

#[test]
fn no_trigger_table_is_a_webhook() {
    assert_eq!(trigger(""), Trigger::Webhook);
    assert_eq!(trigger("[trigger]\ntype = \"webhook\""), Trigger::Webhook);
}

#[test]
fn every_type_reads_its_keys() {
    assert_eq!(
        trigger(
            r#"[trigger]
type = "command"
name = "deploy"
description = "Deploy a service"
[[trigger.options]]
name = "service"
type = "string"
description = "Which one"
required = true
choices = ["api", "web"]
[[trigger.options]]
name = "replicas"
type = "integer"
description = "How many"
choices = [1, 3]
[[trigger.options]]
name = "who"
type = "user"
description = "Tell them"
"#
        ),
        Trigger::Command(CommandSpec {
            name: "deploy".into(),
            description: "Deploy a service".into(),
            options: vec![
                CommandOption {
                    name: "service".into(),
                    kind: OptionType::String,
                    description: "Which one".into(),
                    required: true,
                    choices: ["api", "web"]
                        .map(|v| OptionChoice {
                            name: v.into(),
                            value: ChoiceValue::String(v.into())
                        })
                        .to_vec(),
                },
                CommandOption {
                    name: "replicas".into(),
                    kind: OptionType::Integer,
                    description: "How many".into(),
                    required: false,
                    choices: [1, 3]
                        .map(|v| OptionChoice {
                            name: v.to_string(),
                            value: ChoiceValue::Integer(v)
                        })
                        .to_vec(),
                },
                CommandOption {
                    name: "who".into(),
                    kind: OptionType::User,
                    description: "Tell them".into(),
                    required: false,
                    choices: vec![],
                },
            ],
        })
    );
    assert_eq!(trigger("[trigger]\ntype = \"button\""), Trigger::Button);
    assert_eq!(
        trigger("[trigger]\ntype = \"member_join\""),
        Trigger::MemberJoin
    );
    assert_eq!(
        trigger("[trigger]\ntype = \"member_leave\""),
        Trigger::MemberLeave
    );
    assert_eq!(
        trigger("[trigger]\ntype = \"message\"\nchannel = \"#general\""),
        Trigger::Message {
            channel: Some(ChannelFilter::Name("general".into()))
        }
    );
    assert_eq!(
        trigger("[trigger]\ntype = \"message\"\nchannel = \"123\""),
        Trigger::Message {
            channel: Some(ChannelFilter::Id(123))
        }
    );
    assert_eq!(
        trigger("[trigger]\ntype = \"reaction_add\"\nemoji = \"👍\""),
        Trigger::ReactionAdd {
            emoji: Some(EmojiFilter::Unicode("👍".into()))
        }
    );
    assert_eq!(
        trigger("[trigger]\ntype = \"reaction_remove\"\nemoji = \"<:party:42>\""),
        Trigger::ReactionRemove {
            emoji: Some(EmojiFilter::Custom {
                name: "party".into(),
                id: 42
            })
        }
    );
    assert_eq!(
        trigger(
            "[trigger]\ntype = \"schedule\"\ncron = \"0 9 * * 1-5\"\ntimezone = \"Europe/Berlin\""
        ),
        Trigger::Schedule(Schedule {
            cadence: Cadence::Cron("0 9 * * 1-5".into()),
            timezone: "Europe/Berlin".into(),
        })
    );
    assert_eq!(
        trigger("[trigger]\ntype = \"schedule\"\nevery = \"15m\""),
        Trigger::Schedule(Schedule {
            cadence: Cadence::EverySeconds(900),
            timezone: "UTC".into(),
        })
    );
    assert_eq!(
        trigger("[trigger]\ntype = \"schedule\"\nevery = \"1h\"\ntimezone = \"Asia/Kolkata\""),
        Trigger::Schedule(Schedule {
            cadence: Cadence::EverySeconds(3600),
            timezone: "Asia/Kolkata".into(),
        })
    );
}

#[test]
fn bad_triggers_are_reported_at_the_key() {
    let problems = |table: &str| errors(&format!("{table}\n{SEND}"));
    assert_eq!(
        problems("[trigger]\ntype = \"slash\""),
        ["4:8: unknown trigger type \"slash\"; expected one of: webhook, command, button, message, member_join, member_leave, reaction_add, reaction_remove, schedule"]
    );
    assert_eq!(
        problems("[trigger]\ntype = \"command\"\nname = \"Deploy Now\"\ndescription = \"x\""),
        ["5:8: trigger.name \"Deploy Now\" is not a name Discord takes for a slash command: 1-32 lower-case letters, digits, - _ or ', no spaces (try \"deploy now\")"]
    );
    assert_eq!(
        problems("[trigger]\ntype = \"command\"\nname = \"deploy\""),
        ["3:1: missing required key \"description\" in a command trigger"]
    );
    let mut many =
        String::from("[trigger]\ntype = \"command\"\nname = \"x\"\ndescription = \"x\"\n");
    for n in 0..26 {
        many.push_str(&format!(
            "[[trigger.options]]\nname = \"o{n}\"\ntype = \"string\"\ndescription = \"d\"\n"
        ));
    }
    let found = problems(&many);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("26 options; Discord allows at most 25"),
        "{found:#?}"
    );
    assert_eq!(
        problems(
            "[trigger]\ntype = \"command\"\nname = \"x\"\ndescription = \"x\"\n\
             [[trigger.options]]\nname = \"a\"\ntype = \"text\"\ndescription = \"d\"\n\
             [[trigger.options]]\nname = \"b\"\ntype = \"boolean\"\ndescription = \"d\"\nchoices = [\"y\"]\n\
             [[trigger.options]]\nname = \"c\"\ntype = \"integer\"\ndescription = \"d\"\nchoices = [\"one\"]\n\
             [[trigger.options]]\nname = \"d\"\ntype = \"string\"\ndescription = \"d\"\nrequired = true\n"
        ),
        [
            "9:8: unknown option type \"text\"; expected one of: string, integer, number, boolean, user, channel, role",
            "15:11: trigger.options[1].choices: a boolean option cannot have choices; only string, integer and number options can",
            "20:12: trigger.options[2].choices: an integer option's choices must be whole numbers, got \"one\"",
        ]
    );
    assert_eq!(
        problems(
            "[trigger]\ntype = \"command\"\nname = \"x\"\ndescription = \"x\"\n\
             [[trigger.options]]\nname = \"a\"\ntype = \"string\"\ndescription = \"d\"\n\
             [[trigger.options]]\nname = \"b\"\ntype = \"string\"\ndescription = \"d\"\nrequired = true\n"
        ),
        ["11:1: option \"b\" is required but comes after an optional one; Discord wants the required options first"]
    );
    assert_eq!(
        problems("[trigger]\ntype = \"schedule\"\ncron = \"0 0 30 2 *\""),
        ["5:8: trigger.cron \"0 0 30 2 *\" never fires (no date matches every field, e.g. February 30)"]
    );
    assert_eq!(
        problems("[trigger]\ntype = \"schedule\"\ncron = \"0 9 * *\""),
        ["5:8: trigger.cron must have five fields (minute hour day-of-month month day-of-week), like \"0 9 * * 1-5\"; \"0 9 * *\" has 4"]
    );
    assert_eq!(
        problems("[trigger]\ntype = \"schedule\"\ncron = \"0 9 * * *\"\ntimezone = \"Europe/Bonn\""),
        ["6:12: trigger.timezone: unknown time zone \"Europe/Bonn\"; use an IANA name such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\""]
    );
    assert_eq!(
        problems("[trigger]\ntype = \"schedule\"\nevery = \"30s\""),
        ["5:9: trigger.every must be from 1m to 52w, got 30s"]
    );
    assert_eq!(
        problems("[trigger]\ntype = \"schedule\"\nevery = \"often\""),
        ["5:9: trigger.every: \"often\" is not a duration; write it like 30s, 10m, 2h, 1d or 1w"]
    );
    assert_eq!(
        problems("[trigger]\ntype = \"member_join\"\nchannel = \"#x\""),
        ["5:1: unknown key \"channel\" in a member_join trigger; it takes no keys"]
    );
    assert_eq!(
        problems("[trigger]\ntype = \"reaction_add\"\nemoji = \"thumbs up\""),
        ["5:9: trigger.emoji must be a unicode emoji such as \"👍\" or a custom emoji as \"name:id\", got \"thumbs up\""]
    );
}

#[test]
fn a_trigger_event_takes_no_request_tables() {
    assert_eq!(
        errors(&format!(
            "[trigger]\ntype = \"member_join\"\n[variables]\nwho = \"{{body.user}}\"\n{SEND}"
        )),
        ["5:1: [variables] is about the webhook request, and a member_join trigger starts this event without one; leave it out (the trigger's variables, such as {user_id}, are set already)"]
    );
}

#[test]
fn reply_needs_an_interaction() {
    let reply = "[[actions]]\ntype = \"reply\"\ncontent = \"done\"\nephemeral = true\n";
    let (event, _) = parse(&format!(
        "[trigger]\ntype = \"command\"\nname = \"x\"\ndescription = \"y\"\n{reply}"
    ));
    let event = event.unwrap();
    assert!(matches!(
        event.actions[0].kind,
        ActionKind::Reply {
            ephemeral: true,
            ..
        }
    ));
    assert_eq!(
        errors(&format!("[trigger]\ntype = \"schedule\"\nevery = \"1h\"\n{reply}")),
        ["7:8: reply answers the slash command or button click that started the run, and a schedule trigger starts this event: use send_message, or give the event a [trigger] of type \"command\" or \"button\""]
    );
    assert_eq!(
        errors(reply),
        ["4:8: reply answers the slash command or button click that started the run, and a webhook trigger starts this event: use send_message, or give the event a [trigger] of type \"command\" or \"button\""]
    );
}

#[test]
fn buttons_on_a_message() {
    let (event, _) = parse(
        r##"[[actions]]
type = "send_message"
channel = "#deploys"
content = "Deploy {version}?"
[[actions.buttons]]
label = "Approve"
style = "success"
event = "approve"
value = "{version}"
[[actions.buttons]]
label = "Logs"
url = "https://ci.example.com/{version}"
"##,
    );
    let event = event.unwrap();
    let ActionKind::SendMessage { buttons, .. } = &event.actions[0].kind else {
        panic!()
    };
    assert_eq!(buttons.len(), 2);
    assert_eq!(buttons[0].style, ButtonStyle::Success);
    assert_eq!(buttons[0].event.as_deref(), Some("approve"));
    assert_eq!(buttons[0].value.as_ref().unwrap().as_str(), "{version}");
    assert_eq!(buttons[1].style, ButtonStyle::Link);

    let bad = |button: &str| {
        errors(&format!(
            "[[actions]]\ntype = \"send_message\"\nchannel = \"1\"\ncontent = \"x\"\n[[actions.buttons]]\n{button}"
        ))
    };
    assert_eq!(
        bad("label = \"Go\""),
        ["7:1: a button needs event, the id of the button event a click runs (or style = \"link\" with a url)"]
    );
    assert_eq!(
        bad("label = \"Go\"\nstyle = \"blurple\"\nevent = \"e\""),
        ["9:9: unknown button.style \"blurple\"; expected one of: primary, secondary, success, danger, link"]
    );
    assert_eq!(
        bad("label = \"Go\"\nstyle = \"link\"\nurl = \"ftp://x\""),
        ["10:7: button.url must start with https://, http:// or discord://, got \"ftp://x\""]
    );
}
