//! The BotGhost `{"variables":[{"name","variable","value"}]}` shape, read by one set of rules:
//! strictly when a webhook body arrives (a broken item is a 400 naming it), leniently when a
//! template asks for `{body.NAME}` (a broken item is simply not a value).

use std::borrow::Cow;
use std::fmt;

use super::document::Document;
use super::templates::{Variables, MAX_NAME_CHARS};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The most variables one webhook request may carry: each becomes a stored value a run reads, so
/// one request cannot make a run (and the database) grow without bound.
pub const MAX_VARIABLES: usize = 1000;

/// The 400 for a request with more than [`MAX_VARIABLES`] items.
fn too_many(items: usize) -> String {
    format!(
        r#""variables" holds {items} items; a request may carry at most {MAX_VARIABLES} variables"#
    )
}

/// Refuses a JSON body whose `variables` array holds more than [`MAX_VARIABLES`] items, before
/// anything builds it: the scan counts items and allocates nothing, so a huge body costs no
/// more memory than its bytes. Any other text, even invalid JSON or another shape, passes: the
/// real parse reports it.
pub fn check_count(body: &[u8]) -> Result<(), String> {
    match serde_json::from_slice::<VariablesCount>(body) {
        Ok(VariablesCount(items)) if items > MAX_VARIABLES => Err(too_many(items)),
        _ => Ok(()),
    }
}

/// An object → how many items its (last) `variables` array holds. Any other shape fails to
/// deserialize, which [`check_count`] lets through to the real parse.
struct VariablesCount(usize);

impl<'de> serde::Deserialize<'de> for VariablesCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Document;
        impl<'de> Visitor<'de> for Document {
            type Value = usize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
                let mut items = 0;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "variables" {
                        // A repeated key: the last one is the one the parse keeps.
                        items = map.next_value::<ItemCount>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(items)
            }
        }
        deserializer.deserialize_map(Document).map(VariablesCount)
    }
}

/// An array → how many items it holds, read without keeping any of them.
struct ItemCount(usize);

impl<'de> serde::Deserialize<'de> for ItemCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items;
        impl<'de> Visitor<'de> for Items {
            type Value = usize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
                let mut items = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    items += 1;
                }
                Ok(items)
            }
        }
        deserializer.deserialize_seq(Items).map(ItemCount)
    }
}

/// The BotGhost variables of a parsed document. Any document without a `variables` key gives
/// none; a `variables` key that breaks the rules is refused with a message naming the item.
/// A later item of the same name wins over an earlier one.
pub fn variables(document: &Document) -> Result<Variables, String> {
    let mut variables = Variables::new();
    let Some(items) = document.get("variables") else {
        return Ok(variables);
    };
    let items = match items {
        Document::Array(items) => items,
        other => {
            return Err(format!(
                r#""variables" must be an array, not {}"#,
                other.kind()
            ))
        }
    };
    if items.len() > MAX_VARIABLES {
        return Err(too_many(items.len()));
    }
    for (index, item) in items.iter().enumerate() {
        let Item { name, value } = read_item(index, item)?;
        variables.insert(name, value);
    }
    Ok(variables)
}

/// The value of the variable `{name}` in a BotGhost-shaped document, as [`variables`] would
/// read it (the last valid item of that name wins); `None` when there is none.
pub fn value_of<'v>(document: &'v Document, name: &str) -> Option<Cow<'v, str>> {
    let Document::Array(items) = document.get("variables")? else {
        return None;
    };
    items.iter().enumerate().rev().find_map(|(index, item)| {
        let item = read_item(index, item).ok()?;
        (item.name == name).then_some(item.value)
    })
}

/// One item, read: the name between the braces of `variable`, and the value as text.
struct Item<'v> {
    name: &'v str,
    value: Cow<'v, str>,
}

/// One `{"name", "variable", "value"}` item, or why it is not one.
fn read_item(index: usize, item: &Document) -> Result<Item<'_>, String> {
    let Document::Object(fields) = item else {
        return Err(format!(
            r#"variables[{index}] must be an object with "name", "variable" and "value", not {}"#,
            item.kind()
        ));
    };
    let field = |key: &str| {
        fields
            .get(key)
            .ok_or_else(|| format!(r#"variables[{index}] has no "{key}""#))
    };
    match field("name")? {
        Document::String(_) => {}
        other => {
            return Err(format!(
                "variables[{index}].name must be a string, not {}",
                other.kind()
            ))
        }
    }
    let variable = match field("variable")? {
        Document::String(s) => s,
        other => {
            return Err(format!(
                r#"variables[{index}].variable must be a string like "{{name}}", not {}"#,
                other.kind()
            ))
        }
    };
    let name = placeholder_name(variable).ok_or_else(|| {
        format!(
            "variables[{index}].variable must be a name in braces like \"{{service}}\" \
             (1-{MAX_NAME_CHARS} characters, no braces inside), got {}",
            Document::String(variable.clone())
        )
    })?;
    let value = match field("value")? {
        // A number is its text as sent: `12345678901234567890123` keeps every digit.
        Document::String(s) | Document::Number(s) => Cow::Borrowed(s.as_str()),
        Document::Bool(b) => Cow::Owned(b.to_string()),
        other => {
            return Err(format!(
                "variables[{index}].value must be a string, number or boolean, not {}",
                other.kind()
            ))
        }
    };
    Ok(Item { name, value })
}

/// `{name}` → `name`, when the braces hold 1-64 characters and none of them is a brace.
fn placeholder_name(variable: &str) -> Option<&str> {
    let inner = variable.strip_prefix('{')?.strip_suffix('}')?;
    let chars = inner.chars().count();
    let valid = (1..=MAX_NAME_CHARS).contains(&chars) && !inner.contains(['{', '}']);
    valid.then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(text: &str) -> Document {
        Document::parse(text).unwrap()
    }

    fn ok(text: &str) -> Vec<(String, String)> {
        variables(&document(text))
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn err(text: &str) -> String {
        variables(&document(text)).unwrap_err()
    }

    fn items(count: usize) -> String {
        let item = r#"{"name":"A","variable":"{a}","value":"x"}"#;
        format!(r#"{{"variables":[{}]}}"#, vec![item; count].join(","))
    }

    #[test]
    fn a_request_carries_at_most_max_variables() {
        let at_limit = items(MAX_VARIABLES);
        assert_eq!(check_count(at_limit.as_bytes()), Ok(()));
        assert!(variables(&document(&at_limit)).is_ok());
        let over = items(MAX_VARIABLES + 1);
        let message = check_count(over.as_bytes()).unwrap_err();
        assert!(message.contains("at most 1000 variables"), "{message}");
        assert_eq!(variables(&document(&over)).unwrap_err(), message);
        // A repeated key counts as the parse reads it: the last one.
        let sneaky = format!(r#"{{"variables":[],{}"#, &over[1..]);
        assert!(check_count(sneaky.as_bytes()).is_err());
        // Other shapes and broken text are left to the real parse.
        for other in ["[1,2]", "5", r#"{"variables":{"a":1}}"#, "{", "null"] {
            assert_eq!(check_count(other.as_bytes()), Ok(()), "{other}");
        }
    }

    #[test]
    fn documents_without_variables_have_none() {
        assert!(ok("{}").is_empty());
        assert!(ok(r#"{"other": 1}"#).is_empty());
        assert!(ok("[1,2]").is_empty());
        assert!(ok("null").is_empty());
        assert!(ok(r#"{"variables": []}"#).is_empty());
    }

    #[test]
    fn values_become_text_as_the_caller_wrote_them() {
        let vars = ok(r#"{"variables":[
            {"name":"A","variable":"{a}","value":"x"},
            {"name":"B","variable":"{b}","value":42},
            {"name":"C","variable":"{c}","value":1.5},
            {"name":"D","variable":"{d}","value":true},
            {"name":"E","variable":"{e}","value":12345678901234567890123},
            {"name":"F","variable":"{f}","value":2.50}]}"#);
        assert_eq!(
            vars,
            vec![
                ("a".into(), "x".into()),
                ("b".into(), "42".into()),
                ("c".into(), "1.5".into()),
                ("d".into(), "true".into()),
                ("e".into(), "12345678901234567890123".into()),
                ("f".into(), "2.50".into())
            ]
        );
    }

    #[test]
    fn the_later_duplicate_wins() {
        let vars = ok(r#"{"variables":[
            {"name":"A","variable":"{a}","value":"first"},
            {"name":"A","variable":"{a}","value":"second"}]}"#);
        assert_eq!(vars, vec![("a".into(), "second".into())]);
    }

    #[test]
    fn each_rule_names_the_item() {
        assert_eq!(
            err(r#"{"variables":null}"#),
            r#""variables" must be an array, not null"#
        );
        assert_eq!(
            err(r#"{"variables":{}}"#),
            r#""variables" must be an array, not an object"#
        );
        assert!(err(r#"{"variables":[1]}"#).starts_with("variables[0] must be an object"));
        let missing_value = r#"{"variables":[{"name":"A","variable":"{a}","value":"x"},{"name":"B","variable":"{b}"}]}"#;
        assert_eq!(err(missing_value), r#"variables[1] has no "value""#);
        assert_eq!(
            err(r#"{"variables":[{"variable":"{a}","value":"x"}]}"#),
            r#"variables[0] has no "name""#
        );
        assert!(
            err(r#"{"variables":[{"name":1,"variable":"{a}","value":"x"}]}"#)
                .starts_with("variables[0].name must be a string")
        );
        assert!(
            err(r#"{"variables":[{"name":"A","variable":"a","value":"x"}]}"#)
                .starts_with("variables[0].variable must be a name in braces")
        );
        assert!(
            err(r#"{"variables":[{"name":"A","variable":"{a}","value":null}]}"#)
                .starts_with("variables[0].value must be a string, number or boolean")
        );
        assert!(
            err(r#"{"variables":[{"name":"A","variable":"{a}","value":[1]}]}"#)
                .ends_with("not an array")
        );
    }

    #[test]
    fn one_value_is_read_as_the_whole_list_would_be() {
        let doc = document(
            r#"{"variables":[
            {"name":"A","variable":"{a}","value":"first"},
            {"name":"N","variable":"{n}","value":3},
            {"name":"A","variable":"{a}","value":"second"},
            {"name":"B","variable":"{b}","value":null},
            {"name":"C","variable":"{c}","value":"kept"},
            {"variable":"{c}","value":"no name, not an item"}]}"#,
        );
        assert_eq!(value_of(&doc, "a").as_deref(), Some("second"));
        assert_eq!(value_of(&doc, "n").as_deref(), Some("3"));
        assert_eq!(value_of(&doc, "b"), None);
        assert_eq!(value_of(&doc, "c").as_deref(), Some("kept"));
        assert_eq!(value_of(&doc, "missing"), None);
        assert_eq!(value_of(&document(r#"{"variables":"x"}"#), "x"), None);
        assert_eq!(value_of(&document("[1]"), "x"), None);
    }

    #[test]
    fn placeholder_rules() {
        assert_eq!(placeholder_name("{a}"), Some("a"));
        assert_eq!(placeholder_name("{}"), None);
        assert_eq!(placeholder_name("{a{b}"), None);
        assert_eq!(placeholder_name("a}"), None);
        let max = format!("{{{}}}", "é".repeat(64));
        assert!(placeholder_name(&max).is_some());
        let over = format!("{{{}}}", "é".repeat(65));
        assert_eq!(placeholder_name(&over), None);
    }
}
