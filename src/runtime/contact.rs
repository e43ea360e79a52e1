//! Contacts as the engine sees them: fields for variables, tags for
//! conditions, and when they last wrote on WhatsApp (the window).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The 24-hour customer service window.
pub const WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// One contact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The embedder's id for the contact; events name contacts by it.
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
        match key {
            "id" => Some(self.id.clone()),
            "phone" => self.phone.clone(),
            "email" => self.email.clone(),
            "name" => self.fields.get("name").cloned().or_else(|| {
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
                (!joined.is_empty()).then_some(joined)
            }),
            other => self.fields.get(other).cloned(),
        }
        .filter(|v| !v.is_empty())
    }
}
