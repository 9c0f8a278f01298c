//! The `http_request` action's I/O: one outgoing call, bounded in time and size, and its answer
//! as a value a template can read. Knows nothing of events or templates.
//!
//! A non-2xx answer is an answer, not an error: the event decides what a 404 means. Errors are
//! for calls that got no answer, and their messages name the host only, because query strings
//! and paths often carry tokens.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde_json::{json, Value};

/// How long a call may take when the event does not say.
pub const DEFAULT_TIMEOUT: Duration = crate::events::DEFAULT_HTTP_TIMEOUT;
/// The longest a call may take, connecting and reading the whole body; it holds a run slot.
pub const MAX_TIMEOUT: Duration = crate::events::MAX_HTTP_TIMEOUT;
/// The most of a response body that is kept; the rest is not read and the response is marked
/// truncated.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;
/// The methods an event may use.
pub const METHODS: [&str; 6] = crate::events::HTTP_METHODS;

/// Where the calls go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Destination {
    /// To the URL the event names.
    #[default]
    Network,
    /// To a local HTTP echo at this URL (the sandbox's stand-in, unless `[sandbox] real_http`
    /// says otherwise), the URL the event names in `discord_stand_in::ECHO_URL_HEADER`: the call
    /// is checked as it would be, recorded and answered there, and never leaves the machine.
    Echo(String),
}

/// One call to make.
#[derive(Debug, Clone)]
pub struct HttpCall {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<HttpBody>,
    /// At most [`MAX_TIMEOUT`]; [`DEFAULT_TIMEOUT`] when the event does not say.
    pub timeout: Duration,
}

/// What a call sends, if anything.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpBody {
    /// Sent as JSON, with `content-type: application/json` unless a header says otherwise.
    Json(Value),
    /// Sent as is, with `content-type: text/plain; charset=utf-8` unless a header says otherwise.
    Text(String),
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    /// Lower-case names; a header sent more than once has its values joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The body as text, invalid UTF-8 replaced.
    pub body: String,
    /// The body parsed, when it is JSON.
    pub json: Option<Value>,
    /// True when the body was longer than [`MAX_RESPONSE_BYTES`] and only the start was kept.
    pub truncated: bool,
}

impl HttpResponse {
    /// True for a 2xx status.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The action's output: `{"status":200,"ok":true,"body":"…","json":{…},"headers":{…},
    /// "truncated":false}`, read by later actions as `{name.status}`, `{name.json.field}`.
    pub fn to_output(&self) -> Value {
        json!({
            "status": self.status,
            "ok": self.ok(),
            "body": self.body,
            "json": self.json,
            "headers": self.headers,
            "truncated": self.truncated,
        })
    }
}

/// Why a call got no answer. `host` is the URL's host (and port, when given), never its path or
/// query.
#[derive(Debug, thiserror::Error)]
pub enum HttpRequestError {
    #[error("the URL is not valid: {0}")]
    BadUrl(String),
    #[error("the URL must start with http:// or https://, not {scheme}://")]
    UnsupportedScheme { scheme: String },
    #[error("\"{0}\" is not an HTTP method; use one of GET, POST, PUT, PATCH, DELETE or HEAD")]
    BadMethod(String),
    #[error("the header name \"{0}\" is not valid")]
    BadHeaderName(String),
    // The value is not shown: headers are where secrets go.
    #[error("the value of header \"{0}\" is not valid (line breaks and control characters are not allowed)")]
    BadHeaderValue(String),
    #[error(
        "a timeout of {timeout:?} is not allowed; give more than 0 and at most {MAX_TIMEOUT:?}"
    )]
    BadTimeout { timeout: Duration },
    #[error("{host} did not answer within {timeout:?}")]
    Timeout { host: String, timeout: Duration },
    #[error("cannot connect to {host}: {reason}")]
    Connect { host: String, reason: String },
    #[error("{host} redirected more than {MAX_REDIRECTS} times")]
    TooManyRedirects { host: String },
    #[error("the request to {host} failed: {reason}")]
    Failed { host: String, reason: String },
}

/// Reads a method as an event file writes it, in any case.
pub fn parse_method(text: &str) -> Result<Method, HttpRequestError> {
    let upper = text.trim().to_ascii_uppercase();
    if !METHODS.contains(&upper.as_str()) {
        return Err(HttpRequestError::BadMethod(text.to_owned()));
    }
    Method::from_bytes(upper.as_bytes()).map_err(|_| HttpRequestError::BadMethod(text.to_owned()))
}

/// The client every `http_request` shares, so connections and TLS sessions are reused. Made on
/// first use: its TLS roots cost memory an event that never calls out should not pay.
pub fn shared_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(client);
    &CLIENT
}

/// A new client, as [`shared_client`] makes it.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(concat!("hookbot/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .build()
        // Fails only when the TLS backend cannot start, which is a property of the build, not of
        // any input; reqwest's own Client::new panics the same way.
        .expect("the HTTP client's TLS backend starts")
}

/// Makes the call (to `destination`) and reads at most [`MAX_RESPONSE_BYTES`] of the answer,
/// all within `call.timeout`.
pub async fn perform(
    client: &reqwest::Client,
    call: HttpCall,
    destination: &Destination,
) -> Result<HttpResponse, HttpRequestError> {
    // Checked when the event is loaded; checked again because an unbounded call would hold a
    // run slot forever.
    if call.timeout.is_zero() || call.timeout > MAX_TIMEOUT {
        return Err(HttpRequestError::BadTimeout {
            timeout: call.timeout,
        });
    }
    let url = Url::parse(call.url.trim()).map_err(|e| HttpRequestError::BadUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HttpRequestError::UnsupportedScheme {
            scheme: url.scheme().to_owned(),
        });
    }
    if url.host_str().is_none() {
        return Err(HttpRequestError::BadUrl("it has no host".into()));
    }
    // The URL is checked above either way, so the sandbox refuses what the network would.
    let (url, echoed) = match destination {
        Destination::Network => (url, None),
        Destination::Echo(echo) => (
            Url::parse(echo).map_err(|e| HttpRequestError::BadUrl(e.to_string()))?,
            Some(url),
        ),
    };
    // Errors name the host actually called: the echo's, in the sandbox.
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => return Err(HttpRequestError::BadUrl("it has no host".into())),
    };

    let mut request = client.request(call.method, url).timeout(call.timeout);
    let mut has_content_type = false;
    for (name, value) in &call.headers {
        let header = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| HttpRequestError::BadHeaderName(name.clone()))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| HttpRequestError::BadHeaderValue(name.clone()))?;
        has_content_type |= header == CONTENT_TYPE;
        request = request.header(header, value);
    }
    if let Some(meant) = echoed {
        request = request.header(discord_stand_in::ECHO_URL_HEADER, meant.as_str());
    }
    request = match call.body {
        // json() keeps a content-type header given above.
        Some(HttpBody::Json(value)) => request.json(&value),
        Some(HttpBody::Text(text)) if has_content_type => request.body(text),
        Some(HttpBody::Text(text)) => request
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(text),
        None => request,
    };

    // reqwest's timeout covers the body too; this one also covers our own reading, so nothing
    // here can outlast the call's timeout.
    let timeout = call.timeout;
    match tokio::time::timeout(timeout, send_and_read(request)).await {
        Ok(result) => result.map_err(|error| describe(error, host, timeout)),
        Err(_) => Err(HttpRequestError::Timeout { host, timeout }),
    }
}

async fn send_and_read(request: reqwest::RequestBuilder) -> Result<HttpResponse, reqwest::Error> {
    let mut response = request.send().await?;
    let status = response.status().as_u16();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in response.headers() {
        let value = String::from_utf8_lossy(value.as_bytes());
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }

    // Read chunk by chunk, so a huge or endless body costs at most the cap in memory.
    let mut bytes: Vec<u8> = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_RESPONSE_BYTES - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    if truncated {
        drop_partial_character(&mut bytes);
    }
    let body = String::from_utf8_lossy(&bytes).into_owned();
    let json = if truncated {
        None
    } else {
        serde_json::from_str(&body).ok()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
        json,
        truncated,
    })
}

/// The cap may fall inside a multi-byte character; drop its start rather than show a �.
fn drop_partial_character(bytes: &mut Vec<u8>) {
    if let Err(error) = std::str::from_utf8(bytes) {
        // error_len() is None only for a sequence cut off by the end of the input.
        if error.error_len().is_none() {
            bytes.truncate(error.valid_up_to());
        }
    }
}

fn describe(error: reqwest::Error, host: String, timeout: Duration) -> HttpRequestError {
    if error.is_timeout() {
        return HttpRequestError::Timeout { host, timeout };
    }
    if error.is_redirect() {
        return HttpRequestError::TooManyRedirects { host };
    }
    let connect = error.is_connect();
    // reqwest's messages name the whole URL; the innermost cause is the useful part anyway.
    let reason = root_cause(&error.without_url());
    if connect {
        HttpRequestError::Connect { host, reason }
    } else {
        HttpRequestError::Failed { host, reason }
    }
}

/// The innermost error's words: reqwest and hyper repeat themselves at every layer.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get_call(url: String) -> HttpCall {
        HttpCall {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    #[test]
    fn a_character_cut_by_the_cap_is_dropped() {
        let mut bytes = "aé".as_bytes()[..2].to_vec();
        drop_partial_character(&mut bytes);
        assert_eq!(bytes, b"a");
        let mut invalid = vec![b'a', 0xff, b'b'];
        drop_partial_character(&mut invalid);
        assert_eq!(invalid, vec![b'a', 0xff, b'b']);
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_host_only() {
        // A port that was just free: nothing listens there now.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let error = perform(
            &client(),
            get_call(format!("http://{addr}/x?key=secret")),
            &Destination::Network,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, HttpRequestError::Connect { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("cannot connect to {addr}: ")),
            "{message}"
        );
        assert!(!message.contains("secret"), "{message}");
    }

    #[tokio::test]
    async fn calls_are_checked_before_they_are_made() {
        let http = client();
        let error = perform(
            &http,
            get_call("ftp://example.com/x".into()),
            &Destination::Network,
        )
        .await
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the URL must start with http:// or https://, not ftp://"
        );
        let error = perform(&http, get_call("not a url".into()), &Destination::Network)
            .await
            .unwrap_err();
        assert!(matches!(error, HttpRequestError::BadUrl(_)), "{error:?}");

        let mut call = get_call("http://127.0.0.1:9/".into());
        call.timeout = MAX_TIMEOUT + Duration::from_millis(1);
        assert!(matches!(
            perform(&http, call.clone(), &Destination::Network).await,
            Err(HttpRequestError::BadTimeout { .. })
        ));
        call.timeout = Duration::ZERO;
        assert!(matches!(
            perform(&http, call.clone(), &Destination::Network).await,
            Err(HttpRequestError::BadTimeout { .. })
        ));

        call.timeout = DEFAULT_TIMEOUT;
        call.headers = vec![("Authorization".into(), "Bearer x\nInjected: 1".into())];
        let error = perform(&http, call.clone(), &Destination::Network)
            .await
            .unwrap_err();
        assert!(matches!(error, HttpRequestError::BadHeaderValue(_)));
        assert!(!error.to_string().contains("Bearer"), "{error}");
        call.headers = vec![("bad name".into(), "v".into())];
        assert!(matches!(
            perform(&http, call, &Destination::Network).await,
            Err(HttpRequestError::BadHeaderName(_))
        ));
    }

    #[test]
    fn methods() {
        assert_eq!(parse_method("get").unwrap(), Method::GET);
        assert_eq!(parse_method(" Patch ").unwrap(), Method::PATCH);
        assert!(matches!(
            parse_method("FETCH"),
            Err(HttpRequestError::BadMethod(_))
        ));
    }
}
