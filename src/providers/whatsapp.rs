//! The WhatsApp Cloud API client: interactive messages (`cta_url`, reply
//! buttons, lists), free-form text and templates (with header, body and
//! button parameters), posted to `{base}/{version}/{phone-number-id}/messages`.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::retry::{self, Attempt};
use super::{ConfigError, RetryConfig, Secret, base_url, clip, endpoint, failed};
use crate::platform::address::normalize_e164;
use crate::runtime::{Message, Outbound, RenderedHeader, RenderedTemplateButton, SendResult};

/// Error codes the Cloud API uses for temporary trouble (throughput, service
/// problems, a number in maintenance, API-call rate limits): retried even
/// when they come with a 4xx status.
pub const RETRYABLE_WHATSAPP_CODES: &[u64] =
    &[130429, 131000, 131016, 131057, 1, 2, 4, 80007, 133004];

/// `[whatsapp]`: the Cloud API client.
///
/// Not `deny_unknown_fields`: the service's config flattens it into a
/// section with fields of its own.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WhatsappConfig {
    /// The Graph API root.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The API version path segment (empty: none, which Meta documents as
    /// optional).
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The phone number id sends use when the message names no `from`.
    pub phone_number_id: String,
    /// Business numbers a CTA's `from` may name (E.164 → phone number id).
    /// A `from` not listed here fails the send without a request.
    #[serde(default)]
    pub numbers: BTreeMap<String, String>,
    /// The throughput limit of each business number (Meta: 80 by default,
    /// 20 for coexistence numbers, up to 1000 after an upgrade).
    #[serde(default = "default_messages_per_second")]
    pub messages_per_second: u32,
    /// The environment variable holding the access token.
    #[serde(default = "default_token_env")]
    pub token_env: String,
}

fn default_base_url() -> String {
    "https://graph.facebook.com".to_owned()
}

fn default_api_version() -> String {
    "v25.0".to_owned()
}

fn default_messages_per_second() -> u32 {
    80
}

fn default_token_env() -> String {
    "WHATSAPP_TOKEN".to_owned()
}

/// One business number: where its sends go and its throughput bucket.
struct Sender {
    phone_number_id: String,
    url: url::Url,
    limiter: Arc<DefaultDirectRateLimiter>,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("phone_number_id", &self.phone_number_id)
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// The configured client.
#[derive(Debug)]
pub(super) struct Whatsapp {
    client: reqwest::Client,
    token: Secret,
    auth: HeaderValue,
    default: Sender,
    /// Normalized E.164 → sender.
    numbers: BTreeMap<String, Sender>,
}

impl Whatsapp {
    pub(super) fn new(
        config: &WhatsappConfig,
        client: reqwest::Client,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Whatsapp, ConfigError> {
        let token = Secret::from_env(env, &config.token_env, "whatsapp.token_env")?;
        let auth = token.bearer(&config.token_env)?;
        let base = base_url(&config.base_url, "whatsapp.base_url")?;
        let per_second = NonZeroU32::new(config.messages_per_second)
            .ok_or_else(|| ConfigError::new("whatsapp.messages_per_second must be at least 1"))?;
        let quota = Quota::per_second(per_second);
        // One bucket per phone number id, however many names point at it.
        let mut limiters: BTreeMap<String, Arc<DefaultDirectRateLimiter>> = BTreeMap::new();
        let mut sender = |id: &str| -> Result<Sender, ConfigError> {
            if id.trim().is_empty() {
                return Err(ConfigError::new("whatsapp: a phone number id is empty"));
            }
            let limiter = limiters
                .entry(id.to_owned())
                .or_insert_with(|| Arc::new(RateLimiter::direct(quota)))
                .clone();
            Ok(Sender {
                phone_number_id: id.to_owned(),
                url: endpoint(&base, &[&config.api_version, id, "messages"]),
                limiter,
            })
        };
        let default = sender(&config.phone_number_id)?;
        let mut numbers = BTreeMap::new();
        for (number, id) in &config.numbers {
            let Some(plain) = normalize_e164(number) else {
                return Err(ConfigError::new(format!(
                    "whatsapp.numbers: `{number}` is not an E.164 number such as +15551230000"
                )));
            };
            if numbers.insert(plain, sender(id)?).is_some() {
                return Err(ConfigError::new(format!(
                    "whatsapp.numbers: `{number}` is listed twice"
                )));
            }
        }
        Ok(Whatsapp {
            client,
            token,
            auth,
            default,
            numbers,
        })
    }

    /// The business number a send goes out from.
    fn sender(&self, from: Option<&str>) -> Result<&Sender, SendResult> {
        let Some(from) = from else {
            return Ok(&self.default);
        };
        let sender = normalize_e164(from).and_then(|number| self.numbers.get(&number));
        sender.ok_or_else(|| {
            let known: Vec<&str> = self.numbers.keys().map(String::as_str).collect();
            failed(
                None,
                if known.is_empty() {
                    format!("not sent: no WhatsApp business number is configured for from {from} (whatsapp.numbers is empty)")
                } else {
                    format!(
                        "not sent: no WhatsApp business number is configured for from {from} (whatsapp.numbers has {})",
                        known.join(", ")
                    )
                },
            )
        })
    }

    pub(super) async fn send(
        &self,
        out: &Outbound,
        callback_data: &str,
        tracked_url: Option<&str>,
        policy: retry::Policy<'_>,
    ) -> SendResult {
        let from = match &out.message {
            Message::Cta { from, .. } => from.as_deref(),
            _ => None,
        };
        let sender = match self.sender(from) {
            Ok(s) => s,
            Err(result) => return result,
        };
        let Some(body) = payload(out, callback_data, tracked_url) else {
            return failed(
                None,
                format!(
                    "not sent: a {} message is not a WhatsApp message",
                    out.message.kind()
                ),
            );
        };
        retry::run(policy, || self.attempt(sender, &body, policy.config)).await
    }

    async fn attempt(&self, sender: &Sender, body: &Value, config: &RetryConfig) -> Attempt {
        // Wait for the number's bucket rather than meet error 130429.
        sender.limiter.until_ready().await;
        let sent = self
            .client
            .post(sender.url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return retry::transport_error("WhatsApp", &e, config),
        };
        let status = response.status();
        let bytes = response.bytes().await;
        if status.is_success() {
            let id = bytes.ok().and_then(|b| message_id(&b));
            return Attempt::Done(match id {
                Some(message_id) => SendResult::Accepted { message_id },
                // Taken, probably: sending again could deliver it twice.
                None => failed(
                    None,
                    format!(
                        "WhatsApp answered HTTP {} without messages[0].id; not retried, as the message may have been taken",
                        status.as_u16()
                    ),
                ),
            });
        }
        classify(status, bytes.as_deref().unwrap_or_default(), &self.token)
    }
}

/// `messages[0].id` of a success answer.
fn message_id(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let id = v.pointer("/messages/0/id")?.as_str()?;
    (!id.is_empty()).then(|| id.to_owned())
}

/// Classifies an error answer by its `error.code` and HTTP status.
fn classify(status: reqwest::StatusCode, body: &[u8], token: &Secret) -> Attempt {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let code = error.and_then(|e| e.get("code")).and_then(|c| match c {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let text = |key: &str| {
        error
            .and_then(|e| e.pointer(key))
            .and_then(Value::as_str)
            .map(|s| clip(s, 300))
            .filter(|s| !s.is_empty())
    };
    let mut reason = match code {
        Some(code) => format!("WhatsApp error {code} (HTTP {})", status.as_u16()),
        None => format!("WhatsApp answered HTTP {}", status.as_u16()),
    };
    match (text("/message"), text("/error_data/details")) {
        (Some(m), Some(d)) => reason.push_str(&format!(": {m}: {d}")),
        (Some(m), None) | (None, Some(m)) => reason.push_str(&format!(": {m}")),
        (None, None) if error.is_none() => {
            let raw = clip(&String::from_utf8_lossy(body), 200);
            if !raw.is_empty() {
                reason.push_str(&format!(": {raw}"));
            }
        }
        (None, None) => {}
    }
    if let Some(trace) = text("/fbtrace_id") {
        reason.push_str(&format!(" [fbtrace_id {trace}]"));
    }
    // An echoed request should never carry the token, but make sure.
    let reason = reason.replace(token.expose(), "<redacted>");
    let code_text = code.map(|c| c.to_string());
    if code.is_some_and(|c| RETRYABLE_WHATSAPP_CODES.contains(&c))
        || retry::retryable_status(status)
    {
        Attempt::Retry {
            code: code_text,
            reason,
        }
    } else {
        Attempt::Done(failed(code_text, reason))
    }
}

/// An interactive header as the Cloud API takes it (§2.1, §2.2).
fn header_json(header: &RenderedHeader) -> Value {
    match header {
        RenderedHeader::Text { text } => json!({ "type": "text", "text": text }),
        RenderedHeader::Image { link } => json!({ "type": "image", "image": { "link": link } }),
        RenderedHeader::Video { link } => json!({ "type": "video", "video": { "link": link } }),
        RenderedHeader::Document { link } => {
            json!({ "type": "document", "document": { "link": link } })
        }
    }
}

/// The request body for a WhatsApp message; `None` for SMS and email.
pub(super) fn payload(
    out: &Outbound,
    callback_data: &str,
    tracked_url: Option<&str>,
) -> Option<Value> {
    let mut m = Map::new();
    m.insert("messaging_product".into(), json!("whatsapp"));
    m.insert("recipient_type".into(), json!("individual"));
    m.insert("to".into(), json!(out.to));
    match &out.message {
        Message::Cta {
            header,
            body,
            footer,
            display_text,
            url,
            ..
        } => {
            let mut interactive = Map::new();
            interactive.insert("type".into(), json!("cta_url"));
            interactive.insert("header".into(), header_json(header));
            interactive.insert("body".into(), json!({ "text": body }));
            if let Some(footer) = footer {
                interactive.insert("footer".into(), json!({ "text": footer }));
            }
            interactive.insert(
                "action".into(),
                json!({
                    "name": "cta_url",
                    "parameters": { "display_text": display_text, "url": tracked_url.unwrap_or(url) }
                }),
            );
            m.insert("type".into(), json!("interactive"));
            m.insert("interactive".into(), Value::Object(interactive));
        }
        Message::Buttons {
            header,
            body,
            footer,
            buttons,
            ..
        } => {
            let mut interactive = Map::new();
            interactive.insert("type".into(), json!("button"));
            if let Some(header) = header {
                interactive.insert("header".into(), header_json(header));
            }
            interactive.insert("body".into(), json!({ "text": body }));
            if let Some(footer) = footer {
                interactive.insert("footer".into(), json!({ "text": footer }));
            }
            let buttons: Vec<Value> = buttons
                .iter()
                .map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }))
                .collect();
            interactive.insert("action".into(), json!({ "buttons": buttons }));
            m.insert("type".into(), json!("interactive"));
            m.insert("interactive".into(), Value::Object(interactive));
        }
        Message::List {
            header,
            body,
            footer,
            button,
            sections,
            ..
        } => {
            let mut interactive = Map::new();
            interactive.insert("type".into(), json!("list"));
            if let Some(header) = header {
                interactive.insert("header".into(), json!({ "type": "text", "text": header }));
            }
            interactive.insert("body".into(), json!({ "text": body }));
            if let Some(footer) = footer {
                interactive.insert("footer".into(), json!({ "text": footer }));
            }
            let sections: Vec<Value> = sections
                .iter()
                .map(|s| {
                    let rows: Vec<Value> = s
                        .rows
                        .iter()
                        .map(|r| {
                            let mut row = Map::new();
                            row.insert("id".into(), json!(r.id));
                            row.insert("title".into(), json!(r.title));
                            if let Some(d) = &r.description {
                                row.insert("description".into(), json!(d));
                            }
                            Value::Object(row)
                        })
                        .collect();
                    let mut section = Map::new();
                    if let Some(title) = &s.title {
                        section.insert("title".into(), json!(title));
                    }
                    section.insert("rows".into(), Value::Array(rows));
                    Value::Object(section)
                })
                .collect();
            interactive.insert(
                "action".into(),
                json!({ "button": button, "sections": sections }),
            );
            m.insert("type".into(), json!("interactive"));
            m.insert("interactive".into(), Value::Object(interactive));
        }
        Message::Whatsapp { body } => {
            m.insert("type".into(), json!("text"));
            m.insert("text".into(), json!({ "body": body }));
        }
        Message::Template {
            name,
            language,
            params,
            header,
            buttons,
            ..
        } => {
            let mut template = Map::new();
            template.insert("name".into(), json!(name));
            template.insert("language".into(), json!({ "code": language }));
            // Components in the order the template shows them (§3).
            let mut components = Vec::new();
            if let Some(header) = header {
                // A header parameter has an interactive header's shape:
                // `{"type":"text","text":..}` or
                // `{"type":"image","image":{"link":..}}` (§3).
                components.push(json!({ "type": "header", "parameters": [header_json(header)] }));
            }
            if !params.is_empty() {
                let parameters: Vec<Value> = params
                    .iter()
                    .map(|p| json!({ "type": "text", "text": p }))
                    .collect();
                components.push(json!({ "type": "body", "parameters": parameters }));
            }
            for button in buttons {
                components.push(match button {
                    RenderedTemplateButton::Url { index, text } => json!({
                        "type": "button", "sub_type": "url", "index": index.to_string(),
                        "parameters": [{ "type": "text", "text": text }]
                    }),
                    RenderedTemplateButton::QuickReply { index, payload } => json!({
                        "type": "button", "sub_type": "quick_reply", "index": index.to_string(),
                        "parameters": [{ "type": "payload", "payload": payload }]
                    }),
                });
            }
            if !components.is_empty() {
                template.insert("components".into(), Value::Array(components));
            }
            m.insert("type".into(), json!("template"));
            m.insert("template".into(), Value::Object(template));
        }
        Message::Sms { .. } | Message::Email { .. } => return None,
    }
    if !callback_data.is_empty() {
        m.insert("biz_opaque_callback_data".into(), json!(callback_data));
    }
    Some(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_normalize_to_e164() {
        // A configured number and a `from` written differently meet on one key.
        let configured = normalize_e164("+1 (555) 123-0000");
        assert_eq!(configured.as_deref(), Some("+15551230000"));
        assert_eq!(
            normalize_e164("+1 555 123 0000").as_deref(),
            Some("+15551230000")
        );
        assert!(normalize_e164("+447700900123").is_some());
        assert!(normalize_e164("15551230000").is_none());
        assert!(normalize_e164("+0123").is_none());
        assert!(normalize_e164("+1555abc").is_none());
        assert!(normalize_e164("+12345678901234567").is_none());
    }

    #[test]
    fn codes_decide_retries() {
        let token = Secret("tok".to_owned());
        let body = |code: &str| format!(r#"{{"error":{{"code":{code},"message":"m"}}}}"#);
        let retried = |status: u16, body: &str| {
            let status = reqwest::StatusCode::from_u16(status).unwrap_or_else(|e| panic!("{e}"));
            matches!(
                classify(status, body.as_bytes(), &token),
                Attempt::Retry { .. }
            )
        };
        assert!(!retried(400, &body("131047")));
        assert!(!retried(400, &body("131026")));
        assert!(!retried(401, &body("190")));
        assert!(retried(400, &body("131000")));
        assert!(retried(400, &body("\"130429\"")));
        assert!(retried(429, &body("130429")));
        assert!(retried(429, "slow down"));
        assert!(retried(503, ""));
        assert!(!retried(404, "<html>not found</html>"));
    }

    #[test]
    fn reasons_carry_code_message_and_details() {
        let token = Secret("tok".to_owned());
        let body = br#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,
            "error_data":{"messaging_product":"whatsapp","details":"More than 24 hours have passed"},"fbtrace_id":"Ab1"}}"#;
        let Attempt::Done(SendResult::Failed { code, reason }) =
            classify(reqwest::StatusCode::BAD_REQUEST, body, &token)
        else {
            panic!("131047 must be final");
        };
        assert_eq!(code.as_deref(), Some("131047"));
        assert_eq!(
            reason,
            "WhatsApp error 131047 (HTTP 400): (#131047) Re-engagement message: More than 24 hours have passed [fbtrace_id Ab1]"
        );
    }
}
