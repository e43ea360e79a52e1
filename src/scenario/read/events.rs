//! `[[events]]`: the timeline, each event at a time after the start.

use toml::Spanned;

use super::values::suggest;
use super::{RawEvent, Reader, ScenarioError};
use crate::ir::Channel;
use crate::scenario::model::{EventKind, MessageRef, ScenarioEvent, offset_label};

impl Reader<'_> {
    pub(super) fn events(
        &self,
        raw: Vec<Spanned<RawEvent>>,
    ) -> Result<Vec<ScenarioEvent>, ScenarioError> {
        if raw.is_empty() {
            return Err(ScenarioError::file(
                self.path,
                "the scenario has no [[events]]; runs start with a reply, such as\n\n    [[events]]\n    at = \"0s\"\n    reply = \"whatsapp\"",
            ));
        }
        let mut events: Vec<ScenarioEvent> = Vec::new();
        for event in raw {
            let span = event.span();
            let event = event.into_inner();
            let at = self.offset(&event.at, "at")?;
            if let Some(before) = events.last().filter(|e| e.at > at) {
                return self.error(
                    event.at.span(),
                    format!(
                        "events must be in time order: this one at {} comes after one at {}",
                        offset_label(at),
                        offset_label(before.at)
                    ),
                );
            }
            let given: Vec<&str> = [
                ("reply", event.reply.is_some()),
                ("link_opened", event.link_opened.is_some()),
                ("delivery_failed", event.delivery_failed.is_some()),
                ("delivered", event.delivered.is_some()),
                ("button_reply", event.button_reply.is_some()),
                ("list_reply", event.list_reply.is_some()),
                ("tagged", event.tagged.is_some()),
            ]
            .iter()
            .filter(|(_, present)| *present)
            .map(|(key, _)| *key)
            .collect();
            if given.len() != 1 {
                let found = if given.is_empty() {
                    "none".to_owned()
                } else {
                    given.join(", ")
                };
                return self.error(
                    span,
                    format!(
                        "an event needs exactly one of `reply`, `button_reply`, `list_reply`, `link_opened`, `delivery_failed`, `delivered` or `tagged` (found {found})"
                    ),
                );
            }
            if let Some(reason) = &event.reason
                && event.delivery_failed.is_none()
            {
                return self.error(reason.span(), "`reason` goes only with `delivery_failed`");
            }
            if let Some(answers) = &event.answers
                && event.button_reply.is_none()
                && event.list_reply.is_none()
            {
                return self.error(
                    answers.span(),
                    "`answers` goes only with `button_reply` or `list_reply`",
                );
            }
            let answers = match &event.answers {
                Some(message) => self.message_ref(message, "answers")?,
                None => MessageRef::Last,
            };
            let what = if let Some(channel) = event.reply {
                EventKind::Reply(self.channel(&channel)?)
            } else if let Some(message) = event.link_opened {
                EventKind::LinkOpened(self.message_ref(&message, "link_opened")?)
            } else if let Some(message) = event.delivery_failed {
                let reason = event.reason.map_or_else(
                    || "the provider reported the message undelivered".to_owned(),
                    Spanned::into_inner,
                );
                EventKind::DeliveryFailed(self.message_ref(&message, "delivery_failed")?, reason)
            } else if let Some(tag) = event.tagged {
                if tag.get_ref().trim().is_empty() {
                    return self.error(tag.span(), "name the tag, such as \"booked\"");
                }
                EventKind::Tagged(tag.into_inner())
            } else if let Some(message) = event.delivered {
                EventKind::Delivered(self.message_ref(&message, "delivered")?)
            } else if let Some(id) = event.button_reply.or(event.list_reply.clone()) {
                let list = event.list_reply.is_some();
                if id.get_ref().is_empty() {
                    return self.error(
                        id.span(),
                        "name the chosen button or row by its id, such as \"confirm\"",
                    );
                }
                EventKind::Chose {
                    id: id.into_inner(),
                    list,
                    answers,
                }
            } else {
                return self.error(
                    span,
                    "an event needs `reply`, `button_reply`, `list_reply`, `link_opened`, `delivery_failed`, `delivered` or `tagged`",
                );
            };
            events.push(ScenarioEvent { at, what });
        }
        Ok(events)
    }

    pub(super) fn channel(&self, value: &Spanned<String>) -> Result<Channel, ScenarioError> {
        match value.get_ref().as_str() {
            "whatsapp" => Ok(Channel::Whatsapp),
            "sms" => Ok(Channel::Sms),
            "email" => Ok(Channel::Email),
            other => {
                const CHANNELS: [&str; 3] = ["whatsapp", "sms", "email"];
                self.error(
                    value.span(),
                    format!(
                        "`reply`: `{other}` is not a channel{}; channels are whatsapp, sms and email",
                        suggest(other, &CHANNELS)
                    ),
                )
            }
        }
    }

    pub(super) fn message_ref(
        &self,
        value: &Spanned<String>,
        key: &str,
    ) -> Result<MessageRef, ScenarioError> {
        let text = value.get_ref();
        if text == "last" {
            return Ok(MessageRef::Last);
        }
        let numbered = text
            .strip_prefix("msg-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if numbered {
            Ok(MessageRef::Id(text.clone()))
        } else {
            self.error(
                value.span(),
                format!(
                    "`{key}` = `{text}`: name the message as \"last\" (the last one of its kind sent) or by its id, such as \"msg-1\" (the simulated provider numbers messages in send order)"
                ),
            )
        }
    }
}
