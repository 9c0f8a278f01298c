//! The HTTP echo: where a bot under test sends the calls it would make to other services
//! (hookbot's `http_request` in `--sandbox`), so nothing leaves the machine. Each call is
//! recorded ([`crate::Sandbox::echoed`]), told in the plain-words log like a Discord call, and
//! answered 200 with what arrived.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::describe::announce;
use crate::state::Shared;
use crate::wire::RecordedRequest;

/// The path the echo answers on, every method.
pub(crate) const ECHO_PATH: &str = "/echo";

/// The header that carries the URL the caller meant to call; without it, the echo's own.
pub const ECHO_URL_HEADER: &str = "x-echo-url";

/// Records the call, logs it, and answers 200 `{"echo": true, "method", "url", "headers",
/// "body"}` (the body as JSON when it is JSON, else as text).
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = headers
        .get(ECHO_URL_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_else(|| ECHO_PATH.to_owned());
    // The query is kept in the record but not in the log: query strings often carry tokens.
    let (without_query, query) = url.split_once('?').unwrap_or((&url, ""));
    let header_list: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.as_str() != ECHO_URL_HEADER)
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let body = (!body.is_empty()).then(|| {
        serde_json::from_slice::<Value>(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    });
    announce(&format!(
        "http_request echoed locally, nothing left this machine: {method} {without_query}"
    ));
    let answer = json!({
        "echo": true,
        "method": method.as_str(),
        "url": url,
        "headers": header_list
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect::<serde_json::Map<String, Value>>(),
        "body": body.clone(),
    });
    let mut world = shared.world();
    world.echoed.push(RecordedRequest {
        method: method.to_string(),
        path: without_query.to_owned(),
        query: query.to_owned(),
        headers: header_list,
        body,
        status: 200,
    });
    drop(world);
    shared.changed.notify_waiters();
    (StatusCode::OK, Json(answer)).into_response()
}
