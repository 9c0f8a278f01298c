//! An authenticated request → what its run keeps: the BotGhost variables and the event's
//! `[variables]`, the body as a document, the headers that are not secrets and the query; and
//! the `[[when]]` filters that decide whether it runs at all.

use std::collections::BTreeMap;

use super::body;
use crate::events::{Condition, Event, EventAuth, MappingValue, VariableMapping};
use crate::executor::conditions::{self, Facts};
use crate::lang::document::Document;
use crate::lang::request::RequestVariables;
use crate::lang::templates::{Layered, Lookup, Template, Variables};
use crate::run::{Run, RunId};
use axum::http::{header, HeaderMap};

/// Headers never kept, whatever their name says: credentials and signatures.
const SECRET_HEADERS: [&str; 9] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-hub-signature",
    "x-hub-signature-256",
    "stripe-signature",
    "webhook-signature",
    "x-api-key",
];
/// A header whose name holds one of these is taken for a credential and not kept.
const SECRET_WORDS: [&str; 6] = ["signature", "secret", "token", "password", "auth", "key"];
/// Headers that say how the request travelled, and a secret-free `Idempotency-Key`, are still
/// kept even though `key` appears in the name.
const KEPT_ANYWAY: [&str; 1] = ["idempotency-key"];

/// A request as its run will keep it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingRequest {
    /// The BotGhost variables, then the event's `[variables]` (which win over a caller's).
    pub variables: Variables,
    pub payload: Option<Document>,
    pub headers: BTreeMap<String, String>,
    pub query: BTreeMap<String, String>,
}

impl IncomingRequest {
    /// Reads the body (400 with the reason when it cannot be read), keeps the headers that are
    /// not secrets and the decoded query, and renders the event's `[variables]`.
    pub fn read(
        event: &Event,
        headers: &HeaderMap,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Self, String> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok());
        let read = body::read_body(body, content_type)?;
        let mut request = IncomingRequest {
            variables: read.variables,
            payload: read.payload,
            headers: kept_headers(headers, &event.auth),
            query: query_parameters(query),
        };
        request.map_variables(&event.variables);
        Ok(request)
    }

    /// `{body…}`, `{header.…}`, `{query.…}`.
    pub fn request_variables(&self) -> RequestVariables<'_> {
        RequestVariables::new(self.payload.as_ref(), &self.headers, &self.query)
    }

    /// Renders every mapping against the request and the caller's variables as they came (a
    /// mapping does not see another), then sets them.
    fn map_variables(&mut self, mappings: &[VariableMapping]) {
        let rendered: Vec<(String, String)> = {
            let request = self.request_variables();
            let lookup = Layered {
                first: &request,
                second: &self.variables,
            };
            mappings
                .iter()
                .map(|mapping| {
                    let value = match &mapping.value {
                        MappingValue::Template(template) => template.render(&lookup),
                        MappingValue::Join {
                            each,
                            item,
                            separator,
                            limit,
                        } => join(
                            &lookup,
                            self.payload.as_ref(),
                            each,
                            item,
                            separator,
                            *limit,
                        ),
                    };
                    (mapping.name.clone(), value)
                })
                .collect()
        };
        for (name, value) in rendered {
            self.variables.insert(name, value);
        }
    }

    /// True when every `[[when]]` condition holds for this request. Never waits: everything
    /// a filter may ask is in the request.
    pub async fn passes(&self, when: &[Condition]) -> bool {
        let request = self.request_variables();
        let lookup = Layered {
            first: &request,
            second: &self.variables,
        };
        for condition in when {
            let verdict = match conditions::evaluate(condition, &lookup, &mut AtTheDoor).await {
                Ok(verdict) => verdict,
                Err(never) => match never {},
            };
            if !verdict.holds {
                return false;
            }
        }
        true
    }

    /// The run to store, with what its templates read.
    pub fn into_run(self, id: RunId, event_id: String, received_at_ms: u64) -> Run {
        let mut run = Run::new(id, event_id, self.variables, received_at_ms);
        run.payload = self.payload;
        run.headers = self.headers;
        run.query = self.query;
        run
    }
}

/// `item` rendered for each element of the array at `each` (`body.commits`), at most `limit`,
/// joined with `separator`; "… and N more" when some were left out. Nothing when the path is
/// not an array.
fn join(
    outer: &impl Lookup,
    payload: Option<&Document>,
    each: &str,
    item: &Template,
    separator: &str,
    limit: usize,
) -> String {
    let path = each.strip_prefix("body").unwrap_or(each);
    let path = path.strip_prefix('.').unwrap_or(path);
    let Some(Document::Array(elements)) = payload.and_then(|doc| doc.at_path(path)) else {
        return String::new();
    };
    let mut parts: Vec<String> = elements
        .iter()
        .take(limit)
        .map(|element| {
            item.render(&Layered {
                first: &Item(element),
                second: outer,
            })
        })
        .collect();
    if elements.len() > limit {
        parts.push(format!("… and {} more", elements.len() - limit));
    }
    parts.join(separator)
}

/// `{item}` and `{item.a.b}` inside a join.
struct Item<'v>(&'v Document);

impl Lookup for Item<'_> {
    fn lookup(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        if name == "item" {
            return Some(self.0.text());
        }
        self.0
            .at_path(name.strip_prefix("item.")?)
            .map(Document::text)
    }
}

/// What a `[[when]]` filter may ask beyond the request. `has_role` cannot be written there
/// (the parser refuses it) and would not hold: the listener does not ask Discord.
struct AtTheDoor;

impl Facts for AtTheDoor {
    type Error = std::convert::Infallible;

    async fn has_role(&mut self, _user: &str, _role: &str) -> Result<bool, Self::Error> {
        Ok(false)
    }

    fn roll(&mut self) -> f64 {
        rand::random::<f64>() * 100.0
    }
}

/// The headers a run may keep: lower-case names, values as text (several joined with `, `),
/// without credentials, cookies or signatures, including the event's own signature header.
pub fn kept_headers(headers: &HeaderMap, auth: &EventAuth) -> BTreeMap<String, String> {
    let own = match auth {
        EventAuth::Hmac { header, .. } => Some(header.to_ascii_lowercase()),
        _ => None,
    };
    let mut kept: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str();
        if is_secret_header(name) || own.as_deref() == Some(name) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes());
        kept.entry(name.to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    kept
}

fn is_secret_header(name: &str) -> bool {
    if KEPT_ANYWAY.contains(&name) {
        return false;
    }
    SECRET_HEADERS.contains(&name) || SECRET_WORDS.iter().any(|word| holds(name, word))
}

/// `name.contains(word)` by comparing windows: for a header name and a short word this is
/// several times cheaper than `str::contains`, which prepares a searcher on every call.
fn holds(name: &str, word: &str) -> bool {
    word.is_empty()
        || name
            .as_bytes()
            .windows(word.len())
            .any(|window| window == word.as_bytes())
}

/// The query string's parameters, URL-decoded; the last of a repeated name wins.
pub fn query_parameters(query: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::path::Path;

    fn event(extra: &str) -> Event {
        let text = format!("id = \"e\"\nserver = 1\n{extra}");
        crate::events::parse_event(Path::new("e.toml"), &text).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn secrets_never_reach_the_kept_headers() {
        let h = headers(&[
            ("authorization", "hk_secret"),
            ("cookie", "a=b"),
            ("x-hub-signature-256", "sha256=00"),
            ("stripe-signature", "t=1,v1=00"),
            ("webhook-signature", "v1,AA=="),
            ("x-my-sig", "00"),
            ("x-auth-token", "t"),
            ("x-github-event", "push"),
            ("idempotency-key", "k1"),
            ("accept", "a"),
            ("accept", "b"),
        ]);
        let auth = EventAuth::Hmac {
            secret: crate::events::SecretSource::Env("X".into()),
            header: "x-my-sig".into(),
            encoding: Default::default(),
        };
        let kept = kept_headers(&h, &auth);
        assert_eq!(
            kept.keys().map(String::as_str).collect::<Vec<_>>(),
            ["accept", "idempotency-key", "x-github-event"]
        );
        assert_eq!(kept["accept"], "a, b");
    }

    #[test]
    fn holds_is_contains() {
        for name in [
            "",
            "a",
            "x-api-key",
            "keykey",
            "authorization",
            "content-type",
            "ke",
        ] {
            for word in SECRET_WORDS.iter().chain(&["", "x", "type"]) {
                assert_eq!(holds(name, word), name.contains(word), "{name} {word}");
            }
        }
    }

    #[test]
    fn query_parameters_are_decoded() {
        let query = query_parameters(Some("env=prod%20eu&x=1&x=2&flag"));
        assert_eq!(query["env"], "prod eu");
        assert_eq!(query["x"], "2");
        assert_eq!(query["flag"], "");
        assert!(query_parameters(None).is_empty());
    }

    #[test]
    fn mappings_render_from_the_request_and_join_arrays() {
        let e = event(
            r#"
[variables]
user = "{body.sender.login}"
branch = "{body.ref}"
kind = "{header.x-github-event}/{query.env}"
service = "{service}"
commits = { each = "{body.commits}", item = "- {item.message} ({item.author.name}) {body.ref}", limit = 2 }
none = { each = "{body.missing}", item = "x" }
"#,
        );
        let body = br#"{"ref":"main","sender":{"login":"octo"},"commits":[
            {"message":"a","author":{"name":"A"}},{"message":"b","author":{"name":"B"}},
            {"message":"c","author":{"name":"C"}}],
            "variables":[{"name":"S","variable":"{service}","value":"api"}]}"#;
        let request = IncomingRequest::read(
            &e,
            &headers(&[("x-github-event", "push")]),
            Some("env=prod"),
            body,
        )
        .unwrap();
        let v = &request.variables;
        assert_eq!(v.get("user"), Some("octo"));
        assert_eq!(v.get("branch"), Some("main"));
        assert_eq!(v.get("kind"), Some("push/prod"));
        assert_eq!(v.get("service"), Some("api"));
        assert_eq!(
            v.get("commits"),
            Some("- a (A) main\n- b (B) main\n… and 1 more")
        );
        assert_eq!(v.get("none"), Some(""));
    }

    #[test]
    fn filters_hold_or_not() {
        let e = event(
            r#"
[variables]
sender = "{body.sender.type}"

[[when]]
left = "{header.x-github-event}"
op = "equals"
right = "push"

[[when]]
left = "{body.ref}"
op = "matches"
right = "^refs/heads/(main|master)$"

[[when]]
left = "{sender}"
op = "not_equals"
right = "Bot"
"#,
        );
        let check = |event_header: &str, body: &str| {
            let request = IncomingRequest::read(
                &e,
                &headers(&[("x-github-event", event_header)]),
                None,
                body.as_bytes(),
            )
            .unwrap();
            futures::executor::block_on(request.passes(&e.when))
        };
        assert!(check(
            "push",
            r#"{"ref":"refs/heads/main","sender":{"type":"User"}}"#
        ));
        assert!(!check(
            "push",
            r#"{"ref":"refs/heads/dev","sender":{"type":"User"}}"#
        ));
        assert!(!check(
            "ping",
            r#"{"ref":"refs/heads/main","sender":{"type":"User"}}"#
        ));
        assert!(!check(
            "push",
            r#"{"ref":"refs/heads/main","sender":{"type":"Bot"}}"#
        ));
    }

    #[test]
    fn the_run_keeps_the_request() {
        let e = event("");
        let request = IncomingRequest::read(
            &e,
            &headers(&[("x-a", "1"), ("content-type", "application/json")]),
            Some("q=1"),
            br#"{"a":1}"#,
        )
        .unwrap();
        let run = request.into_run(RunId(1), "e".into(), 5);
        assert_eq!(run.payload, Some(serde_json::json!({"a": 1}).into()));
        assert_eq!(run.headers["x-a"], "1");
        assert_eq!(run.query["q"], "1");
        let json = serde_json::to_string(&run).unwrap();
        let back: Run = serde_json::from_str(&json).unwrap();
        assert_eq!(back, run);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Bytes that are often nearly JSON, nearly BotGhost, or form fields.
        fn body() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                Just(b"{\"variables\":[".to_vec()),
                Just(br#"{"name":"A","variable":"{a}","value":"#.to_vec()),
                Just(b"{".to_vec()),
                Just(b"}".to_vec()),
                Just(b"[".to_vec()),
                Just(b"]".to_vec()),
                Just(b",".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"=".to_vec()),
                Just(b"&".to_vec()),
                Just(b"%".to_vec()),
                Just(b"null".to_vec()),
                Just(b"1e400".to_vec()),
                "[a-z0-9.]{0,8}".prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..8),
            ];
            proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
        }

        fn content_type() -> impl Strategy<Value = Option<&'static str>> {
            prop_oneof![
                Just(None),
                Just(Some("application/json")),
                Just(Some("application/x-www-form-urlencoded")),
                Just(Some("text/plain")),
            ]
        }

        proptest! {
            /// Any bytes, any content type: the request reads (a run) or gives a non-empty
            /// reason (a 400), and never panics; templates over what was read render.
            #[test]
            fn any_body_reads_or_gives_a_reason(bytes in body(), raw in proptest::collection::vec(any::<u8>(), 0..64), kind in content_type(), query in ".{0,20}") {
                let e = event(
                    "[variables]\nx = \"{body.variables.0.value}{body}{query.a}\"\n\
                     j = { each = \"{body.variables}\", item = \"{item.name}\" }\n\
                     [[when]]\nleft = \"{body.a}\"\nop = \"matches\"\nright = \".*\"",
                );
                for body in [&bytes, &raw] {
                    let mut map = HeaderMap::new();
                    if let Some(kind) = kind {
                        map.insert(header::CONTENT_TYPE, kind.parse().unwrap());
                    }
                    match IncomingRequest::read(&e, &map, Some(&query), body) {
                        Ok(request) => {
                            let _ = futures::executor::block_on(request.passes(&e.when));
                            let _ = Template::new("{body.a.0} {body}").render(&request.request_variables());
                            let run = request.into_run(RunId(1), "e".into(), 0);
                            let json = serde_json::to_string(&run).unwrap();
                            let back: Run = serde_json::from_str(&json).unwrap();
                            prop_assert_eq!(back, run);
                        }
                        Err(reason) => prop_assert!(!reason.is_empty()),
                    }
                }
            }
        }
    }
}
