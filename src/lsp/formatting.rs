//! Formatting: waits for `kflow::format`, which is not in this tree yet.
//! Until it lands the server does not offer formatting.

use lsp_types::TextEdit;

use super::documents::Document;

/// Whether the server offers formatting.
pub(crate) const AVAILABLE: bool = false;

/// The whole-document edit that formats `document`.
pub(crate) fn format(_document: &Document) -> Option<Vec<TextEdit>> {
    None
}
