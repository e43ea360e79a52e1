//! The retry loop shared by the providers: capped exponential backoff with
//! full jitter, and the classification of transport errors.

use std::future::Future;
use std::time::Duration;

use super::{RetryConfig, failed};
use crate::runtime::SendResult;

/// What one request came to.
pub(super) enum Attempt {
    /// Final: accepted, or refused for good.
    Done(SendResult),
    /// Temporary (429, 5xx, a retryable provider code, a connection error or
    /// a timeout): worth another request after a backoff.
    Retry {
        /// The provider's code, if it gave one.
        code: Option<String>,
        /// What went wrong.
        reason: String,
    },
}

/// Whether a send may still be tried again: the service answers no once
/// the worker no longer owns the contact (see `Providers::send_while`).
pub type KeepTrying<'a> = dyn Fn() -> bool + Send + Sync + 'a;

/// How one send is retried: the configured attempts and backoff, and
/// whether the process may still try at all.
#[derive(Clone, Copy)]
pub(super) struct Policy<'a> {
    pub(super) config: &'a RetryConfig,
    pub(super) keep_trying: &'a KeepTrying<'a>,
}

/// Runs `attempt` until it is done or `config.max_attempts` requests were
/// made, sleeping a jittered backoff between tries; a retry is made only
/// while `keep_trying` says so.
pub(super) async fn run<F, Fut>(policy: Policy<'_>, mut attempt: F) -> SendResult
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt>,
{
    let Policy {
        config,
        keep_trying,
    } = policy;
    let max = config.max_attempts.max(1);
    let mut n = 1;
    loop {
        match attempt().await {
            Attempt::Done(result) => return result,
            Attempt::Retry { code, reason } if n >= max => {
                let s = if max == 1 { "" } else { "s" };
                return failed(code, format!("{reason} (gave up after {max} attempt{s})"));
            }
            Attempt::Retry { code, reason } => {
                tokio::time::sleep(backoff(config, n)).await;
                if !keep_trying() {
                    return failed(
                        code,
                        format!(
                            "{reason}; not tried again: the send is no longer this process's to make"
                        ),
                    );
                }
                n += 1;
            }
        }
    }
}

/// The wait after the `failed`-th failed attempt (1-based): uniform in
/// `[0, min(max_delay, base_delay * 2^(failed-1))]` ("full jitter").
pub(super) fn backoff(config: &RetryConfig, failed: u32) -> Duration {
    let exp = failed.saturating_sub(1).min(32);
    let ceiling = config
        .base_delay_ms
        .saturating_mul(1u64 << exp)
        .min(config.max_delay_ms);
    Duration::from_millis(rand::random_range(0..=ceiling))
}

/// Classifies an error from sending a request. Building errors are ours and
/// final; anything on the way (connecting, timing out, a broken connection)
/// is temporary.
pub(super) fn transport_error(
    provider: &str,
    error: &reqwest::Error,
    config: &RetryConfig,
) -> Attempt {
    if error.is_builder() {
        return Attempt::Done(failed(
            None,
            format!("not sent: {provider} request could not be built: {error}"),
        ));
    }
    let what = if error.is_timeout() {
        format!(
            "{provider} did not answer within {} ms",
            config.request_timeout_ms
        )
    } else if error.is_connect() {
        format!("{provider} could not be reached: {}", source_chain(error))
    } else {
        format!("{provider} request failed: {}", source_chain(error))
    };
    Attempt::Retry {
        code: None,
        reason: what,
    }
}

/// An error and its causes on one line (reqwest's own message is terse).
fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text.push_str(": ");
            text.push_str(&c_text);
        }
        cause = c.source();
    }
    text
}

/// Whether an HTTP status is worth retrying whatever the body says.
pub(super) fn retryable_status(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_and_grows() {
        let config = RetryConfig {
            max_attempts: 10,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
            request_timeout_ms: 1,
        };
        for _ in 0..200 {
            assert!(backoff(&config, 1) <= Duration::from_millis(100));
            assert!(backoff(&config, 3) <= Duration::from_millis(400));
            assert!(backoff(&config, 40) <= Duration::from_millis(1_000));
        }
        let zero = RetryConfig {
            base_delay_ms: 0,
            ..config
        };
        assert_eq!(backoff(&zero, 5), Duration::ZERO);
    }
}
