//! Hover: a message text's length against its WhatsApp limit, counted as the
//! checker counts it, and a line on each keyword.

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

use super::documents::Document;
use super::keywords;
use super::locate;
use super::scan::{self, Place};

/// The hover at `position`, if there is something to say.
pub(crate) fn hover(document: &Document, position: Position) -> Option<Hover> {
    let text = document.text();
    let lines = document.lines();
    let offset = lines.offset(text, position);
    if let Some(site) = locate::text_at(&document.checked().file, offset as u32) {
        // The checker's own count: literal characters, variables as zero.
        let count = site.text.literal_chars();
        let mut line = match site.limit {
            Some(max) => format!("{}: {count} / {max} characters", site.name),
            None => format!("{}: {count} characters", site.name),
        };
        if site.text.vars().next().is_some() {
            line.push_str(" (variables not counted)");
        }
        return Some(markdown(line, Some(lines.range(text, site.span))));
    }
    let Place::Code { word_start, .. } = scan::place(text, offset) else {
        return None;
    };
    let bytes = text.as_bytes();
    let mut end = word_start;
    while end < bytes.len()
        && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b'.')
    {
        end += 1;
    }
    let word = text.get(word_start..end)?;
    let explanation = keywords::explain(word)?;
    let span = crate::source::Span::new(word_start as u32, end as u32);
    Some(markdown(
        explanation.to_owned(),
        Some(lines.range(text, span)),
    ))
}

fn markdown(value: String, range: Option<lsp_types::Range>) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range,
    }
}
