//! A webhook body → the run's variables and the document `{body…}` reads, with a 400 message
//! that names the offending item.

use serde_json::{Map, Value};

use crate::templates::{Variables, MAX_NAME_CHARS};

/// What a body gave: the BotGhost variables (none unless it is BotGhost-shaped) and the document
/// `{body…}` reads (`None` for an empty body).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBody {
    pub variables: Variables,
    pub payload: Option<Value>,
}

/// Reads any body: form fields when `content_type` says `application/x-www-form-urlencoded`,
/// else JSON (an empty body is no variables and no document). A JSON body may be any document;
/// only a BotGhost `variables` key that breaks the rules, or text that is not JSON, is refused.
pub fn read_body(body: &[u8], content_type: Option<&str>) -> Result<ReadBody, String> {
    if is_form(content_type) {
        return Ok(ReadBody {
            variables: Variables::new(),
            payload: Some(form_document(body)),
        });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ReadBody {
            variables: Variables::new(),
            payload: None,
        });
    }
    let document: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    Ok(ReadBody {
        variables: variables_from_document(&document)?,
        // A `null` document is no document, as an empty body is (and as the run stores it).
        payload: (!document.is_null()).then_some(document),
    })
}

fn is_form(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Form fields as an object: a field sent once is a string, one sent several times an array of
/// its values in order.
fn form_document(body: &[u8]) -> Value {
    let mut fields = Map::new();
    for (name, value) in form_urlencoded::parse(body) {
        let value = Value::String(value.into_owned());
        match fields.get_mut(name.as_ref()) {
            None => {
                fields.insert(name.into_owned(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => {
                let first = first.take();
                fields.insert(name.into_owned(), Value::Array(vec![first, value]));
            }
        }
    }
    Value::Object(fields)
}

/// Reads the BotGhost `{"variables":[…]}` shape. Any other JSON document is accepted and gives no
/// variables; only a `variables` key that breaks the rules is refused.
#[cfg(test)]
pub fn variables_from_body(body: &[u8]) -> Result<Variables, String> {
    read_body(body, None).map(|read| read.variables)
}

/// The BotGhost variables of a parsed document.
pub fn variables_from_document(document: &Value) -> Result<Variables, String> {
    let mut variables = Variables::new();
    let Some(items) = document.as_object().and_then(|o| o.get("variables")) else {
        return Ok(variables);
    };
    let items = match items {
        Value::Array(items) => items,
        Value::Null => return Err(r#""variables" must be an array, not null"#.to_owned()),
        other => {
            return Err(format!(
                r#""variables" must be an array, not {}"#,
                json_kind(other)
            ))
        }
    };
    for (index, item) in items.iter().enumerate() {
        let (name, value) = read_item(index, item)?;
        variables.insert(name, value);
    }
    Ok(variables)
}

/// One `{"name", "variable", "value"}` item → (name between the braces, value as text).
fn read_item(index: usize, item: &Value) -> Result<(String, String), String> {
    let Value::Object(fields) = item else {
        return Err(format!(
            r#"variables[{index}] must be an object with "name", "variable" and "value", not {}"#,
            json_kind(item)
        ));
    };
    let field = |key: &str| {
        fields
            .get(key)
            .ok_or_else(|| format!(r#"variables[{index}] has no "{key}""#))
    };
    match field("name")? {
        Value::String(_) => {}
        other => {
            return Err(format!(
                "variables[{index}].name must be a string, not {}",
                json_kind(other)
            ))
        }
    }
    let variable = match field("variable")? {
        Value::String(s) => s,
        other => {
            return Err(format!(
                r#"variables[{index}].variable must be a string like "{{name}}", not {}"#,
                json_kind(other)
            ))
        }
    };
    let name = placeholder_name(variable).ok_or_else(|| {
        format!(
            "variables[{index}].variable must be a name in braces like \"{{service}}\" \
             (1-{MAX_NAME_CHARS} characters, no braces inside), got {}",
            Value::String(variable.clone())
        )
    })?;
    let value = match field("value")? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => {
            return Err(format!(
                "variables[{index}].value must be a string, number or boolean, not {}",
                json_kind(other)
            ))
        }
    };
    Ok((name.to_owned(), value))
}

/// `{name}` → `name`, when the braces hold 1-64 characters and none of them is a brace.
fn placeholder_name(variable: &str) -> Option<&str> {
    let inner = variable.strip_prefix('{')?.strip_suffix('}')?;
    let chars = inner.chars().count();
    let valid = (1..=MAX_NAME_CHARS).contains(&chars) && !inner.contains(['{', '}']);
    valid.then_some(inner)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Vec<(String, String)> {
        variables_from_body(body.as_bytes())
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn err(body: &str) -> String {
        variables_from_body(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn empty_and_variable_free_bodies_mean_no_variables() {
        assert!(ok("").is_empty());
        assert!(ok("  \n").is_empty());
        assert!(ok("{}").is_empty());
        assert!(ok(r#"{"other": 1}"#).is_empty());
        assert!(ok("[1,2]").is_empty());
        assert!(ok(r#"{"variables": []}"#).is_empty());
    }

    #[test]
    fn values_become_text_as_json_writes_them() {
        let vars = ok(r#"{"variables":[
            {"name":"A","variable":"{a}","value":"x"},
            {"name":"B","variable":"{b}","value":42},
            {"name":"C","variable":"{c}","value":1.5},
            {"name":"D","variable":"{d}","value":true}]}"#);
        assert_eq!(
            vars,
            vec![
                ("a".into(), "x".into()),
                ("b".into(), "42".into()),
                ("c".into(), "1.5".into()),
                ("d".into(), "true".into())
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
        assert!(err("{").starts_with("the body is not valid JSON"));
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
    fn any_json_document_is_the_payload() {
        let read = read_body(br#"{"a":{"b":[1,{"c":"d"}]}}"#, Some("application/json")).unwrap();
        assert!(read.variables.is_empty());
        assert_eq!(read.payload.unwrap()["a"]["b"][1]["c"], "d");
        let read = read_body(b"[1,2]", None).unwrap();
        assert_eq!(read.payload, Some(serde_json::json!([1, 2])));
        let read = read_body(b"  ", Some("application/json")).unwrap();
        assert_eq!(read.payload, None);
        assert_eq!(read_body(b"null", None).unwrap().payload, None);
        let read = read_body(
            br#"{"variables":[{"name":"A","variable":"{a}","value":"x"}]}"#,
            None,
        )
        .unwrap();
        assert_eq!(read.variables.get("a"), Some("x"));
        assert!(read.payload.unwrap()["variables"].is_array());
        assert!(read_body(b"not json", Some("text/plain"))
            .unwrap_err()
            .starts_with("the body is not valid JSON"));
    }

    #[test]
    fn form_bodies_are_fields() {
        let read = read_body(
            b"status=down&monitor=API+%231&tag=a&tag=b&empty=",
            Some("Application/X-WWW-Form-Urlencoded; charset=utf-8"),
        )
        .unwrap();
        assert_eq!(
            read.payload,
            Some(serde_json::json!({"status": "down", "monitor": "API #1",
                "tag": ["a", "b"], "empty": ""}))
        );
        let read = read_body(b"", Some("application/x-www-form-urlencoded")).unwrap();
        assert_eq!(read.payload, Some(serde_json::json!({})));
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
