//! Go to definition: from `{{contact.x}}` (or `contact.x` in a condition)
//! to its `field contact.x` declaration.

use lsp_types::{GotoDefinitionResponse, Location, Position, Uri};

use super::documents::Document;
use super::locate;

/// The declaration of the contact field at `position`, if it has one.
pub(crate) fn definition(
    document: &Document,
    uri: &Uri,
    position: Position,
) -> Option<GotoDefinitionResponse> {
    let text = document.text();
    let lines = document.lines();
    let offset = lines.offset(text, position) as u32;
    let file = &document.checked().file;
    let (path, _) = locate::path_at(file, offset)?;
    let declared = locate::declaration(file, path)?;
    Some(GotoDefinitionResponse::Scalar(Location::new(
        uri.clone(),
        lines.range(text, declared.span),
    )))
}
