//! Span tidying shared by both parsers.
//!
//! pest counts the implicit whitespace and comments it skipped while trying
//! an optional part that then did not match as part of the rule: an `if`
//! without `else` reaches into the comment after its `>`, a test without a
//! comparison and a field `name word` without text run on past their last
//! word. The fast parser reproduces that so the two agree; this pass then
//! ends those spans at their last real token, so labels never underline
//! trivia.

use crate::source::Span;
use crate::syntax::ast::{Block, Cond, FieldValue, Fields, File, Item, Stmt, StmtKind};

/// Trims the spans of every item in `file`.
pub(crate) fn trim_spans(file: &mut File) {
    for item in &mut file.items {
        match item {
            Item::Trigger(t) => block(&mut t.body),
            Item::Goal(g) => cond(&mut g.cond),
            _ => {}
        }
    }
}

/// Where a condition's last token ends (a test's path or compared value),
/// whatever trivia the parsers counted into it.
pub(crate) fn cond_end(c: &Cond) -> u32 {
    match c {
        Cond::Or(items) | Cond::And(items) => items.last().map_or(0, cond_end),
        // `not (a)`: the parenthesis is not in the tree; its test's end is.
        Cond::Not(inner) => cond_end(inner),
        Cond::Test(t) => match &t.compare {
            Some((_, value)) => value.span.end,
            None => t.path.span.end,
        },
    }
}

fn block(b: &mut Block) {
    for s in &mut b.stmts {
        stmt(s);
    }
    for h in &mut b.orphans {
        block(&mut h.body);
    }
}

fn stmt(s: &mut Stmt) {
    match &mut s.kind {
        StmtKind::If(i) => {
            for branch in &mut i.branches {
                cond(&mut branch.cond);
                block(&mut branch.block);
            }
            if let Some(b) = &mut i.otherwise {
                block(b);
            }
            let last = i
                .otherwise
                .as_ref()
                .or_else(|| i.branches.last().map(|b| &b.block))
                .map(|b| b.span.end);
            if let Some(end) = last {
                s.span = Span::new(s.span.start, end);
            }
        }
        StmtKind::Cta(c) | StmtKind::Buttons(c) | StmtKind::List(c) => fields(&mut c.fields),
        StmtKind::Template(t) => fields(&mut t.fields),
        StmtKind::Sms(crate::syntax::ast::Sms::Fields(f)) | StmtKind::Email(f) => fields(f),
        _ => {}
    }
    for h in &mut s.handlers {
        block(&mut h.body);
    }
}

fn fields(f: &mut Fields) {
    for field in &mut f.fields {
        if let FieldValue::Group(_, inner) = &mut field.value {
            fields(inner);
        }
        field.span = Span::new(field.span.start, field.value.span().end);
    }
}

fn cond(c: &mut Cond) {
    match c {
        Cond::Or(items) | Cond::And(items) => items.iter_mut().for_each(cond),
        Cond::Not(inner) => cond(inner),
        Cond::Test(t) => {
            let end = match &t.compare {
                Some((_, value)) => value.span.end,
                None => t.path.span.end,
            };
            t.span = Span::new(t.span.start, end);
        }
    }
}
