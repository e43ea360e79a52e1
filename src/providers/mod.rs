//! Outbound provider clients: how a rendered [`Outbound`] leaves the service.
//!
//! [`Providers::send`] dispatches on the [`Message`]:
//!
//! | message | provider | request |
//! |---|---|---|
//! | `Cta`, `Whatsapp`, `Template` | WhatsApp Cloud API ([`WhatsappConfig`]) | `POST {base}/{version}/{phone-number-id}/messages`, JSON, bearer token |
//! | `Sms` | Twilio-compatible Messages API ([`TwilioConfig`]) | `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form, basic auth |
//! | `Email` | SendGrid-compatible v3 Mail Send ([`SendgridConfig`]) | `POST {base}/v3/mail/send`, JSON, bearer key |
//!
//! Each send carries the caller's callback data so status webhooks find their
//! run: WhatsApp's `biz_opaque_callback_data`, a `kflow` query parameter on
//! Twilio's `StatusCallback` ([`CALLBACK_KEY`]), and a `kflow` entry in
//! SendGrid's `custom_args`.
//!
//! Failures are classified ([`RetryConfig`]): a provider's refusal (any 4xx
//! but 429, unless WhatsApp marks its code as temporary) is final and comes
//! back at once as [`SendResult::Failed`] with the provider's code and text;
//! 429, 5xx, connection errors and timeouts are retried with capped
//! exponential backoff and full jitter, then fail with the last reason. A
//! success answer that cannot be read is never retried, so a message is not
//! sent twice for one effect.
//!
//! WhatsApp sends wait for a per-business-number token bucket
//! ([`WhatsappConfig::messages_per_second`], 80 by default) instead of
//! running into error 130429.
//!
//! Secrets (the WhatsApp token, the Twilio auth token or API key secret, the
//! SendGrid key) come only from the environment, through the lookup function
//! given to [`Providers::new`]; no `Debug` output or error message contains
//! them.

mod retry;

pub use retry::KeepTrying;
mod sendgrid;
mod twilio;
mod whatsapp;

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderValue;
use serde::Deserialize;

use crate::runtime::{Message, Outbound, SendResult};

pub use sendgrid::SendgridConfig;
pub use twilio::TwilioConfig;
pub use whatsapp::{RETRYABLE_WHATSAPP_CODES, WhatsappConfig};

/// The name under which the callback data travels where the provider has no
/// field of its own for it: the query parameter appended to Twilio's
/// `StatusCallback`, and the key in SendGrid's `custom_args`.
pub const CALLBACK_KEY: &str = "kflow";

/// How provider calls time out and are retried (`[retry]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Requests made for one send at most, the first included (at least 1).
    pub max_attempts: u32,
    /// The backoff before the second attempt; it doubles after each failure.
    pub base_delay_ms: u64,
    /// The cap on one backoff.
    pub max_delay_ms: u64,
    /// The limit on one request, from connecting to the end of the answer.
    pub request_timeout_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 4,
            base_delay_ms: 500,
            max_delay_ms: 30_000,
            request_timeout_ms: 15_000,
        }
    }
}

/// Why [`Providers::new`] refused a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn new(message: impl Into<String>) -> ConfigError {
        ConfigError(message.into())
    }
}

/// A secret read from the environment; its `Debug` shows only that it is set.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// Reads `var`; unset and empty are both missing.
    fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        var: &str,
        what: &str,
    ) -> Result<Secret, ConfigError> {
        match env(var) {
            Some(value) if !value.is_empty() => Ok(Secret(value)),
            _ => Err(ConfigError::new(format!(
                "{what}: the environment variable {var} is not set"
            ))),
        }
    }

    /// An `Authorization: Bearer …` value, marked sensitive.
    fn bearer(&self, var: &str) -> Result<HeaderValue, ConfigError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0)).map_err(|_| {
            ConfigError::new(format!(
                "the environment variable {var} holds characters not allowed in an HTTP header"
            ))
        })?;
        value.set_sensitive(true);
        Ok(value)
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

/// Parses a configured base URL, so a typo fails at start, not at first send.
fn base_url(value: &str, what: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(value)
        .map_err(|e| ConfigError::new(format!("{what}: `{value}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(ConfigError::new(format!(
            "{what}: `{value}` is not an http(s) base URL"
        )));
    }
    Ok(url)
}

/// `base` with `segments` appended as path segments (percent-encoded);
/// a trailing slash on `base` and empty segments are skipped.
fn endpoint(base: &url::Url, segments: &[&str]) -> url::Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        for s in segments.iter().filter(|s| !s.is_empty()) {
            path.push(s);
        }
    }
    url
}

/// The outbound clients of `kflowc serve`, sharing one HTTP client.
#[derive(Debug)]
pub struct Providers {
    whatsapp: whatsapp::Whatsapp,
    twilio: Option<twilio::Twilio>,
    sendgrid: Option<sendgrid::Sendgrid>,
    retry: RetryConfig,
}

impl Providers {
    /// Builds the clients, reading each secret through `env` (the process
    /// environment in the service, a map in tests). Without `twilio` or
    /// `sendgrid`, SMS or email sends fail with a reason saying so.
    pub fn new(
        whatsapp: &WhatsappConfig,
        twilio: Option<&TwilioConfig>,
        sendgrid: Option<&SendgridConfig>,
        retry: &RetryConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Providers, ConfigError> {
        if retry.max_attempts == 0 {
            return Err(ConfigError::new("retry.max_attempts must be at least 1"));
        }
        if retry.request_timeout_ms == 0 {
            return Err(ConfigError::new(
                "retry.request_timeout_ms must be at least 1",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(retry.request_timeout_ms))
            // A redirected POST would turn into a GET or be sent again.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::new(format!("the HTTP client could not be built: {e}")))?;
        Ok(Providers {
            whatsapp: whatsapp::Whatsapp::new(whatsapp, client.clone(), env)?,
            twilio: twilio
                .map(|c| twilio::Twilio::new(c, client.clone(), env))
                .transpose()?,
            sendgrid: sendgrid
                .map(|c| sendgrid::Sendgrid::new(c, client.clone(), env))
                .transpose()?,
            retry: retry.clone(),
        })
    }

    /// Sends one message and answers once the provider has taken or refused
    /// it (after any retries). `callback_data` identifies the run and step in
    /// status webhooks (empty: none is sent); `tracked_url`, when given,
    /// replaces a CTA's URL (the service's click-tracking link).
    pub async fn send(
        &self,
        out: &Outbound,
        callback_data: &str,
        tracked_url: Option<&str>,
    ) -> SendResult {
        self.send_while(out, callback_data, tracked_url, &|| true)
            .await
    }

    /// The retry policy of one send.
    fn policy<'a>(&'a self, keep_trying: &'a retry::KeepTrying<'a>) -> retry::Policy<'a> {
        retry::Policy {
            config: &self.retry,
            keep_trying,
        }
    }

    /// [`Providers::send`], retrying only while `keep_trying` says so: a
    /// worker that lost the contact to another worker (its lease ran out
    /// while it waited) must not send again what the other has decided.
    pub async fn send_while(
        &self,
        out: &Outbound,
        callback_data: &str,
        tracked_url: Option<&str>,
        keep_trying: &retry::KeepTrying<'_>,
    ) -> SendResult {
        match &out.message {
            Message::Cta { .. }
            | Message::Buttons { .. }
            | Message::List { .. }
            | Message::Whatsapp { .. }
            | Message::Template { .. } => {
                self.whatsapp
                    .send(out, callback_data, tracked_url, self.policy(keep_trying))
                    .await
            }
            Message::Sms { body, from } => match &self.twilio {
                Some(t) => {
                    t.send(
                        &out.to,
                        body,
                        from.as_deref(),
                        callback_data,
                        self.policy(keep_trying),
                    )
                    .await
                }
                None => failed(
                    None,
                    "not sent: SMS has no provider configured (no [twilio] section)",
                ),
            },
            Message::Email {
                subject,
                body,
                from,
            } => match &self.sendgrid {
                Some(s) => {
                    s.send(
                        &out.to,
                        subject,
                        body,
                        from.as_deref(),
                        callback_data,
                        self.policy(keep_trying),
                    )
                    .await
                }
                None => failed(
                    None,
                    "not sent: email has no provider configured (no [sendgrid] section)",
                ),
            },
        }
    }
}

/// A [`SendResult::Failed`].
fn failed(code: Option<String>, reason: impl Into<String>) -> SendResult {
    SendResult::Failed {
        code,
        reason: reason.into(),
    }
}

/// Keeps provider text in a trace short: at most `max` characters.
fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_join_segments() {
        let base = url::Url::parse("https://graph.facebook.com/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            endpoint(&base, &["v25.0", "123", "messages"]).as_str(),
            "https://graph.facebook.com/v25.0/123/messages"
        );
        assert_eq!(
            endpoint(&base, &["", "123", "messages"]).as_str(),
            "https://graph.facebook.com/123/messages"
        );
        let prefixed =
            url::Url::parse("http://127.0.0.1:9/proxy").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            endpoint(&prefixed, &["a b", "c"]).as_str(),
            "http://127.0.0.1:9/proxy/a%20b/c"
        );
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip(" héllo ", 10), "héllo");
        assert_eq!(clip("héllo", 2), "hé…");
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = Secret("hunter2".to_owned());
        assert!(!format!("{s:?}").contains("hunter2"));
        let h = s.bearer("X").unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{h:?}").contains("hunter2"));
    }
}
