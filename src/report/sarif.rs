//! SARIF 2.1.0: the report code-scanning dashboards read (GitHub code
//! scanning, Azure DevOps, SonarQube's importer).
//!
//! One run whose tool is `kflowc`, with every code kflow has as a rule (its
//! one-line summary, its section of `docs/language.md` as help, a `helpUri`
//! into that document when its URL is known, and its default level), every
//! checked file as an artifact, and every diagnostic as a result:
//!
//! - `ruleId` is the stable code and `ruleIndex` its place in `rules`;
//!   `level` is `error` or `warning`.
//! - `message.text` is the message, then `help: ...` on a line of its own.
//! - The primary label is the one `location`; the others are
//!   `relatedLocations`, each with its text as message.
//! - Regions give 1-based lines and columns (`columnKind` is
//!   `unicodeCodePoints`: a column counts characters, as every kflow report
//!   does), `endColumn` exclusive, plus the exact `byteOffset` and
//!   `byteLength`.
//! - A diagnostic with a fix (a did-you-mean) carries it as a `fixes` entry
//!   that replaces the region.
//! - Artifact URIs are the paths as given, `/`-separated and percent-encoded
//!   where a URI needs it; run from the repository's root with relative
//!   paths, they are what GitHub code scanning matches against the tree.
//!
//! The output is validated against the official SARIF 2.1.0 schema in
//! `tests/sarif.rs`.

mod rules;

use std::io::{self, Write as _};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;
use serde::ser::{SerializeSeq as _, SerializeStruct as _};

use super::docs::DocsLink;
use super::{FileReport, Locator};
use crate::diag::{Code, Diagnostic, Label, Severity};
use crate::source::Span;

/// The schema every document names in `$schema`.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Writes the SARIF log of a run over `files`, pretty-printed, followed by a
/// newline. Results are built one at a time while writing, so a file with a
/// million diagnostics never holds a second copy of them.
pub fn write(files: &[FileReport<'_>], docs: &DocsLink, out: impl io::Write) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut out, &Log { files, docs })?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The SARIF log as a string (for tests and embedders).
pub fn to_string(files: &[FileReport<'_>], docs: &DocsLink) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write(files, docs, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

struct Log<'a> {
    files: &'a [FileReport<'a>],
    docs: &'a DocsLink,
}

impl Serialize for Log<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut log = serializer.serialize_struct("Log", 3)?;
        log.serialize_field("$schema", SCHEMA_URI)?;
        log.serialize_field("version", "2.1.0")?;
        log.serialize_field("runs", &[Run { log: self }])?;
        log.end()
    }
}

struct Run<'a> {
    log: &'a Log<'a>,
}

impl Serialize for Run<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let files = self.log.files;
        let artifacts: Vec<Artifact<'_>> = files
            .iter()
            .map(|report| Artifact {
                location: ArtifactLocation {
                    uri: std::borrow::Cow::Owned(uri(report.file.name())),
                    index: None,
                },
                length: report.file.text().len(),
                source_language: "kflow",
            })
            .collect();
        let mut run = serializer.serialize_struct("Run", 4)?;
        run.serialize_field(
            "tool",
            &Tool {
                driver: Driver {
                    name: "kflowc",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: self.log.docs.base(),
                    rules: Rules {
                        docs: self.log.docs,
                    },
                },
            },
        )?;
        run.serialize_field("columnKind", "unicodeCodePoints")?;
        run.serialize_field("artifacts", &artifacts)?;
        run.serialize_field(
            "results",
            &Results {
                files,
                uris: &artifacts,
            },
        )?;
        run.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'a str>,
    rules: Rules<'a>,
}

/// Every code, in [`Code::ALL`] order (so a result's `ruleIndex` is its
/// code's place there).
struct Rules<'a> {
    docs: &'a DocsLink,
}

impl Serialize for Rules<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let sections = rules::Sections::of_reference();
        let mut seq = serializer.serialize_seq(Some(Code::ALL.len()))?;
        for &code in Code::ALL {
            seq.serialize_element(&rules::Rule::new(code, &sections, self.docs))?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Artifact<'a> {
    location: ArtifactLocation<'a>,
    length: usize,
    source_language: &'static str,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation<'a> {
    uri: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
}

struct Results<'a> {
    files: &'a [FileReport<'a>],
    uris: &'a [Artifact<'a>],
}

impl Serialize for Results<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let total = self.files.iter().map(|f| f.diagnostics.len()).sum();
        let mut seq = serializer.serialize_seq(Some(total))?;
        for (index, (report, artifact)) in self.files.iter().zip(self.uris).enumerate() {
            if report.diagnostics.is_empty() {
                continue;
            }
            let locator = Locator::new(report.file);
            let place = Place {
                locator: &locator,
                artifact: ArtifactLocation {
                    uri: std::borrow::Cow::Borrowed(&artifact.location.uri),
                    index: Some(index),
                },
            };
            for diagnostic in report.diagnostics {
                seq.serialize_element(&result(diagnostic, &place))?;
            }
        }
        seq.end()
    }
}

/// What every result of one file shares.
struct Place<'a> {
    locator: &'a Locator<'a>,
    artifact: ArtifactLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: [Location<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<Fix<'a>>,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
    byte_offset: u32,
    byte_length: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fix<'a> {
    description: Message,
    artifact_changes: [ArtifactChange<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange<'a> {
    artifact_location: ArtifactLocation<'a>,
    replacements: [Replacement; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    deleted_region: Region,
    inserted_content: Content,
}

#[derive(Serialize)]
struct Content {
    text: String,
}

fn result<'a>(diagnostic: &Diagnostic, place: &'a Place<'a>) -> SarifResult<'a> {
    let mut text = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let primary = diagnostic.labels.first().map_or_else(
        || physical(place, Span::default()),
        |label| physical(place, label.span),
    );
    let related_locations = diagnostic
        .labels
        .iter()
        .skip(1)
        .enumerate()
        .map(|(i, label)| related(place, i, label))
        .collect();
    let fixes = diagnostic
        .fix
        .iter()
        .map(|fix| Fix {
            description: Message {
                text: if fix.replacement.is_empty() {
                    "remove this text".to_owned()
                } else {
                    format!("write `{}`", fix.replacement)
                },
            },
            artifact_changes: [ArtifactChange {
                artifact_location: place.artifact.clone(),
                replacements: [Replacement {
                    deleted_region: region(place.locator, fix.span),
                    inserted_content: Content {
                        text: fix.replacement.clone(),
                    },
                }],
            }],
        })
        .collect();
    SarifResult {
        rule_id: diagnostic.code.as_str(),
        rule_index: rule_index(diagnostic.code),
        level: level(diagnostic.severity),
        message: Message { text },
        locations: [Location {
            id: None,
            physical_location: primary,
            message: None,
        }],
        related_locations,
        fixes,
    }
}

fn related<'a>(place: &'a Place<'a>, i: usize, label: &Label) -> Location<'a> {
    Location {
        id: Some(i),
        physical_location: physical(place, label.span),
        message: (!label.text.is_empty()).then(|| Message {
            text: label.text.clone(),
        }),
    }
}

fn physical<'a>(place: &'a Place<'a>, span: Span) -> PhysicalLocation<'a> {
    PhysicalLocation {
        artifact_location: place.artifact.clone(),
        region: region(place.locator, span),
    }
}

fn region(locator: &Locator<'_>, span: Span) -> Region {
    let (start, end) = locator.span(span);
    Region {
        start_line: start.line,
        start_column: start.column,
        end_line: end.line,
        end_column: end.column,
        byte_offset: span.start,
        byte_length: span.len(),
    }
}

/// A code's place in [`Code::ALL`], the order of `rules`: `ALL` lists the
/// variants in declaration order, so this is the discriminant.
fn rule_index(code: Code) -> usize {
    code as usize
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Characters a URI reference cannot hold as they are (RFC 3986: anything
/// outside unreserved, sub-delims, `:`, `@` and `/`), plus `%` itself.
const NOT_IN_URI: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A file name as a URI: an absolute path becomes a `file://` URI; a
/// relative one stays a relative reference, with `\` separators made `/`
/// (SARIF URIs always use `/`), what a URI cannot hold percent-encoded and a
/// leading `./` dropped, so `./flows/a.kflow` and `flows/a.kflow` are one
/// file to a dashboard.
fn uri(name: &str) -> String {
    if std::path::Path::new(name).is_absolute()
        && let Ok(url) = url::Url::from_file_path(name)
    {
        return url.into();
    }
    let slashed = name.replace('\\', "/");
    let trimmed = slashed.trim_start_matches("./");
    utf8_percent_encode(trimmed, NOT_IN_URI).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded() {
        assert_eq!(uri("flows/a.kflow"), "flows/a.kflow");
        assert_eq!(uri("./flows/a.kflow"), "flows/a.kflow");
        assert_eq!(uri("my flows\\a#1.kflow"), "my%20flows/a%231.kflow");
        assert_eq!(uri("<stdin>"), "%3Cstdin%3E");
        assert_eq!(uri("café.kflow"), "caf%C3%A9.kflow");
        assert_eq!(
            uri("/srv/my flows/a.kflow"),
            "file:///srv/my%20flows/a.kflow"
        );
    }

    #[test]
    fn rule_indexes_follow_the_code_list() {
        for (i, &code) in Code::ALL.iter().enumerate() {
            assert_eq!(rule_index(code), i);
        }
    }
}
