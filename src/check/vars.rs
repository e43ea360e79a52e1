//! Variables: which `{{namespace.key}}` names exist, and did-you-mean.

use std::collections::BTreeSet;

use crate::diag::{Code, Diagnostic};
use crate::platform::suggest::did_you_mean;
use crate::source::Span;
use crate::syntax::ast::{Text, Var};

/// Contact fields every account has (HighLevel's standard contact fields).
pub(crate) const STANDARD_CONTACT_FIELDS: &[&str] = &[
    "id",
    "first_name",
    "last_name",
    "name",
    "email",
    "phone",
    "company_name",
    "address1",
    "full_address",
    "city",
    "state",
    "country",
    "postal_code",
    "timezone",
    "date_of_birth",
    "website",
    "source",
];

/// The namespaces a variable can live in.
pub(crate) const NAMESPACES: &[&str] = &["contact", "custom_values"];

/// `snake_case`: lowercase letters, digits and underscores, starting with a letter.
pub(crate) fn is_snake_case(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The contact fields a file may use: the standard ones and its declarations.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    declared: BTreeSet<String>,
}

impl Scope {
    /// Adds a declared custom contact field.
    pub(crate) fn declare(&mut self, key: &str) {
        self.declared.insert(key.to_owned());
    }

    /// True for a standard or declared contact field.
    pub(crate) fn has_contact_field(&self, key: &str) -> bool {
        STANDARD_CONTACT_FIELDS.contains(&key) || self.declared.contains(key)
    }

    pub(crate) fn contact_fields(&self) -> impl Iterator<Item = &str> {
        STANDARD_CONTACT_FIELDS
            .iter()
            .copied()
            .chain(self.declared.iter().map(String::as_str))
    }

    /// Checks one variable path at `span`; `None` when it is known.
    pub(crate) fn check_path(&self, path: &str, span: Span) -> Option<Diagnostic> {
        let mut segments = path.splitn(2, '.');
        let namespace = segments.next().unwrap_or("");
        let key = segments.next();
        let unknown = |message: String, help: String| {
            Some(
                Diagnostic::new(Code::VarUnknown, message, span, "unknown variable")
                    .with_help(help),
            )
        };
        match (namespace, key) {
            ("contact", Some("tags")) => unknown(
                "`contact.tags` is a list of tags, not text".to_owned(),
                "test tags in a condition instead: `if contact.tags has \"vip\" < ... >`"
                    .to_owned(),
            ),
            ("contact", Some(key)) if self.has_contact_field(key) => None,
            ("contact", Some(key)) => {
                let suggestion = did_you_mean(key, self.contact_fields());
                let help = match suggestion {
                    Some(s) => format!(
                        "did you mean `contact.{s}`? A custom field must be declared first: `field contact.{key}`"
                    ),
                    None => format!(
                        "declare custom contact fields at the top of the file: `field contact.{key}`"
                    ),
                };
                let fix = suggestion.map(|s| format!("contact.{s}"));
                unknown(format!("unknown contact field `{key}`"), help)
                    .map(|d| with_fix(d, span, fix))
            }
            ("custom_values", Some(key)) if is_snake_case(key) => None,
            ("custom_values", Some(key)) => unknown(
                format!("`{key}` is not a custom value key"),
                format!(
                    "custom value keys are snake_case, like `{}`",
                    key.to_ascii_lowercase().replace(['.', '-', ' '], "_")
                ),
            ),
            (ns, _) => {
                let suggestion = did_you_mean(ns, NAMESPACES.iter().copied());
                let help = match suggestion {
                    Some(s) => match key {
                        Some(k) => format!("did you mean `{s}.{k}`?"),
                        None => format!("did you mean `{s}.…`?"),
                    },
                    None => "variables are `{{contact.<field>}}` or `{{custom_values.<key>}}`"
                        .to_owned(),
                };
                let fix = suggestion.zip(key).map(|(s, k)| format!("{s}.{k}"));
                let message = if key.is_none() {
                    format!("`{path}` is not a variable: it needs a namespace and a name")
                } else {
                    format!("unknown variable namespace `{ns}`")
                };
                unknown(message, help).map(|d| with_fix(d, span, fix))
            }
        }
    }

    /// Checks every variable in a text.
    pub(crate) fn check_text(&self, text: &Text, out: &mut Vec<Diagnostic>) {
        out.extend(
            text.vars()
                .filter_map(|v: &Var| self.check_path(&v.path, v.span)),
        );
    }
}

/// Adds the did-you-mean replacement of the whole path, when there is one.
fn with_fix(diagnostic: Diagnostic, span: Span, fix: Option<String>) -> Diagnostic {
    match fix {
        Some(replacement) => diagnostic.with_fix(span, replacement),
        None => diagnostic,
    }
}

/// Variables every contact has a value for: its id, and the phone number a
/// WhatsApp or SMS message goes to.
const ALWAYS_SET: &[&str] = &["contact.id", "contact.phone"];

/// Warns of each variable in `text` that may render empty and has no
/// fallback, where an empty value does harm: a template parameter the Cloud
/// API refuses when empty, a link that loses part of its path or query.
/// `what` names the text ("this template parameter").
pub(crate) fn require_fallbacks(text: &Text, what: &str, out: &mut Vec<Diagnostic>) {
    for var in text.vars() {
        if var.fallback.is_some() || ALWAYS_SET.contains(&var.path.as_str()) {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::VarNoFallback,
                format!(
                    "`{{{{{}}}}}` has no fallback, so it is empty in {what} for a contact without a value",
                    var.path
                ),
                var.span,
                "may be empty",
            )
            .with_help(format!(
                "give it the text to use instead, after a bar: `{{{{{} | ...}}}}`",
                var.path
            )),
        );
    }
}

/// Reports each variable in a text where only literal text is allowed.
pub(crate) fn forbid_vars(text: &Text, what: &str, out: &mut Vec<Diagnostic>) {
    for var in text.vars() {
        out.push(
            Diagnostic::new(
                Code::VarNotAllowed,
                format!("{what} cannot contain variables"),
                var.span,
                "a variable here",
            )
            .with_help(format!("write {what} as literal text")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        assert_eq!(
            did_you_mean("frist_name", STANDARD_CONTACT_FIELDS.iter().copied()),
            Some("first_name")
        );
        assert_eq!(
            did_you_mean("zzzzzz", STANDARD_CONTACT_FIELDS.iter().copied()),
            None
        );
    }

    #[test]
    fn known_and_unknown_paths() {
        let mut scope = Scope::default();
        scope.declare("shoe_size");
        let s = Span::new(0, 1);
        assert!(scope.check_path("contact.first_name", s).is_none());
        assert!(scope.check_path("contact.shoe_size", s).is_none());
        assert!(
            scope
                .check_path("custom_values.agent_calendar", s)
                .is_none()
        );
        assert!(scope.check_path("contact.frist_name", s).is_some());
        assert!(scope.check_path("custom_values.AgentCal", s).is_some());
        assert!(scope.check_path("user.first_name", s).is_some());
        assert!(scope.check_path("contact", s).is_some());
    }
}
