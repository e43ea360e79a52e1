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

/// Parses `text` item by item, a run of items on each core, handing each
/// item with its index among the file's items to `visit` and dropping it
/// once visited: a pass over a large file's items that never holds its whole
/// tree (the formatter checks its output this way). Answers how many items
/// were visited, or `None` when the text has a syntax error or `visit`
/// answered false.
pub(crate) fn visit_items(
    text: &str,
    visit: impl Fn(usize, &ast::Item) -> bool + Sync,
) -> Option<usize> {
    let split = split::split(text);
    if split.diagnostics.iter().any(Diagnostic::is_error) || split.chunks.iter().any(|c| !c.parse) {
        return None;
    }
    // Each chunk starts at an item, but the first: it may hold only the
    // comments before the first item (or be a file of comments). Every
    // other chunk holds exactly one item.
    let Some((first, rest)) = split.chunks.split_first() else {
        return Some(0);
    };
    let one = |chunk: &split::Chunk| {
        let (items, diagnostics) = parse_chunks(text, &[chunk], true);
        if diagnostics.iter().any(Diagnostic::is_error) {
            return None;
        }
        Some(items)
    };
    let leading = one(first)?;
    for (i, item) in leading.iter().enumerate() {
        if !visit(i, item) {
            return None;
        }
    }
    let before = leading.len();
    let numbered: Vec<(usize, &split::Chunk)> = rest.iter().enumerate().collect();
    let runs = crate::parallel::in_runs(&numbered, text.len(), |run| {
        let mut visited = 0;
        for &(i, chunk) in run {
            let [item] = one(chunk)?.try_into().ok()?;
            if !visit(before + i, &item) {
                return None;
            }
            visited += 1;
        }
        Some(visited)
    });
    runs.into_iter().sum::<Option<usize>>().map(|n| n + before)
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
