//! Completion: the words that fit where the cursor is (items and guardrails
//! at the top level, a goal's condition, a zone's contact field, statements
//! in a block, a message's own fields in its block, a template button's
//! kinds) and,
//! after `{{` in a string, the variables the file can use, its own
//! `field contact.x` declarations included.

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionResponse, CompletionTextEdit, Documentation,
    Position, TextEdit,
};

use super::documents::Document;
use super::keywords::{
    self, CATEGORIES, CONDITIONS, HEADER_KINDS, ITEMS, STATEMENTS, TEMPLATE_BUTTON_KINDS,
};
use super::locate;
use super::scan::{self, Block, Place};
use crate::check::messages::message_fields;
use crate::check::vars::STANDARD_CONTACT_FIELDS;
use crate::source::Span;
use crate::syntax::ast::Part;

/// The completions at `position`.
pub(crate) fn complete(document: &Document, position: Position) -> Option<CompletionResponse> {
    let text = document.text();
    let lines = document.lines();
    let offset = lines.offset(text, position);
    let replace = |start: usize| lines.range(text, Span::new(start as u32, offset as u32));
    let items = match scan::place(text, offset) {
        Place::Comment | Place::String { var: None } => return None,
        Place::String {
            var: Some((start, _)),
        } => variables(document)
            .into_iter()
            .map(|(path, detail)| item(&path, CompletionItemKind::VARIABLE, detail, replace(start)))
            .collect(),
        Place::Code {
            block,
            word_start,
            previous,
        } => {
            let range = replace(word_start);
            let words: Vec<(String, Option<String>)> = match (block, previous) {
                (Block::Fields(_), Some("header")) => plain(HEADER_KINDS),
                (Block::Fields(_), Some("category")) => plain(CATEGORIES),
                // `button 0 |` in a template.
                (Block::Fields(_), Some(p)) if p.bytes().all(|b| b.is_ascii_digit()) => {
                    plain(TEMPLATE_BUTTON_KINDS)
                }
                (Block::Fields(keyword), _) => message_fields(keyword)
                    .unwrap_or_default()
                    .iter()
                    .map(|spec| (spec.name.to_owned(), Some(spec.hint.to_owned())))
                    .collect(),
                (_, Some("reply")) => plain(&["whatsapp", "sms", "email"]),
                (Block::Statements | Block::Top, Some("if" | "goal" | "and" | "or" | "not")) => {
                    let mut words = plain(CONDITIONS);
                    words.extend(
                        contact_fields(document)
                            .into_iter()
                            .map(|(f, d)| (format!("contact.{f}"), Some(d))),
                    );
                    words
                }
                (Block::Statements, _) => explained(STATEMENTS),
                (Block::Top, Some("timezone")) => contact_fields(document)
                    .into_iter()
                    .map(|(f, d)| (format!("contact.{f}"), Some(d)))
                    .collect(),
                (Block::Top, Some("field")) => contact_fields(document)
                    .into_iter()
                    .filter(|(_, d)| d == DECLARED)
                    .map(|(f, d)| (format!("contact.{f}"), Some(d)))
                    .collect(),
                (Block::Top, _) => explained(ITEMS),
            };
            words
                .into_iter()
                .map(|(word, detail)| item(&word, CompletionItemKind::KEYWORD, detail, range))
                .collect()
        }
    };
    Some(CompletionResponse::Array(items))
}

const STANDARD: &str = "standard contact field";
const DECLARED: &str = "declared with `field`";

/// The contact fields the file may use: the standard ones and its own.
fn contact_fields(document: &Document) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = STANDARD_CONTACT_FIELDS
        .iter()
        .map(|f| ((*f).to_owned(), STANDARD.to_owned()))
        .collect();
    for path in locate::declarations(&document.checked().file) {
        if let Some(key) = path.node.strip_prefix("contact.")
            && !out.iter().any(|(f, _)| f == key)
        {
            out.push((key.to_owned(), DECLARED.to_owned()));
        }
    }
    out
}

/// Every variable path the file can use: `contact.*`, and the
/// `custom_values.*` keys it already uses somewhere (custom values are not
/// declared, so the file is all there is to go by).
fn variables(document: &Document) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = contact_fields(document)
        .into_iter()
        .map(|(f, d)| (format!("contact.{f}"), Some(d)))
        .collect();
    let mut custom: Vec<String> = Vec::new();
    locate::each_text(&document.checked().file, &mut |site| {
        for part in &site.text.parts {
            if let Part::Var(var) = part
                && var.path.starts_with("custom_values.")
                && !custom.contains(&var.path)
            {
                custom.push(var.path.clone());
            }
        }
    });
    out.extend(
        custom
            .into_iter()
            .map(|p| (p, Some("custom value used in this file".to_owned()))),
    );
    out.push((
        "custom_values.".to_owned(),
        Some("a location custom value: `custom_values.snake_case_key`".to_owned()),
    ));
    out
}

fn plain(words: &[&str]) -> Vec<(String, Option<String>)> {
    words.iter().map(|w| ((*w).to_owned(), None)).collect()
}

fn explained(words: &[&str]) -> Vec<(String, Option<String>)> {
    words
        .iter()
        .map(|w| {
            let first = w.split(' ').next().unwrap_or(w);
            let key = match *w {
                "on link opened" => "link",
                "on not delivered" => "delivered",
                "on timeout" => "timeout",
                _ => first,
            };
            ((*w).to_owned(), keywords::explain(key).map(str::to_owned))
        })
        .collect()
}

fn item(
    label: &str,
    kind: CompletionItemKind,
    detail: Option<String>,
    range: lsp_types::Range,
) -> CompletionItem {
    CompletionItem {
        label: label.to_owned(),
        kind: Some(kind),
        documentation: detail.clone().map(Documentation::String),
        detail,
        filter_text: Some(label.to_owned()),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit {
            range,
            new_text: label.to_owned(),
        })),
        ..CompletionItem::default()
    }
}
