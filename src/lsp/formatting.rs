//! Formatting: `kflowc fmt`'s layout ([`crate::format::format`]) as one
//! edit that replaces the whole document.

use lsp_types::TextEdit;

use super::documents::Document;
use crate::source::Span;

/// The edits that format `document`: one whole-document edit, none when it
/// is already formatted, and `None` (no edits) when it has syntax errors or
/// the formatter refuses it.
pub(crate) fn format(document: &Document) -> Option<Vec<TextEdit>> {
    let formatted = crate::format::format(document.source()).ok()?;
    let text = document.text();
    if formatted == text {
        return Some(Vec::new());
    }
    let whole = Span::new(0, text.len() as u32);
    Some(vec![TextEdit {
        range: document.lines().range(text, whole),
        new_text: formatted,
    }])
}
