//! The REST front door: records every request, applies injected failures, checks the token,
//! hands the request to its route and turns the outcome into Discord's HTTP answer.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::describe::announce;
use crate::errors::DiscordError;
use crate::routes;
use crate::state::{ChannelRef, Shared, World};
use crate::wire::{Answer, RecordedRequest, Request, API_PREFIX};

/// The axum handler for everything but the gateway websocket.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    let header_list: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let parsed_body = parse_body(&body);
    let recorded_body = match &parsed_body {
        Ok(body) => body.clone(),
        Err(()) => Some(Value::String(String::from_utf8_lossy(&body).into_owned())),
    };

    let mut world = shared.world();
    let outage = world.outage.map(|status| {
        Ok(Answer {
            status,
            body: Some(DiscordError::generic_body(status)),
            headers: Vec::new(),
        })
    });
    let injected_answer =
        outage.or_else(|| take_injected_failure(&mut world, method.as_str(), &path, false));
    let (answer, injected) = match injected_answer {
        Some(answer) => (answer, true),
        None => match admit(&mut world, method.as_str(), &path) {
            Err(limited) => (Ok(limited), false),
            Ok(rate_limit_headers) => {
                let request = Request {
                    method: method.as_str(),
                    path: &path,
                    query: &query,
                    headers: &headers,
                    body: parsed_body,
                };
                let answer = answer_request(&shared, &mut world, &request).map(|mut answer| {
                    answer.headers.extend(rate_limit_headers);
                    answer
                });
                match take_injected_failure(&mut world, method.as_str(), &path, true) {
                    Some(lost) => (lost, true),
                    None => (answer, false),
                }
            }
        },
    };
    let answer = answer.unwrap_or_else(|error| Answer {
        status: error.status,
        body: Some(error.body),
        headers: Vec::new(),
    });

    if answer.status == 429 {
        world.rate_limited += 1;
    }
    if answer.status >= 400 {
        let target = plain_target(&world, &path);
        announce(&refusal(method.as_str(), &path, target, &answer, injected));
    } else if method == Method::GET {
        announce(&lookup(&world, &path, &query));
    }
    world.requests.push(RecordedRequest {
        method: method.to_string(),
        path,
        query,
        headers: header_list,
        body: recorded_body,
        status: answer.status,
    });
    drop(world);
    shared.changed.notify_waiters();
    into_response(answer)
}

fn parse_body(body: &Bytes) -> Result<Option<Value>, ()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|_| ())
}

/// Uses up one `times` of the first injected failure that matches, among those that fail the
/// request before it is carried out or (`after`) only its answer.
fn take_injected_failure(
    world: &mut World,
    method: &str,
    path: &str,
    after: bool,
) -> Option<Result<Answer, DiscordError>> {
    let failure = world
        .failures
        .iter_mut()
        .find(|failure| failure.after_carrying_out == after && failure.matches(method, path))?;
    failure.times -= 1;
    let mut headers = Vec::new();
    if let Some(seconds) = failure.retry_after {
        headers.push(("retry-after", (seconds.ceil() as u64).to_string()));
        headers.push(("x-ratelimit-scope", "user".to_owned()));
        if failure.body["global"] == Value::Bool(true) {
            headers.push(("x-ratelimit-global", "true".to_owned()));
        }
    }
    Some(Ok(Answer {
        status: failure.status,
        body: Some(failure.answer_body()),
        headers,
    }))
}

/// Takes the request out of Discord's rate-limit buckets when the stand-in enforces them: the
/// headers a successful answer carries, or the 429.
fn admit(
    world: &mut World,
    method: &str,
    path: &str,
) -> Result<Vec<(&'static str, String)>, Answer> {
    match &mut world.limiter {
        Some(limiter) if path.starts_with(API_PREFIX) => {
            limiter.admit(method, path, Instant::now())
        }
        _ => Ok(Vec::new()),
    }
}

fn answer_request(
    shared: &Shared,
    world: &mut World,
    request: &Request<'_>,
) -> Result<Answer, DiscordError> {
    let Some(route) = request.path.strip_prefix(API_PREFIX) else {
        return Err(DiscordError::not_found());
    };
    let segments: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
    // Discord serves the gateway lookup to anyone, and an interaction's token is its own
    // authorization; everything else needs the bot's token.
    let is_public = (request.method == "GET" && segments == ["gateway"])
        || matches!(segments.first(), Some(&"interactions" | &"webhooks"));
    let expected = format!("Bot {}", shared.token);
    let authorization = request
        .headers
        .get("authorization")
        .map(HeaderValue::as_bytes);
    if !is_public && authorization != Some(expected.as_bytes()) {
        return Err(DiscordError::unauthorized());
    }
    if request.body.is_err() {
        return Err(DiscordError::invalid_json());
    }
    routes::route(shared, world, request, &segments)
}

/// What a refused path was about, by name: `#deploys`, `DM with @carol`, `@Admin for @alice`.
fn plain_target(world: &World, path: &str) -> Option<String> {
    let route = path.strip_prefix(API_PREFIX)?;
    let segments: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
    let id = |index: usize| segments.get(index).and_then(|id| id.parse::<u64>().ok());
    match segments.as_slice() {
        ["channels", ..] => match world.channel(id(1)?)? {
            ChannelRef::Guild(_, channel) => Some(format!("#{}", channel.name)),
            ChannelRef::Dm(dm) => Some(format!(
                "DM with @{}",
                world.user(dm.recipient_id)?.username
            )),
        },
        ["guilds", _, "members", _, "roles", _] => {
            let guild = world.guild(id(1)?)?;
            let role = guild
                .role(id(5)?)
                .map_or("an unknown role", |role| role.name.as_str());
            let member = guild
                .member(id(3)?)
                .map_or("an unknown member", |m| m.user.username.as_str());
            Some(format!("@{role} for @{member}"))
        }
        ["guilds", ..] => world.guild(id(1)?).map(|guild| guild.guild.name.clone()),
        _ => None,
    }
}

/// A read the bot made, in plain words: `listed the roles of Acme`.
fn lookup(world: &World, path: &str, query: &str) -> String {
    let route = path.strip_prefix(API_PREFIX).unwrap_or(path);
    let segments: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
    let target = plain_target(world, path).unwrap_or_else(|| route.to_owned());
    match segments.as_slice() {
        ["gateway"] | ["gateway", "bot"] => "told the bot where the gateway is".to_owned(),
        ["users", "@me"] => "told the bot who it is".to_owned(),
        ["guilds", _, "channels"] => format!("listed the channels of {target}"),
        ["guilds", _, "roles"] => format!("listed the roles of {target}"),
        ["guilds", _, "members", "search"] => {
            let wanted = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("query="))
                .unwrap_or("");
            format!("searched the members of {target} for {wanted:?}")
        }
        ["guilds", _, "members", ..] => format!("looked up members of {target}"),
        _ => format!("looked up {target}"),
    }
}

/// `refused POST /channels/111/messages (#deploys): 403 Missing Permissions`.
fn refusal(
    method: &str,
    path: &str,
    target: Option<String>,
    answer: &Answer,
    injected: bool,
) -> String {
    let route = path.strip_prefix(API_PREFIX).unwrap_or(path);
    let message = answer
        .body
        .as_ref()
        .and_then(|body| body["message"].as_str())
        .unwrap_or("");
    let status = answer.status.to_string();
    let reason = if message.starts_with(&status) {
        message.to_owned()
    } else {
        format!("{status} {message}")
    };
    // Discord answers unknown routes with exactly this 404; saying so tells a sandbox user
    // that the bot called something the stand-in does not serve.
    let unknown_route = answer.body.as_ref() == Some(&DiscordError::not_found().body);
    let origin = match (injected, unknown_route) {
        (true, _) => " (injected failure)",
        (false, true) => " (a route the sandbox does not serve)",
        (false, false) => "",
    };
    let target = target
        .map(|target| format!(" ({target})"))
        .unwrap_or_default();
    format!(
        "refused {method} {route}{target}: {}{origin}",
        reason.trim_end()
    )
}

fn into_response(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match answer.body {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => status.into_response(),
    };
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
