//! How to call an event's webhook: its URL, the headers it needs, an example body with the
//! variables its templates use, and a `curl` line. `hookbot event show` prints it and the
//! console's event page shows it: one implementation, two front ends. Never a secret: the API
//! key is a placeholder, and a signature is described, not computed.

use crate::events::{Event, EventAuth};
use crate::http::webhook;
use crate::lang::shell::shell_quote;

/// Everything a sender needs to call one event.
#[derive(Debug, Clone, PartialEq)]
pub struct CallGuide {
    /// `{base}/webhook/{bot_id}/{event_id}`, POSTed to.
    pub url: String,
    /// Each header as `Name: value`, the authenticating one first.
    pub headers: Vec<String>,
    /// `{"variables":[{"name","variable","value"}…]}`, as BotGhost sends it.
    pub body: serde_json::Value,
    /// A shell line that sends the example (after the `export` line, when there is one).
    pub curl: String,
    /// `export HOOKBOT_API_KEY='<your API key>'` when the curl line reads the key from it.
    pub export: Option<String>,
}

/// The guide for `event` served at `base` (the public base URL) by the bot `bot_id` (`None`:
/// shown as `{bot_id}`).
pub fn call_guide(event: &Event, base: &str, bot_id: Option<u64>) -> CallGuide {
    let url = webhook::url(base, bot_id, &event.id);
    let variables = crate::sandbox_world::example_variables(event);
    let body = example_body(&variables);
    let (auth_header, pasteable) = auth_header(&event.auth);
    let curl = format!(
        "curl -X POST {} -H {} -H 'Content-Type: application/json' -d {}",
        shell_quote(&url),
        if pasteable {
            format!("\"{auth_header}\"").replace("<API key>", "$HOOKBOT_API_KEY")
        } else {
            shell_quote(&auth_header)
        },
        shell_quote(&body.to_string())
    );
    CallGuide {
        url,
        headers: vec![auth_header, "Content-Type: application/json".to_owned()],
        body,
        curl,
        export: pasteable.then(|| "export HOOKBOT_API_KEY='<your API key>'".to_owned()),
    }
}

/// `{"variables":[{"name","variable","value"}…]}`, as BotGhost sends it.
fn example_body(variables: &[(String, String)]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = variables
        .iter()
        .map(|(name, value)| {
            serde_json::json!({"name": name, "variable": format!("{{{name}}}"), "value": value})
        })
        .collect();
    serde_json::json!({ "variables": items })
}

/// The header that authenticates a request to an event, and whether a `curl` line can carry it
/// (a key can be pasted; a signature must be computed over the body by the sender).
fn auth_header(auth: &EventAuth) -> (String, bool) {
    match auth {
        EventAuth::ApiKey => ("Authorization: <API key>".to_owned(), true),
        EventAuth::Key { .. } => ("Authorization: <this event's key>".to_owned(), false),
        EventAuth::Github { .. } => (
            "X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body, hex>".to_owned(),
            false,
        ),
        EventAuth::Stripe { .. } => (
            "Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of t.body, hex>".to_owned(),
            false,
        ),
        EventAuth::StandardWebhooks { .. } => (
            "webhook-signature: v1,<HMAC-SHA256 of id.timestamp.body, base64> (with webhook-id and webhook-timestamp)".to_owned(),
            false,
        ),
        EventAuth::Hmac {
            header, encoding, ..
        } => (
            format!(
                "{header}: <HMAC-SHA256 of the body, {}>",
                encoding.name()
            ),
            false,
        ),
    }
}

/// An event's definition as a page may show it: the `[auth]` scheme's key hash and secret
/// source are replaced by "set", so nothing that guards a webhook is displayed.
pub fn shown_definition(event: &Event) -> serde_json::Value {
    let mut value = serde_json::to_value(event).unwrap_or(serde_json::Value::Null);
    if let Some(auth) = value.get_mut("auth").and_then(|a| a.as_object_mut()) {
        for field in ["key_hash", "secret"] {
            if let Some(slot) = auth.get_mut(field) {
                *slot = serde_json::Value::String("set".to_owned());
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(auth: EventAuth) -> Event {
        let mut event = crate::events::parse_event(
            std::path::Path::new("deploy.toml"),
            "id = \"deploy\"\nname = \"Deploy\"\nserver = \"1\"\n[[actions]]\ntype = \"send_message\"\nchannel = \"1\"\ncontent = \"{service} is out\"\n",
        )
        .expect("a valid event");
        event.auth = auth;
        event
    }

    #[test]
    fn an_api_key_event_gets_a_pasteable_curl_line() {
        let guide = call_guide(&event(EventAuth::ApiKey), "http://127.0.0.1:8080", Some(42));
        assert_eq!(guide.url, "http://127.0.0.1:8080/webhook/42/deploy");
        assert_eq!(guide.headers[0], "Authorization: <API key>");
        assert!(
            guide.curl.contains("\"Authorization: $HOOKBOT_API_KEY\""),
            "{}",
            guide.curl
        );
        assert!(guide.export.is_some());
        assert_eq!(guide.body["variables"][0]["name"], "service");
    }

    #[test]
    fn a_keyed_event_shows_neither_its_key_nor_its_hash() {
        let hash = "ab".repeat(32);
        let keyed = event(EventAuth::Key {
            key_hash: hash.clone(),
            allow_bot_key: false,
        });
        let guide = call_guide(&keyed, "http://h", None);
        assert!(guide.url.contains("{bot_id}"));
        assert!(guide.export.is_none());
        assert!(!guide.curl.contains(&hash));
        let shown = shown_definition(&keyed).to_string();
        assert!(!shown.contains(&hash), "{shown}");
        assert!(shown.contains("\"key_hash\":\"set\""), "{shown}");
    }
}
