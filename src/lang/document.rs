//! A JSON document as a webhook caller sent it, for `{body…}`: every number keeps the text it was
//! written with, where serde_json's `Value` would round it through an f64
//! (`12345678901234567890123` would become `1.2345678901234568e22`, `2.50` would become `2.5`).
//!
//! serde_json's `arbitrary_precision` feature would do the same for every `Value` in the build,
//! serenity's included, and it breaks numbers inside internally tagged and untagged enums (ours
//! and serenity's); this type keeps the exact text where it matters and nowhere else.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::de::{Deserialize, Deserializer, Error as _, IgnoredAny};
use serde::ser::{Error as _, Serialize, Serializer};
use serde_json::value::RawValue;

/// The deepest nesting of arrays and objects a document may have, as serde_json allows a `Value`.
pub const MAX_DEPTH: usize = 128;

/// A JSON document whose numbers are their exact text. Object keys are kept sorted (a key sent
/// twice keeps its last value), as serde_json's `Value` keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Null,
    Bool(bool),
    /// The number exactly as it was written: valid JSON number syntax, never converted.
    Number(String),
    String(String),
    Array(Vec<Document>),
    Object(BTreeMap<String, Document>),
}

impl Document {
    /// Reads JSON text, keeping every number's digits. The errors are serde_json's own (with
    /// line and column). Nesting deeper than [`MAX_DEPTH`] is refused (serde_json's own limit
    /// for a `Value`), so a hostile body cannot exhaust the stack.
    pub fn from_slice(bytes: &[u8]) -> Result<Document, serde_json::Error> {
        // One pass over valid JSON: the reader accepts nothing serde_json refuses.
        if let Some(document) = std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| Reader::new(text).document().ok())
        {
            return Ok(document);
        }
        // Something is wrong: the error is told as it always was, serde_json's own first.
        serde_json::from_slice::<IgnoredAny>(bytes)?;
        let text = std::str::from_utf8(bytes).map_err(|e| {
            <serde_json::Error as serde::de::Error>::custom(format!(
                "invalid UTF-8 at byte {} of the body",
                e.valid_up_to()
            ))
        })?;
        Reader::new(text).document()
    }

    /// [`Document::from_slice`] for text.
    pub fn parse(text: &str) -> Result<Document, serde_json::Error> {
        Self::from_slice(text.as_bytes())
    }

    /// The value at `path` (`commits.0.message`; empty: the document itself): object keys and
    /// array indexes separated by dots.
    pub fn at_path(&self, path: &str) -> Option<&Document> {
        if path.is_empty() {
            return Some(self);
        }
        path.split('.')
            .try_fold(self, |current, segment| match current {
                Document::Object(fields) => fields.get(segment),
                Document::Array(items) => items.get(segment.parse::<usize>().ok()?),
                _ => None,
            })
    }

    /// The value as a template shows it: a string as it is, anything else as compact JSON with
    /// its numbers as they were sent.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Document::String(text) => Cow::Borrowed(text),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// The field `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Document> {
        match self {
            Document::Object(fields) => fields.get(key),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Document::Null)
    }

    /// What kind of JSON value this is, in words for messages: "a string", "an array", "null".
    pub fn kind(&self) -> &'static str {
        match self {
            Document::Null => "null",
            Document::Bool(_) => "a boolean",
            Document::Number(_) => "a number",
            Document::String(_) => "a string",
            Document::Array(_) => "an array",
            Document::Object(_) => "an object",
        }
    }
}

/// A document built in code (tests, form fields, other sources): its numbers are as serde_json
/// writes them.
impl From<serde_json::Value> for Document {
    fn from(value: serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => Document::Null,
            Value::Bool(b) => Document::Bool(b),
            Value::Number(n) => Document::Number(n.to_string()),
            Value::String(s) => Document::String(s),
            Value::Array(items) => Document::Array(items.into_iter().map(Into::into).collect()),
            Value::Object(fields) => {
                Document::Object(fields.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

/// Compact JSON, numbers as they were sent.
impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Document::Null => f.write_str("null"),
            Document::Bool(b) => write!(f, "{b}"),
            Document::Number(text) => f.write_str(text),
            Document::String(text) => write_string(f, text),
            Document::Array(items) => {
                f.write_char('[')?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_char(',')?;
                    }
                    item.fmt(f)?;
                }
                f.write_char(']')
            }
            Document::Object(fields) => {
                f.write_char('{')?;
                for (index, (key, value)) in fields.iter().enumerate() {
                    if index > 0 {
                        f.write_char(',')?;
                    }
                    write_string(f, key)?;
                    f.write_char(':')?;
                    value.fmt(f)?;
                }
                f.write_char('}')
            }
        }
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str(&serde_json::to_string(text).map_err(|_| fmt::Error)?)
}

/// As JSON, numbers as they were sent (serde_json writes a non-integer's text through its
/// `RawValue`), so a stored run reads back with the same digits.
impl Serialize for Document {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Document::Null => serializer.serialize_unit(),
            Document::Bool(b) => serializer.serialize_bool(*b),
            Document::Number(text) => {
                // JSON allows no leading zeros or `+`, so an integer that fits is its own text.
                if let Ok(n) = text.parse::<u64>() {
                    return serializer.serialize_u64(n);
                }
                if let (Ok(n), false) = (text.parse::<i64>(), text == "-0") {
                    return serializer.serialize_i64(n);
                }
                RawValue::from_string(text.clone())
                    .map_err(S::Error::custom)?
                    .serialize(serializer)
            }
            Document::String(text) => serializer.serialize_str(text),
            Document::Array(items) => serializer.collect_seq(items),
            Document::Object(fields) => serializer.collect_map(fields),
        }
    }
}

/// From JSON (serde_json's deserializers): the value's raw text is read again, so its numbers
/// keep their digits.
impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Document::parse(raw.get()).map_err(D::Error::custom)
    }
}

/// Builds a document from JSON text, accepting only what serde_json accepts (its strings, its
/// numbers, nothing after the value but whitespace) and nesting at most [`MAX_DEPTH`] deep; it
/// fails instead of panicking. Its errors are terse: [`Document::from_slice`] tells serde_json's
/// when there is one.
struct Reader<'t> {
    text: &'t str,
    at: usize,
    /// Arrays and objects open around the current position.
    depth: usize,
}

impl<'t> Reader<'t> {
    fn new(text: &'t str) -> Reader<'t> {
        Reader {
            text,
            at: 0,
            depth: 0,
        }
    }

    /// The whole text as one value.
    fn document(mut self) -> Result<Document, serde_json::Error> {
        let value = self.value()?;
        self.skip_whitespace();
        if self.at != self.text.len() {
            return Err(self.unexpected());
        }
        Ok(value)
    }

    fn value(&mut self) -> Result<Document, serde_json::Error> {
        self.skip_whitespace();
        let opens = matches!(self.peek()?, b'{' | b'[');
        if opens {
            if self.depth == MAX_DEPTH {
                return Err(<serde_json::Error as serde::de::Error>::custom(format!(
                    "arrays and objects nest more than {MAX_DEPTH} deep at byte {}",
                    self.at
                )));
            }
            self.depth += 1;
        }
        let value = self.token();
        if opens {
            self.depth -= 1;
        }
        value
    }

    fn token(&mut self) -> Result<Document, serde_json::Error> {
        match self.peek()? {
            b'{' => {
                self.at += 1;
                let mut fields = BTreeMap::new();
                if self.closes(b'}')? {
                    return Ok(Document::Object(fields));
                }
                loop {
                    self.skip_whitespace();
                    let key = self.string()?;
                    self.skip_whitespace();
                    self.expect(b':')?;
                    let value = self.value()?;
                    fields.insert(key, value);
                    if self.list_ends(b'}')? {
                        return Ok(Document::Object(fields));
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                if self.closes(b']')? {
                    return Ok(Document::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    if self.list_ends(b']')? {
                        return Ok(Document::Array(items));
                    }
                }
            }
            b'"' => self.string().map(Document::String),
            b't' => self.literal("true", Document::Bool(true)),
            b'f' => self.literal("false", Document::Bool(false)),
            b'n' => self.literal("null", Document::Null),
            _ => {
                let start = self.at;
                let rest = &self.text.as_bytes()[start..];
                let length = rest
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .unwrap_or(rest.len());
                if !is_json_number(&rest[..length]) {
                    return Err(self.unexpected());
                }
                self.at += length;
                Ok(Document::Number(self.text[start..self.at].to_owned()))
            }
        }
    }

    /// A string token, unescaped by serde_json when it holds escapes.
    fn string(&mut self) -> Result<String, serde_json::Error> {
        if self.peek()? != b'"' {
            return Err(self.unexpected());
        }
        let start = self.at;
        let bytes = self.text.as_bytes();
        let mut at = start + 1;
        let mut escaped = false;
        loop {
            match bytes.get(at) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    at += 2;
                }
                // JSON has no raw control characters in a string.
                Some(0..=0x1f) => return Err(self.unexpected()),
                Some(_) => at += 1,
                None => return Err(self.unexpected()),
            }
        }
        self.at = at + 1;
        let token = &self.text[start..self.at];
        if escaped {
            serde_json::from_str(token)
        } else {
            Ok(token[1..token.len() - 1].to_owned())
        }
    }

    fn literal(&mut self, word: &str, value: Document) -> Result<Document, serde_json::Error> {
        if !self.text[self.at..].starts_with(word) {
            return Err(self.unexpected());
        }
        self.at += word.len();
        Ok(value)
    }

    /// After `{` or `[`: true (and past it) when the next token is `close`.
    fn closes(&mut self, close: u8) -> Result<bool, serde_json::Error> {
        self.skip_whitespace();
        let closes = self.peek()? == close;
        if closes {
            self.at += 1;
        }
        Ok(closes)
    }

    /// After an item: true at `close`, false at `,`.
    fn list_ends(&mut self, close: u8) -> Result<bool, serde_json::Error> {
        self.skip_whitespace();
        let next = self.peek()?;
        self.at += 1;
        match next {
            b',' => Ok(false),
            b if b == close => Ok(true),
            _ => Err(self.unexpected()),
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), serde_json::Error> {
        if self.peek()? != byte {
            return Err(self.unexpected());
        }
        self.at += 1;
        Ok(())
    }

    fn peek(&self) -> Result<u8, serde_json::Error> {
        self.text
            .as_bytes()
            .get(self.at)
            .copied()
            .ok_or_else(|| self.unexpected())
    }

    fn skip_whitespace(&mut self) {
        let rest = &self.text.as_bytes()[self.at.min(self.text.len())..];
        self.at += rest
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .unwrap_or(rest.len());
    }

    fn unexpected(&self) -> serde_json::Error {
        <serde_json::Error as serde::de::Error>::custom(format!(
            "unexpected JSON at byte {}",
            self.at
        ))
    }
}

/// JSON's number grammar: `-`, then `0` or digits not starting with `0`, then `.` and digits,
/// then `e` or `E`, a sign and digits, the last two parts optional.
fn is_json_number(text: &[u8]) -> bool {
    let digits = |at: usize| {
        text[at.min(text.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut at = usize::from(text.first() == Some(&b'-'));
    match text.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at += digits(at),
        _ => return false,
    }
    if text.get(at) == Some(&b'.') {
        let fraction = digits(at + 1);
        if fraction == 0 {
            return false;
        }
        at += 1 + fraction;
    }
    if matches!(text.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(text.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent == 0 {
            return false;
        }
        at += exponent;
    }
    at == text.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_keep_the_digits_they_were_sent_with() {
        let text = r#"{"big":12345678901234567890123,"price":2.50,"exp":1E+3,"neg":-0,
            "small":-7,"list":[0.1000000000000000000001,{"id":98765432109876543210}]}"#;
        let doc = Document::parse(text).unwrap();
        let number = |path| doc.at_path(path).unwrap().text().into_owned();
        assert_eq!(number("big"), "12345678901234567890123");
        assert_eq!(number("price"), "2.50");
        assert_eq!(number("exp"), "1E+3");
        assert_eq!(number("neg"), "-0");
        assert_eq!(number("small"), "-7");
        assert_eq!(number("list.0"), "0.1000000000000000000001");
        assert_eq!(number("list.1"), r#"{"id":98765432109876543210}"#);
        assert_eq!(
            doc.to_string(),
            r#"{"big":12345678901234567890123,"exp":1E+3,"list":[0.1000000000000000000001,{"id":98765432109876543210}],"neg":-0,"price":2.50,"small":-7}"#
        );
        // serde_json's Value, for comparison, loses them.
        let lossy: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(lossy["big"].to_string(), "1.2345678901234568e+22");
    }

    #[test]
    fn a_stored_document_reads_back_with_the_same_digits() {
        let doc =
            Document::parse(r#"{"a":[12345678901234567890123,-5,7,2.50,null,true,"x"]}"#).unwrap();
        let stored = serde_json::to_string(&doc).unwrap();
        assert_eq!(
            stored,
            r#"{"a":[12345678901234567890123,-5,7,2.50,null,true,"x"]}"#
        );
        assert_eq!(serde_json::from_str::<Document>(&stored).unwrap(), doc);
        // Inside a struct, as a run keeps it, and through serde_json's Value.
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Kept {
            payload: Option<Document>,
        }
        let kept = Kept {
            payload: Some(doc.clone()),
        };
        let bytes = serde_json::to_vec(&kept).unwrap();
        assert_eq!(serde_json::from_slice::<Kept>(&bytes).unwrap(), kept);
        let value = serde_json::to_value(&doc).unwrap();
        assert_eq!(value["a"][1], json!(-5));
        // An engine that hands back serde_json's Value still reads a document (its numbers as
        // that Value kept them).
        let read: Document = serde_json::from_value(value).unwrap();
        assert_eq!(
            read.at_path("a.0").unwrap().text(),
            "1.2345678901234568e+22"
        );
    }

    #[test]
    fn strings_objects_and_paths_read_as_json_says() {
        let doc = Document::parse(
            " {\"s\":\"tab\\there \\u00e9\\\"q\\\"\", \"k\":{\"x\":1,\"x\":2}, \"e\":[], \"o\":{}, \"u\":\"ü\"} ",
        )
        .unwrap();
        assert_eq!(doc.at_path("s").unwrap().text(), "tab\there é\"q\"");
        assert_eq!(
            doc.at_path("k.x").unwrap().text(),
            "2",
            "the later key wins"
        );
        assert_eq!(doc.at_path("e").unwrap().text(), "[]");
        assert_eq!(doc.at_path("o").unwrap().text(), "{}");
        assert_eq!(doc.at_path("u").unwrap().text(), "ü");
        assert_eq!(doc.at_path("s.deeper"), None);
        assert_eq!(doc.at_path("e.0"), None);
        assert_eq!(doc.at_path("").unwrap(), &doc);
        let value = json!({"s": "a\"b\n", "n": [1, 2.5, true, null]});
        assert_eq!(Document::from(value.clone()).to_string(), value.to_string());
    }

    #[test]
    fn broken_text_is_refused_with_the_place() {
        for broken in [
            "{",
            "[1,]",
            "01",
            "\"\u{1}\"",
            "{\"a\" 1}",
            "1 2",
            "",
            "nul",
        ] {
            let error = Document::parse(broken).unwrap_err().to_string();
            assert!(error.contains("at line 1 column"), "{broken:?}: {error}");
        }
        let not_utf8 = Document::from_slice(b"\"\xff\"").unwrap_err().to_string();
        assert!(not_utf8.contains("UTF-8"), "{not_utf8}");
        let nested = |depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(Document::parse(&nested(MAX_DEPTH)).is_ok());
        let error = Document::parse(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert!(
            error.to_string().contains("nest more than 128 deep"),
            "{error}"
        );
        // A hostile depth is refused, not a stack overflow.
        assert!(Document::parse(&nested(1_000_000)).is_err());
    }

    #[test]
    fn the_number_grammar_is_jsons() {
        for good in [
            "0", "-0", "7", "10", "2.50", "1e5", "1E+3", "-1.5e-7", "0.0",
        ] {
            assert!(is_json_number(good.as_bytes()), "{good}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1-2", "--1", "1.2.3", "e1",
        ] {
            assert!(!is_json_number(bad.as_bytes()), "{bad}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// What `from_slice` answered when serde_json checked every body before the reader
        /// built its document.
        fn checked_first(bytes: &[u8]) -> Result<Document, String> {
            serde_json::from_slice::<IgnoredAny>(bytes).map_err(|e| e.to_string())?;
            let text = std::str::from_utf8(bytes)
                .map_err(|e| format!("invalid UTF-8 at byte {} of the body", e.valid_up_to()))?;
            Reader::new(text).document().map_err(|e| e.to_string())
        }

        /// Bytes that are often JSON, nearly JSON, or JSON with one thing wrong.
        fn text() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                Just(b"{".to_vec()),
                Just(b"}".to_vec()),
                Just(b"[".to_vec()),
                Just(b"]".to_vec()),
                Just(b",".to_vec()),
                Just(b":".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"\"k\":".to_vec()),
                Just(b"\\".to_vec()),
                Just(b"\\u00e9".to_vec()),
                Just(b"\\ud800".to_vec()),
                Just(b"true".to_vec()),
                Just(b"null".to_vec()),
                Just(b" \n\t\r".to_vec()),
                Just(b"\x01".to_vec()),
                Just(b"\x7f".to_vec()),
                Just("\u{e9}".as_bytes().to_vec()),
                "[-+.eE0-9]{1,6}".prop_map(String::into_bytes),
                "[a-z]{0,3}".prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..3),
            ];
            proptest::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
        }

        fn json() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                ".{0,8}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(4, 32, 6, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..6)
                        .prop_map(serde_json::Value::from),
                    proptest::collection::btree_map(".{0,4}", inner, 0..6)
                        .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
                ]
            })
        }

        proptest! {
            /// Read in one pass, any text gives the document or the error it gave when
            /// serde_json checked it first.
            #[test]
            fn one_pass_answers_as_checking_first(bytes in text()) {
                let read = Document::from_slice(&bytes).map_err(|e| e.to_string());
                prop_assert_eq!(read, checked_first(&bytes));
            }

            #[test]
            fn json_reads_in_one_pass(value in json(), pretty in any::<bool>()) {
                let text = if pretty {
                    serde_json::to_string_pretty(&value).unwrap()
                } else {
                    value.to_string()
                };
                prop_assert!(Reader::new(&text).document().is_ok(), "{}", text);
                prop_assert_eq!(Document::parse(&text).unwrap(), Document::from(value));
            }
        }
    }
}
