//! `{name}` rendering: one regex pass, unknown names left as they stand, values never re-expanded.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};

/// The longest name between braces, as the webhook API allows for `variable`.
pub const MAX_NAME_CHARS: usize = 64;

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{([^{}]{1,64})\}").expect("placeholder pattern is valid"));

/// Where a template finds its values.
pub trait Lookup {
    fn lookup(&self, name: &str) -> Option<Cow<'_, str>>;
}

/// Text with `{name}` placeholders, as written in an event file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Template(String);

impl Template {
    pub fn new(text: impl Into<String>) -> Self {
        Template(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Replaces every `{name}` that `vars` knows. A single pass: text that came from a value is
    /// never looked at again, so a caller cannot smuggle in a placeholder.
    pub fn render(&self, vars: &impl Lookup) -> String {
        PLACEHOLDER
            .replace_all(&self.0, |caps: &Captures<'_>| match vars.lookup(&caps[1]) {
                Some(value) => value.into_owned(),
                None => caps[0].to_owned(),
            })
            .into_owned()
    }

    /// The names of the placeholders, in order of appearance.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        PLACEHOLDER
            .captures_iter(&self.0)
            .map(|caps| caps.get(1).map_or("", |m| m.as_str()))
    }

    /// True when rendering cannot change the text.
    pub fn is_static(&self) -> bool {
        !PLACEHOLDER.is_match(&self.0)
    }
}

/// Named values for one run: the caller's variables and the built-ins, keyed by the name between
/// the braces (`service` for `{service}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Variables(BTreeMap<String, String>);

impl Variables {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a value; a later insert of the same name wins.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Lookup for Variables {
    fn lookup(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(Cow::Borrowed)
    }
}

/// The value at `path` inside `value` (`commits.0.message`; empty: `value` itself). Strings
/// render as they are, everything else as compact JSON; a path that leads nowhere gives `None`,
/// so the placeholder stays as written.
pub fn json_path<'v>(value: &'v serde_json::Value, path: &str) -> Option<Cow<'v, str>> {
    use serde_json::Value;
    let mut current = value;
    if !path.is_empty() {
        for segment in path.split('.') {
            current = match current {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
    }
    Some(match current {
        Value::String(text) => Cow::Borrowed(text.as_str()),
        other => Cow::Owned(other.to_string()),
    })
}

/// `{body}`, `{body.a.0.b}`, `{header.NAME}` and `{query.NAME}`: what the webhook request that
/// started a run carried, as the run stores it. `{body}` is the whole document; header names
/// are compared in lower case. In a BotGhost-shaped body (`{"variables":[…]}`),
/// `{body.NAME}` is also the value of the variable `{NAME}` when the document has no such path.
/// Anything else, or a path that leads nowhere, is `None`: the placeholder stays as written.
#[derive(Debug, Clone, Copy)]
pub struct RequestVariables<'a> {
    pub payload: Option<&'a serde_json::Value>,
    pub headers: &'a BTreeMap<String, String>,
    pub query: &'a BTreeMap<String, String>,
}

impl<'a> RequestVariables<'a> {
    pub fn new(
        payload: Option<&'a serde_json::Value>,
        headers: &'a BTreeMap<String, String>,
        query: &'a BTreeMap<String, String>,
    ) -> Self {
        RequestVariables {
            payload,
            headers,
            query,
        }
    }
}

impl Lookup for RequestVariables<'_> {
    fn lookup(&self, name: &str) -> Option<Cow<'_, str>> {
        if name == "body" {
            return json_path(self.payload?, "");
        }
        if let Some(path) = name.strip_prefix("body.") {
            let payload = self.payload?;
            return json_path(payload, path).or_else(|| botghost_value(payload, path));
        }
        if let Some(header) = name.strip_prefix("header.") {
            return self
                .headers
                .get(&header.to_ascii_lowercase())
                .map(|value| Cow::Borrowed(value.as_str()));
        }
        if let Some(parameter) = name.strip_prefix("query.") {
            return self
                .query
                .get(parameter)
                .map(|value| Cow::Borrowed(value.as_str()));
        }
        None
    }
}

/// The value of the BotGhost variable `{name}` in a `{"variables":[…]}` document (the last one
/// wins, as when the run's variables were read).
fn botghost_value<'v>(payload: &'v serde_json::Value, name: &str) -> Option<Cow<'v, str>> {
    use serde_json::Value;
    let items = payload.get("variables")?.as_array()?;
    items.iter().rev().find_map(|item| {
        let variable = item.get("variable")?.as_str()?;
        let inner = variable.strip_prefix('{')?.strip_suffix('}')?;
        if inner != name {
            return None;
        }
        match item.get("value")? {
            Value::String(text) => Some(Cow::Borrowed(text.as_str())),
            value @ (Value::Number(_) | Value::Bool(_)) => Some(Cow::Owned(value.to_string())),
            _ => None,
        }
    })
}

/// Looks in `first`, then in `second`: run values shadow nothing they should not, because the
/// caller's layer is consulted after the built-ins.
pub struct Layered<'a, A: Lookup, B: Lookup> {
    pub first: &'a A,
    pub second: &'a B,
}

impl<A: Lookup, B: Lookup> Lookup for Layered<'_, A, B> {
    fn lookup(&self, name: &str) -> Option<Cow<'_, str>> {
        self.first.lookup(name).or_else(|| self.second.lookup(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        let mut v = Variables::new();
        for (k, val) in pairs {
            v.insert(*k, *val);
        }
        v
    }

    #[test]
    fn replaces_known_names_and_keeps_unknown_ones() {
        let t = Template::new("{service} {version} by {user}");
        let out = t.render(&vars(&[("service", "billing"), ("version", "2.4.1")]));
        assert_eq!(out, "billing 2.4.1 by {user}");
    }

    #[test]
    fn values_are_never_expanded_again() {
        let t = Template::new("{a}");
        let out = t.render(&vars(&[("a", "{b}"), ("b", "secret")]));
        assert_eq!(out, "{b}");
    }

    #[test]
    fn nested_and_empty_braces_are_left_alone() {
        let t = Template::new("{} {{a}} {a");
        assert_eq!(t.render(&vars(&[("a", "x")])), "{} {x} {a");
    }

    #[test]
    fn names_and_static() {
        let t = Template::new("#{channel}-{env}");
        assert_eq!(t.names().collect::<Vec<_>>(), vec!["channel", "env"]);
        assert!(!t.is_static());
        assert!(Template::new("#deploys").is_static());
    }

    #[test]
    fn names_longer_than_the_limit_are_not_placeholders() {
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        let t = Template::new(format!("{{{long}}}"));
        assert!(t.is_static());
    }

    #[test]
    fn json_paths_walk_objects_and_arrays() {
        let doc = serde_json::json!({"a": {"list": [{"name": "x"}, 2]}, "s": "text", "n": null});
        assert_eq!(json_path(&doc, "a.list.0.name").as_deref(), Some("x"));
        assert_eq!(json_path(&doc, "a.list.1").as_deref(), Some("2"));
        assert_eq!(json_path(&doc, "s").as_deref(), Some("text"));
        assert_eq!(json_path(&doc, "n").as_deref(), Some("null"));
        assert_eq!(
            json_path(&doc, "a.list").as_deref(),
            Some(r#"[{"name":"x"},2]"#)
        );
        assert_eq!(json_path(&doc, "a.list.9"), None);
        assert_eq!(json_path(&doc, "a.missing"), None);
        assert_eq!(json_path(&doc, "s.deeper"), None);
    }

    #[test]
    fn request_variables_read_body_headers_and_query() {
        let doc = serde_json::json!({"ref": "refs/heads/main", "commits": [{"id": "a1"}],
            "variables": [{"name": "S", "variable": "{service}", "value": "api"},
                          {"name": "N", "variable": "{n}", "value": 3}]});
        let headers = BTreeMap::from([("x-github-event".to_owned(), "push".to_owned())]);
        let query = BTreeMap::from([("env".to_owned(), "prod x".to_owned())]);
        let request = RequestVariables::new(Some(&doc), &headers, &query);
        let out = Template::new(
            "{body.ref} {body.commits.0.id} {body.commits.0} {header.x-github-event} \
             {header.X-GitHub-Event} {query.env} {body.service} {body.n} {body.nope} {query.x} \
             {header.x} {other}",
        )
        .render(&request);
        assert_eq!(
            out,
            r#"refs/heads/main a1 {"id":"a1"} push push prod x api 3 {body.nope} {query.x} {header.x} {other}"#
        );
        assert_eq!(
            request.lookup("body").unwrap(),
            serde_json::to_string(&doc).unwrap()
        );
        let empty = BTreeMap::new();
        let none = RequestVariables::new(None, &empty, &empty);
        assert_eq!(
            Template::new("{body} {body.a}").render(&none),
            "{body} {body.a}"
        );
    }

    #[test]
    fn layered_lookup_prefers_first() {
        let a = vars(&[("x", "1")]);
        let b = vars(&[("x", "2"), ("y", "3")]);
        let l = Layered {
            first: &a,
            second: &b,
        };
        assert_eq!(Template::new("{x}{y}").render(&l), "13");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Text with braces and names in it, the shapes that matter to the pattern.
        fn template_text() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    Just("{".to_owned()),
                    Just("}".to_owned()),
                    Just("{a}".to_owned()),
                    Just("{b.c}".to_owned()),
                    "[a-z.]{0,70}",
                    any::<String>(),
                ],
                0..12,
            )
            .prop_map(|parts| parts.concat())
        }

        proptest! {
            #[test]
            fn rendering_never_panics(text in template_text(), value in any::<String>()) {
                let _ = Template::new(text).render(&vars(&[("a", &value), ("b.c", &value)]));
            }

            /// Whatever a value holds, it comes out as it went in: a value that looks like a
            /// placeholder is never expanded, so the output is the template with each known
            /// placeholder replaced by the raw value.
            #[test]
            fn values_are_never_expanded(value in template_text(), secret in "[a-z]{1,8}") {
                let values = vars(&[("a", &value), ("secret", &secret)]);
                let out = Template::new("<{a}>").render(&values);
                prop_assert_eq!(out, format!("<{value}>"));
            }

            #[test]
            fn static_templates_render_to_themselves(text in "[^{}]*") {
                let t = Template::new(text.clone());
                prop_assert!(t.is_static());
                prop_assert_eq!(t.render(&vars(&[("a", "x")])), text);
            }
        }
    }
}
