//! Email through a SendGrid-compatible v3 Mail Send API: JSON
//! `POST {base}/v3/mail/send` with a bearer API key; success is
//! `202 Accepted`, identified by the `X-Message-Id` answer header.

use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::retry::{self, Attempt};
use super::{CALLBACK_KEY, ConfigError, RetryConfig, Secret, base_url, clip, endpoint, failed};
use crate::runtime::SendResult;

/// `[sendgrid]`: the email client.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendgridConfig {
    /// The API root (`https://api.eu.sendgrid.com` for EU subusers).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The default sender address; an email's own `from` wins.
    pub from_email: String,
    /// The sender's display name, with `from_email`.
    pub from_name: Option<String>,
    /// The environment variable holding the API key.
    #[serde(default = "default_api_key_env")]
    pub api_key_env: String,
}

fn default_base_url() -> String {
    "https://api.sendgrid.com".to_owned()
}

fn default_api_key_env() -> String {
    "SENDGRID_API_KEY".to_owned()
}

/// The configured client.
#[derive(Debug)]
pub(super) struct Sendgrid {
    client: reqwest::Client,
    url: url::Url,
    key: Secret,
    auth: HeaderValue,
    from_email: String,
    from_name: Option<String>,
}

impl Sendgrid {
    pub(super) fn new(
        config: &SendgridConfig,
        client: reqwest::Client,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Sendgrid, ConfigError> {
        if config.from_email.trim().is_empty() {
            return Err(ConfigError::new("sendgrid.from_email is empty"));
        }
        let key = Secret::from_env(env, &config.api_key_env, "sendgrid.api_key_env")?;
        let auth = key.bearer(&config.api_key_env)?;
        let base = base_url(&config.base_url, "sendgrid.base_url")?;
        Ok(Sendgrid {
            client,
            url: endpoint(&base, &["v3", "mail", "send"]),
            key,
            auth,
            from_email: config.from_email.clone(),
            from_name: config.from_name.clone().filter(|n| !n.is_empty()),
        })
    }

    /// The request body.
    fn payload(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        from: Option<&str>,
        callback_data: &str,
    ) -> Value {
        let from = match from.filter(|f| !f.is_empty()) {
            Some(email) => json!({ "email": email }),
            None => match &self.from_name {
                Some(name) => json!({ "email": self.from_email, "name": name }),
                None => json!({ "email": self.from_email }),
            },
        };
        let mut m = Map::new();
        m.insert(
            "personalizations".into(),
            json!([{ "to": [{ "email": to }] }]),
        );
        m.insert("from".into(), from);
        m.insert("subject".into(), json!(subject));
        m.insert(
            "content".into(),
            json!([{ "type": "text/plain", "value": body }]),
        );
        if !callback_data.is_empty() {
            m.insert("custom_args".into(), json!({ CALLBACK_KEY: callback_data }));
        }
        Value::Object(m)
    }

    pub(super) async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        from: Option<&str>,
        callback_data: &str,
        policy: retry::Policy<'_>,
    ) -> SendResult {
        let payload = self.payload(to, subject, body, from, callback_data);
        retry::run(policy, || self.attempt(&payload, policy.config)).await
    }

    async fn attempt(&self, payload: &Value, config: &RetryConfig) -> Attempt {
        let sent = self
            .client
            .post(self.url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .json(payload)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return retry::transport_error("SendGrid", &e, config),
        };
        let status = response.status();
        if status.is_success() {
            let id = response
                .headers()
                .get("x-message-id")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                // Queued all the same; events carry SendGrid's own id, which
                // the callback data in `custom_args` makes unnecessary.
                .unwrap_or_else(|| format!("kflow-email-{:032x}", rand::random::<u128>()));
            return Attempt::Done(SendResult::Accepted { message_id: id });
        }
        let bytes = response.bytes().await;
        let raw = bytes.as_deref().unwrap_or_default();
        // {"errors":[{"message":"...","field":"...","help":null}]}
        let messages: Vec<String> = serde_json::from_slice::<Value>(raw)
            .ok()
            .and_then(|v| v.get("errors").and_then(Value::as_array).cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let message = e.get("message").and_then(Value::as_str)?;
                Some(match e.get("field").and_then(Value::as_str) {
                    Some(field) if !field.is_empty() => format!("{message} ({field})"),
                    _ => message.to_owned(),
                })
            })
            .collect();
        let mut reason = format!("SendGrid answered HTTP {}", status.as_u16());
        let text = if messages.is_empty() {
            clip(&String::from_utf8_lossy(raw), 200)
        } else {
            clip(&messages.join("; "), 300)
        };
        if !text.is_empty() {
            reason.push_str(&format!(": {text}"));
        }
        let reason = reason.replace(self.key.expose(), "<redacted>");
        // SendGrid gives no error codes; the trace has the HTTP status.
        if retry::retryable_status(status) {
            Attempt::Retry { code: None, reason }
        } else {
            Attempt::Done(failed(None, reason))
        }
    }
}
