//! CONTRACT §7, triggers: events that Discord or a clock starts, through the real program
//! against the stand-in. (What the gateway dispatches — commands, clicks, messages, members,
//! reactions — is tested with the gateway's wiring; here: the webhook side and schedules.)

mod common;

use common::*;
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
