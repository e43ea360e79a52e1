//! Filling `{{variables}}` at send time.
//!
//! Text fields get values as they are. In a URL every inserted value is
//! percent-encoded down to RFC 3986's unreserved characters, which is safe in
//! any position (path, query, fragment): no contact value can add a `/`, `?`,
//! `&`, `=` or `#`, so none can change the link's host, path or other
//! parameters. A variable with no value renders empty and is reported.

use std::borrow::Cow;
use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::contact::Contact;
use crate::ir::{Part, Text};

/// Everything except `A-Z a-z 0-9 - . _ ~` is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where variable values come from.
pub(crate) struct Values<'a> {
    pub(crate) contact: &'a Contact,
    pub(crate) custom: &'a BTreeMap<String, String>,
}

impl Values<'_> {
    fn get(&self, path: &str) -> Option<Cow<'_, str>> {
        match path.split_once('.') {
            Some(("contact", key)) => self.contact.field_ref(key),
            Some(("custom_values", key)) => self
                .custom
                .get(key)
                .filter(|v| !v.is_empty())
                .map(|v| Cow::Borrowed(v.as_str())),
            _ => None,
        }
    }

    /// Renders text, pushing the paths of variables without a value onto `missing`.
    pub(crate) fn text(&self, text: &Text, missing: &mut Vec<String>) -> String {
        self.render(text, missing, false)
    }

    /// Renders a URL, percent-encoding every inserted value.
    pub(crate) fn url(&self, text: &Text, missing: &mut Vec<String>) -> String {
        self.render(text, missing, true)
    }

    fn render(&self, text: &Text, missing: &mut Vec<String>, encode: bool) -> String {
        // Room for the literals and a short value per variable, so a typical
        // text is built in one allocation.
        let estimate = text
            .0
            .iter()
            .map(|part| match part {
                Part::Text(s) => s.len(),
                Part::Var(_) | Part::VarOr { .. } => 16,
            })
            .sum();
        let mut out = String::with_capacity(estimate);
        for part in &text.0 {
            match part {
                Part::Text(s) => out.push_str(s),
                Part::Var(path) => match self.get(path) {
                    Some(v) if encode => out.extend(utf8_percent_encode(&v, COMPONENT)),
                    Some(v) => out.push_str(&v),
                    None => {
                        if !missing.contains(path) {
                            missing.push(path.clone());
                        }
                    }
                },
                // The fallback is the author's own text: in a URL it is
                // encoded as a value would be, so it cannot change the
                // URL's structure either.
                Part::VarOr { var, or } => {
                    let value = self.get(var).filter(|v| !v.trim().is_empty());
                    let value = value.as_deref().unwrap_or(or);
                    if encode {
                        out.extend(utf8_percent_encode(value, COMPONENT));
                    } else {
                        out.push_str(value);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(parts: &[(&str, bool)]) -> Text {
        Text(
            parts
                .iter()
                .map(|&(s, var)| {
                    if var {
                        Part::Var(s.into())
                    } else {
                        Part::Text(s.into())
                    }
                })
                .collect(),
        )
    }

    #[test]
    fn url_values_cannot_change_structure() {
        let mut contact = Contact::new("c1");
        contact
            .fields
            .insert("first_name".into(), "Ana&admin=1#x/../evil.com?".into());
        let custom = BTreeMap::new();
        let values = Values {
            contact: &contact,
            custom: &custom,
        };
        let mut missing = Vec::new();
        let url = values.url(
            &text(&[
                ("https://www.example.com/p/", false),
                ("contact.first_name", true),
                ("?n=", false),
                ("contact.first_name", true),
            ]),
            &mut missing,
        );
        assert_eq!(
            url,
            "https://www.example.com/p/Ana%26admin%3D1%23x%2F..%2Fevil.com%3F?n=Ana%26admin%3D1%23x%2F..%2Fevil.com%3F"
        );
        let parsed = url::Url::parse(&url).expect("still a URL");
        assert_eq!(parsed.host_str(), Some("www.example.com"));
        assert_eq!(parsed.query_pairs().count(), 1);
        assert!(missing.is_empty());
    }

    #[test]
    fn missing_values_render_empty_and_are_reported() {
        let contact = Contact::new("c1");
        let mut custom = BTreeMap::new();
        custom.insert("agent_calendar".to_owned(), "dr-lee".to_owned());
        let values = Values {
            contact: &contact,
            custom: &custom,
        };
        let mut missing = Vec::new();
        let out = values.text(
            &text(&[
                ("Hi ", false),
                ("contact.first_name", true),
                (", see ", false),
                ("custom_values.agent_calendar", true),
            ]),
            &mut missing,
        );
        assert_eq!(out, "Hi , see dr-lee");
        assert_eq!(missing, vec!["contact.first_name".to_owned()]);
    }

    #[test]
    fn unicode_is_encoded_as_utf8() {
        let mut contact = Contact::new("c1");
        contact.fields.insert("city".into(), "São Paulo".into());
        let custom = BTreeMap::new();
        let values = Values {
            contact: &contact,
            custom: &custom,
        };
        let url = values.url(
            &text(&[("https://a.example/?c=", false), ("contact.city", true)]),
            &mut Vec::new(),
        );
        assert_eq!(url, "https://a.example/?c=S%C3%A3o%20Paulo");
    }
}
