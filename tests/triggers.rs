//! CONTRACT §7, triggers: events that Discord or a clock starts, through the real program
//! against the stand-in. (What the gateway dispatches — commands, clicks, messages, members,
//! reactions — is tested with the gateway's wiring; here: the webhook side and schedules.)

mod common;

use common::*;
use hookbot::engine::{RunFilter, ScheduleDue, Store};
use hookbot::events::TriggerKind;
use serde_json::json;

fn command_event() -> String {
    format!(
        "id = \"deploy\"\nserver = \"{SERVER}\"\n\n[trigger]\ntype = \"command\"\nname = \"deploy\"\n\
         description = \"Deploy a service\"\n\n[[actions]]\ntype = \"reply\"\ncontent = \"on it\"\n"
    )
}

/// §7: "A webhook for an event whose trigger is not `webhook` answers 404."
#[tokio::test]
async fn a_webhook_for_an_event_another_trigger_starts_answers_404() {
    let h = Harness::start(&[
        ("deploy.toml", &command_event()),
        ("hook.toml", &message_event("hook", "#deploys", "hi")),
    ])
    .await;
    let answer = h.post("deploy", json!({})).await;
    answer.assert_error(404, "not_found");
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("started by its command trigger"),
        "{}",
        answer.body
    );
    // The key is still checked first (§4's order): no key, no hint about the event.
    let unauthenticated = h.send("deploy", "", b"{}", &[]).await;
    unauthenticated.assert_error(401, "unauthorized");
    h.succeeded(&h.post("hook", json!({})).await).await;
    h.stop().await;
}

fn daily_summary() -> String {
    format!(
        "id = \"daily\"\nserver = \"{SERVER}\"\n\n[trigger]\ntype = \"schedule\"\nevery = \"1d\"\n\n\
         [[actions]]\ntype = \"send_message\"\nchannel = \"#deploys\"\n\
         content = \"Summary for {{scheduled_time}}\"\n"
    )
}

/// §7: "After hookbot was stopped over one or more due times, it fires once at start for the
/// missed ones": through the real program, its store and the stand-in. (Every other timing rule
/// is tested on tokio's paused clock in `src/triggers/schedule.rs`.)
#[tokio::test]
async fn a_schedule_missed_while_stopped_fires_once_at_start_and_sends_its_message() {
    const DAY_MS: u64 = 24 * 60 * 60 * 1000;
    let mut h = Harness::start(&[("daily.toml", &daily_summary())]).await;
    // The clock keeps the next due time (tomorrow, 00:00 UTC) in the store.
    let store = h.running.as_ref().unwrap().store.clone();
    let kept = eventually(DEADLINE, "the next due time to be kept", || {
        let store = store.clone();
        async move {
            store
                .schedule_dues()
                .await
                .unwrap()
                .into_iter()
                .find(|(event, _)| event == "daily")
        }
    })
    .await
    .1;
    assert_eq!(kept.next_due_ms % DAY_MS, 0);
    assert!(kept.next_due_ms > hookbot::run::unix_now_ms());
    drop(store);
    h.halt().await;
    assert!(
        h.sandbox.messages_in(DEPLOYS).is_empty(),
        "nothing was due yet"
    );

    // As if hookbot had been stopped since the day before yesterday: two midnights missed.
    let missed = ScheduleDue {
        next_due_ms: kept.next_due_ms - 2 * DAY_MS,
        ..kept.clone()
    };
    {
        let store = Store::open(&h.config().database_path()).unwrap();
        store
            .set_schedule_due("daily", Some(&missed))
            .await
            .unwrap();
    }
    h.boot().await;
    let sent = eventually(DEADLINE, "the catch-up message", || async {
        let sent = h.sandbox.messages_in(DEPLOYS);
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    let today = kept.next_due_ms - DAY_MS;
    let expected = format!(
        "Summary for {}",
        jiff::Timestamp::from_millisecond(today as i64)
            .unwrap()
            .display_with_offset(jiff::tz::Offset::UTC)
    );
    assert_eq!(sent[0]["content"], expected.as_str());
    // Once, not once per missed day; and the run is in the history as a schedule run.
    let runs = h
        .running
        .as_ref()
        .unwrap()
        .store
        .runs_newest_first(&RunFilter {
            event: Some("daily".into()),
            failed: false,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger, TriggerKind::Schedule);
    let store = h.running.as_ref().unwrap().store.clone();
    let next = store.schedule_dues().await.unwrap();
    assert_eq!(next, [("daily".to_owned(), kept)]);
    assert_eq!(h.sandbox.messages_in(DEPLOYS).len(), 1);
    h.stop().await;
}

/// Every whole event file shown in docs/triggers.md loads, as `hookbot check` reads it.
#[test]
fn the_examples_in_the_trigger_docs_load() {
    let doc = include_str!("../docs/triggers.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(text), line) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    let files: Vec<&String> = blocks.iter().filter(|b| b.starts_with("id = ")).collect();
    assert!(files.len() >= 4, "only {} example files", files.len());
    for text in files {
        if let Err(problems) = hookbot::events::parse_event(std::path::Path::new("doc.toml"), text)
        {
            panic!("{text}\n{problems:#?}");
        }
    }
}

/// §7 through `hookbot check`: every trigger mistake the issue lists, each as
/// `FILE:LINE:COL: message`, and exit 1.
#[test]
fn check_reports_every_trigger_mistake_at_its_position() {
    let head = |id: &str| format!("id = \"{id}\"\nserver = \"{SERVER}\"\n");
    let say = "\n[[actions]]\ntype = \"send_message\"\nchannel = \"#deploys\"\ncontent = \"x\"\n";
    let command = |name: &str, rest: &str| {
        format!("[trigger]\ntype = \"command\"\nname = \"{name}\"\ndescription = \"d\"\n{rest}")
    };
    let mut options = String::new();
    for n in 0..26 {
        options.push_str(&format!(
            "[[trigger.options]]\nname = \"o{n}\"\ntype = \"string\"\ndescription = \"d\"\n"
        ));
    }
    let files = [
        ("a.toml", format!("{}[trigger]\ntype = \"slash\"\n{say}", head("a"))),
        ("b.toml", format!("{}{}{say}", head("b"), command("Deploy Now", ""))),
        ("c.toml", format!("{}{}{say}", head("c"), command("many", &options))),
        (
            "d.toml",
            format!("{}[trigger]\ntype = \"schedule\"\ncron = \"0 0 30 2 *\"\n{say}", head("d")),
        ),
        (
            "e.toml",
            format!(
                "{}[trigger]\ntype = \"schedule\"\ncron = \"0 9 * * *\"\ntimezone = \"Mars/Olympus\"\n{say}",
                head("e")
            ),
        ),
        (
            "f.toml",
            format!("{}{say}[[actions.buttons]]\nlabel = \"Go\"\nevent = \"h\"\n", head("f")),
        ),
        (
            "h.toml",
            format!("{}[trigger]\ntype = \"member_join\"\n{say}", head("h")),
        ),
        (
            "g.toml",
            format!(
                "{}[trigger]\ntype = \"member_join\"\n\n[[actions]]\ntype = \"reply\"\ncontent = \"hi\"\n",
                head("g")
            ),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "http://127.0.0.1:9", "", "");
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    for (name, text) in &files {
        std::fs::write(dir.path().join("events").join(name), text).unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookbot"))
        .arg("check")
        .current_dir(dir.path())
        .env_remove("HOOKBOT_CONFIG")
        .output()
        .expect("hookbot runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = [
        ("a.toml:4:8: ", "unknown trigger type \"slash\""),
        (
            "b.toml:5:8: ",
            "is not a name Discord takes for a slash command",
        ),
        ("c.toml:", "26 options; Discord allows at most 25"),
        ("d.toml:5:8: ", "never fires"),
        ("e.toml:6:12: ", "unknown time zone \"Mars/Olympus\""),
        ("f.toml:10:9: ", "button.event \"h\" is a member_join event"),
        (
            "g.toml:7:8: ",
            "reply answers the slash command or button click",
        ),
    ];
    for (place, message) in expected {
        assert!(
            stdout
                .lines()
                .any(|line| line.contains(place) && line.contains(message)),
            "{place} {message}:\n{stdout}"
        );
    }
    for line in stdout.lines() {
        let mut parts = line.splitn(4, ':');
        let (file, l, c) = (parts.next(), parts.next(), parts.next());
        assert!(file.is_some_and(|f| f.ends_with(".toml")), "{line}");
        assert!(
            l.and_then(|l| l.parse::<u32>().ok()).is_some()
                && c.and_then(|c| c.parse::<u32>().ok()).is_some(),
            "FILE:LINE:COL: {line}"
        );
    }
}
