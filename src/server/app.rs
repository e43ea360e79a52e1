//! The HTTP endpoints (axum).
//!
//! | method, path | what |
//! |---|---|
//! | `GET /webhooks/whatsapp` | Meta's verification handshake |
//! | `POST /webhooks/whatsapp` | WhatsApp notifications, `X-Hub-Signature-256` verified |
//! | `POST /webhooks/twilio/inbound` | inbound SMS, `X-Twilio-Signature` verified |
//! | `POST /webhooks/twilio/status` | SMS status callbacks, `X-Twilio-Signature` verified |
//! | `POST /webhooks/email` | inbound email replies, bearer token verified |
//! | `GET /l/{token}` | click tracking: 302 to the personalized URL, 410 once expired |
//! | `PUT /api/contacts/{id}` | upsert a contact's record (fields, email, phone, tags), bearer token verified |
//! | `GET /healthz` | liveness |
//! | `GET /metrics` | Prometheus text format |
//!
//! A webhook is answered 200 only after what it carried is durable in the
//! inbox; the engine processes it afterwards. Bad signatures get 401 and
//! store nothing; bodies of the wrong shape get 400 with the reason.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Notify;

use super::inbound::{self, Inbound, Keyed};
use super::metrics::Metrics;
use super::sendgrid_parse;
use super::signature;
use crate::store::db::{Db, NewEvent, Route};
use crate::store::{Enqueued, LinkOpen};

/// What the handlers share.
pub(super) struct AppState {
    /// The database.
    pub db: Db,
    /// Wakes the processor when something was stored.
    pub wake: Arc<Notify>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Meta app secret (signature key).
    pub meta_app_secret: Vec<u8>,
    /// The verify token of the GET handshake.
    pub meta_verify_token: String,
    /// Twilio auth token, if SMS webhooks are configured.
    pub twilio_auth_token: Option<Vec<u8>>,
    /// Bearer token for the inbound email webhook, if configured.
    pub email_token: Option<String>,
    /// Bearer token for the admin API (contacts), if configured.
    pub admin_token: Option<String>,
    /// The public base URL (Twilio signs the full URL it called).
    pub public_url: String,
    /// The service clock.
    pub clock: super::clock::ServiceClock,
}

/// The router; `max_body` bounds every request body.
pub(super) fn router(state: Arc<AppState>, max_body: usize) -> Router {
    Router::new()
        .route("/webhooks/whatsapp", get(verify).post(whatsapp))
        .route(
            "/webhooks/twilio/inbound",
            axum::routing::post(twilio_inbound),
        )
        .route(
            "/webhooks/twilio/status",
            axum::routing::post(twilio_status),
        )
        .route("/webhooks/email", axum::routing::post(email))
        .route("/l/{token}", get(link))
        .route("/api/contacts/{id}", axum::routing::put(put_contact))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            max_body,
            super::body_limit::limit,
        ))
        .with_state(state)
}

/// Refuses a request: counts it, reports it (an error when the fault is
/// ours, a warning when it is the caller's) and answers `status` with the
/// reason.
fn reject(state: &AppState, status: StatusCode, reason: impl Into<String>) -> Response {
    Metrics::inc(&state.metrics.webhooks_rejected);
    let reason = reason.into();
    let code = status.as_u16();
    if status.is_server_error() {
        tracing::error!(status = code, %reason, "webhook refused");
    } else {
        tracing::warn!(status = code, %reason, "webhook refused");
    }
    (status, format!("{reason}\n")).into_response()
}

/// Stores the items; 200 once durable.
async fn accept(state: &AppState, source: &str, items: Vec<Keyed>) -> Response {
    let mut rows = Vec::with_capacity(items.len());
    for k in items {
        let route = match &k.item {
            Inbound::Reply { contact, .. } => Route::Contact(contact.clone()),
            Inbound::Contact { contact } => Route::Contact(contact.id.clone()),
            Inbound::Status { message_id, .. } => Route::Message(message_id.clone()),
            // Clicks are stored by `link`, with the link's contact.
            Inbound::LinkOpened { token } => Route::Message(token.clone()),
        };
        match serde_json::to_string(&k.item) {
            Ok(payload) => rows.push(NewEvent {
                key: k.key,
                source: source.to_owned(),
                payload,
                route,
            }),
            Err(e) => {
                return reject(
                    state,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot encode event: {e}"),
                );
            }
        }
    }
    let stored = state.db.enqueue_all(rows, state.clock.now()).await;
    match stored {
        Ok(enqueued) => {
            let duplicates = enqueued
                .iter()
                .filter(|e| **e == Enqueued::Duplicate)
                .count();
            Metrics::inc(&state.metrics.webhooks_accepted);
            state
                .metrics
                .duplicates
                .fetch_add(duplicates as u64, Ordering::Relaxed);
            state.wake.notify_one();
            (StatusCode::OK, "ok\n").into_response()
        }
        // Not stored: a 5xx makes the provider retry later.
        Err(e) => reject(
            state,
            StatusCode::SERVICE_UNAVAILABLE,
            format!("could not store the event: {e}"),
        ),
    }
}

async fn verify(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mode = q.get("hub.mode").map(String::as_str);
    let token = q.get("hub.verify_token").map(String::as_str);
    match (mode, token, q.get("hub.challenge")) {
        (Some("subscribe"), Some(t), Some(challenge))
            if constant_eq(t.as_bytes(), state.meta_verify_token.as_bytes()) =>
        {
            (StatusCode::OK, challenge.clone()).into_response()
        }
        _ => reject(
            &state,
            StatusCode::FORBIDDEN,
            "verification failed: wrong mode or verify token",
        ),
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn whatsapp(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signature::verify_meta(&state.meta_app_secret, &body, sig) {
        return reject(
            &state,
            StatusCode::UNAUTHORIZED,
            "missing or wrong X-Hub-Signature-256",
        );
    }
    match inbound::whatsapp(&body) {
        Ok(items) => accept(&state, "whatsapp", items).await,
        Err(e) => reject(&state, StatusCode::BAD_REQUEST, e.0),
    }
}

/// Parses a form body and checks Twilio's signature over the full URL:
/// `public_url`, the path and the query string, as Twilio requested it (a
/// status callback carries the `kflow` parameter of its send).
fn twilio_form(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Box<Response>> {
    let Some(token) = &state.twilio_auth_token else {
        return Err(Box::new(reject(
            state,
            StatusCode::NOT_FOUND,
            "SMS webhooks are not configured",
        )));
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let path = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let url = format!("{}{path}", state.public_url);
    let sig = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok());
    if !signature::verify_twilio(token, &url, &params, sig) {
        return Err(Box::new(reject(
            state,
            StatusCode::UNAUTHORIZED,
            "missing or wrong X-Twilio-Signature",
        )));
    }
    Ok(params)
}

async fn twilio_inbound(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match twilio_form(&state, &uri, &headers, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match inbound::twilio_inbound(&params) {
        Ok(item) => accept(&state, "twilio", vec![item]).await,
        Err(e) => reject(&state, StatusCode::BAD_REQUEST, e.0),
    }
}

async fn twilio_status(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match twilio_form(&state, &uri, &headers, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match inbound::twilio_status(&params) {
        Ok(Some(item)) => accept(&state, "twilio", vec![item]).await,
        Ok(None) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => reject(&state, StatusCode::BAD_REQUEST, e.0),
    }
}

/// Inbound email: kflow's JSON form, or SendGrid Inbound Parse's
/// multipart/form-data as SendGrid posts it. SendGrid cannot add a header,
/// so besides the bearer token the token is accepted as the password of
/// HTTP basic auth, which SendGrid sends when the URL carries it
/// (`https://kflow:TOKEN@host/webhooks/email`).
async fn email(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = require_token(
        &state,
        &headers,
        state.email_token.as_deref(),
        "the email webhook",
        Basic::Accepted,
    ) {
        return *refused;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let parsed = if content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        sendgrid_parse::parse(&body, content_type).await
    } else {
        inbound::email(&body)
    };
    match parsed {
        Ok(item) => accept(&state, "email", vec![item]).await,
        Err(e) => reject(&state, StatusCode::BAD_REQUEST, e.0),
    }
}

/// HTTP basic auth whose password is `expected` (any user name).
fn basic_ok(headers: &HeaderMap, expected: &str) -> bool {
    use base64::Engine as _;
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    decoded
        .iter()
        .position(|&b| b == b':')
        .is_some_and(|colon| constant_eq(&decoded[colon + 1..], expected.as_bytes()))
}

/// Whether an endpoint also takes its token as basic auth's password.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Basic {
    Accepted,
    Refused,
}

/// Checks an endpoint's token, sent as `Authorization: Bearer` (or, where
/// `basic` allows, as basic auth's password): 404 when the endpoint (`what`)
/// has no token configured, 401 when the request's is missing or wrong.
fn require_token(
    state: &AppState,
    headers: &HeaderMap,
    expected: Option<&str>,
    what: &str,
    basic: Basic,
) -> Result<(), Box<Response>> {
    let Some(expected) = expected else {
        return Err(Box::new(reject(
            state,
            StatusCode::NOT_FOUND,
            format!("{what} is not configured"),
        )));
    };
    let accepted =
        bearer_ok(headers, expected) || (basic == Basic::Accepted && basic_ok(headers, expected));
    if !accepted {
        return Err(Box::new(reject(
            state,
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        )));
    }
    Ok(())
}

fn bearer_ok(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|g| constant_eq(g.as_bytes(), expected.as_bytes()))
}

async fn put_contact(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = require_token(
        &state,
        &headers,
        state.admin_token.as_deref(),
        "the admin API",
        Basic::Refused,
    ) {
        return *refused;
    }
    let mut contact: crate::runtime::Contact = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return reject(
                &state,
                StatusCode::BAD_REQUEST,
                format!("not a contact record: {e}"),
            );
        }
    };
    contact.id = id;
    let key = format!("contact:{}:{}", contact.id, super::host::new_token());
    accept(
        &state,
        "admin",
        vec![Keyed {
            key,
            item: Inbound::Contact { contact },
        }],
    )
    .await
}

/// The page of an expired link: the contact followed a link after the
/// time its message gave them, and deserves to know that, and what to do.
fn expired_page(at: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>Link expired</title>\n\
         <h1>This link has expired</h1>\n\
         <p>It was valid until {} UTC, the time the message it came in gave for it. \
         If you still need it, reply to that message.</p>\n",
        at.format("%-d %B %Y, %H:%M")
    )
}

async fn link(State(state): State<Arc<AppState>>, Path(token): Path<String>) -> Response {
    let now = state.clock.now();
    // Anyone can request any token: look first, so unknown, expired and
    // repeated opens are answered from a read and never queue a write.
    match state.db.link_peek(&token, now).await {
        Ok(LinkOpen::First { .. }) => {}
        Ok(other) => return link_answer(&state, other),
        Err(e) => {
            return (StatusCode::SERVICE_UNAVAILABLE, format!("try again: {e}\n")).into_response();
        }
    }
    let event = serde_json::to_string(&Inbound::LinkOpened {
        token: token.clone(),
    })
    .unwrap_or_default();
    let key = format!("link:{token}");
    let opened = state.db.link_open(&token, &key, &event, now).await;
    match opened {
        Ok(open) => link_answer(&state, open),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("try again: {e}\n")).into_response(),
    }
}

/// The answer to a link request, by what the store found.
fn link_answer(state: &AppState, open: LinkOpen) -> Response {
    match open {
        LinkOpen::First { url, .. } => {
            Metrics::inc(&state.metrics.links_opened);
            state.wake.notify_one();
            redirect(&url)
        }
        LinkOpen::Again { url } => redirect(&url),
        LinkOpen::Expired { at } => (
            StatusCode::GONE,
            [(header::CACHE_CONTROL, "no-store")],
            Html(expired_page(at)),
        )
            .into_response(),
        LinkOpen::Unknown => (StatusCode::NOT_FOUND, "no such link\n").into_response(),
    }
}

/// A 302 to the stored URL; never to anything the request supplied.
fn redirect(url: &str) -> Response {
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, url.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    if let Ok(pending) = state.db.pending_count().await {
        state
            .metrics
            .inbox_pending
            .store(pending, Ordering::Relaxed);
    }
    // Runs live in the store, not in the process: counted when asked.
    if let Ok(counts) = state.db.run_counts().await {
        let m = &state.metrics;
        m.runs_active.store(counts.active, Ordering::Relaxed);
        m.timers.store(counts.timers, Ordering::Relaxed);
    }
    let mut body = state.metrics.render();
    if let Some(stats) = state.db.writer_stats() {
        body.push_str(&Metrics::render_store(&stats));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
