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
        names_in(&self.0)
    }

    /// True when rendering cannot change the text.
    pub fn is_static(&self) -> bool {
        !PLACEHOLDER.is_match(&self.0)
    }
}

/// The names of the placeholders in `text`, read as a template, in order of appearance.
pub fn names_in(text: &str) -> impl Iterator<Item = &str> {
    PLACEHOLDER
        .captures_iter(text)
        .map(|caps| caps.get(1).map_or("", |m| m.as_str()))
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
