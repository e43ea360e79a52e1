//! The JSON report: one document for a whole `kflowc check` run.
//!
//! # Schema (version 1)
//!
//! ```text
//! {
//!   "version": 1,
//!   "files": [
//!     { "path": "flows/welcome.kflow", "errors": 1, "warnings": 0 }
//!   ],
//!   "diagnostics": [
//!     {
//!       "file": "flows/welcome.kflow",
//!       "code": "kflow::syntax::unexpected",
//!       "severity": "error",
//!       "message": "...",
//!       "labels": [
//!         {
//!           "text": "...",
//!           "primary": true,
//!           "start": { "line": 1, "column": 21, "offset": 20 },
//!           "end":   { "line": 1, "column": 26, "offset": 25 }
//!         }
//!       ],
//!       "help": "..."
//!     }
//!   ],
//!   "summary": { "files": 1, "errors": 1, "warnings": 0 }
//! }
//! ```
//!
//! - `version` changes only when a field is removed or changes meaning; new
//!   fields may be added to any object without a version change.
//! - `files` lists every checked file in the order it was checked, including
//!   files without problems. Files that could not be read are not listed (the
//!   CLI reports those on standard error).
//! - `diagnostics` holds every diagnostic of every file: files in the order of
//!   `files`, and each file's diagnostics in source order. `file` equals the
//!   `path` of an entry in `files`.
//! - `code` is a stable name such as `kflow::cta::body_length`; `severity` is
//!   `"error"` or `"warning"`.
//! - `labels` point at the source; exactly one (the first) has
//!   `"primary": true`, unless the list is empty. `text` may be `""`.
//! - Positions: `line` and `column` are 1-based; `column` counts characters
//!   (Unicode scalar values), not bytes; `offset` is a 0-based byte offset into
//!   the file. `end` is exclusive: it is the position just after the last
//!   character of the label, so an empty label has `start == end`.
//! - `help` is a string, or `null` when the diagnostic has none.
//! - `summary` totals `files`: the number of checked files and of errors and
//!   warnings across them.

use serde::{Deserialize, Serialize};

use super::{FileReport, Locator, Position};
use crate::diag::Diagnostic;

/// The version of the schema [`Document`] follows.
pub const VERSION: u32 = 1;

/// The whole JSON report of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Always [`VERSION`].
    pub version: u32,
    /// Every checked file, in order.
    pub files: Vec<FileEntry>,
    /// Every diagnostic, file by file, each file's in source order.
    pub diagnostics: Vec<DiagnosticEntry>,
    /// Totals over `files`.
    pub summary: Summary,
}

/// One checked file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The path (or `--stdin-name`) as reports show it.
    pub path: String,
    /// Errors in this file.
    pub errors: usize,
    /// Warnings in this file.
    pub warnings: usize,
}

/// One diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticEntry {
    /// The path of the file it is about.
    pub file: String,
    /// The stable code, such as `kflow::syntax::unexpected`.
    pub code: String,
    /// `"error"` or `"warning"`.
    pub severity: String,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Where in the file; the first label is the primary one.
    pub labels: Vec<LabelEntry>,
    /// What to write instead, if kflow knows.
    pub help: Option<String>,
}

/// A label on a span of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelEntry {
    /// Text shown at the span; may be empty.
    pub text: String,
    /// True for the first label of a diagnostic.
    pub primary: bool,
    /// Where the span starts.
    pub start: Location,
    /// Where the span ends (exclusive).
    pub end: Location,
}

/// A point in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// 0-based byte offset.
    pub offset: u32,
}

/// Totals over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Files checked.
    pub files: usize,
    /// Errors across all files.
    pub errors: usize,
    /// Warnings across all files.
    pub warnings: usize,
}

impl From<Position> for Location {
    fn from(p: Position) -> Location {
        Location {
            line: p.line,
            column: p.column,
            offset: p.offset,
        }
    }
}

impl Document {
    /// Builds the report of a run over `files`.
    pub fn new(files: &[FileReport<'_>]) -> Document {
        let mut document = Document {
            version: VERSION,
            files: Vec::with_capacity(files.len()),
            diagnostics: Vec::new(),
            summary: Summary {
                files: files.len(),
                errors: 0,
                warnings: 0,
            },
        };
        for report in files {
            let path = report.file.name();
            let counts = report.counts();
            document.summary.errors += counts.errors;
            document.summary.warnings += counts.warnings;
            document.files.push(FileEntry {
                path: path.to_owned(),
                errors: counts.errors,
                warnings: counts.warnings,
            });
            if report.diagnostics.is_empty() {
                continue;
            }
            let locator = Locator::new(report.file);
            document.diagnostics.extend(
                report
                    .diagnostics
                    .iter()
                    .map(|d| diagnostic_entry(path, &locator, d)),
            );
        }
        document
    }

    /// The document as pretty-printed JSON, without a trailing newline.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs (string keys, no maps, no floats)
        // cannot fail; an empty string would only hide a serde bug.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the document as pretty-printed JSON followed by a newline.
    ///
    /// The output is buffered here: serde writes a document piece by piece,
    /// and `out` is often a line-buffered standard output, which would make
    /// one `write` system call per line of JSON (some forty per diagnostic).
    pub fn write_to(&self, out: impl std::io::Write) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
        serde_json::to_writer_pretty(&mut out, self)?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

/// Writes the report of a run over `files` exactly as
/// `Document::new(files).write_to(out)` would, but building one diagnostic's
/// entry at a time while writing: a file with a million diagnostics never
/// holds a second copy of them all (the document's entries own their
/// strings), which at that size is most of the run's memory and time.
pub fn write(files: &[FileReport<'_>], out: impl std::io::Write) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut out, &Streamed { files })?;
    out.write_all(b"\n")?;
    out.flush()
}

/// [`Document`]'s fields, in its order, with the diagnostics made on the fly.
struct Streamed<'a> {
    files: &'a [FileReport<'a>],
}

impl Serialize for Streamed<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut summary = Summary {
            files: self.files.len(),
            errors: 0,
            warnings: 0,
        };
        let entries: Vec<FileEntry> = self
            .files
            .iter()
            .map(|report| {
                let counts = report.counts();
                summary.errors += counts.errors;
                summary.warnings += counts.warnings;
                FileEntry {
                    path: report.file.name().to_owned(),
                    errors: counts.errors,
                    warnings: counts.warnings,
                }
            })
            .collect();
        let mut document = serializer.serialize_struct("Document", 4)?;
        document.serialize_field("version", &VERSION)?;
        document.serialize_field("files", &entries)?;
        document.serialize_field("diagnostics", &StreamedDiagnostics { files: self.files })?;
        document.serialize_field("summary", &summary)?;
        document.end()
    }
}

struct StreamedDiagnostics<'a> {
    files: &'a [FileReport<'a>],
}

impl Serialize for StreamedDiagnostics<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        let total = self.files.iter().map(|r| r.diagnostics.len()).sum();
        let mut seq = serializer.serialize_seq(Some(total))?;
        for report in self.files.iter().filter(|r| !r.diagnostics.is_empty()) {
            let locator = Locator::new(report.file);
            let path = report.file.name();
            for d in report.diagnostics {
                seq.serialize_element(&diagnostic_entry(path, &locator, d))?;
            }
        }
        seq.end()
    }
}

fn diagnostic_entry(path: &str, locator: &Locator<'_>, d: &Diagnostic) -> DiagnosticEntry {
    DiagnosticEntry {
        file: path.to_owned(),
        code: d.code.as_str().to_owned(),
        severity: d.severity.as_str().to_owned(),
        message: d.message.clone(),
        labels: d
            .labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let (start, end) = locator.span(label.span);
                LabelEntry {
                    text: label.text.clone(),
                    primary: i == 0,
                    start: start.into(),
                    end: end.into(),
                }
            })
            .collect(),
        help: d.help.clone(),
    }
}

/// The JSON report of a run over `files`, pretty-printed, without a trailing
/// newline. Shorthand for `Document::new(files).to_json()`.
pub fn render(files: &[FileReport<'_>]) -> String {
    Document::new(files).to_json()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use crate::source::{SourceFile, Span};

    #[test]
    fn streaming_writes_the_document_byte_for_byte() {
        let a = SourceFile::new("a.kflow", "workflow \"é\"\n  bogus").expect("small");
        let b = SourceFile::new("b.kflow", "").expect("small");
        let d = vec![
            Diagnostic::new(Code::SyntaxUnexpected, "one", Span::new(16, 21), "here")
                .with_label(Span::new(9, 13), "")
                .with_help("remove it"),
            Diagnostic::new(Code::SyntaxUnexpected, "two", Span::new(0, 8), "there"),
        ];
        for files in [
            vec![FileReport::new(&a, &d), FileReport::new(&b, &[])],
            vec![FileReport::new(&b, &[])],
            vec![],
        ] {
            let mut streamed = Vec::new();
            write(&files, &mut streamed).expect("a Vec takes anything");
            let mut whole = Vec::new();
            Document::new(&files)
                .write_to(&mut whole)
                .expect("a Vec takes anything");
            assert_eq!(String::from_utf8(streamed), String::from_utf8(whole));
        }
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let file = SourceFile::new("a.kflow", "workflow \"é\"\n  bogus").expect("small");
        let diagnostics = vec![
            Diagnostic::new(
                Code::SyntaxUnexpected,
                "unexpected `bogus`",
                Span::new(16, 21),
                "here",
            )
            .with_label(Span::new(9, 13), "")
            .with_help("remove it"),
        ];
        let doc = Document::new(&[FileReport::new(&file, &diagnostics)]);
        assert_eq!(doc.version, 1);
        assert_eq!(
            doc.summary,
            Summary {
                files: 1,
                errors: 1,
                warnings: 0
            }
        );
        let d = &doc.diagnostics[0];
        assert_eq!(d.file, "a.kflow");
        assert_eq!(d.code, "kflow::syntax::unexpected");
        assert_eq!(d.severity, "error");
        assert_eq!(d.help.as_deref(), Some("remove it"));
        let primary = &d.labels[0];
        assert!(primary.primary);
        assert_eq!(
            primary.start,
            Location {
                line: 2,
                column: 3,
                offset: 16
            }
        );
        assert_eq!(
            primary.end,
            Location {
                line: 2,
                column: 8,
                offset: 21
            }
        );
        let secondary = &d.labels[1];
        assert!(!secondary.primary);
        // `"é"` is 4 bytes but 3 characters.
        assert_eq!(
            secondary.start,
            Location {
                line: 1,
                column: 10,
                offset: 9
            }
        );
        assert_eq!(
            secondary.end,
            Location {
                line: 1,
                column: 13,
                offset: 13
            }
        );
    }

    #[test]
    fn missing_help_is_null_and_clean_files_are_listed() {
        let clean = SourceFile::new("clean.kflow", "").expect("small");
        let file = SourceFile::new("w.kflow", "workflow \"x\"").expect("small");
        let diagnostics = vec![Diagnostic::new(
            Code::WorkflowNoTrigger,
            "no trigger",
            Span::new(0, 8),
            "",
        )];
        let json = render(&[
            FileReport::new(&clean, &[]),
            FileReport::new(&file, &diagnostics),
        ]);
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(value["files"][0]["path"], "clean.kflow");
        assert_eq!(value["files"][1]["warnings"], 1);
        assert_eq!(value["diagnostics"][0]["help"], serde_json::Value::Null);
        assert_eq!(value["diagnostics"][0]["severity"], "warning");
        assert_eq!(value["summary"]["files"], 2);
        assert_eq!(value["summary"]["warnings"], 1);
    }
}
