//! Request bodies over the limit get their 413, and the client reads it.
//!
//! Refusing a large body as soon as it passes the limit and closing the
//! connection leaves the rest of it unread; the kernel then answers the
//! still-sending client with a reset, and most clients report a broken pipe
//! instead of the 413. So a body over the limit is read on and thrown away,
//! up to [`DRAIN_MAX`] bytes and [`DRAIN_TIME`], before the 413 goes out with
//! `Connection: close`. Nothing over the limit is ever held in memory: the
//! body is buffered only while it fits.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;

/// Most bytes of an oversized body read and discarded so the client sees the
/// 413; a body larger still is cut off (the client may then see a reset).
pub(super) const DRAIN_MAX: usize = 64 * 1024 * 1024;
/// Longest time spent discarding one oversized body.
pub(super) const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Middleware: hands the handler a body of at most `max` bytes, or answers
/// 413 after draining the rest.
pub(super) async fn limit(State(max): State<usize>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let declared_too_long = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > max as u64);
    match read_bounded(body, max, declared_too_long).await {
        Some(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        None => too_large(max),
    }
}

/// The whole body if it fits in `max` bytes; `None` (after draining what
/// follows, within bounds) if it does not.
async fn read_bounded(mut body: Body, max: usize, known_too_long: bool) -> Option<Bytes> {
    let mut kept: Vec<u8> = Vec::new();
    let mut seen: usize = 0;
    let mut over = known_too_long;
    let drain = async {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                // The client went away or sent garbage: nothing to answer.
                return false;
            };
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            seen = seen.saturating_add(data.len());
            if !over && seen <= max {
                kept.extend_from_slice(&data);
            } else {
                over = true;
                kept = Vec::new();
            }
            if seen > DRAIN_MAX {
                return false;
            }
        }
        true
    };
    let complete = tokio::time::timeout(DRAIN_TIME, drain)
        .await
        .unwrap_or(false);
    (complete && !over).then(|| Bytes::from(kept))
}

fn too_large(max: usize) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(header::CONNECTION, "close")],
        format!("the body is larger than {max} bytes\n"),
    )
        .into_response()
}
