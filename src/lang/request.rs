//! `{body…}`, `{header.…}` and `{query.…}`: what the webhook request that started a run
//! carried, read by the run's templates.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::botghost;
use super::document::Document;
use super::templates::Lookup;

/// `{body}`, `{body.a.0.b}`, `{header.NAME}` and `{query.NAME}`: what the webhook request that
/// started a run carried, as the run stores it. `{body}` is the whole document (compact JSON,
/// numbers with the digits the caller sent); header names
/// are compared in lower case. In a BotGhost-shaped body (`{"variables":[…]}`),
/// `{body.NAME}` is also the value of the variable `{NAME}` when the document has no such path.
/// Anything else, or a path that leads nowhere, is `None`: the placeholder stays as written.
#[derive(Debug, Clone, Copy)]
pub struct RequestVariables<'a> {
    pub payload: Option<&'a Document>,
    pub headers: &'a BTreeMap<String, String>,
    pub query: &'a BTreeMap<String, String>,
}

impl<'a> RequestVariables<'a> {
    pub fn new(
        payload: Option<&'a Document>,
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
            return Some(self.payload?.text());
        }
        if let Some(path) = name.strip_prefix("body.") {
            let payload = self.payload?;
            return payload
                .at_path(path)
                .map(Document::text)
                .or_else(|| botghost::value_of(payload, path));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::templates::Template;

    #[test]
    fn request_variables_read_body_headers_and_query() {
        let doc = Document::from(
            serde_json::json!({"ref": "refs/heads/main", "commits": [{"id": "a1"}],
            "variables": [{"name": "S", "variable": "{service}", "value": "api"},
                          {"name": "N", "variable": "{n}", "value": 3}]}),
        );
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
        // Numbers render with the digits the caller sent, alone and inside `{body}`.
        let doc = Document::parse(
            r#"{"id":12345678901234567890123,"price":2.50,"variables":[{"name":"B","variable":"{big}","value":98765432109876543210}]}"#,
        )
        .unwrap();
        let request = RequestVariables::new(Some(&doc), &headers, &query);
        assert_eq!(
            Template::new("{body.id} {body.price} {body.big} {body}").render(&request),
            r#"12345678901234567890123 2.50 98765432109876543210 {"id":12345678901234567890123,"price":2.50,"variables":[{"name":"B","value":98765432109876543210,"variable":"{big}"}]}"#
        );
        let empty = BTreeMap::new();
        let none = RequestVariables::new(None, &empty, &empty);
        assert_eq!(
            Template::new("{body} {body.a}").render(&none),
            "{body} {body.a}"
        );
    }
}
