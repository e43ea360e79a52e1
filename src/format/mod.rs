//! `kflowc fmt`: one canonical layout for `.kflow` files.
//!
//! The formatter prints the parsed tree again, taking every literal (strings
//! with their escapes, durations, paths) verbatim from the source, and puts
//! each comment back before the token it preceded. The layout, documented in
//! `docs/language.md` ("Layout"):
//!
//! - two spaces per level of `<` nesting; lines of at most [`MAX_WIDTH`]
//!   characters where the layout can manage it (a long string is never cut);
//! - one top-level item, statement, handler or field per line; a blank line
//!   the author left between two of them is kept (runs of blank lines become
//!   one), none is added;
//! - a trigger's block always opens on the `on reply` line and closes on a
//!   line of its own;
//! - any other block stays on one line (`on link opened < tag "clicked" >`) when it
//!   holds one statement without handlers, or at most three fields
//!   (`< language "en_US" category utility >`), has no comment inside and
//!   fits in the line; otherwise it opens on its head's line and closes on a
//!   line of its own;
//! - `else` and `else if` follow the `>` they continue;
//! - fields are not aligned: one space between a name and its value, so
//!   editing one field never re-indents its neighbours;
//! - parentheses in conditions only where they change the meaning (or keep
//!   `not (not x)` from reading as `x`);
//! - the file ends with exactly one line break.
//!
//! A file with syntax errors is not formatted: its items that failed to
//! parse are not in the tree, so printing the tree would drop them. Before
//! handing the text back the formatter parses its own output and checks that
//! it is the same tree (`verify.rs`), so a formatter bug can never change what
//! a workflow does.

mod printer;
mod verify;

use crate::diag::{Code, Diagnostic};
use crate::source::{SourceFile, Span};
use crate::syntax::{self, comments};

/// The width the layout keeps lines within when it can.
pub const MAX_WIDTH: usize = 100;

/// Formats a whole file. Refused, with the parser's diagnostics, when the file
/// has syntax errors; refused with a `kflow::internal` diagnostic if the
/// output would not parse to the same tree (a bug in the formatter).
pub fn format(source: &SourceFile) -> Result<String, Vec<Diagnostic>> {
    let parsed = syntax::parse(source);
    if parsed.diagnostics.iter().any(Diagnostic::is_error) {
        return Err(parsed.diagnostics);
    }
    let text = source.text();
    let comments = comments::comments(text);
    let out = printer::print(text, &parsed.file, &comments);

    // The output, read back an item at a time (its whole tree would be as
    // large as the first, and a large file's trees are most of the cost).
    let items = &parsed.file.items;
    let same_items = syntax::visit_items(&out, |i, item| {
        items
            .get(i)
            .is_some_and(|original| verify::same_item(original, item))
    });
    let same = same_items == Some(items.len()) && comments::comments(&out).len() == comments.len();
    if !same {
        return Err(vec![
            Diagnostic::new(
                Code::Internal,
                "the formatter would change what this file means; it was left as it is",
                Span::new(0, 0),
                "while formatting this file",
            )
            .with_help("please report this file to the kflow developers"),
        ]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
