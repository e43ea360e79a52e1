//! [`ScenarioError`]: why a scenario file cannot be used, pointing at the
//! line and column like a compiler error.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use crate::source::LineIndex;

/// A scenario that cannot be used; its `Display` is the whole message: the
/// file, `line:column` when known, what is wrong, and the source line with
/// a caret under the value.
#[derive(Debug)]
pub struct ScenarioError {
    /// The file.
    path: String,
    /// `line:column` and the source line with a caret, when known.
    at: Option<Located>,
    /// What is wrong.
    message: String,
}

#[derive(Debug)]
struct Located {
    line: usize,
    column: usize,
    source_line: String,
    width: usize,
}

impl ScenarioError {
    /// A problem with the file as a whole (it cannot be read, ...).
    pub fn file(path: &Path, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            path: display(path),
            at: None,
            message: message.into(),
        }
    }

    /// A problem with the value at `span` (bytes of `text`).
    pub(crate) fn at(
        path: &Path,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError {
            path: display(path),
            at: locate(text, span),
            message: message.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            None => write!(f, "{}: {}", self.path, self.message),
            Some(at) => {
                write!(
                    f,
                    "{}:{}:{}: {}",
                    self.path, at.line, at.column, self.message
                )?;
                let number = at.line.to_string();
                let pad = " ".repeat(number.len());
                write!(
                    f,
                    "\n{pad} |\n{number} | {}\n{pad} | {}{}",
                    at.source_line,
                    " ".repeat(at.column - 1),
                    "^".repeat(at.width.max(1))
                )
            }
        }
    }
}

impl std::error::Error for ScenarioError {}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Line, column and the line's text for a byte span; the caret covers the
/// span's part on its first line.
fn locate(text: &str, span: Range<usize>) -> Option<Located> {
    let start = span.start.min(text.len());
    if !text.is_char_boundary(start) || u32::try_from(text.len()).is_err() {
        return None;
    }
    let index = LineIndex::new(text);
    let at = index.line_col(text, start as u32);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let source_line = text[line_start..line_end].trim_end_matches('\r');
    let end = span.end.clamp(start, line_end.max(start));
    let width = text.get(start..end).map_or(1, |s| s.chars().count());
    // Columns count characters; tabs are shown as one space so the caret lines up.
    Some(Located {
        line: at.line as usize,
        column: text[line_start..start].chars().count() + 1,
        source_line: source_line.replace('\t', " "),
        width,
    })
}
