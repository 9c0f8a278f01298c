//! A webhook body → the run's variables and the document `{body…}` reads, with a 400 message
//! that names the offending item.

use std::collections::BTreeMap;

use crate::lang::botghost;
use crate::lang::document::Document;
use crate::lang::templates::Variables;

/// Bodies above this many bytes have their `variables` counted and measured before they are
/// parsed; a smaller one cannot exceed [`botghost::MAX_VARIABLE_BYTES`].
const COUNT_FIRST_ABOVE_BYTES: usize = 256 * 1024;

/// What a body gave: the BotGhost variables (none unless it is BotGhost-shaped) and the document
/// `{body…}` reads (`None` for an empty body), its numbers with the digits the caller sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBody {
    pub variables: Variables,
    pub payload: Option<Document>,
}

/// Reads any body (contract §4): a body that is JSON is read as JSON whatever `content_type`
/// says, since `curl -d '{…}'` labels JSON as a form; only a body that is not JSON is read as form
/// fields, and only when `content_type` says `application/x-www-form-urlencoded`. An empty body is
/// no variables and no document (an empty form is an empty object). A JSON body may be any
/// document; only a BotGhost `variables` key that breaks the rules, or text that is neither JSON
/// nor a declared form, is refused.
pub fn read_body(body: &[u8], content_type: Option<&str>) -> Result<ReadBody, String> {
    let form = is_form(content_type);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ReadBody {
            variables: Variables::new(),
            payload: form.then(|| Document::Object(BTreeMap::new())),
        });
    }
    // A large body is measured before its document is built, so thousands of variables or
    // megabytes of values are refused without holding them all in memory. A small one skips that second pass over its
    // bytes: its document costs little, and the strict reader refuses the same count in the
    // same words.
    if body.len() > COUNT_FIRST_ABOVE_BYTES {
        botghost::check_limits(body)?;
    }
    let document = match Document::from_slice(body) {
        Ok(document) => document,
        Err(_) if form => {
            return Ok(ReadBody {
                variables: Variables::new(),
                payload: Some(form_document(body)),
            })
        }
        Err(e) => return Err(format!("the body is not valid JSON: {e}")),
    };
    Ok(ReadBody {
        variables: botghost::variables(&document)?,
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
fn form_document(body: &[u8]) -> Document {
    let mut fields = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        let value = Document::String(value.into_owned());
        match fields.get_mut(name.as_ref()) {
            None => {
                fields.insert(name.into_owned(), value);
            }
            Some(Document::Array(values)) => values.push(value),
            Some(first) => {
                let earlier = std::mem::replace(first, Document::Null);
                *first = Document::Array(vec![earlier, value]);
            }
        }
    }
    Document::Object(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables_from_body(body: &[u8]) -> Result<Variables, String> {
        read_body(body, None).map(|read| read.variables)
    }

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
    fn what_cannot_be_read_is_refused_with_the_reason() {
        assert!(err("{").starts_with("the body is not valid JSON"));
        // The BotGhost rules are lang::botghost's; its message is the 400's.
        let missing_value = r#"{"variables":[{"name":"A","variable":"{a}","value":"x"},{"name":"B","variable":"{b}"}]}"#;
        assert_eq!(err(missing_value), r#"variables[1] has no "value""#);
    }

    #[test]
    fn any_json_document_is_the_payload() {
        let read = read_body(br#"{"a":{"b":[1,{"c":"d"}]}}"#, Some("application/json")).unwrap();
        assert!(read.variables.is_empty());
        assert_eq!(
            read.payload.unwrap().at_path("a.b.1.c").unwrap().text(),
            "d"
        );
        let read = read_body(b"[1,2]", None).unwrap();
        assert_eq!(read.payload, Some(serde_json::json!([1, 2]).into()));
        let read = read_body(b"  ", Some("application/json")).unwrap();
        assert_eq!(read.payload, None);
        assert_eq!(read_body(b"null", None).unwrap().payload, None);
        let read = read_body(
            br#"{"variables":[{"name":"A","variable":"{a}","value":"x"}]}"#,
            None,
        )
        .unwrap();
        assert_eq!(read.variables.get("a"), Some("x"));
        assert!(matches!(
            read.payload.unwrap().get("variables"),
            Some(Document::Array(_))
        ));
        assert!(read_body(b"not json", Some("text/plain"))
            .unwrap_err()
            .starts_with("the body is not valid JSON"));
    }

    /// Issue 14.13: a number keeps the digits the caller sent, as a variable and in `{body…}`.
    #[test]
    fn big_numbers_keep_their_digits() {
        let body = br#"{"variables":[{"name":"N","variable":"{n}","value":12345678901234567890123}],"amount":0.10000000000000000001}"#;
        let read = read_body(body, None).unwrap();
        assert_eq!(read.variables.get("n"), Some("12345678901234567890123"));
        let payload = read.payload.unwrap();
        assert_eq!(
            payload.at_path("amount").unwrap().text(),
            "0.10000000000000000001"
        );
        assert_eq!(
            payload.to_string(),
            r#"{"amount":0.10000000000000000001,"variables":[{"name":"N","value":12345678901234567890123,"variable":"{n}"}]}"#
        );
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
            Some(
                serde_json::json!({"status": "down", "monitor": "API #1",
                "tag": ["a", "b"], "empty": ""})
                .into()
            )
        );
        let read = read_body(b"", Some("application/x-www-form-urlencoded")).unwrap();
        assert_eq!(read.payload, Some(serde_json::json!({}).into()));
    }

    /// `curl -d '{…}'` sends JSON labelled as a form: it is read as JSON, variables and all.
    #[test]
    fn json_labelled_as_a_form_is_json() {
        let form = Some("application/x-www-form-urlencoded");
        let body = br#"{"variables":[{"name":"A","variable":"{a}","value":"x"}]}"#;
        let read = read_body(body, form).unwrap();
        assert_eq!(read.variables.get("a"), Some("x"));
        assert!(matches!(
            read.payload.unwrap().get("variables"),
            Some(Document::Array(_))
        ));
        // A broken BotGhost body is refused, as it would be with a JSON header.
        let broken = br#"{"variables":[{"name":"A","variable":"{a}"}]}"#;
        assert_eq!(
            read_body(broken, form).unwrap_err(),
            r#"variables[0] has no "value""#
        );
    }
}
