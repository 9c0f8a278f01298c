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
