//! Webhook signatures: Meta's `X-Hub-Signature-256` and Twilio's
//! `X-Twilio-Signature`. Both are HMACs over what the provider sent; both are
//! compared in constant time; a request failing either is answered 401 and
//! nothing it carried is recorded.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// Checks Meta's `X-Hub-Signature-256: sha256=<hex>` against the HMAC-SHA256
/// of the raw body keyed with the app secret.
pub fn verify_meta(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The `X-Hub-Signature-256` value for a body (for tests and tools).
pub fn sign_meta(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).unwrap_or_else(|_| unreachable_key());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks Twilio's `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the
/// auth token, over the full URL Twilio requested followed by every POST
/// parameter's name and value, sorted by name.
pub fn verify_twilio(
    auth_token: &[u8],
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> bool {
    let Some(given) = header else { return false };
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token) else {
        return false;
    };
    mac.update(twilio_payload(url, params).as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// The `X-Twilio-Signature` value for a request (for tests and tools).
pub fn sign_twilio(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token).unwrap_or_else(|_| unreachable_key());
    mac.update(twilio_payload(url, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn twilio_payload(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut out = url.to_owned();
    for (k, v) in sorted {
        out.push_str(k);
        out.push_str(v);
    }
    out
}

/// HMAC accepts keys of any length; this cannot happen.
fn unreachable_key<T>() -> T {
    unreachable!("HMAC takes keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_signature_round_trips_and_rejects_tampering() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let sig = sign_meta(b"app-secret", body);
        assert!(verify_meta(b"app-secret", body, Some(&sig)));
        assert!(!verify_meta(b"other-secret", body, Some(&sig)));
        assert!(!verify_meta(b"app-secret", b"{}", Some(&sig)));
        assert!(!verify_meta(b"app-secret", body, None));
        assert!(!verify_meta(b"app-secret", body, Some("sha256=zz")));
        assert!(!verify_meta(
            b"app-secret",
            body,
            Some(sig.trim_start_matches("sha256="))
        ));
    }

    #[test]
    fn meta_signature_matches_a_known_vector() {
        // HMAC-SHA256(key="key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            sign_meta(b"key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn twilio_signature_sorts_parameters() {
        let params = vec![
            ("To".to_owned(), "+15550100001".to_owned()),
            ("Body".to_owned(), "YES".to_owned()),
            ("From".to_owned(), "+15551230000".to_owned()),
        ];
        let url = "https://kflow.example.com/webhooks/twilio/inbound";
        let sig = sign_twilio(b"token", url, &params);
        let mut reordered = params.clone();
        reordered.reverse();
        assert!(verify_twilio(b"token", url, &reordered, Some(&sig)));
        assert!(!verify_twilio(
            b"token",
            "https://evil.example/",
            &params,
            Some(&sig)
        ));
        assert!(!verify_twilio(b"wrong", url, &params, Some(&sig)));
        assert!(!verify_twilio(b"token", url, &params, None));
    }
}
