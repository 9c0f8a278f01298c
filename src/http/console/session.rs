//! The console's sessions and the checks on every request that are plain logic: the console
//! key's sessions (a random 256-bit id in the `hookbot_console` cookie, `HttpOnly`,
//! `SameSite=Strict`, `Path=/`, and `Secure` when `http.public_url` is https; ending after
//! [`SESSION_LIFETIME`], at sign-out, or when a new console key is made; at most
//! [`MAX_SESSIONS`], the oldest making room), the CSRF token and `Origin` comparison, the
//! loopback-only rule of the open sandbox console, and the failed-sign-in throttle.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};
use maud::{html, Markup};
use subtle::ConstantTimeEq;

use crate::http::webhook::AuthFailureGuard;
use crate::keys;

/// The session cookie's name.
pub const COOKIE: &str = "hookbot_console";
/// How long a sign-in lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// Sessions alive at once; a new sign-in past it ends the oldest.
pub const MAX_SESSIONS: usize = 64;
/// The form field every POST carries.
pub const CSRF_FIELD: &str = "csrf";

/// The signed-in visitor of a request, put in its extensions by [`guard`]:
/// `Extension(session): Extension<Session>` in a handler.
#[derive(Clone, Debug)]
pub struct Session {
    pub(super) csrf: String,
}

impl Session {
    /// The token a form must send back in its [`CSRF_FIELD`] field.
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }
}

/// The hidden field every console form carries: `form method="post" { (csrf_field(&session)) … }`.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf_token()); }
}

/// The console's sessions and the failed-sign-in throttle.
pub struct Auth {
    /// `--sandbox`: no key; every visitor shares the process's token.
    pub(super) open: bool,
    secure_cookie: bool,
    pub(super) open_csrf: String,
    /// By the SHA-256 of the session id, so a lookup's timing says nothing about stored ids.
    sessions: Mutex<HashMap<[u8; 32], Live>>,
    pub(super) failures: AuthFailureGuard,
}

struct Live {
    csrf: String,
    /// The console key's hash at sign-in: a new key ends the session.
    key_hash: [u8; 32],
    started: Instant,
}

impl Auth {
    /// `open` with `--sandbox`; `secure_cookie` when the console is reached over https.
    pub fn new(open: bool, secure_cookie: bool) -> Auth {
        Auth {
            open,
            secure_cookie,
            open_csrf: random_hex(),
            sessions: Mutex::new(HashMap::new()),
            failures: AuthFailureGuard::default(),
        }
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// A new session for a visitor who presented the key whose hash is `key_hash`: its cookie id.
    pub(super) fn sign_in(&self, key_hash: [u8; 32]) -> String {
        let id = random_hex();
        let mut sessions = self
            .sessions
            .lock()
            .expect("console sessions lock poisoned");
        let now = Instant::now();
        sessions.retain(|_, live| now.duration_since(live.started) < SESSION_LIFETIME);
        while sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, live)| live.started)
                .map(|(key, _)| *key);
            match oldest {
                Some(key) => sessions.remove(&key),
                None => break,
            };
        }
        sessions.insert(
            keys::hash_key(&id),
            Live {
                csrf: random_hex(),
                key_hash,
                started: now,
            },
        );
        id
    }

    /// The session a cookie id names, if it is alive and signed in with the current key.
    pub(super) fn session(&self, id: &str, current_key: Option<[u8; 32]>) -> Option<Session> {
        let mut sessions = self
            .sessions
            .lock()
            .expect("console sessions lock poisoned");
        let slot = keys::hash_key(id);
        let live = sessions.get(&slot)?;
        let current = current_key.is_some_and(|hash| bool::from(hash.ct_eq(&live.key_hash)));
        if !current || live.started.elapsed() >= SESSION_LIFETIME {
            sessions.remove(&slot);
            return None;
        }
        Some(Session {
            csrf: live.csrf.clone(),
        })
    }

    pub(super) fn sign_out(&self, id: &str) {
        self.sessions
            .lock()
            .expect("console sessions lock poisoned")
            .remove(&keys::hash_key(id));
    }

    /// `Set-Cookie` for a session id (or, with `None`, one that removes the cookie).
    pub(super) fn cookie(&self, id: Option<&str>) -> String {
        let (value, age) = match id {
            Some(id) => (id, SESSION_LIFETIME.as_secs()),
            None => ("", 0),
        };
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={age}{secure}")
    }
}

fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The session id in the request's `hookbot_console` cookie.
pub(super) fn cookie_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// Paths a visitor reaches before signing in.
pub(super) fn is_public(path: &str) -> bool {
    path == "/login" || path.starts_with("/assets/")
}

/// Whether a sent token is the expected one, in constant time.
pub fn csrf_matches(sent: Option<&str>, expected: &str) -> bool {
    match sent {
        Some(sent) => sent.as_bytes().ct_eq(expected.as_bytes()).into(),
        None => false,
    }
}

/// A state-changing request names the console itself in `Origin` (or, without it, `Referer`)
/// when it names anything: the host and port the request was sent to (`Host`).
pub fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let Some(host) = text(header::HOST) else {
        return Err("the request has no Host header".to_owned());
    };
    let (name, source) = match (text(header::ORIGIN), text(header::REFERER)) {
        (Some(origin), _) => ("Origin", origin),
        (None, Some(referer)) => ("Referer", referer),
        (None, None) => return Ok(()),
    };
    match authority(source) {
        Some(from) if from.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(format!(
            "the request came from another site ({name}: {source}), not from this console's pages"
        )),
    }
}

/// `host:port` of an http(s) URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Whether the request was addressed to this machine by a loopback name or address.
pub(super) fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Where to go after signing in: a path on this console, never another site.
pub(super) fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path
        }
        _ => "/events",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_cross_site_origin_is_refused() {
        let host = (header::HOST, "127.0.0.1:8081");
        assert!(
            same_origin(&headers(std::slice::from_ref(&host))).is_ok(),
            "no Origin: the token decides"
        );
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://127.0.0.1:8081")
        ]))
        .is_ok());
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "https://evil.example")
        ]))
        .is_err());
        assert!(same_origin(&headers(&[host.clone(), (header::ORIGIN, "null")])).is_err());
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://127.0.0.1:9999")
        ]))
        .is_err());
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::REFERER, "http://127.0.0.1:8081/events/x?y=1")
        ]))
        .is_ok());
        assert!(same_origin(&headers(&[
            host,
            (header::REFERER, "http://127.0.0.1:8081.evil.example/")
        ]))
        .is_err());
        assert!(
            same_origin(&headers(&[(header::ORIGIN, "http://a")])).is_err(),
            "no Host"
        );
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        assert!(csrf_matches(Some("abc"), "abc"));
        assert!(!csrf_matches(Some("abd"), "abc"));
        assert!(!csrf_matches(Some(""), "abc"));
        assert!(!csrf_matches(None, "abc"));
    }

    #[test]
    fn only_loopback_hosts_reach_the_open_console() {
        for host in [
            "127.0.0.1:8081",
            "localhost:8081",
            "[::1]:8081",
            "127.0.0.2",
            "LOCALHOST",
        ] {
            assert!(loopback_host(&headers(&[(header::HOST, host)])), "{host}");
        }
        for host in [
            "evil.example:8081",
            "10.0.0.1:8081",
            "[::2]:1",
            "localhost.evil.example",
        ] {
            assert!(!loopback_host(&headers(&[(header::HOST, host)])), "{host}");
        }
        assert!(!loopback_host(&HeaderMap::new()));
    }

    #[test]
    fn sessions_end_with_a_new_key_and_at_sign_out() {
        let auth = Auth::new(false, false);
        let id = auth.sign_in([1; 32]);
        let session = auth.session(&id, Some([1; 32])).expect("alive");
        assert_eq!(session.csrf_token().len(), 64);
        assert!(auth.session("not-an-id", Some([1; 32])).is_none());
        assert!(
            auth.session(&id, Some([2; 32])).is_none(),
            "a new key ends it"
        );
        assert!(
            auth.session(&id, Some([1; 32])).is_none(),
            "and it stays ended"
        );
        let id = auth.sign_in([1; 32]);
        auth.sign_out(&id);
        assert!(auth.session(&id, Some([1; 32])).is_none());
    }

    #[test]
    fn sessions_are_bounded() {
        let auth = Auth::new(false, false);
        let first = auth.sign_in([1; 32]);
        let ids: Vec<String> = (0..MAX_SESSIONS).map(|_| auth.sign_in([1; 32])).collect();
        assert!(
            auth.session(&first, Some([1; 32])).is_none(),
            "the oldest made room"
        );
        assert!(ids
            .iter()
            .all(|id| auth.session(id, Some([1; 32])).is_some()));
        assert_eq!(auth.sessions.lock().unwrap().len(), MAX_SESSIONS);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_https() {
        let plain = Auth::new(false, false).cookie(Some("abc"));
        assert_eq!(
            plain,
            "hookbot_console=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"
        );
        assert!(Auth::new(false, true)
            .cookie(Some("abc"))
            .ends_with("; Secure"));
        assert!(Auth::new(false, false).cookie(None).contains("Max-Age=0"));
        let sent = headers(&[(header::COOKIE, "a=b; hookbot_console=xyz; c=d")]);
        assert_eq!(cookie_id(&sent), Some("xyz"));
    }

    #[test]
    fn sign_in_only_returns_to_this_console() {
        assert_eq!(
            local_path(Some("/runs?status=failed")),
            "/runs?status=failed"
        );
        assert_eq!(local_path(Some("//evil.example/")), "/events");
        assert_eq!(local_path(Some("https://evil.example/")), "/events");
        assert_eq!(local_path(Some("/\\evil.example")), "/events");
        assert_eq!(local_path(None), "/events");
    }
}
