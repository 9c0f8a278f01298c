//! Every example in docs/actions.md is a working event: each is loaded with the same rules as
//! `hookbot check`, run against the Discord stand-in, and must succeed with every request it
//! made valid against Discord's spec.

mod common;

use std::path::Path;
use std::time::Duration;

use axum::routing::any;
use discord_stand_in::Sandbox;
use hookbot::discord::Discord;
use hookbot::engine::Store;
use hookbot::lang::templates::Variables;
use hookbot::run::{RunStatus, StepOutcome};
use hookbot::sandbox_world::{fixture_for, SANDBOX_MEMBERS, SANDBOX_TOKEN};

const DOC: &str = include_str!("../docs/actions.md");
/// The examples call this made-up API; the test points it at a local server.
const EXAMPLE_API: &str = "https://api.example.com";

/// (line of the opening fence, TOML text) of every ```toml block that holds actions.
fn examples() -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in DOC.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some((index + 1, String::new())),
            (Some(_), "```") => {
                let (start, text) = current.take().expect("inside a block");
                if text.contains("[[actions]]") {
                    found.push((start, text));
                }
            }
            (Some((_, text)), line) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    found
}

/// Values for every variable the examples use.
fn variables() -> Variables {
    let mut vars = Variables::new();
    for (name, value) in [
        ("service", "billing".to_owned()),
        ("version", "2.4.1".to_owned()),
        ("user_id", SANDBOX_MEMBERS[0].0.to_string()),
        ("status", "down".to_owned()),
        ("replicas", "3".to_owned()),
        ("environment", "production".to_owned()),
        ("ref", "refs/heads/main".to_owned()),
        ("priority", "5".to_owned()),
        ("note", String::new()),
    ] {
        vars.insert(name, value);
    }
    vars
}

/// A stand-in for the examples' HTTP API: answers every request with a small JSON document.
async fn example_api() -> String {
    let app = axum::Router::new().fallback(any(|| async {
        axum::Json(serde_json::json!({"id": 42, "received": true}))
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn every_example_in_the_action_docs_runs() {
    let examples = examples();
    assert!(
        examples.len() >= 30,
        "found only {} examples in docs/actions.md",
        examples.len()
    );
    for kind in hookbot::events::ActionKind::NAMES {
        let written = format!("type = \"{kind}\"");
        assert!(
            examples.iter().any(|(_, text)| text.contains(&written)),
            "docs/actions.md has no example of {kind}"
        );
    }
    let api = example_api().await;
    // Each example gets its own stand-in and store, so they run side by side.
    let runs = examples
        .iter()
        .map(|(line, text)| run_example(*line, text.replace(EXAMPLE_API, &api)));
    let failures: Vec<String> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Loads and runs one example; what went wrong, if anything.
async fn run_example(line: usize, text: String) -> Vec<String> {
    let spec = common::openapi::DiscordSpec::get();
    let mut failures = Vec::new();
    let file = format!(
        "id = \"doc-example\"\nserver = \"{}\"\n{text}",
        common::SERVER
    );
    let name = format!("docs/actions.md:{line}");
    let event = match hookbot::events::parse_event(Path::new("docs/actions.md"), &file) {
        Ok(event) => event,
        Err(problems) => {
            // Two header lines come before the block's first line, which follows the fence.
            let listed: Vec<String> = problems
                .iter()
                .map(|p| {
                    format!(
                        "docs/actions.md:{}:{}: {}",
                        line + p.line - 2,
                        p.col,
                        p.message
                    )
                })
                .collect();
            return vec![format!("{name}: does not load:\n  {}", listed.join("\n  "))];
        }
    };
    if event.trigger.kind().is_interaction() {
        // Loading is all a webhook-less trial can check: a slash command or a click must start
        // it, and the trigger tests drive those through the stand-in.
        return failures;
    }
    let sandbox = Sandbox::start(fixture_for(std::slice::from_ref(&event)), SANDBOX_TOKEN)
        .await
        .expect("stand-in starts");
    let discord = Discord::connect(SANDBOX_TOKEN, Some(&sandbox.api_url()))
        .await
        .expect("connects to the stand-in");
    assert!(discord.wait_cache_ready(Duration::from_secs(10)).await);
    let store = Store::temporary().expect("temporary store");
    let http = hookbot::executor::http_request::Destination::Network;
    let (run, steps) =
        hookbot::executor::trial(&store, &discord, &event, variables(), false, &http)
            .await
            .expect("the run is recorded");
    if run.status != RunStatus::Succeeded {
        failures.push(format!("{name}: {:?}: {:?}", run.status, run.error));
    }
    for step in &steps {
        if let StepOutcome::Failed { error, .. } = &step.outcome {
            failures.push(format!(
                "{name}: step {} ({}) failed: {}",
                step.path, step.action, error.message
            ));
        }
    }
    for request in sandbox.requests() {
        if let Err(errors) = spec.validate(&request.method, &request.path, request.body.as_ref()) {
            failures.push(format!(
                "{name}: {} {} is not what Discord takes: {errors:?}",
                request.method, request.path
            ));
        }
    }
    discord.shutdown().await;
    sandbox.shutdown().await;
    failures
}
