//! Source text to the typed AST.
//!
//! Input: a [`SourceFile`]. Output: a [`Parsed`] file holding every item that
//! parsed, and a diagnostic for every item that did not. The file is first cut
//! into top-level items (`split`), so one broken trigger does not hide the
//! errors of the next; each item is parsed by pest and converted by
//! `convert`, which also decodes strings and durations.

pub mod ast;
pub mod comments;
mod convert;
mod error;
mod fast;
mod grammar;
mod split;
mod text;
mod tidy;

use pest::Parser as _;

use crate::diag::{self, Diagnostic};
use crate::source::SourceFile;

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
    parse_with(source, true)
}

/// [`parse`] with every item read by pest, skipping the fast path. Only for
/// tests that check the two give the same tree and diagnostics.
#[doc(hidden)]
pub fn parse_with_pest(source: &SourceFile) -> Parsed {
    parse_with(source, false)
}

fn parse_with(source: &SourceFile, fast_path: bool) -> Parsed {
    let text = source.text();
    let split = split::split(text);
    let chunks: Vec<&split::Chunk> = split.chunks.iter().filter(|c| c.parse).collect();
    let mut diagnostics = split.diagnostics;
    let mut file = ast::File::default();
    // Items parse independently: a large file's runs of items are read on
    // every core, and put back in order.
    let runs = crate::parallel::in_runs(&chunks, text.len(), |run| {
        parse_chunks(text, run, fast_path)
    });
    for (items, found) in runs {
        file.items.extend(items);
        diagnostics.extend(found);
    }
    tidy::trim_spans(&mut file);
    diag::sort(&mut diagnostics);
    Parsed { file, diagnostics }
}

/// The items of `chunks` (parts of `text`) and their syntax diagnostics.
fn parse_chunks(
    text: &str,
    chunks: &[&split::Chunk],
    fast_path: bool,
) -> (Vec<ast::Item>, Vec<Diagnostic>) {
    let mut items = Vec::new();
    let mut diagnostics = Vec::new();
    for chunk in chunks {
        let item_text = &text[chunk.span.range()];
        // Most items parse: the fast path reads those many times quicker
        // than pest; pest reads the rest, and explains what is wrong.
        if fast_path && let Some(item) = fast::item(item_text, chunk.span.start, &mut diagnostics) {
            items.extend(item);
            continue;
        }
        match grammar::KflowParser::parse(grammar::Rule::item, item_text) {
            Ok(pairs) => {
                let mut converter = convert::Converter::new(chunk.span.start, &mut diagnostics);
                match converter.item(pairs) {
                    Ok(Some(item)) => items.push(item),
                    Ok(None) => {}
                    Err(drift) => diagnostics.push(drift.into_diagnostic()),
                }
            }
            Err(e) => diagnostics.push(error::to_diagnostic(&e, item_text, chunk.span.start)),
        }
    }
    (items, diagnostics)
}
