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

/// The most bytes the values of one request's variables may hold together (1 MiB). A run keeps
/// its variables beside the body and reads them at every step; without this bound one request
/// of 1,000 values of 60 KB each (under a raised `http.max_body_bytes`) made a 120 MB run record
/// that stayed in memory long after it was done. Discord shows at most 6,000 characters of a
/// message, so this leaves every real use room.
pub const MAX_VARIABLE_BYTES: usize = 1024 * 1024;

/// The 400 for a request with more than [`MAX_VARIABLES`] items.
fn too_many(items: usize) -> String {
    format!(
        r#""variables" holds {items} items; a request may carry at most {MAX_VARIABLES} variables"#
    )
}

/// The 400 for a request whose values hold more than [`MAX_VARIABLE_BYTES`].
fn too_large(bytes: usize) -> String {
    format!(
        r#"the values in "variables" hold {bytes} bytes; a request may carry at most {MAX_VARIABLE_BYTES} bytes of variable values"#
    )
}

/// Refuses a JSON body whose `variables` array holds more than [`MAX_VARIABLES`] items or more
/// than [`MAX_VARIABLE_BYTES`] of values, before anything builds it: the scan counts and
/// allocates nothing, so a huge body costs no more memory than its bytes. Any other text, even
/// invalid JSON or another shape, passes: the real parse reports it.
pub fn check_limits(body: &[u8]) -> Result<(), String> {
    match serde_json::from_slice::<VariablesSize>(body) {
        Ok(VariablesSize(size)) if size.items > MAX_VARIABLES => Err(too_many(size.items)),
        Ok(VariablesSize(size)) if size.value_bytes > MAX_VARIABLE_BYTES => {
            Err(too_large(size.value_bytes))
        }
        _ => Ok(()),
    }
}

/// How many items a `variables` array holds, and how many bytes their values.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    items: usize,
    value_bytes: usize,
}

/// An object → the size of its (last) `variables` array. Any other shape fails to
/// deserialize, which [`check_limits`] lets through to the real parse.
struct VariablesSize(Size);

impl<'de> serde::Deserialize<'de> for VariablesSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Document;
        impl<'de> Visitor<'de> for Document {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Size, A::Error> {
                let mut size = Size::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "variables" {
                        // A repeated key: the last one is the one the parse keeps.
                        size = map.next_value::<ItemsSize>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(size)
            }
        }
        deserializer.deserialize_map(Document).map(VariablesSize)
    }
}

/// An array → how many items it holds and the bytes of their `value`s, read without keeping
/// any of them.
struct ItemsSize(Size);

impl<'de> serde::Deserialize<'de> for ItemsSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items;
        impl<'de> Visitor<'de> for Items {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Size, A::Error> {
                let mut size = Size::default();
                while let Some(ItemValueBytes(bytes)) = seq.next_element()? {
                    size.items += 1;
                    size.value_bytes = size.value_bytes.saturating_add(bytes);
                }
                Ok(size)
            }
        }
        deserializer.deserialize_seq(Items).map(ItemsSize)
    }
}

/// One item → the bytes of its (last) `value` when it is a string; 0 for anything else (a
/// number or boolean is a few bytes, and a broken item is the real parse's to report). Every
/// shape is read without failing, so one odd item cannot switch the count off.
struct ItemValueBytes(usize);

impl<'de> serde::Deserialize<'de> for ItemValueBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Item;
        impl<'de> Visitor<'de> for Item {
            type Value = usize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an item")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
                let mut bytes = 0;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "value" {
                        bytes = map.next_value::<StringBytes>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(bytes)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(0)
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<usize, E> {
                Ok(0)
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<usize, E> {
                Ok(0)
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<usize, E> {
                Ok(0)
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<usize, E> {
                Ok(0)
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<usize, E> {
                Ok(0)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<usize, E> {
                Ok(0)
            }
        }
        deserializer.deserialize_any(Item).map(ItemValueBytes)
    }
}

/// A string → its length in bytes, read without copying when it holds no escapes; anything
/// else → 0.
struct StringBytes(usize);

impl<'de> serde::Deserialize<'de> for StringBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = usize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<usize, E> {
                Ok(text.len())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<usize, E> {
                Ok(0)
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<usize, E> {
                Ok(0)
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<usize, E> {
                Ok(0)
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<usize, E> {
                Ok(0)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<usize, E> {
                Ok(0)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(0)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(0)
            }
        }
        deserializer.deserialize_any(Text).map(StringBytes)
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
    let mut value_bytes = 0usize;
    for (index, item) in items.iter().enumerate() {
        let Item { name, value } = read_item(index, item)?;
        if let Document::String(_) = item.get("value").unwrap_or(&Document::Null) {
            value_bytes += value.len();
        }
        variables.insert(name, value);
    }
    if value_bytes > MAX_VARIABLE_BYTES {
        return Err(too_large(value_bytes));
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
        assert_eq!(check_limits(at_limit.as_bytes()), Ok(()));
        assert!(variables(&document(&at_limit)).is_ok());
        let over = items(MAX_VARIABLES + 1);
        let message = check_limits(over.as_bytes()).unwrap_err();
        assert!(message.contains("at most 1000 variables"), "{message}");
        assert_eq!(variables(&document(&over)).unwrap_err(), message);
        // A repeated key counts as the parse reads it: the last one.
        let sneaky = format!(r#"{{"variables":[],{}"#, &over[1..]);
        assert!(check_limits(sneaky.as_bytes()).is_err());
        // Other shapes and broken text are left to the real parse.
        for other in ["[1,2]", "5", r#"{"variables":{"a":1}}"#, "{", "null"] {
            assert_eq!(check_limits(other.as_bytes()), Ok(()), "{other}");
        }
    }

    /// Issue 14.5: the values of one request hold at most MAX_VARIABLE_BYTES, counted by the
    /// scan that builds nothing and by the strict reader alike. Odd items do not stop the scan.
    #[test]
    fn a_request_carries_at_most_max_variable_bytes() {
        let body = |sizes: &[usize]| {
            let items: Vec<String> = sizes
                .iter()
                .enumerate()
                .map(|(i, size)| {
                    format!(
                        r#"{{"name":"V","variable":"{{v{i}}}","value":"{}","x":[1,{{"value":"ignored"}}]}}"#,
                        "x".repeat(*size)
                    )
                })
                .collect();
            format!(
                r#"{{"other":"{}","variables":[{},{{"name":"N","variable":"{{n}}","value":12}}]}}"#,
                "y".repeat(MAX_VARIABLE_BYTES),
                items.join(",")
            )
        };
        let half = MAX_VARIABLE_BYTES / 2;
        let at_limit = body(&[half, half]);
        assert_eq!(check_limits(at_limit.as_bytes()), Ok(()));
        assert!(variables(&document(&at_limit)).is_ok());
        let over = body(&[half, half + 1]);
        let message = check_limits(over.as_bytes()).unwrap_err();
        assert_eq!(
            message,
            r#"the values in "variables" hold 1048577 bytes; a request may carry at most 1048576 bytes of variable values"#
        );
        assert_eq!(variables(&document(&over)).unwrap_err(), message);
        let odd = format!(
            r#"{{"variables":[1,null,[2],{{"value":{{"a":1}}}},{}"#,
            &items(MAX_VARIABLES)[14..]
        );
        assert!(check_limits(odd.as_bytes())
            .unwrap_err()
            .contains("1004 items"));
        // Escapes count as the text they stand for.
        let escaped = format!(
            r#"{{"variables":[{{"name":"E","variable":"{{e}}","value":"{}"}}]}}"#,
            "\\n".repeat(MAX_VARIABLE_BYTES)
        );
        assert_eq!(check_limits(escaped.as_bytes()), Ok(()));
        assert!(variables(&document(&escaped)).is_ok());
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
