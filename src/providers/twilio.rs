//! SMS through a Twilio-compatible Messages API: a form-encoded
//! `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP
//! basic auth; success is `201 Created` with the message's `sid`.

use serde::Deserialize;
use serde_json::Value;

use super::retry::{self, Attempt};
use super::{CALLBACK_KEY, ConfigError, RetryConfig, Secret, base_url, clip, endpoint, failed};
use crate::runtime::SendResult;

/// `[twilio]`: the SMS client.
///
/// Basic auth is `account_sid` and the auth token, or, when `api_key_sid` is
/// set, that API key and its secret (Twilio's recommendation for production).
/// Not `deny_unknown_fields`: the service's config flattens it into a section
/// with fields of its own.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TwilioConfig {
    /// The API root.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The account (`AC…`).
    pub account_sid: String,
    /// The default sender (a Twilio number, alphanumeric id or short code);
    /// an SMS's own `from` wins.
    pub from: Option<String>,
    /// A messaging service (`MG…`) to send through; with or instead of `from`.
    pub messaging_service_sid: Option<String>,
    /// Where Twilio posts status callbacks; each send adds a `kflow` query
    /// parameter with its callback data. Without it, no callbacks come.
    pub status_callback: Option<String>,
    /// The environment variable holding the account's auth token.
    #[serde(default = "default_auth_token_env")]
    pub auth_token_env: String,
    /// An API key (`SK…`) to authenticate with instead of the auth token.
    pub api_key_sid: Option<String>,
    /// The environment variable holding the API key's secret.
    #[serde(default = "default_api_key_secret_env")]
    pub api_key_secret_env: String,
}

fn default_base_url() -> String {
    "https://api.twilio.com".to_owned()
}

fn default_auth_token_env() -> String {
    "TWILIO_AUTH_TOKEN".to_owned()
}

fn default_api_key_secret_env() -> String {
    "TWILIO_API_KEY_SECRET".to_owned()
}

/// The configured client.
#[derive(Debug)]
pub(super) struct Twilio {
    client: reqwest::Client,
    url: url::Url,
    user: String,
    password: Secret,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    status_callback: Option<url::Url>,
}

impl Twilio {
    pub(super) fn new(
        config: &TwilioConfig,
        client: reqwest::Client,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Twilio, ConfigError> {
        if config.account_sid.trim().is_empty() {
            return Err(ConfigError::new("twilio.account_sid is empty"));
        }
        let (user, password) = match &config.api_key_sid {
            Some(key) => (
                key.clone(),
                Secret::from_env(env, &config.api_key_secret_env, "twilio.api_key_secret_env")?,
            ),
            None => (
                config.account_sid.clone(),
                Secret::from_env(env, &config.auth_token_env, "twilio.auth_token_env")?,
            ),
        };
        let base = base_url(&config.base_url, "twilio.base_url")?;
        let status_callback = config
            .status_callback
            .as_deref()
            .map(|u| base_url(u, "twilio.status_callback"))
            .transpose()?;
        Ok(Twilio {
            client,
            url: endpoint(
                &base,
                &[
                    "2010-04-01",
                    "Accounts",
                    &config.account_sid,
                    "Messages.json",
                ],
            ),
            user,
            password,
            from: config.from.clone().filter(|f| !f.is_empty()),
            messaging_service_sid: config
                .messaging_service_sid
                .clone()
                .filter(|s| !s.is_empty()),
            status_callback,
        })
    }

    /// The form fields, in a fixed order: `To`, `From`,
    /// `MessagingServiceSid`, `Body`, `StatusCallback`.
    fn form(
        &self,
        to: &str,
        body: &str,
        from: Option<&str>,
        callback_data: &str,
    ) -> Option<Vec<(&'static str, String)>> {
        let from = from.filter(|f| !f.is_empty()).or(self.from.as_deref());
        if from.is_none() && self.messaging_service_sid.is_none() {
            return None;
        }
        let mut form = vec![("To", to.to_owned())];
        if let Some(from) = from {
            form.push(("From", from.to_owned()));
        }
        if let Some(sid) = &self.messaging_service_sid {
            form.push(("MessagingServiceSid", sid.clone()));
        }
        form.push(("Body", body.to_owned()));
        if let Some(callback) = &self.status_callback {
            let mut callback = callback.clone();
            if !callback_data.is_empty() {
                callback
                    .query_pairs_mut()
                    .append_pair(CALLBACK_KEY, callback_data);
            }
            form.push(("StatusCallback", callback.into()));
        }
        Some(form)
    }

    pub(super) async fn send(
        &self,
        to: &str,
        body: &str,
        from: Option<&str>,
        callback_data: &str,
        policy: retry::Policy<'_>,
    ) -> SendResult {
        let Some(form) = self.form(to, body, from, callback_data) else {
            return failed(
                None,
                "not sent: the SMS has no sender (set twilio.from or twilio.messaging_service_sid, or `from` on the step)",
            );
        };
        retry::run(policy, || self.attempt(&form, policy.config)).await
    }

    async fn attempt(&self, form: &[(&'static str, String)], config: &RetryConfig) -> Attempt {
        let sent = self
            .client
            .post(self.url.clone())
            .basic_auth(&self.user, Some(self.password.expose()))
            .form(form)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return retry::transport_error("Twilio", &e, config),
        };
        let status = response.status();
        let bytes = response.bytes().await;
        let parsed: Option<Value> = bytes
            .as_deref()
            .ok()
            .and_then(|b| serde_json::from_slice(b).ok());
        if status.is_success() {
            let sid = parsed
                .as_ref()
                .and_then(|v| v.get("sid"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            return Attempt::Done(match sid {
                Some(sid) => SendResult::Accepted {
                    message_id: sid.to_owned(),
                },
                None => failed(
                    None,
                    format!(
                        "Twilio answered HTTP {} without a sid; not retried, as the message may have been taken",
                        status.as_u16()
                    ),
                ),
            });
        }
        // {"code": 21211, "message": "...", "more_info": "...", "status": 400}
        let code = parsed
            .as_ref()
            .and_then(|v| v.get("code"))
            .and_then(|c| match c {
                Value::Number(n) => Some(n.to_string()),
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            });
        let message = parsed
            .as_ref()
            .and_then(|v| v.get("message"))
            .and_then(Value::as_str)
            .map(|m| clip(m, 300));
        let mut reason = match &code {
            Some(code) => format!("Twilio error {code} (HTTP {})", status.as_u16()),
            None => format!("Twilio answered HTTP {}", status.as_u16()),
        };
        match (message, &parsed) {
            (Some(m), _) => reason.push_str(&format!(": {m}")),
            (None, None) => {
                let raw = clip(
                    &String::from_utf8_lossy(bytes.as_deref().unwrap_or_default()),
                    200,
                );
                if !raw.is_empty() {
                    reason.push_str(&format!(": {raw}"));
                }
            }
            (None, Some(_)) => {}
        }
        let reason = reason.replace(self.password.expose(), "<redacted>");
        if retry::retryable_status(status) {
            Attempt::Retry { code, reason }
        } else {
            Attempt::Done(failed(code, reason))
        }
    }
}
