//! `{var.…}` during a run: read from the engine before each action renders (never while it
//! renders), in every form, and as the actions before it (earlier loop iterations too) left them.

use std::path::Path;
use std::time::Duration;

use crate::discord::Discord;
use crate::engine::{Store, VariableScope};
use crate::events::{parse_event, Event};
use crate::executor::trial;
use crate::lang::templates::Variables;
use crate::run::RunStatus;
use crate::sandbox_world::{fixture_for, SANDBOX_TOKEN};

const SERVER: u64 = 123_456_789_012_345_678;

/// Runs `text` live once against the stand-in, with a store prepared by the caller.
async fn run_live(store: &Store, text: &str) {
    let event: Event = parse_event(Path::new("vars.toml"), text).expect("the event parses");
    let stand_in =
        discord_stand_in::Sandbox::start(fixture_for(std::slice::from_ref(&event)), SANDBOX_TOKEN)
            .await
            .expect("the stand-in starts");
    let discord = Discord::connect(SANDBOX_TOKEN, Some(&stand_in.api_url()))
        .await
        .expect("serenity connects to the stand-in");
    discord.wait_cache_ready(Duration::from_secs(10)).await;
    let http = crate::executor::http_request::Destination::Network;
    let (run, steps) = trial(store, &discord, &event, Variables::new(), false, &http)
        .await
        .expect("the store answers");
    discord.shutdown().await;
    stand_in.shutdown().await;
    assert_eq!(
        run.status,
        RunStatus::Succeeded,
        "{:?} {steps:?}",
        run.error
    );
}

async fn global(store: &Store, name: &str) -> Option<String> {
    store.variable(&VariableScope::Global, name).await.unwrap()
}

#[tokio::test]
async fn every_var_form_is_read_before_the_action_renders_and_before_an_if_decides() {
    let store = Store::temporary().unwrap();
    let set = [
        (VariableScope::Global, "motd", "hello"),
        (VariableScope::Server(SERVER), "count", "3"),
        (VariableScope::Global, "count", "global"),
        (
            VariableScope::User {
                server: SERVER,
                user: 5,
            },
            "points",
            "10",
        ),
        (VariableScope::Channel(8), "topic", "t"),
    ];
    for (scope, name, value) in set {
        store.set_variable(&scope, name, value).await.unwrap();
    }
    run_live(
        &store,
        r##"
id = "vars"
server = "123456789012345678"

[[actions]]
type = "set_variable"
scope = "global"
name = "out"
value = "{var.count} {var.motd} {var.global.count} {var.server.count} {var.user.5.points} {var.channel.8.topic} {var.none}"

[[actions]]
type = "if"
condition = { left = "{var.user.5.points}", op = "equals", right = "10" }

[[actions.then]]
type = "set_variable"
scope = "global"
name = "branch"
value = "then"

[[actions.else]]
type = "set_variable"
scope = "global"
name = "branch"
value = "else"
"##,
    )
    .await;
    assert_eq!(
        global(&store, "out").await.as_deref(),
        Some("3 hello global 3 10 t {var.none}")
    );
    assert_eq!(global(&store, "branch").await.as_deref(), Some("then"));
}

#[tokio::test]
async fn a_variable_written_by_an_earlier_action_is_read_by_a_later_one() {
    let store = Store::temporary().unwrap();
    run_live(
        &store,
        r##"
id = "vars"
server = "123456789012345678"

[[actions]]
type = "set_variable"
scope = "server"
name = "n"
value = "0"

[[actions]]
type = "set_variable"
scope = "global"
name = "first"
value = "n starts at {var.n}"

[[actions]]
type = "loop"
count = "3"

[[actions.actions]]
type = "math"
expression = "{var.server.n} + 1"
variable = "next"

[[actions.actions]]
type = "set_variable"
scope = "server"
name = "n"
value = "{next}"

[[actions]]
type = "set_variable"
scope = "global"
name = "last"
value = "n ends at {var.n}"
"##,
    )
    .await;
    assert_eq!(
        global(&store, "first").await.as_deref(),
        Some("n starts at 0")
    );
    // Each iteration read what the one before it wrote: 0 → 1 → 2 → 3.
    assert_eq!(global(&store, "last").await.as_deref(), Some("n ends at 3"));
}
