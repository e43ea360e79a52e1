//! Contacts as the engine sees them: fields for variables, tags for
//! conditions, and when they last wrote on WhatsApp (the window).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The 24-hour customer service window.
pub const WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// One contact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The embedder's id for the contact; events name contacts by it.
    #[serde(default)]
    pub id: String,
    /// E.164 phone number, for WhatsApp and SMS.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Other fields by key (`first_name`, custom fields, ...).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// When the contact last sent a WhatsApp message.
    pub last_whatsapp_inbound: Option<DateTime<Utc>>,
}

impl Contact {
    /// A contact with only an id.
    pub fn new(id: impl Into<String>) -> Contact {
        Contact {
            id: id.into(),
            ..Contact::default()
        }
    }

    /// Whether the WhatsApp window is open at `now`: the last inbound
    /// WhatsApp message is less than 24 hours old.
    pub fn window_open(&self, now: DateTime<Utc>) -> bool {
        self.last_whatsapp_inbound
            .is_some_and(|t| t <= now && now - t < WINDOW)
    }

    /// The value of `contact.<key>`, if the contact has one.
    pub fn field(&self, key: &str) -> Option<String> {
        self.field_ref(key).map(Cow::into_owned)
    }

    /// [`Contact::field`] without copying stored values: rendering reads
    /// several fields per send, and only a derived `name` needs building.
    pub(crate) fn field_ref(&self, key: &str) -> Option<Cow<'_, str>> {
        fn stored(v: Option<&String>) -> Option<Cow<'_, str>> {
            v.map(|v| Cow::Borrowed(v.as_str()))
        }
        match key {
            "id" => Some(Cow::Borrowed(self.id.as_str())),
            "phone" => stored(self.phone.as_ref()),
            "email" => stored(self.email.as_ref()),
            "name" => stored(self.fields.get("name")).or_else(|| {
                let first = self
                    .fields
                    .get("first_name")
                    .map(String::as_str)
                    .unwrap_or("");
                let last = self
                    .fields
                    .get("last_name")
                    .map(String::as_str)
                    .unwrap_or("");
                let joined = format!("{first} {last}").trim().to_owned();
                (!joined.is_empty()).then_some(Cow::Owned(joined))
            }),
            other => stored(self.fields.get(other)),
        }
        .filter(|v| !v.is_empty())
    }
}
