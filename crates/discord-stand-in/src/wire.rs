//! The HTTP pieces every part of the REST side shares: the API prefix, a parsed request, a
//! successful answer, the record of a request, and percent-decoding. A leaf: it uses no other
//! module of the crate, so the front door, the routing table and the handlers can all use it.

use axum::http::HeaderMap;
use serde_json::Value;

/// Every REST route lives under this prefix, as serenity 0.12 calls them.
pub(crate) const API_PREFIX: &str = "/api/v10";

/// A REST request, already past injected failures and the token check.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    /// `Err` when the body is not JSON.
    pub body: Result<Option<Value>, ()>,
}

impl Request<'_> {
    /// The decoded value of a query parameter; queries may arrive as `?&limit=5`.
    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(key, _)| percent_decode(key, true) == name)
            .map(|(_, value)| percent_decode(value, true))
    }

    /// The JSON body, or `null` when there is none.
    pub(crate) fn json(&self) -> Value {
        self.body.clone().ok().flatten().unwrap_or(Value::Null)
    }

    pub(crate) fn audit_log_reason(&self) -> Option<String> {
        let header = self.headers.get("x-audit-log-reason")?;
        Some(percent_decode(
            &String::from_utf8_lossy(header.as_bytes()),
            false,
        ))
    }
}

/// One REST request the stand-in received, and the status it answered with.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Without the query, e.g. `/api/v10/channels/1/messages`.
    pub path: String,
    /// Exactly as sent, without the `?` (it can be `&limit=5`).
    pub query: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The JSON body; a body that is not JSON is kept as a JSON string.
    pub body: Option<Value>,
    /// The HTTP status the stand-in answered with.
    pub status: u16,
}

impl RecordedRequest {
    /// The decoded `X-Audit-Log-Reason` the bot sent, if any.
    pub fn audit_log_reason(&self) -> Option<String> {
        self.header("x-audit-log-reason")
            .map(|reason| percent_decode(reason, false))
    }

    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A successful answer: a status, an optional JSON body and extra headers.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub fn json(body: Value) -> Self {
        Answer {
            status: 200,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    /// 201 Created, as Discord answers channel and thread creation.
    pub fn created(body: Value) -> Self {
        Answer {
            status: 201,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub fn no_content() -> Self {
        Answer {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }
}

/// Decodes `%XX` escapes (and `+` as a space in queries), as clients encode query values and
/// `X-Audit-Log-Reason`.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = bytes
            .get(index + 1..index + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[index], escaped) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (b'+', _) if plus_is_space => {
                decoded.push(b' ');
                index += 1;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(
            percent_decode("webhook%20event%20%C3%A9", false),
            "webhook event é"
        );
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("a+b", false), "a+b");
    }
}
