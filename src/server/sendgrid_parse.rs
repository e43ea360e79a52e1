//! SendGrid Inbound Parse: the email replies SendGrid receives for a
//! domain, posted as `multipart/form-data` with its fields (`headers`,
//! `from`, `to`, `subject`, `text`, `html`, `envelope`, `dkim`, `SPF`,
//! `charsets`, attachments...). Only three matter to kflow: who wrote
//! (`from`, else the envelope's sender), and which message it is (the
//! `Message-ID` in `headers`), so SendGrid's retries of one email are one
//! reply.

use sha2::{Digest as _, Sha256};

use super::inbound::{BadBody, Inbound, Keyed};
use crate::ir::Channel;
use crate::platform::address::is_email;

/// Fields read into memory; everything else (attachments above all) is
/// skipped as it streams past.
const READ: &[&str] = &["from", "headers", "envelope", "subject", "text"];

/// The fields kflow reads, as posted.
#[derive(Default)]
struct Fields {
    from: Option<String>,
    headers: Option<String>,
    envelope: Option<String>,
    subject: Option<String>,
    text: Option<String>,
}

/// Parses one Inbound Parse post whose `Content-Type` is `content_type`.
pub(super) async fn parse(body: &[u8], content_type: &str) -> Result<Keyed, BadBody> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| BadBody(format!("not SendGrid's multipart/form-data: {e}")))?;
    let mut multipart = multer::Multipart::with_reader(std::io::Cursor::new(body), boundary);
    let mut fields = Fields::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| BadBody(format!("malformed multipart body: {e}")))?
    {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        if !READ.contains(&name.as_str()) {
            continue;
        }
        let value = field
            .text()
            .await
            .map_err(|e| BadBody(format!("field `{name}` is not text: {e}")))?;
        let slot = match name.as_str() {
            "from" => &mut fields.from,
            "headers" => &mut fields.headers,
            "envelope" => &mut fields.envelope,
            "subject" => &mut fields.subject,
            _ => &mut fields.text,
        };
        *slot = Some(value);
    }
    let address = fields
        .from
        .as_deref()
        .and_then(address_of)
        .or_else(|| fields.envelope.as_deref().and_then(envelope_sender))
        .ok_or_else(|| BadBody("no sender address in `from` or `envelope`".to_owned()))?;
    let key = match fields.headers.as_deref().and_then(message_id) {
        Some(id) => format!("email:msg:{id}"),
        // No Message-ID (rare): the same email posted again hashes the same.
        None => {
            let mut hash = Sha256::new();
            for part in [&fields.from, &fields.headers, &fields.subject, &fields.text] {
                hash.update(part.as_deref().unwrap_or_default().as_bytes());
                hash.update([0]);
            }
            format!("email:sha256:{}", hex::encode(hash.finalize()))
        }
    };
    Ok(Keyed {
        key,
        item: Inbound::Reply {
            contact: address,
            channel: Channel::Email,
            name: None,
            choice: None,
        },
    })
}

/// The address in a `From` value: `Ana Silva <Ana@Example.com>` or a bare
/// `ana@example.com`, lower-cased as contact ids are.
fn address_of(from: &str) -> Option<String> {
    let inner = match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => &from[open + 1..close],
        _ => from,
    };
    let address = inner.trim().to_ascii_lowercase();
    is_email(&address).then_some(address)
}

/// `from` of the SMTP envelope SendGrid posts as JSON:
/// `{"to":["bookings@parse.example.com"],"from":"ana@example.com"}`.
fn envelope_sender(envelope: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(envelope).ok()?;
    address_of(value.get("from")?.as_str()?)
}

/// The `Message-ID` of raw headers (case-insensitive name, folded lines).
fn message_id(headers: &str) -> Option<String> {
    let mut lines = headers.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("message-id") {
            continue;
        }
        let mut value = value.trim().to_owned();
        // A folded header continues on lines that start with white space.
        while let Some(next) = lines.next_if(|l| l.starts_with([' ', '\t'])) {
            value.push_str(next.trim());
        }
        return (!value.is_empty()).then_some(value);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A post as SendGrid makes it: every field of its Inbound Parse
    /// documentation, in its order, with a PDF attachment kflow skips.
    const FIXTURE: &[u8] = include_bytes!("../../tests/serve/sendgrid_inbound_parse.multipart");

    /// A minimal post with `from` and, if given, a `Message-ID`.
    fn post(boundary: &str, from: &str, message_id: Option<&str>) -> Vec<u8> {
        let id_line = message_id.map_or(String::new(), |id| format!("Message-ID: {id}\n"));
        let mut body = Vec::new();
        for (name, value) in [
            (
                "headers",
                format!("From: {from}\n{id_line}Subject: Re: hi\n"),
            ),
            ("from", from.to_owned()),
            (
                "envelope",
                r#"{"to":["b@parse.example.com"],"from":"bounce+ana@mail.example.com"}"#.to_owned(),
            ),
        ] {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }

    fn run(body: &[u8], content_type: &str) -> Result<Keyed, BadBody> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(parse(body, content_type))
    }

    #[test]
    fn a_reply_from_the_from_header_keyed_by_message_id() {
        let keyed = run(FIXTURE, "multipart/form-data; boundary=xYzZY").expect("parses");
        assert_eq!(keyed.key, "email:msg:<CAF=abc123+xyz@mail.example.com>");
        assert_eq!(
            keyed.item,
            Inbound::Reply {
                contact: "ana@example.com".into(),
                channel: Channel::Email,
                name: None,
                choice: None,
            }
        );
    }

    #[test]
    fn without_a_message_id_the_same_post_gets_the_same_key() {
        let body = post("b1", "ana@example.com", None);
        let first = run(&body, "multipart/form-data; boundary=b1").expect("parses");
        let again = run(&body, "multipart/form-data; boundary=b1").expect("parses");
        assert!(first.key.starts_with("email:sha256:"));
        assert_eq!(first.key, again.key);
    }

    #[test]
    fn the_envelope_answers_when_from_is_no_address() {
        let body = post("b2", "undisclosed", Some("<m@x>"));
        let keyed = run(&body, "multipart/form-data; boundary=b2").expect("parses");
        assert!(
            matches!(keyed.item, Inbound::Reply { contact, .. } if contact == "bounce+ana@mail.example.com")
        );
    }

    #[test]
    fn malformed_posts_are_refused_with_a_reason() {
        assert!(run(b"--b\r\nnot a part", "multipart/form-data; boundary=b").is_err());
        assert!(run(b"", "text/plain").is_err());
        let body =
            b"--b\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nhi\r\n--b--\r\n";
        let error = run(body, "multipart/form-data; boundary=b").expect_err("no sender");
        assert!(error.0.contains("no sender"), "{}", error.0);
    }

    #[test]
    fn folded_message_ids_and_other_cases() {
        assert_eq!(
            message_id("Subject: x\nmessage-id:\n <a@b>\nTo: y\n").as_deref(),
            Some("<a@b>")
        );
        assert_eq!(message_id("Subject: x\n"), None);
        assert_eq!(
            address_of("\"Ana\" <ana@x.com>").as_deref(),
            Some("ana@x.com")
        );
        assert_eq!(address_of("no address"), None);
    }
}
