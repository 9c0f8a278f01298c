//! Keeps a connection usable after an answer given before the body was read (401, 404, 413, …):
//! the rest of the body is drained within `http.max_body_bytes` and [`DRAIN_TIMEOUT`], or the
//! answer says `Connection: close`.
//!
//! Without this, hyper closes a connection whose request body was left unread without telling
//! the client, and the next request a keep-alive client sends on it meets a broken pipe.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::oneshot;

/// How long the rest of a refused request's body may take to arrive before the connection is
/// closed instead: the answer waits for it, so it stays short.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs the handler with a body that comes back here if the handler left it unfinished, then
/// drains it (within `limit`, `http.max_body_bytes`) or marks the answer `Connection: close`.
pub(super) async fn drain_or_close(limit: usize, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let (returned, unfinished) = oneshot::channel();
    let tracked = Tracked {
        inner: body,
        read: 0,
        finished: false,
        failed: false,
        returned: Some(returned),
    };
    // The two headers a drain looks at, read now: the handler takes the request.
    let announced = Announced::of(&parts.headers);
    let mut response = next
        .run(Request::from_parts(parts, Body::new(tracked)))
        .await;
    // The handler has returned, so its copy of the body is gone: sent back when unfinished
    // (`None` when it failed to arrive), not sent at all when it was read to its end.
    let usable = match unfinished.await {
        Err(_) => true,
        Ok(None) => false,
        Ok(Some((body, read))) => drained(announced, body, read, limit).await,
    };
    if !usable {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads and discards the rest of `body`; `false` when it is (or turns out) larger than `limit`
/// in all, does not arrive within [`DRAIN_TIMEOUT`], or was never asked for (`Expect:
/// 100-continue`: the client sends it only if told to, so closing is cheaper than inviting it).
async fn drained(announced: Announced, body: Body, read: usize, limit: usize) -> bool {
    if announced
        .declared
        .is_some_and(|length| length > limit as u64)
    {
        return false;
    }
    if announced.expects_continue && read == 0 {
        return false;
    }
    matches!(
        tokio::time::timeout(DRAIN_TIMEOUT, discard(body, read, limit)).await,
        Ok(true)
    )
}

/// What a request's head says about its body: all a drain needs of the headers, so they need
/// not be copied for it.
#[derive(Clone, Copy)]
struct Announced {
    /// `Content-Length`, when it is a number.
    declared: Option<u64>,
    /// `Expect: 100-continue`.
    expects_continue: bool,
}

impl Announced {
    fn of(headers: &HeaderMap) -> Announced {
        Announced {
            declared: headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok()),
            expects_continue: headers
                .get(header::EXPECT)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue")),
        }
    }
}

/// Reads `body` to its end, keeping none of it; `false` when the bytes read in all pass `limit`
/// or the body fails.
async fn discard(mut body: Body, mut read: usize, limit: usize) -> bool {
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return false;
        };
        if let Some(data) = frame.data_ref() {
            read = read.saturating_add(data.len());
            if read > limit {
                return false;
            }
        }
    }
    true
}

/// The request's body as the handler sees it; dropped unfinished, it goes back to
/// [`drain_or_close`] with the number of bytes already read.
struct Tracked {
    inner: Body,
    read: usize,
    finished: bool,
    returned: Option<oneshot::Sender<Option<(Body, usize)>>>,
    failed: bool,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.finished = true,
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.read = this.read.saturating_add(data.len());
                }
            }
            // A body that failed to arrive cannot be drained.
            Poll::Ready(Some(Err(_))) => this.failed = true,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let Some(returned) = self.returned.take() else {
            return;
        };
        if self.failed {
            let _ = returned.send(None);
            return;
        }
        if self.finished || self.inner.is_end_stream() {
            return;
        }
        let body = std::mem::replace(&mut self.inner, Body::empty());
        let _ = returned.send(Some((body, self.read)));
    }
}
