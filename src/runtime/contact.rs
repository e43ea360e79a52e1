//! Contacts as the engine sees them: fields for variables, tags for
//! conditions, and when they last wrote on WhatsApp (the window).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The 24-hour customer service window, as [`crate::platform::limits::WINDOW_SECONDS`].
pub const WINDOW: chrono::Duration =
    chrono::Duration::seconds(crate::platform::limits::WINDOW_SECONDS);

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
    pub fields: Fields,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// When the contact last sent a WhatsApp message.
    pub last_whatsapp_inbound: Option<DateTime<Utc>>,
    /// For each workflow with a frequency cap, by name: when its last sends
    /// to the contact went out, oldest first. Only the last `count` of a cap
    /// of `count` matter, so no more are kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub recent_sends: BTreeMap<String, Vec<DateTime<Utc>>>,
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

/// A contact's fields: a small map kept as a sorted vector. Contacts have a
/// handful of fields and a service keeps a million contacts in memory; a
/// `BTreeMap` node costs over 500 bytes even for one entry, this costs the
/// entries. Serialized as a JSON object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Sets a field; returns its old value.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// A field's value.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// Whether the field is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Removes a field; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    /// The fields in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// How many fields are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = String;

    /// The field's value; panics when it is not set, like a map's index.
    fn index(&self, key: &str) -> &String {
        match self.get(key) {
            Some(v) => v,
            None => panic!("contact field `{key}` is not set"),
        }
    }
}

impl FromIterator<(String, String)> for Fields {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Fields {
        let map: BTreeMap<String, String> = iter.into_iter().collect();
        Fields(map.into_iter().collect())
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Fields, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Fields(map.into_iter().collect()))
    }
}

#[cfg(test)]
mod fields_tests {
    use super::*;

    #[test]
    fn fields_behave_like_a_sorted_map() {
        let mut f = Fields::default();
        assert_eq!(f.insert("name".into(), "Ana".into()), None);
        assert_eq!(f.insert("city".into(), "Lisbon".into()), None);
        assert_eq!(
            f.insert("name".into(), "Ana Silva".into()),
            Some("Ana".into())
        );
        assert_eq!(f.get("name").map(String::as_str), Some("Ana Silva"));
        assert!(f.contains_key("city"));
        assert_eq!(
            f.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            vec!["city", "name"]
        );
        let json = serde_json::to_string(&f).expect("serializes");
        assert_eq!(json, r#"{"city":"Lisbon","name":"Ana Silva"}"#);
        assert_eq!(serde_json::from_str::<Fields>(&json).expect("parses"), f);
        assert_eq!(f.remove("city"), Some("Lisbon".into()));
        assert_eq!(f.len(), 1);
    }
}
