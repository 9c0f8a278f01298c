//! [`start_run`]: the one door for every trigger, through the durable queue.

use std::path::Path;

use super::*;
use crate::engine::{RunFilter, Store};
use crate::events::parse_event;

fn event(extra: &str) -> Event {
    let text = format!(
        "id = \"welcome\"\nserver = 1\n{extra}\n[[actions]]\ntype = \"send_message\"\n\
         channel = \"#general\"\ncontent = \"Welcome {{user_name}}\"\n"
    );
    parse_event(Path::new("welcome.toml"), &text).unwrap()
}

fn joined(user: &str) -> Fire {
    let mut variables = Variables::new();
    variables.insert("user_id", "42");
    variables.insert("user_name", user);
    Fire::new(TriggerKind::MemberJoin, variables)
}

#[tokio::test]
async fn a_fire_is_a_durable_run_with_its_trigger_and_variables() {
    let store = Store::temporary().unwrap();
    let queue = Queue::new(store.clone(), 100);
    let event = event("[trigger]\ntype = \"member_join\"");
    let Started::New(id) = start_run(&queue, &event, joined("ada")).await.unwrap() else {
        panic!("expected a new run");
    };
    let run = store.run(id).await.unwrap().expect("the run is recorded");
    assert_eq!(run.trigger, TriggerKind::MemberJoin);
    assert_eq!(run.event_id, "welcome");
    assert_eq!(run.variables.get("user_name"), Some("ada"));
    assert_eq!(store.pending_runs(10).await.unwrap(), [id]);
    let filter = RunFilter {
        event: Some("welcome".into()),
        failed: false,
        limit: 10,
    };
    assert_eq!(store.runs_newest_first(&filter).await.unwrap().len(), 1);
}

#[tokio::test]
async fn when_filters_apply_to_every_trigger() {
    let store = Store::temporary().unwrap();
    let queue = Queue::new(store.clone(), 100);
    let event = event(
        "[trigger]\ntype = \"member_join\"\n[[when]]\nleft = \"{user_name}\"\nop = \"not_equals\"\nright = \"spambot\"",
    );
    assert_eq!(
        start_run(&queue, &event, joined("spambot")).await.unwrap(),
        Started::Skipped
    );
    assert!(matches!(
        start_run(&queue, &event, joined("ada")).await.unwrap(),
        Started::New(_)
    ));
    assert_eq!(store.pending_count().await.unwrap(), 1);
}

#[tokio::test]
async fn an_occurrence_starts_one_run_and_other_triggers_none() {
    let store = Store::temporary().unwrap();
    let queue = Queue::new(store.clone(), 100);
    let event = event("[trigger]\ntype = \"member_join\"");
    let first = start_run(&queue, &event, joined("ada").with_occurrence("m1"))
        .await
        .unwrap();
    let Started::New(id) = first else {
        panic!("expected a new run, got {first:?}")
    };
    assert_eq!(
        start_run(&queue, &event, joined("ada").with_occurrence("m1"))
            .await
            .unwrap(),
        Started::Repeat(id)
    );
    let error = start_run(
        &queue,
        &event,
        Fire::new(TriggerKind::Message, Variables::new()),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "event \"welcome\" is started by a member_join trigger, not by message"
    );
    assert_eq!(store.pending_count().await.unwrap(), 1);
}
