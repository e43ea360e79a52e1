//! `[contact]`, `[custom_values]` and `[provider]`: who the scenario is
//! about and what the account and the simulated provider do.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use chrono::{DateTime, Utc};
use toml::Spanned;

use super::values::{is_ident, suggest, type_name};
use super::{RawProvider, Reader, ScenarioError};
use crate::platform::address::{is_e164, is_email};
use crate::runtime::Contact;
use crate::scenario::model::{DEFAULT_CONTACT, KINDS};

impl Reader<'_> {
    pub(super) fn contact(
        &self,
        table: BTreeMap<String, Spanned<toml::Value>>,
        start: DateTime<Utc>,
    ) -> Result<Contact, ScenarioError> {
        let mut contact = Contact::new(DEFAULT_CONTACT);
        for (key, value) in table {
            let span = value.span();
            match key.as_str() {
                "tags" => {
                    let toml::Value::Array(items) = value.into_inner() else {
                        return self.error(
                            span,
                            "`contact.tags` must be a list of strings, such as [\"vip\"]",
                        );
                    };
                    let mut tags = BTreeSet::new();
                    for item in items {
                        match item {
                            toml::Value::String(tag) if !tag.trim().is_empty() => {
                                tags.insert(tag);
                            }
                            _ => {
                                return self.error(span, "`contact.tags` must be a list of non-empty strings, such as [\"vip\"]");
                            }
                        }
                    }
                    contact.tags = tags;
                }
                _ => {
                    let toml::Value::String(text) = value.get_ref().clone() else {
                        return self.error(
                            span,
                            format!(
                                "`contact.{key}` must be a string, not {}; write it in quotes",
                                type_name(value.get_ref())
                            ),
                        );
                    };
                    match key.as_str() {
                        "id" if text.trim().is_empty() => {
                            return self.error(span, "`contact.id` is empty");
                        }
                        "id" => contact.id = text,
                        "phone" => {
                            if !is_e164(&text) {
                                return self.error(
                                    span,
                                    format!("`contact.phone` = `{text}` is not an E.164 number; write it as \"+15551230000\""),
                                );
                            }
                            contact.phone = Some(text);
                        }
                        "email" => {
                            if !is_email(&text) {
                                return self.error(
                                    span,
                                    format!("`contact.email` = `{text}` is not an email address"),
                                );
                            }
                            contact.email = Some(text);
                        }
                        "last_whatsapp_inbound" => {
                            let seconds = self.signed_offset(&text, span)?;
                            contact.last_whatsapp_inbound =
                                Some(start + chrono::Duration::seconds(seconds));
                        }
                        _ => {
                            if !is_ident(&key) {
                                return self.error(
                                    span,
                                    format!("`contact.{key}` is not a field name; fields are lowercase letters, digits and `_`, such as `first_name`"),
                                );
                            }
                            contact.fields.insert(key, text);
                        }
                    }
                }
            }
        }
        Ok(contact)
    }

    /// `-25h`, `+1h` or `0s`: seconds relative to the start.
    pub(super) fn signed_offset(
        &self,
        text: &str,
        span: Range<usize>,
    ) -> Result<i64, ScenarioError> {
        let (sign, rest) = match text.strip_prefix('-') {
            Some(rest) => (-1, rest),
            None => (1, text.strip_prefix('+').unwrap_or(text)),
        };
        match crate::duration::parse(rest) {
            Ok(seconds) => Ok(sign * seconds as i64),
            Err(problem) => self.error(
                span,
                format!(
                    "`contact.last_whatsapp_inbound`: {problem}; write when the contact last wrote on WhatsApp relative to the start, such as \"-25h\" (25 hours before)"
                ),
            ),
        }
    }

    pub(super) fn custom_values(
        &self,
        table: BTreeMap<String, Spanned<toml::Value>>,
    ) -> Result<BTreeMap<String, String>, ScenarioError> {
        let mut values = BTreeMap::new();
        for (key, value) in table {
            let span = value.span();
            let toml::Value::String(text) = value.into_inner() else {
                return self.error(
                    span,
                    format!("`custom_values.{key}` must be a string; write it in quotes"),
                );
            };
            if !is_ident(&key) {
                return self.error(
                    span,
                    format!("`custom_values.{key}` is not a custom value name; names are lowercase letters, digits and `_`"),
                );
            }
            values.insert(key, text);
        }
        Ok(values)
    }

    pub(super) fn failures(
        &self,
        provider: Option<RawProvider>,
    ) -> Result<BTreeMap<String, String>, ScenarioError> {
        let mut failures = BTreeMap::new();
        for (kind, code) in provider.map(|p| p.fail).unwrap_or_default() {
            if !KINDS.contains(&kind.as_str()) {
                return self.error(
                    code.span(),
                    format!(
                        "`provider.fail.{kind}`: `{kind}` is not a message kind{}; kinds are {}",
                        suggest(&kind, &KINDS),
                        KINDS.join(", ")
                    ),
                );
            }
            if code.get_ref().trim().is_empty() {
                return self.error(
                    code.span(),
                    format!("`provider.fail.{kind}` is empty; give the provider's error code, such as \"131047\""),
                );
            }
            failures.insert(kind, code.into_inner());
        }
        Ok(failures)
    }
}
