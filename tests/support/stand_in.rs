//! What the provider stand-ins of the crash tests answer, and what they
//! note of each request: one place for the three APIs' request and answer
//! shapes (WhatsApp Cloud API, Twilio, SendGrid).

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

/// One request a stand-in received.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    /// `whatsapp`, `sms` or `email`.
    pub(crate) channel: &'static str,
    /// For WhatsApp, the N of the phone number id `PNIDN` it was sent
    /// under (several workers send under ids of their own).
    #[allow(dead_code)]
    pub(crate) worker: Option<usize>,
    pub(crate) to: String,
    /// The callback data: the ledger key `workflow:run:node`.
    pub(crate) key: String,
    /// The id the stand-in answered with.
    pub(crate) id: String,
    /// WhatsApp's `type` (`interactive`, `template`, `text`), else the channel.
    pub(crate) kind: String,
    /// A CTA's tracking link.
    pub(crate) link: Option<String>,
}

/// The `n`th request to the `channel` stand-in: what it sent, and the
/// provider's answer (WhatsApp's after `whatsapp_delay`, as the Cloud API
/// takes time).
pub(crate) fn answer(
    channel: &'static str,
    request: &Request,
    n: usize,
    whatsapp_delay: Duration,
) -> (Sent, ResponseTemplate) {
    match channel {
        "whatsapp" => {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let worker = request
                .url
                .path()
                .split('/')
                .find_map(|p| p.strip_prefix("PNID"))
                .and_then(|w| w.parse().ok());
            let id = format!("wamid.OUT.{n}");
            let to = body["to"].as_str().unwrap_or_default().to_owned();
            let sent = Sent {
                channel: "whatsapp",
                worker,
                to: to.clone(),
                key: body["biz_opaque_callback_data"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                id: id.clone(),
                kind: body["type"].as_str().unwrap_or_default().to_owned(),
                link: body
                    .pointer("/interactive/action/parameters/url")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            };
            let response = ResponseTemplate::new(200)
                .set_body_json(json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to.trim_start_matches('+')}],
                    "messages": [{"id": id}]
                }))
                .set_delay(whatsapp_delay);
            (sent, response)
        }
        "sms" => {
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
            let field = |name: &str| {
                form.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let key = url::Url::parse(&field("StatusCallback"))
                .ok()
                .and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == "kflow")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_default();
            let id = format!("SM{n:032}");
            let sent = Sent {
                channel: "sms",
                worker: None,
                to: field("To"),
                key,
                id: id.clone(),
                kind: "sms".into(),
                link: None,
            };
            let response =
                ResponseTemplate::new(201).set_body_json(json!({"sid": id, "status": "queued"}));
            (sent, response)
        }
        _ => {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let id = format!("sg-{n}");
            let sent = Sent {
                channel: "email",
                worker: None,
                to: body
                    .pointer("/personalizations/0/to/0/email")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                key: body
                    .pointer("/custom_args/kflow")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                id: id.clone(),
                kind: "email".into(),
                link: None,
            };
            let response = ResponseTemplate::new(202).insert_header("X-Message-Id", id.as_str());
            (sent, response)
        }
    }
}
