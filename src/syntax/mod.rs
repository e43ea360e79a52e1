//! Source text to the typed AST.
//!
//! Input: a [`SourceFile`]. Output: a [`Parsed`] file holding every item that
//! parsed, and a diagnostic for every item that did not. The file is first cut
//! into top-level items ([`split`]), so one broken trigger does not hide the
//! errors of the next; each item is parsed by pest and converted by
//! [`convert`], which also decodes strings and durations.

pub mod ast;
mod convert;
mod error;
mod grammar;
mod split;
mod text;

use pest::Parser as _;

use crate::diag::{self, Diagnostic};
use crate::source::SourceFile;

pub use convert::MAX_DURATION_SECONDS;
pub use split::MAX_DEPTH;

/// The result of parsing one file.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Every item that parsed.
    pub file: ast::File,
    /// Syntax problems, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a whole file, reporting every broken item.
pub fn parse(source: &SourceFile) -> Parsed {
    let text = source.text();
    let split = split::split(text);
    let mut diagnostics = split.diagnostics;
    let mut file = ast::File::default();
    for chunk in split.chunks.iter().filter(|c| c.parse) {
        let item_text = &text[chunk.span.range()];
        match grammar::KflowParser::parse(grammar::Rule::item, item_text) {
            Ok(pairs) => {
                let mut converter = convert::Converter::new(chunk.span.start, &mut diagnostics);
                match converter.item(pairs) {
                    Ok(Some(item)) => file.items.push(item),
                    Ok(None) => {}
                    Err(drift) => diagnostics.push(drift.into_diagnostic()),
                }
            }
            Err(e) => diagnostics.push(error::to_diagnostic(&e, item_text, chunk.span.start)),
        }
    }
    diag::sort(&mut diagnostics);
    Parsed { file, diagnostics }
}
