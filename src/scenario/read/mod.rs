//! The strict TOML reader for scenario files (feature `scenario`).
//!
//! Reading is strict: an unknown key, a duration or timestamp that does not
//! parse, an unknown channel or message kind is a [`ScenarioError`] naming
//! the file, line and column, never a guess. serde checks the shape (types,
//! unknown keys) on the `Raw*` structs below; everything else is checked
//! with spans in [`Reader`], one part of the file per submodule.

mod contact;
mod error;
mod events;
mod expect;
#[cfg(test)]
mod tests;
mod values;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::Spanned;

use super::model::{Scenario, offset_label};
pub use error::ScenarioError;
use values::{tidy, type_name};

// The file as written. Only what serde can check is checked here; the rest
// (durations, channels, names) is checked with spans in `Reader`.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    workflow: Option<Spanned<String>>,
    description: Option<String>,
    start: Option<Spanned<toml::Value>>,
    until: Option<Spanned<String>>,
    contact: Option<BTreeMap<String, Spanned<toml::Value>>>,
    custom_values: Option<BTreeMap<String, Spanned<toml::Value>>>,
    provider: Option<RawProvider>,
    #[serde(default)]
    events: Vec<Spanned<RawEvent>>,
    expect: Option<Spanned<RawExpect>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    #[serde(default)]
    fail: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    at: Spanned<String>,
    reply: Option<Spanned<String>>,
    link_opened: Option<Spanned<String>>,
    delivery_failed: Option<Spanned<String>>,
    delivered: Option<Spanned<String>>,
    button_reply: Option<Spanned<String>>,
    list_reply: Option<Spanned<String>>,
    tagged: Option<Spanned<String>>,
    answers: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    actions: Option<Vec<Spanned<String>>>,
    path: Option<Vec<Spanned<String>>>,
    urls: Option<Vec<String>>,
    contains: Option<Vec<String>>,
    missing: Option<Vec<Spanned<String>>>,
    waiting: Option<Spanned<i64>>,
}

impl Scenario {
    /// Reads a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let bytes = std::fs::read(path)
            .map_err(|e| ScenarioError::file(path, format!("cannot read the scenario: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ScenarioError::file(path, "the scenario is not valid UTF-8"))?;
        parse(path, &text)
    }

    /// Reads a scenario from its text; `path` names it in errors and
    /// anchors the relative `workflow` path.
    pub fn from_toml(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        parse(path, text)
    }
}

/// Whether a TOML document has an `[expect]` table; `kflowc test` runs only
/// those. A file that is not TOML is an error: it may be a broken scenario.
pub fn has_expect(path: &Path, text: &str) -> Result<bool, ScenarioError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    Ok(table.contains_key("expect"))
}

fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> ScenarioError {
    let message = error.message().trim_end().to_owned();
    match error.span() {
        Some(span) => ScenarioError::at(path, text, span, message),
        None => ScenarioError::file(path, message),
    }
}

fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let raw: RawScenario = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    Reader { path, text }.scenario(raw)
}

/// The file being read, for errors that point into it.
struct Reader<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Reader<'_> {
    fn error<T>(&self, span: Range<usize>, message: impl Into<String>) -> Result<T, ScenarioError> {
        Err(ScenarioError::at(self.path, self.text, span, message))
    }

    fn scenario(&self, raw: RawScenario) -> Result<Scenario, ScenarioError> {
        let defaults = Scenario::new(self.path);
        let workflow = match raw.workflow {
            Some(w) if w.get_ref().trim().is_empty() => {
                return self.error(
                    w.span(),
                    "`workflow` is empty; name the .kflow file, relative to this scenario",
                );
            }
            Some(w) => Some(tidy(
                &self
                    .path
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(w.into_inner()),
            )),
            None => None,
        };
        let start = match raw.start {
            Some(s) => self.start(s)?,
            None => defaults.start,
        };
        let contact = self.contact(raw.contact.unwrap_or_default(), start)?;
        let custom_values = self.custom_values(raw.custom_values.unwrap_or_default())?;
        let failures = self.failures(raw.provider)?;
        let events = self.events(raw.events)?;
        let until = match raw.until {
            Some(u) => {
                let seconds = self.offset(&u, "until")?;
                if let Some(last) = events.last().filter(|e| e.at > seconds) {
                    return self.error(
                        u.span(),
                        format!(
                            "`until` ({}) comes before the last event ({}); the simulation would stop before it",
                            offset_label(seconds),
                            offset_label(last.at)
                        ),
                    );
                }
                Some(seconds)
            }
            None => None,
        };
        let expect = raw.expect.map(|e| self.expect(e)).transpose()?;
        Ok(Scenario {
            workflow,
            description: raw.description,
            start,
            until,
            contact,
            custom_values,
            failures,
            events,
            expect,
            ..defaults
        })
    }

    fn start(&self, value: Spanned<toml::Value>) -> Result<DateTime<Utc>, ScenarioError> {
        let span = value.span();
        let text = match value.into_inner() {
            toml::Value::String(s) => s,
            toml::Value::Datetime(d) => d.to_string(),
            other => {
                return self.error(
                    span,
                    format!(
                        "`start` must be a timestamp such as \"2026-03-02T09:00:00Z\", not {}",
                        type_name(&other)
                    ),
                );
            }
        };
        match DateTime::parse_from_rfc3339(&text) {
            // RFC 3339 years have four digits, so a start plus any
            // scenario's span stays far inside chrono's range.
            Ok(t) => Ok(t.with_timezone(&Utc)),
            Err(_) => self.error(
                span,
                format!(
                    "`start` = `{text}` is not a timestamp with a time zone; write one such as \"2026-03-02T09:00:00Z\""
                ),
            ),
        }
    }

    /// Seconds in an offset from the start such as `12m` or `+1d2h`.
    fn offset(&self, value: &Spanned<String>, key: &str) -> Result<u64, ScenarioError> {
        let text = value.get_ref();
        let unsigned = text.strip_prefix('+').unwrap_or(text);
        crate::duration::parse(unsigned).or_else(|problem| {
            self.error(
                value.span(),
                format!(
                    "`{key}`: {problem}; write a time after the start as a kflow duration, such as \"0s\", \"12m\" or \"1d2h\""
                ),
            )
        })
    }
}
