//! Failures a test injects on command: which requests they hit, and the answer they give.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::errors::DiscordError;

/// Makes the next `times` requests that match fail with `status` and `body`, or, with
/// [`for_duration`](Failure::for_duration), every matching request until a deadline.
///
/// Injected failures are checked before anything else (even the token), in the order they
/// were injected, and each match uses up one of its `times`.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Only requests with this method (e.g. `"POST"`); `None` matches any.
    pub method: Option<String>,
    /// Matches requests whose path (e.g. `/api/v10/channels/1/messages`) contains this.
    pub path_contains: String,
    /// The status to answer with.
    pub status: u16,
    /// The JSON body to answer with; [`Failure::new`] uses Discord's generic one for the status.
    pub body: Value,
    /// How many matching requests still fail; each match uses up one.
    pub times: usize,
    /// For a 429: sets the `Retry-After` header and `retry_after`/`global` in the body.
    pub retry_after: Option<f64>,
    /// When set, matching requests fail until this moment however many they are.
    pub until: Option<Instant>,
    /// The request is carried out as usual and only its answer is replaced by the failure: as
    /// when Discord acted but the bot never heard (a timeout, a proxy's 502), or the bot
    /// crashed before it could write down that it had acted.
    pub after_carrying_out: bool,
}

impl Failure {
    /// Fails the next matching request once with `status` and Discord's generic body for it,
    /// e.g. `{"code": 0, "message": "503: Service Unavailable"}`.
    pub fn new(path_contains: impl Into<String>, status: u16) -> Self {
        Failure {
            method: None,
            path_contains: path_contains.into(),
            status,
            body: DiscordError::generic_body(status),
            times: 1,
            retry_after: None,
            until: None,
            after_carrying_out: false,
        }
    }

    /// A 429 as Discord sends it: `{"message": "You are being rate limited.", "retry_after": …,
    /// "global": false}`, plus `"code": 0` so clients that require a code can still read it.
    pub fn rate_limited(path_contains: impl Into<String>, retry_after: f64) -> Self {
        Failure {
            body: json!({ "code": 0, "message": "You are being rate limited." }),
            retry_after: Some(retry_after),
            ..Failure::new(path_contains, 429)
        }
    }

    /// Only requests with this method (`"POST"`, `"PUT"`, …) fail.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Answers with this JSON body instead of Discord's generic one.
    pub fn body(mut self, body: Value) -> Self {
        self.body = body;
        self
    }

    /// Fails the next `times` matching requests instead of one.
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }

    /// Fails every matching request from now until `duration` has passed (an outage), instead
    /// of a number of times.
    pub fn for_duration(mut self, duration: Duration) -> Self {
        self.until = Some(Instant::now() + duration);
        self.times = usize::MAX;
        self
    }

    /// Carries the request out first and fails only its answer (see
    /// [`after_carrying_out`](Failure::after_carrying_out)).
    pub fn after_carrying_out(mut self) -> Self {
        self.after_carrying_out = true;
        self
    }

    /// Sets `Retry-After` (rounded up) and the body's `retry_after` to `seconds`.
    pub fn retry_after(mut self, seconds: f64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self.until.map_or(true, |until| Instant::now() < until)
            && self
                .method
                .as_deref()
                .map_or(true, |wanted| wanted.eq_ignore_ascii_case(method))
            && path.contains(&self.path_contains)
    }

    /// The body to answer with: for a 429, with `retry_after` and `global` filled in.
    pub(crate) fn answer_body(&self) -> Value {
        let mut body = self.body.clone();
        if let (Some(seconds), Some(object)) = (self.retry_after, body.as_object_mut()) {
            object.insert("retry_after".into(), json!(seconds));
            object.entry("global").or_insert(json!(false));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_carries_retry_after_and_global() {
        let failure = Failure::rate_limited("/messages", 1.5)
            .method("POST")
            .times(2);
        assert!(failure.matches("post", "/api/v10/channels/1/messages"));
        assert!(!failure.matches("GET", "/api/v10/channels/1/messages"));
        assert_eq!(
            failure.answer_body(),
            json!({ "code": 0, "message": "You are being rate limited.", "retry_after": 1.5, "global": false })
        );
        assert!(!failure.times(0).matches("POST", "/messages"));
    }

    #[test]
    fn a_failure_window_matches_until_its_deadline_only() {
        let outage = Failure::new("/messages", 503).for_duration(Duration::from_millis(50));
        for _ in 0..1000 {
            assert!(outage.matches("POST", "/api/v10/channels/1/messages"));
        }
        assert!(!outage.matches("POST", "/api/v10/users/@me"));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!outage.matches("POST", "/api/v10/channels/1/messages"));
    }
}
