//! Who may use the console, and proof that a POST came from the console's own pages.
//!
//! Outside the sandbox a visitor signs in with the console key (`hookbot console key`; only its
//! SHA-256 hash is kept, in the engine's settings, and compared in constant time) and gets a
//! session ([`super::session`]); failed sign-ins are throttled per address like the webhook's
//! failed keys. With `--sandbox` the console is open, and answers only requests addressed to a
//! loopback host (so a page elsewhere cannot reach it by DNS rebinding).
//!
//! Every request that is not GET or HEAD must name the console's own origin in `Origin` (or
//! `Referer`) when it sends one, and must carry a form field `csrf` equal to the session's token
//! (the process's token in the sandbox), compared in constant time; otherwise 403. GET never
//! changes anything.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

use super::error::ConsoleError;
use super::layout::{page, Frame, Nav, FRAME};
use super::session::{
    cookie_id, csrf_matches, is_public, local_path, loopback_host, same_origin, CSRF_FIELD,
};
pub use super::session::{csrf_field, Session};
use super::state::{ConsoleState, MAX_FORM_BYTES};
use crate::http::webhook::forwarded_client;
use crate::keys;

/// In front of every console route: finds the visitor's session (or sends them to sign in),
/// checks a state-changing request's origin and CSRF token, and sets the page frame and the
/// headers that keep the console out of other sites' frames.
pub async fn guard(State(state): State<ConsoleState>, request: Request, next: Next) -> Response {
    let frame = Frame {
        sandbox: state.is_sandbox(),
        signed_in: false,
    };
    let mut response = match admit(&state, request).await {
        Ok((request, frame)) => FRAME.scope(frame, next.run(request)).await,
        Err(refused) => FRAME.scope(frame, async { refused }).await,
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The request as the route should see it (its body re-made after the CSRF check read it), or
/// the answer that refuses it.
async fn admit(state: &ConsoleState, request: Request) -> Result<(Request, Frame), Response> {
    let auth = &state.auth;
    if auth.open && !loopback_host(request.headers()) {
        return Err(ConsoleError::Forbidden(
            "the sandbox's console answers only on this machine (http://127.0.0.1:…)".to_owned(),
        )
        .into_response());
    }
    let path = request.uri().path().to_owned();
    let session = if auth.open {
        Some(Session {
            csrf: auth.open_csrf.clone(),
        })
    } else {
        match cookie_id(request.headers()) {
            Some(id) => {
                let current = state
                    .store
                    .console_key_hash()
                    .await
                    .map_err(|e| ConsoleError::from(e).into_response())?;
                auth.session(id, current)
            }
            None => None,
        }
    };
    let frame = Frame {
        sandbox: state.is_sandbox(),
        signed_in: session.is_some(),
    };
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    if !safe {
        same_origin(request.headers())
            .map_err(|why| ConsoleError::Forbidden(why).into_response())?;
    }
    let mut request = match (&session, safe) {
        (None, _) if is_public(&path) => request,
        (None, true) => {
            let wanted = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            let to = format!(
                "/login?next={}",
                form_urlencoded::byte_serialize(wanted.as_bytes()).collect::<String>()
            );
            return Err(Redirect::to(&to).into_response());
        }
        (None, false) => {
            return Err(ConsoleError::Forbidden(
                "sign in first: this form needs a console session".to_owned(),
            )
            .into_response())
        }
        (Some(_), true) => request,
        (Some(session), false) => checked_form(request, session)
            .await
            .map_err(IntoResponse::into_response)?,
    };
    if let Some(session) = session {
        request.extensions_mut().insert(session);
    }
    Ok((request, frame))
}

/// Reads the form (at most [`MAX_FORM_BYTES`]), checks its CSRF token and hands the request on
/// with the same body.
async fn checked_form(request: Request, session: &Session) -> Result<Request, ConsoleError> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            ConsoleError::BadRequest(format!(
                "the form is larger than {MAX_FORM_BYTES} bytes, or broken"
            ))
        })?;
    let sent = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value.into_owned());
    if !csrf_matches(sent.as_deref(), session.csrf_token()) {
        return Err(ConsoleError::Forbidden(
            "this form's security token is missing or stale (the console refuses forms sent from elsewhere); reload the page and try again".to_owned(),
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", get(logout_form).post(logout))
}

#[derive(Deserialize, Default)]
struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

fn login_page(next: &str, problem: Option<&str>) -> Markup {
    page(
        "Sign in",
        Nav::None,
        html! {
            h1 { "Sign in" }
            @if let Some(problem) = problem {
                p.error role="alert" { (problem) }
            }
            form.stack method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                label for="key" { "Console key" }
                input #key type="password" name="key" required autocomplete="current-password" autofocus;
                button type="submit" { "Sign in" }
            }
            p.hint { "Made with " code { "hookbot console key" } " on the machine that runs hookbot." }
        },
    )
}

/// The sign-in form; a visitor already signed in (or in the open sandbox) goes on at once.
async fn login_form(
    State(state): State<ConsoleState>,
    Query(query): Query<NextQuery>,
    session: Option<Extension<Session>>,
) -> Response {
    let next = local_path(query.next.as_deref());
    if state.auth.open || session.is_some() {
        return Redirect::to(next).into_response();
    }
    login_page(next, None).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    key: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(
    State(state): State<ConsoleState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let auth = &state.auth;
    if auth.open {
        return Ok(Redirect::to("/events").into_response());
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let client = forwarded_client(peer.ip(), &forwarded, &state.trusted_proxies);
    if let Some(wait) = auth.failures.blocked_for(client) {
        return Err(ConsoleError::TooManyFailures(wait));
    }
    let next = local_path(form.next.as_deref()).to_owned();
    let stored = state.store.console_key_hash().await?;
    let problem = match stored {
        Some(hash) if keys::key_matches(form.key.trim(), &hash) => {
            let id = auth.sign_in(hash);
            tracing::info!(%client, "console: signed in");
            let mut response = Redirect::to(&next).into_response();
            if let Ok(cookie) = HeaderValue::from_str(&auth.cookie(Some(&id))) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            return Ok(response);
        }
        Some(_) => "That is not the console key.",
        None => "This hookbot has no console key yet: run `hookbot console key` and sign in with the key it prints.",
    };
    tracing::warn!(%client, "console: a sign-in with a wrong key");
    if let Some(wait) = auth.failures.record_failure(client) {
        return Err(ConsoleError::TooManyFailures(wait));
    }
    Ok((
        axum::http::StatusCode::UNAUTHORIZED,
        login_page(&next, Some(problem)),
    )
        .into_response())
}

/// GET never changes anything: signing out is a form on this page.
async fn logout_form(session: Option<Extension<Session>>) -> Response {
    let Some(Extension(session)) = session else {
        return Redirect::to("/login").into_response();
    };
    page(
        "Sign out",
        Nav::None,
        html! {
            h1 { "Sign out" }
            form method="post" action="/logout" {
                (csrf_field(&session))
                button type="submit" { "Sign out of the console" }
            }
        },
    )
    .into_response()
}

async fn logout(State(state): State<ConsoleState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie_id(&headers) {
        state.auth.sign_out(id);
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&state.auth.cookie(None)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
