//! SARIF rules: one per code, described by the language reference itself.
//!
//! `docs/language.md` has one `` ### `kflow::area::name` `` section per code
//! (`tests/docs.rs` keeps it so), saying what the code means, with an
//! example and its fix. A dashboard shows a rule's `help` next to each
//! alert, so the rule carries that section: authors read there exactly what
//! the reference says, and it cannot drift from it.

use serde::Serialize;

use super::Message;
use crate::diag::{Code, Severity};
use crate::report::docs::DocsLink;

/// The language reference, as built into kflow.
const REFERENCE: &str = include_str!("../../../docs/language.md");

/// Each code's section of the reference, found in one pass.
pub(super) struct Sections {
    by_code: Vec<Option<&'static str>>,
}

impl Sections {
    /// The sections of the built-in reference.
    pub(super) fn of_reference() -> Sections {
        Sections::of(REFERENCE)
    }

    /// The sections of `markdown`: from the line after a code's heading to
    /// the next heading, trimmed.
    fn of(markdown: &'static str) -> Sections {
        let mut by_code = vec![None; Code::ALL.len()];
        // (code, where its section's text starts)
        let mut open: Option<(Code, usize)> = None;
        let mut offset = 0;
        let mut in_fence = false;
        for line in markdown.split_inclusive('\n') {
            let at = offset;
            offset += line.len();
            if line.starts_with("```") {
                in_fence = !in_fence;
            }
            // A `## ` line inside an example is a comment, not a heading.
            if in_fence || !(line.starts_with("## ") || line.starts_with("### ")) {
                continue;
            }
            if let Some((code, start)) = open.take() {
                by_code[code as usize] = Some(markdown[start..at].trim());
            }
            let code = line
                .strip_prefix("### `")
                .and_then(|rest| rest.trim_end().strip_suffix('`'))
                .and_then(Code::from_name);
            open = code.map(|code| (code, offset));
        }
        if let Some((code, start)) = open {
            by_code[code as usize] = Some(markdown[start..].trim());
        }
        Sections { by_code }
    }

    fn get(&self, code: Code) -> Option<&'static str> {
        self.by_code.get(code as usize).copied().flatten()
    }
}

/// A `reportingDescriptor`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Rule {
    id: &'static str,
    short_description: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<Help>,
    default_configuration: Configuration,
    properties: Properties,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

/// What GitHub code scanning reads from a rule's property bag: its tags,
/// and `problem.severity` to sort alerts.
#[derive(Serialize)]
struct Properties {
    tags: [&'static str; 1],
    precision: &'static str,
    #[serde(rename = "problem.severity")]
    problem_severity: &'static str,
}

impl Rule {
    pub(super) fn new(code: Code, sections: &Sections, docs: &DocsLink) -> Rule {
        let level = super::level(code.severity());
        let section = sections.get(code).map(strip_comments);
        Rule {
            id: code.as_str(),
            short_description: Message {
                text: code.summary().to_owned(),
            },
            help_uri: docs.url(code),
            help: section.map(|markdown| Help {
                text: markdown.clone(),
                markdown,
            }),
            default_configuration: Configuration { level },
            properties: Properties {
                tags: [area(code)],
                // Every rule is a deterministic check of the file's text.
                precision: "very-high",
                problem_severity: match code.severity() {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
            },
        }
    }
}

/// The area of a code: `cta` for `kflow::cta::body_length`.
fn area(code: Code) -> &'static str {
    let name = code.as_str();
    let rest = name.strip_prefix("kflow::").unwrap_or(name);
    rest.split("::").next().unwrap_or(rest)
}

/// A section without its maintainers' HTML comments.
fn strip_comments(section: &str) -> String {
    let mut out = String::with_capacity(section.len());
    let mut rest = section;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    out.push_str(rest);
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_section() {
        let sections = Sections::of_reference();
        for &code in Code::ALL {
            let section = sections.get(code);
            assert!(section.is_some(), "{code} has no section");
        }
        let body = sections.get(Code::CtaBodyLength).expect("present");
        assert!(body.starts_with("**Error.**"), "{body}");
        assert!(body.contains("# expect: kflow::cta::body_length"));
        assert!(!body.contains("### "), "runs into the next section");
    }

    #[test]
    fn sections_end_at_any_heading() {
        let sections = Sections::of(
            "## A\n### `kflow::cta::url`\n\nabout urls\n\n## B\ntext\n### `kflow::internal`\nlast\n",
        );
        assert_eq!(sections.get(Code::CtaUrl), Some("about urls"));
        assert_eq!(sections.get(Code::Internal), Some("last"));
        assert_eq!(sections.get(Code::CtaBodyLength), None);
    }

    #[test]
    fn comments_are_dropped() {
        assert_eq!(
            strip_comments("a <!-- x --> b\n<!-- docs-test: untriggerable -->"),
            "a  b"
        );
        assert_eq!(strip_comments("a <!-- never closed"), "a");
    }

    #[test]
    fn areas() {
        assert_eq!(area(Code::CtaBodyLength), "cta");
        assert_eq!(area(Code::Internal), "internal");
    }
}
