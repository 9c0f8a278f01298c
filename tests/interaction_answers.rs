//! CONTRACT §7, what a member sees after using a slash command whose event replies: the first
//! `reply` edits the "thinking…" answer (so a reply repeated after a lost answer or a crash
//! lands once), later ones follow it; a run that ends without replying (it failed) edits
//! "thinking…" into a short notice instead of leaving it there for good.

mod common;

use common::*;
use discord_stand_in::Failure;
use serde_json::{json, Value};

fn command_event(id: &str, name: &str, actions: &str) -> String {
    format!(
        "id = \"{id}\"\nserver = \"{SERVER}\"\n\n[trigger]\ntype = \"command\"\nname = \"{name}\"\n\
         description = \"Try it\"\n\n{actions}"
    )
}

/// The routes hookbot answered the interaction through, in order.
fn answer_routes(interaction: &Value) -> Vec<String> {
    interaction["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .map(|a| a["route"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// hookbot serving one command event `id` (the slash command `/id`) that runs `actions`, once
/// the stand-in holds the registered command.
async fn serving_command(id: &str, actions: &str) -> Harness {
    let event = command_event(id, id, actions);
    let h = Harness::start(&[(&format!("{id}.toml"), &event)]).await;
    assert!(
        h.sandbox
            .wait_until(DEADLINE, |s| s.commands(SERVER).len() == 1)
            .await,
        "/{id} was never registered"
    );
    h
}

/// The stand-in's record of the interaction `id` once `done` holds for it (asserted, showing
/// the record when it never does).
async fn interaction_when(h: &Harness, id: u64, done: impl Fn(&Value) -> bool) -> Value {
    let reached = h
        .sandbox
        .wait_until(DEADLINE, |s| s.interaction(id).is_some_and(|i| done(&i)))
        .await;
    let interaction = h.sandbox.interaction(id).expect("recorded");
    assert!(reached, "{interaction:#}");
    interaction
}

#[tokio::test]
async fn the_first_reply_edits_the_answer_and_lands_once_when_repeated() {
    let actions = "[[actions]]\ntype = \"reply\"\ncontent = \"pong\"\n\n\
                   [[actions]]\ntype = \"reply\"\ncontent = \"and more\"\n";
    let h = serving_command("ping", actions).await;
    // Discord carries out the first reply but its answer is lost (a proxy's 502): the run
    // tries the reply again.
    h.sandbox
        .inject(Failure::new(format!("/webhooks/{BOT_ID}/"), 502).after_carrying_out());
    let id = h
        .sandbox
        .use_command(GENERAL, ALICE, "ping", &[])
        .expect("used");
    let interaction = interaction_when(&h, id, |i| {
        answer_routes(i).last().map(String::as_str) == Some("follow_up")
    })
    .await;
    assert_eq!(
        answer_routes(&interaction),
        ["callback", "edit", "edit", "follow_up"],
        "{interaction:#}"
    );
    assert_eq!(interaction["original"]["content"], "pong");
    let follow_ups: Vec<&Value> = interaction["follow_ups"]
        .as_array()
        .expect("follow-ups")
        .iter()
        .map(|m| &m["content"])
        .collect();
    assert_eq!(follow_ups, [&json!("and more")], "\"pong\" landed once");
    for answer in interaction["answers"].as_array().unwrap().iter().skip(1) {
        assert_eq!(answer["body"]["allowed_mentions"]["parse"], json!([]));
    }
    h.stop().await;
}

#[tokio::test]
async fn a_run_that_fails_before_its_reply_replaces_thinking_with_a_notice() {
    let actions =
        "[[actions]]\ntype = \"send_message\"\nchannel = \"#nowhere\"\ncontent = \"x\"\n\n\
                   [[actions]]\ntype = \"reply\"\ncontent = \"never\"\n";
    let h = serving_command("broken", actions).await;
    let id = h
        .sandbox
        .use_command(GENERAL, ALICE, "broken", &[])
        .expect("used");
    let interaction = interaction_when(&h, id, |i| {
        i["original"]["content"]
            .as_str()
            .is_some_and(|c| c.starts_with("Sorry, this did not work"))
    })
    .await;
    let notice = interaction["original"]["content"].as_str().unwrap();
    assert!(notice.contains("`send_message` step failed"), "{notice}");
    assert!(
        !notice.contains("nowhere"),
        "no detail of the failure: {notice}"
    );
    assert_eq!(
        interaction["original"]["flags"].as_u64().unwrap_or(0) & 128,
        0,
        "no longer \"thinking…\""
    );
    assert_eq!(answer_routes(&interaction), ["callback", "edit"]);
    assert_eq!(
        interaction["answers"][1]["body"]["allowed_mentions"],
        json!({ "parse": [] })
    );
    h.stop().await;
}

#[tokio::test]
async fn a_command_its_filters_skip_says_so_in_place_of_thinking() {
    let actions = "[[when]]\nleft = \"{user_name}\"\nop = \"equals\"\nright = \"bob\"\n\n\
                   [[actions]]\ntype = \"reply\"\ncontent = \"only for bob\"\n";
    let h = serving_command("picky", actions).await;
    let id = h
        .sandbox
        .use_command(GENERAL, ALICE, "picky", &[])
        .expect("used");
    let interaction = interaction_when(&h, id, |i| answer_routes(i).len() == 2).await;
    assert_eq!(answer_routes(&interaction), ["callback", "edit"]);
    assert_eq!(
        interaction["original"]["content"],
        "Nothing to do: this event's filters did not match."
    );
    assert_eq!(
        interaction["original"]["flags"].as_u64().unwrap_or(0) & 128,
        0
    );
    h.stop().await;
}
