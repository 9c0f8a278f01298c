//! CONTRACT §3's `http_request` (docs/actions.md, "Outside world"), one call at a time against a
//! local server: what comes back as the action's output (status, body, JSON, headers, the 1 MiB
//! cap), what is sent (headers, user agent, bodies with their content types), and the calls
//! that get no answer (a timeout, a redirect loop). Through the public
//! `hookbot::executor::http_request` API; the server is axum's, which only tests and the HTTP
//! modules may name. The checks that need no server stay beside the code.

use std::collections::BTreeMap;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, get};
use axum::Router;
use hookbot::executor::http_request::{
    client, parse_method, perform, Destination, HttpBody, HttpCall, HttpRequestError,
    DEFAULT_TIMEOUT, MAX_RESPONSE_BYTES,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// A local server for the calls to reach; returns its base URL.
async fn serve() -> String {
    let router = Router::new()
        .route(
            "/json",
            get(|| async { axum::Json(json!({"name": "billing", "n": 2})) }),
        )
        .route("/text", get(|| async { "plain words" }))
        .route(
            "/huge",
            get(|| async { "é".repeat(MAX_RESPONSE_BYTES / 2 + 10) }),
        )
        .route("/hang", get(std::future::pending::<()>))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "it broke") }),
        )
        .route("/echo", any(echo))
        .route(
            "/loop",
            get(|| async { axum::response::Redirect::temporary("/loop") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// Answers with what it received.
async fn echo(request: Request) -> axum::Json<Value> {
    let method = request.method().to_string();
    let headers: BTreeMap<String, String> = header_map(request.headers());
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap();
    axum::Json(json!({
        "method": method,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_owned()))
        .collect()
}

fn get_call(url: String) -> HttpCall {
    HttpCall {
        method: Method::GET,
        url,
        headers: Vec::new(),
        body: None,
        timeout: DEFAULT_TIMEOUT,
    }
}

#[tokio::test]
async fn json_response() {
    let base = serve().await;
    let response = perform(
        &client(),
        get_call(format!("{base}/json")),
        &Destination::Network,
    )
    .await
    .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.json, Some(json!({"name": "billing", "n": 2})));
    assert_eq!(response.headers["content-type"], "application/json");
    assert!(!response.truncated);
    let output = response.to_output();
    assert_eq!(output["status"], 200);
    assert_eq!(output["ok"], true);
    assert_eq!(output["json"]["name"], "billing");
    assert_eq!(output["body"], r#"{"n":2,"name":"billing"}"#);
    assert_eq!(output["truncated"], false);
    assert_eq!(output["headers"]["content-type"], "application/json");
}

#[tokio::test]
async fn text_response() {
    let base = serve().await;
    let response = perform(
        &client(),
        get_call(format!("{base}/text")),
        &Destination::Network,
    )
    .await
    .unwrap();
    assert_eq!(response.body, "plain words");
    assert_eq!(response.json, None);
    assert_eq!(response.to_output()["json"], Value::Null);
}

#[tokio::test]
async fn a_body_over_the_cap_is_truncated_not_an_error() {
    let base = serve().await;
    let response = perform(
        &client(),
        get_call(format!("{base}/huge")),
        &Destination::Network,
    )
    .await
    .unwrap();
    assert!(response.truncated);
    // "é" is two bytes and the cap is even, so the kept part is whole characters.
    assert_eq!(response.body.len(), MAX_RESPONSE_BYTES);
    assert!(response.body.chars().all(|c| c == 'é'));
    assert_eq!(response.to_output()["truncated"], true);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let base = serve().await;
    let mut call = get_call(format!("{base}/hang?token=secret"));
    call.timeout = Duration::from_millis(200);
    let error = perform(&client(), call, &Destination::Network)
        .await
        .unwrap_err();
    assert!(
        matches!(error, HttpRequestError::Timeout { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.starts_with("127.0.0.1:"), "{message}");
    assert!(message.contains("did not answer within 200ms"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}

#[tokio::test]
async fn a_500_is_an_answer() {
    let base = serve().await;
    let response = perform(
        &client(),
        get_call(format!("{base}/fail")),
        &Destination::Network,
    )
    .await
    .unwrap();
    assert_eq!(response.status, 500);
    assert_eq!(response.body, "it broke");
    assert_eq!(response.to_output()["ok"], false);
}

#[tokio::test]
async fn headers_and_user_agent_are_sent() {
    let base = serve().await;
    let mut call = get_call(format!("{base}/echo"));
    call.headers = vec![
        ("X-Api-Key".into(), "k123".into()),
        ("Accept".into(), "application/json".into()),
    ];
    let response = perform(&client(), call, &Destination::Network)
        .await
        .unwrap();
    let seen = &response.json.unwrap()["headers"];
    assert_eq!(seen["x-api-key"], "k123");
    assert_eq!(seen["accept"], "application/json");
    assert_eq!(
        seen["user-agent"],
        concat!("hookbot/", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn json_body_is_sent_with_its_content_type() {
    let base = serve().await;
    let mut call = get_call(format!("{base}/echo"));
    call.method = parse_method("post").unwrap();
    call.body = Some(HttpBody::Json(json!({"service": "billing"})));
    let echoed = perform(&client(), call, &Destination::Network)
        .await
        .unwrap()
        .json
        .unwrap();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    assert_eq!(echoed["body"], r#"{"service":"billing"}"#);
}

#[tokio::test]
async fn text_body_keeps_a_given_content_type() {
    let base = serve().await;
    let mut call = get_call(format!("{base}/echo"));
    call.method = Method::PUT;
    call.body = Some(HttpBody::Text("a,b".into()));
    let echoed = perform(&client(), call.clone(), &Destination::Network)
        .await
        .unwrap()
        .json
        .unwrap();
    assert_eq!(
        echoed["headers"]["content-type"],
        "text/plain; charset=utf-8"
    );
    call.headers = vec![("Content-Type".into(), "text/csv".into())];
    let echoed = perform(&client(), call, &Destination::Network)
        .await
        .unwrap()
        .json
        .unwrap();
    assert_eq!(echoed["headers"]["content-type"], "text/csv");
    assert_eq!(echoed["body"], "a,b");
}

#[tokio::test]
async fn redirect_loops_stop() {
    let base = serve().await;
    let error = perform(
        &client(),
        get_call(format!("{base}/loop")),
        &Destination::Network,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, HttpRequestError::TooManyRedirects { .. }),
        "{error:?}"
    );
}
