//! Finding what is under the cursor in a syntax tree: every string with the
//! message field it fills (and that field's WhatsApp limit), every variable,
//! every condition's path, every declaration.

use crate::platform::limits::{
    BUTTON_ID_MAX, BUTTON_TITLE_MAX, BUTTONS_BODY_MAX, CTA_BODY_MAX, CTA_BUTTON_MAX,
    CTA_FOOTER_MAX, CTA_HEADER_TEXT_MAX, LIST_BODY_MAX, LIST_BUTTON_MAX, LIST_ROW_DESCRIPTION_MAX,
    LIST_ROW_ID_MAX, LIST_ROW_TITLE_MAX, LIST_SECTION_TITLE_MAX, SMS_BODY_MAX, WHATSAPP_TEXT_MAX,
};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{
    Block, Cond, FieldValue, Fields, File, Item, Sms, Stmt, StmtKind, Text, Zone,
};

/// A string and what it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site<'a> {
    /// The string.
    pub(crate) text: &'a Text,
    /// What it fills, as an author names it: `body`, `whatsapp text`.
    pub(crate) name: &'a str,
    /// The longest it may be, in characters, when the platform has a limit.
    pub(crate) limit: Option<usize>,
    /// The whole field (`body "..."`), or the string alone.
    pub(crate) span: Span,
}

/// Calls `f` with every string in the file.
pub(crate) fn each_text<'a>(file: &'a File, f: &mut dyn FnMut(Site<'a>)) {
    for item in &file.items {
        match item {
            Item::Workflow(name) => f(plain(name, "workflow name")),
            Item::Field(_) | Item::Cap(_) => {}
            Item::Trigger(trigger) => each_stmt(&trigger.body, &mut |stmt| stmt_texts(stmt, f)),
            Item::Quiet(q) => {
                if let Zone::Named(zone) = &q.zone {
                    f(plain(zone, "time zone"));
                }
                if let Some(default) = &q.default {
                    f(plain(default, "default time zone"));
                }
            }
            Item::Goal(g) => cond_texts(&g.cond, f),
        }
    }
}

/// Calls `f` with every condition path (`contact.city` in `if contact.city
/// == "Lisbon"`) in the file.
pub(crate) fn each_test_path<'a>(file: &'a File, f: &mut dyn FnMut(&'a Spanned<String>)) {
    for item in &file.items {
        match item {
            Item::Trigger(trigger) => each_stmt(&trigger.body, &mut |stmt| {
                if let StmtKind::If(i) = &stmt.kind {
                    for branch in &i.branches {
                        cond_paths(&branch.cond, f);
                    }
                }
            }),
            Item::Goal(g) => cond_paths(&g.cond, f),
            Item::Quiet(q) => {
                if let Zone::Field(path) = &q.zone {
                    f(path);
                }
            }
            _ => {}
        }
    }
}

/// The `field contact.key` declaration of `path`, if the file has one.
pub(crate) fn declaration<'a>(file: &'a File, path: &str) -> Option<&'a Spanned<String>> {
    declarations(file).find(|d| d.node == path)
}

/// Every `field` declaration, in order.
pub(crate) fn declarations(file: &File) -> impl Iterator<Item = &Spanned<String>> {
    file.items.iter().filter_map(|item| match item {
        Item::Field(path) => Some(path),
        _ => None,
    })
}

/// The innermost string site whose span holds `offset` (its end included,
/// where a cursor after the closing quote still is).
pub(crate) fn text_at(file: &File, offset: u32) -> Option<Site<'_>> {
    let mut best: Option<Site<'_>> = None;
    each_text(file, &mut |site| {
        if site.span.start <= offset
            && offset <= site.span.end
            && best.is_none_or(|b| site.span.len() < b.span.len())
        {
            best = Some(site);
        }
    });
    best
}

/// The variable path at `offset` (inside `{{ }}` or a condition) and its span.
pub(crate) fn path_at(file: &File, offset: u32) -> Option<(&str, Span)> {
    let inside = |span: Span| span.start <= offset && offset <= span.end;
    let mut found = None;
    each_text(file, &mut |site| {
        if let Some(var) = site.text.vars().find(|v| inside(v.span)) {
            found = Some((var.path.as_str(), var.span));
        }
    });
    if found.is_none() {
        each_test_path(file, &mut |path| {
            if inside(path.span) {
                found = Some((path.node.as_str(), path.span));
            }
        });
    }
    found
}

/// What each string of a several-string field is, with its limit.
fn parts_of(field: &str) -> &'static [(&'static str, Option<usize>)] {
    match field {
        "reply" => &[
            ("button id", Some(BUTTON_ID_MAX)),
            ("button title", Some(BUTTON_TITLE_MAX)),
        ],
        "row" => &[
            ("row id", Some(LIST_ROW_ID_MAX)),
            ("row title", Some(LIST_ROW_TITLE_MAX)),
            ("row description", Some(LIST_ROW_DESCRIPTION_MAX)),
        ],
        _ => &[],
    }
}

fn plain<'a>(text: &'a Text, name: &'a str) -> Site<'a> {
    Site {
        text,
        name,
        limit: None,
        span: text.span,
    }
}

fn each_stmt<'a>(block: &'a Block, f: &mut dyn FnMut(&'a Stmt)) {
    for stmt in &block.stmts {
        f(stmt);
        if let StmtKind::If(i) = &stmt.kind {
            for branch in &i.branches {
                each_stmt(&branch.block, f);
            }
            if let Some(otherwise) = &i.otherwise {
                each_stmt(otherwise, f);
            }
        }
        for handler in &stmt.handlers {
            each_stmt(&handler.body, f);
        }
    }
    for orphan in &block.orphans {
        each_stmt(&orphan.body, f);
    }
}

fn stmt_texts<'a>(stmt: &'a Stmt, f: &mut dyn FnMut(Site<'a>)) {
    match &stmt.kind {
        StmtKind::Cta(cta) => {
            if let Some(name) = &cta.name {
                f(plain(name, "action name"));
            }
            field_texts(&cta.fields, f, &|name, value| match (name, value) {
                ("body", _) => Some(CTA_BODY_MAX),
                ("footer", _) => Some(CTA_FOOTER_MAX),
                ("button", _) => Some(CTA_BUTTON_MAX),
                ("header", FieldValue::Word(kind, Some(_))) if kind.node == "text" => {
                    Some(CTA_HEADER_TEXT_MAX)
                }
                _ => None,
            });
        }
        StmtKind::Buttons(m) | StmtKind::List(m) => {
            let list = matches!(stmt.kind, StmtKind::List(_));
            if let Some(name) = &m.name {
                f(plain(name, "action name"));
            }
            field_texts(&m.fields, f, &|name, value| match (name, value) {
                ("body", _) if list => Some(LIST_BODY_MAX),
                ("body", _) => Some(BUTTONS_BODY_MAX),
                ("footer", _) => Some(CTA_FOOTER_MAX),
                ("button", _) => Some(LIST_BUTTON_MAX),
                ("header", FieldValue::Word(kind, Some(_))) if kind.node == "text" => {
                    Some(CTA_HEADER_TEXT_MAX)
                }
                _ => None,
            });
        }
        StmtKind::Whatsapp(text) => f(Site {
            limit: Some(WHATSAPP_TEXT_MAX),
            ..plain(text, "whatsapp text")
        }),
        StmtKind::Template(t) => {
            f(plain(&t.name, "template name"));
            field_texts(&t.fields, f, &|_, _| None);
        }
        StmtKind::Sms(Sms::Text(text)) => f(Site {
            limit: Some(SMS_BODY_MAX),
            ..plain(text, "sms body")
        }),
        StmtKind::Sms(Sms::Fields(fields)) => {
            field_texts(fields, f, &|name, _| {
                (name == "body").then_some(SMS_BODY_MAX)
            });
        }
        StmtKind::Email(fields) => field_texts(fields, f, &|_, _| None),
        StmtKind::Tag(text) | StmtKind::Untag(text) => f(plain(text, "tag")),
        StmtKind::If(i) => {
            for branch in &i.branches {
                cond_texts(&branch.cond, f);
            }
        }
        StmtKind::Wait(_) | StmtKind::AwaitReply(_) | StmtKind::Stop => {}
    }
}

fn field_texts<'a>(
    fields: &'a Fields,
    f: &mut dyn FnMut(Site<'a>),
    limit: &dyn Fn(&str, &FieldValue) -> Option<usize>,
) {
    for field in &fields.fields {
        let text = match &field.value {
            FieldValue::Text(text)
            | FieldValue::Word(_, Some(text))
            | FieldValue::Indexed(_, _, Some(text)) => text,
            FieldValue::Duration(_)
            | FieldValue::Word(_, None)
            | FieldValue::Indexed(_, _, None) => {
                continue;
            }
            FieldValue::Texts(texts) => {
                let parts = parts_of(&field.name.node);
                for (text, (name, limit)) in texts.iter().zip(parts) {
                    f(Site {
                        text,
                        name,
                        limit: *limit,
                        span: text.span,
                    });
                }
                continue;
            }
            FieldValue::Group(titles, inner) => {
                for text in titles {
                    f(Site {
                        limit: Some(LIST_SECTION_TITLE_MAX),
                        ..plain(text, "section title")
                    });
                }
                field_texts(inner, f, &|_, _| None);
                continue;
            }
        };
        f(Site {
            text,
            name: &field.name.node,
            limit: limit(&field.name.node, &field.value),
            span: field.span,
        });
    }
}

fn cond_texts<'a>(cond: &'a Cond, f: &mut dyn FnMut(Site<'a>)) {
    match cond {
        Cond::Or(items) | Cond::And(items) => items.iter().for_each(|c| cond_texts(c, f)),
        Cond::Not(inner) => cond_texts(inner, f),
        Cond::Test(test) => {
            if let Some((_, text)) = &test.compare {
                f(plain(text, "compared text"));
            }
        }
    }
}

fn cond_paths<'a>(cond: &'a Cond, f: &mut dyn FnMut(&'a Spanned<String>)) {
    match cond {
        Cond::Or(items) | Cond::And(items) => items.iter().for_each(|c| cond_paths(c, f)),
        Cond::Not(inner) => cond_paths(inner, f),
        Cond::Test(test) => f(&test.path),
    }
}
