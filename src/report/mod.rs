//! Report renderers: how diagnostics look to people and to tools.
//!
//! The library builds [`Diagnostic`]s as plain data; this module turns them
//! into text. Every renderer takes the checked files as [`FileReport`]s (a
//! source file and its diagnostics, in source order):
//!
//! - [`json`]: one JSON document for a whole run, for editors and scripts.
//! - [`github`]: GitHub Actions workflow commands, so problems show up as
//!   annotations on a pull request.
//! - [`sarif`]: SARIF 2.1.0, for code-scanning dashboards.
//! - `human` (feature `cli`): miette's graphical reports, for a terminal.
//!
//! Lines and columns are computed here, never stored: both are 1-based, and
//! columns count characters (Unicode scalar values), as
//! [`LineIndex`] does.

pub mod docs;
pub mod github;
#[cfg(feature = "cli")]
pub mod human;
pub mod json;
pub mod sarif;

use crate::diag::{Diagnostic, Severity};
use crate::source::{LineIndex, SourceFile, Span};

/// One checked file and what was found in it.
#[derive(Debug, Clone, Copy)]
pub struct FileReport<'a> {
    /// The file; its [`name`](SourceFile::name) is the path reports show.
    pub file: &'a SourceFile,
    /// The file's diagnostics, in the order they should be reported.
    pub diagnostics: &'a [Diagnostic],
}

impl<'a> FileReport<'a> {
    /// Pairs a file with its diagnostics.
    pub fn new(file: &'a SourceFile, diagnostics: &'a [Diagnostic]) -> FileReport<'a> {
        FileReport { file, diagnostics }
    }

    /// Counts errors and warnings.
    pub fn counts(&self) -> Counts {
        Counts::of(self.diagnostics)
    }
}

/// How many errors and warnings some diagnostics hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Diagnostics with [`Severity::Error`].
    pub errors: usize,
    /// Diagnostics with [`Severity::Warning`].
    pub warnings: usize,
}

impl Counts {
    /// Counts the severities of `diagnostics`.
    pub fn of(diagnostics: &[Diagnostic]) -> Counts {
        let mut counts = Counts::default();
        for d in diagnostics {
            match d.severity {
                Severity::Error => counts.errors += 1,
                Severity::Warning => counts.warnings += 1,
            }
        }
        counts
    }

    /// Adds another count to this one.
    pub fn add(&mut self, other: Counts) {
        self.errors += other.errors;
        self.warnings += other.warnings;
    }
}

/// A resolved position: 1-based line and column (in characters) and the byte
/// offset it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: u32,
    pub(crate) column: u32,
    pub(crate) offset: u32,
}

/// Resolves spans of one file to lines and columns.
pub(crate) struct Locator<'a> {
    text: &'a str,
    index: LineIndex,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(file: &'a SourceFile) -> Locator<'a> {
        Locator {
            text: file.text(),
            index: LineIndex::new(file.text()),
        }
    }

    pub(crate) fn position(&self, offset: u32) -> Position {
        let lc = self.index.line_col(self.text, offset);
        Position {
            line: lc.line,
            column: lc.column,
            offset,
        }
    }

    /// Start and end (exclusive) positions of a span.
    pub(crate) fn span(&self, span: Span) -> (Position, Position) {
        (self.position(span.start), self.position(span.end))
    }
}
