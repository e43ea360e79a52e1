//! Code actions: the quick fix of each diagnostic that has one (the checker's
//! did-you-mean for a misspelt variable, field, header kind or category),
//! applied as the exact edit the checker suggests.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Range, TextEdit, Uri, WorkspaceEdit,
};

use super::diagnostics::{self, DocsLink};
use super::documents::Document;

/// The quick fixes for the diagnostics that touch `range`.
pub(crate) fn quick_fixes(
    document: &Document,
    uri: &Uri,
    range: Range,
    docs: &DocsLink,
) -> Vec<CodeActionOrCommand> {
    let text = document.text();
    let lines = document.lines();
    let wanted = lines.span(text, range);
    document
        .checked()
        .diagnostics
        .iter()
        .filter_map(|d| {
            let fix = d.fix.as_ref()?;
            let span = d.primary_span();
            // Touching counts: a cursor right after the word still asks.
            if span.end < wanted.start || wanted.end < span.start {
                return None;
            }
            let edit = TextEdit {
                range: lines.range(text, fix.span),
                new_text: fix.replacement.clone(),
            };
            Some(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Replace with `{}`", fix.replacement),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostics::convert(d, document, uri, docs)]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: Some(true),
                ..CodeAction::default()
            }))
        })
        .collect()
}
