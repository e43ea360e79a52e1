//! Provider webhook bodies to kflow's inbound items.
//!
//! Shapes follow `shared/reference/whatsapp.md` §6.4–6.5 (WhatsApp), §10
//! (Twilio) and a simple JSON form for inbound email. Unknown fields and
//! unknown message types are tolerated (Meta adds them); bodies that are not
//! the expected shape at all are an error with a reason, answered 400.
//! Every item carries a de-duplication key, because providers retry.

use serde::{Deserialize, Serialize};

use crate::ir::Channel;

/// One thing a webhook told us.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Inbound {
    /// The contact wrote to us.
    Reply {
        /// Contact id: E.164 phone for WhatsApp and SMS, the address for email.
        contact: String,
        /// The channel.
        channel: Channel,
        /// The profile name WhatsApp reported, if any.
        name: Option<String>,
        /// A tap on a reply button or a list row: what was chosen, on
        /// which message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        choice: Option<Choice>,
    },
    /// A contact record from the admin API: fields, email, phone, tags.
    Contact {
        /// The new record (its window time is kept from the stored one).
        contact: crate::runtime::Contact,
    },
    /// A tracking link was opened for the first time before it expired.
    LinkOpened {
        /// The link's token.
        token: String,
    },
    /// A delivery status for a message we sent.
    Status {
        /// The provider's message id.
        message_id: String,
        /// `sent`, `delivered`, `read` or `failed` (Twilio's `undelivered`
        /// is reported as `failed`).
        status: String,
        /// For failures: the provider's code and text.
        error: Option<String>,
    },
}

/// A button or list reply, or a template quick-reply tap (§6.4): the chosen
/// id (a template's: its payload) and the message it answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Choice {
    /// `button_reply.id`, `list_reply.id` or `button.payload`.
    pub id: String,
    /// `context.id`: the wamid of the message the reply answers.
    pub answers: Option<String>,
}

/// An inbound item and the key that identifies it across retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Keyed {
    /// Unique per notification: a message id, or a message id and status.
    pub key: String,
    /// The item.
    pub item: Inbound,
}

/// Why a body was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct BadBody(pub String);

impl std::fmt::Display for BadBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Deserialize)]
struct Notification {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: ChangeValue,
}

#[derive(Deserialize, Default)]
struct ChangeValue {
    #[serde(default)]
    contacts: Vec<WaContact>,
    #[serde(default)]
    messages: Vec<WaMessage>,
    #[serde(default)]
    statuses: Vec<WaStatus>,
}

#[derive(Deserialize)]
struct WaContact {
    wa_id: Option<String>,
    profile: Option<WaProfile>,
}

#[derive(Deserialize)]
struct WaProfile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct WaMessage {
    from: String,
    id: String,
    #[serde(default)]
    context: Option<WaContext>,
    #[serde(default)]
    interactive: Option<WaInteractive>,
    /// A tap on a template's quick reply (`type: button`).
    #[serde(default)]
    button: Option<WaButton>,
}

/// `button` of an inbound message: a template quick reply's payload (§6.4).
#[derive(Deserialize)]
struct WaButton {
    payload: Option<String>,
}

#[derive(Deserialize)]
struct WaContext {
    id: Option<String>,
}

/// `interactive` of an inbound message: a button or list reply. Other
/// interactive types (flows, ...) are plain replies.
#[derive(Deserialize)]
struct WaInteractive {
    button_reply: Option<WaChosen>,
    list_reply: Option<WaChosen>,
}

#[derive(Deserialize)]
struct WaChosen {
    id: String,
}

impl WaMessage {
    fn choice(&self) -> Option<Choice> {
        let id = match (&self.interactive, &self.button) {
            (Some(interactive), _) => interactive
                .button_reply
                .as_ref()
                .or(interactive.list_reply.as_ref())?
                .id
                .clone(),
            // A template's quick reply carries the payload the send gave it.
            (None, Some(button)) => button.payload.clone()?,
            (None, None) => return None,
        };
        Some(Choice {
            id,
            answers: self.context.as_ref().and_then(|c| c.id.clone()),
        })
    }
}

#[derive(Deserialize)]
struct WaStatus {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<WaError>,
}

#[derive(Deserialize)]
struct WaError {
    code: Option<i64>,
    title: Option<String>,
    message: Option<String>,
}

/// `15551230000` or `+15551230000` to `+15551230000`.
fn e164(number: &str) -> String {
    let digits = number.trim().trim_start_matches('+');
    format!("+{digits}")
}

/// Parses a WhatsApp Cloud API notification (`object:
/// whatsapp_business_account`): inbound messages become replies, statuses
/// become status items.
pub(super) fn whatsapp(body: &[u8]) -> Result<Vec<Keyed>, BadBody> {
    let n: Notification = serde_json::from_slice(body)
        .map_err(|e| BadBody(format!("not a WhatsApp notification: {e}")))?;
    if n.object != "whatsapp_business_account" {
        return Err(BadBody(format!(
            "`object` is `{}`, expected `whatsapp_business_account`",
            n.object
        )));
    }
    let mut out = Vec::new();
    for change in n.entry.iter().flat_map(|e| &e.changes) {
        if change.field != "messages" {
            continue;
        }
        for m in &change.value.messages {
            let name = change
                .value
                .contacts
                .iter()
                .find(|c| c.wa_id.as_deref() == Some(m.from.as_str()))
                .and_then(|c| c.profile.as_ref())
                .and_then(|p| p.name.clone());
            out.push(Keyed {
                key: format!("wa:msg:{}", m.id),
                item: Inbound::Reply {
                    contact: e164(&m.from),
                    channel: Channel::Whatsapp,
                    name,
                    choice: m.choice(),
                },
            });
        }
        for s in &change.value.statuses {
            let error = s.errors.first().map(|e| {
                let code = e.code.map(|c| c.to_string()).unwrap_or_default();
                let text = e
                    .message
                    .clone()
                    .or_else(|| e.title.clone())
                    .unwrap_or_default();
                format!("{code} {text}").trim().to_owned()
            });
            out.push(Keyed {
                key: format!("wa:status:{}:{}", s.id, s.status),
                item: Inbound::Status {
                    message_id: s.id.clone(),
                    status: s.status.clone(),
                    error,
                },
            });
        }
    }
    Ok(out)
}

fn form_value<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Parses a Twilio inbound-message webhook (form fields `From`, `MessageSid`).
pub(super) fn twilio_inbound(params: &[(String, String)]) -> Result<Keyed, BadBody> {
    let from = form_value(params, "From").ok_or_else(|| BadBody("missing `From`".into()))?;
    let sid = form_value(params, "MessageSid")
        .or_else(|| form_value(params, "SmsSid"))
        .ok_or_else(|| BadBody("missing `MessageSid`".into()))?;
    Ok(Keyed {
        key: format!("tw:msg:{sid}"),
        item: Inbound::Reply {
            contact: e164(from),
            channel: Channel::Sms,
            name: None,
            choice: None,
        },
    })
}

/// Parses a Twilio status callback (`MessageSid`, `MessageStatus`, `ErrorCode`).
/// `undelivered` counts as `failed`; statuses kflow does not track (`queued`,
/// `sending`, ...) give `None`.
pub(super) fn twilio_status(params: &[(String, String)]) -> Result<Option<Keyed>, BadBody> {
    let sid =
        form_value(params, "MessageSid").ok_or_else(|| BadBody("missing `MessageSid`".into()))?;
    let raw = form_value(params, "MessageStatus")
        .ok_or_else(|| BadBody("missing `MessageStatus`".into()))?;
    let status = match raw {
        "sent" | "delivered" | "read" | "failed" => raw,
        "undelivered" => "failed",
        _ => return Ok(None),
    };
    let error = form_value(params, "ErrorCode")
        .filter(|c| !c.is_empty())
        .map(|c| format!("Twilio error {c}"));
    Ok(Some(Keyed {
        key: format!("tw:status:{sid}:{status}"),
        item: Inbound::Status {
            message_id: sid.to_owned(),
            status: status.to_owned(),
            error,
        },
    }))
}

#[derive(Deserialize)]
struct EmailReply {
    from: String,
    message_id: String,
}

/// Parses the inbound email webhook: `{"from": "ana@example.com",
/// "message_id": "<id>", ...}` (other fields are ignored).
pub(super) fn email(body: &[u8]) -> Result<Keyed, BadBody> {
    let e: EmailReply =
        serde_json::from_slice(body).map_err(|e| BadBody(format!("not an inbound email: {e}")))?;
    let address = e.from.trim().to_ascii_lowercase();
    if !address.contains('@') {
        return Err(BadBody(format!("`from` is not an address: `{}`", e.from)));
    }
    Ok(Keyed {
        key: format!("email:msg:{}", e.message_id),
        item: Inbound::Reply {
            contact: address,
            channel: Channel::Email,
            name: None,
            choice: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cloud API payloads as Meta posts them (`tests/serve/cloud_api/`).
    fn cloud_api(name: &str) -> Vec<Keyed> {
        let path = format!(
            "{}/tests/serve/cloud_api/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(&path).expect("fixture");
        whatsapp(&body).unwrap_or_else(|e| panic!("{name}: {}", e.0))
    }

    fn ana_replied(id: &str, choice: Option<(&str, &str)>) -> Keyed {
        Keyed {
            key: format!("wa:msg:{id}"),
            item: Inbound::Reply {
                contact: "+351912345678".into(),
                channel: Channel::Whatsapp,
                name: Some("Ana Silva".into()),
                choice: choice.map(|(id, answers)| Choice {
                    id: id.into(),
                    answers: Some(answers.into()),
                }),
            },
        }
    }

    #[test]
    fn every_kind_of_inbound_message_is_a_whatsapp_reply() {
        for (file, id, choice) in [
            (
                "text.json",
                "wamid.HBgMMzUxOTEyMzQ1Njc4FQIAEhggQ0YyRTk0RkIwNkFGRjE2NzQ2AA==",
                None,
            ),
            (
                "button_reply.json",
                "wamid.HBgMMzUxOTEyMzQ1Njc4FQIAEhgUM0E3QkI1RjM5RjQ1RTlGQkY1NjYA",
                Some((
                    "confirm",
                    "wamid.HBgMMzUxOTEyMzQ1Njc4FQIAERgSQjZFRTdCMTk2QTRBMDk1RkI2AA==",
                )),
            ),
            (
                "list_reply.json",
                "wamid.HBgMMzUxOTEyMzQ1Njc4FQIAEhgUM0FCRjAyRTk1OEFDNDQ4NzBCRjIA",
                Some((
                    "m9",
                    "wamid.HBgMMzUxOTEyMzQ1Njc4FQIAERgSNDg5QTJDMjNBRTQ3QkNCMTQwAA==",
                )),
            ),
            // A template's quick-reply tap has another shape (`button`):
            // its payload is the choice, and `context.id` the template.
            (
                "template_button.json",
                "wamid.HBgMMzUxOTEyMzQ1Njc4FQIAEhgUM0EyOTlBNzE0MkI2NUIzNTM4N0EA",
                Some((
                    "reschedule",
                    "wamid.HBgMMzUxOTEyMzQ1Njc4FQIAERgSRkI0QTdCMkQ2RDBEMjVFNUE2AA==",
                )),
            ),
        ] {
            assert_eq!(cloud_api(file), vec![ana_replied(id, choice)], "{file}");
        }
    }

    #[test]
    fn statuses_keep_their_order_and_the_failure_its_error() {
        let status = |id: &str, status: &str, error: Option<&str>| Keyed {
            key: format!("wa:status:{id}:{status}"),
            item: Inbound::Status {
                message_id: id.into(),
                status: status.into(),
                error: error.map(str::to_owned),
            },
        };
        assert_eq!(
            cloud_api("statuses.json"),
            vec![
                status("wamid.OUT-1", "sent", None),
                status("wamid.OUT-1", "delivered", None),
                status("wamid.OUT-1", "read", None),
                status(
                    "wamid.OUT-2",
                    "failed",
                    Some("131047 Re-engagement message")
                ),
            ]
        );
    }

    #[test]
    fn whatsapp_inbound_message_and_failed_status() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"PNID"},
            "contacts":[{"profile":{"name":"Ana"},"wa_id":"15551230000"}],
            "messages":[{"from":"15551230000","id":"wamid.IN1","timestamp":"1749416383","type":"text","text":{"body":"hi"}}]}},
            {"field":"messages","value":{"statuses":[{"id":"wamid.OUT1","status":"failed","timestamp":"1750030073","recipient_id":"15551230000",
            "biz_opaque_callback_data":"run=1;node=2","errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message"}],"new_field":1}]}}]}]}"#;
        let items = whatsapp(body).expect("valid");
        assert_eq!(
            items,
            vec![
                Keyed {
                    key: "wa:msg:wamid.IN1".into(),
                    item: Inbound::Reply {
                        contact: "+15551230000".into(),
                        channel: Channel::Whatsapp,
                        name: Some("Ana".into()),
                        choice: None,
                    }
                },
                Keyed {
                    key: "wa:status:wamid.OUT1:failed".into(),
                    item: Inbound::Status {
                        message_id: "wamid.OUT1".into(),
                        status: "failed".into(),
                        error: Some("131047 Re-engagement message".into())
                    }
                },
            ]
        );
    }

    #[test]
    fn whatsapp_rejects_other_objects_and_garbage() {
        assert!(whatsapp(br#"{"object":"page","entry":[]}"#).is_err());
        assert!(whatsapp(b"not json").is_err());
        assert!(whatsapp(br#"{"entry":[]}"#).is_err());
        assert_eq!(
            whatsapp(br#"{"object":"whatsapp_business_account"}"#),
            Ok(vec![])
        );
    }

    #[test]
    fn twilio_forms() {
        let p = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let reply = twilio_inbound(&p(&[
            ("From", "+15551230000"),
            ("MessageSid", "SM1"),
            ("Body", "YES"),
        ]))
        .expect("ok");
        assert_eq!(reply.key, "tw:msg:SM1");
        let failed = twilio_status(&p(&[
            ("MessageSid", "SM2"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ]))
        .expect("ok")
        .expect("tracked");
        assert_eq!(
            failed.item,
            Inbound::Status {
                message_id: "SM2".into(),
                status: "failed".into(),
                error: Some("Twilio error 30003".into())
            }
        );
        assert_eq!(
            twilio_status(&p(&[("MessageSid", "SM3"), ("MessageStatus", "queued")])),
            Ok(None)
        );
        assert!(twilio_inbound(&p(&[("Body", "x")])).is_err());
    }

    #[test]
    fn email_reply() {
        let k = email(br#"{"from":"Ana@Example.com","message_id":"<m1@x>","subject":"Re: hi"}"#)
            .expect("ok");
        assert_eq!(k.key, "email:msg:<m1@x>");
        assert!(
            matches!(k.item, Inbound::Reply { ref contact, .. } if contact == "ana@example.com")
        );
        assert!(email(br#"{"from":"nobody","message_id":"1"}"#).is_err());
    }
}
