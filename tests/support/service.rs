//! How the crash tests set up `kflowc serve` processes and talk to them:
//! the configuration, the contacts' numbers, and the signed Cloud API
//! webhooks they post. One place for what `serve_crash.rs` (one process,
//! SQLite) and `serve_workers.rs` (several, PostgreSQL) share.

use std::path::{Path, PathBuf};

use kflow::server::signature::sign_meta;
use serde_json::json;

/// A loopback port free when asked.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The phone number of test contact `i`.
pub(crate) fn phone(i: usize) -> String {
    format!("+1555300{i:04}")
}

/// Which test contact a phone number is, with or without its `+`.
pub(crate) fn index(phone: &str) -> Option<usize> {
    phone
        .trim_start_matches('+')
        .strip_prefix("1555300")?
        .parse()
        .ok()
}

/// Writes `file` in `dir`: a service on loopback `port` running the seed
/// workflow on `database`, its clock `time_scale` times real time, with
/// every provider at `providers` and WhatsApp sent under
/// `phone_number_id`; retries are quick and few.
pub(crate) fn write_config(
    dir: &Path,
    file: &str,
    port: u16,
    database: &str,
    phone_number_id: &str,
    providers: &str,
    time_scale: f64,
) -> PathBuf {
    let base = format!("http://127.0.0.1:{port}");
    let root = env!("CARGO_MANIFEST_DIR");
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
public_url = "{base}"
database = "{database}"
workflows = ["{root}/examples/booking_cta.kflow"]
time_scale = {time_scale:.1}
admin_token_env = "KFLOW_ADMIN_TOKEN"

[whatsapp]
base_url = "{providers}"
phone_number_id = "{phone_number_id}"
numbers = {{ "+15550100001" = "{phone_number_id}" }}

[twilio]
base_url = "{providers}"
account_sid = "AC123"
from = "+15550009999"
status_callback = "{base}/webhooks/twilio/status"

[sendgrid]
base_url = "{providers}"
from_email = "noreply@example.com"

[retry]
max_attempts = 2
base_delay_ms = 10
max_delay_ms = 20
request_timeout_ms = 10000
"#
    );
    let path = dir.join(file);
    std::fs::write(&path, config).expect("write config");
    path
}

/// A Cloud API webhook: a text reply from `from` (digits, no `+`) with
/// message id `id`, to the number `phone_number_id`.
pub(crate) fn whatsapp_reply(from: &str, id: &str, phone_number_id: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100001", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Crash Test"}, "wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": "1749416383", "type": "text", "text": {"body": "hi"}}]
    }}]}]})
    .to_string()
}

/// A Cloud API webhook: message `message_id` to `recipient` failed
/// (131026, undeliverable).
pub(crate) fn failed_status(message_id: &str, recipient: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "statuses": [{"id": message_id, "status": "failed", "timestamp": "1750030073", "recipient_id": recipient,
            "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable"}]}]
    }}]}]})
    .to_string()
}

/// A POST of `body` to the service at `base`'s WhatsApp webhook, signed
/// with the app secret `secret` as Meta signs it.
pub(crate) fn signed(
    http: &reqwest::Client,
    base: &str,
    secret: &str,
    body: String,
) -> reqwest::RequestBuilder {
    http.post(format!("{base}/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            sign_meta(secret.as_bytes(), body.as_bytes()),
        )
        .body(body)
}
