//! The formatter's safety net: its output must parse to the tree it printed.
//!
//! Only layout may change, so two trees are the same when they are equal with
//! every span forgotten. The check costs one more parse and a walk, and turns
//! any formatter bug into a refusal instead of a changed workflow.

use crate::source::Span;
use crate::syntax::ast::*;

/// Whether `a` and `b` are the same tree but for where things were written.
pub(super) fn same_tree(a: &File, b: &File) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    erase_file(&mut a);
    erase_file(&mut b);
    a == b
}

fn erase_file(f: &mut File) {
    for item in &mut f.items {
        match item {
            Item::Workflow(t) => text(t),
            Item::Field(p) => p.span = Span::default(),
            Item::Trigger(t) => {
                t.channel.span = Span::default();
                t.head = Span::default();
                block(&mut t.body);
            }
        }
    }
}

fn block(b: &mut Block) {
    b.span = Span::default();
    for s in &mut b.stmts {
        stmt(s);
    }
    for h in &mut b.orphans {
        handler(h);
    }
}

fn handler(h: &mut Handler) {
    h.head = Span::default();
    if let HandlerKind::Timeout(d) = &mut h.kind {
        d.span = Span::default();
    }
    block(&mut h.body);
}

fn stmt(s: &mut Stmt) {
    s.span = Span::default();
    s.head = Span::default();
    for h in &mut s.handlers {
        handler(h);
    }
    match &mut s.kind {
        StmtKind::If(i) => {
            for br in &mut i.branches {
                cond(&mut br.cond);
                block(&mut br.block);
            }
            if let Some(b) = &mut i.otherwise {
                block(b);
            }
        }
        StmtKind::Cta(c) => {
            if let Some(n) = &mut c.name {
                text(n);
            }
            fields(&mut c.fields);
        }
        StmtKind::Template(t) => {
            text(&mut t.name);
            fields(&mut t.fields);
        }
        StmtKind::Sms(Sms::Fields(f)) | StmtKind::Email(f) => fields(f),
        StmtKind::Whatsapp(t)
        | StmtKind::Sms(Sms::Text(t))
        | StmtKind::Tag(t)
        | StmtKind::Untag(t) => text(t),
        StmtKind::Wait(d) => d.span = Span::default(),
        StmtKind::AwaitReply(c) => c.span = Span::default(),
        StmtKind::Stop => {}
    }
}

fn fields(f: &mut Fields) {
    f.span = Span::default();
    for field in &mut f.fields {
        field.span = Span::default();
        field.name.span = Span::default();
        match &mut field.value {
            FieldValue::Text(t) => text(t),
            FieldValue::Duration(d) => d.span = Span::default(),
            FieldValue::Word(w, t) => {
                w.span = Span::default();
                if let Some(t) = t {
                    text(t);
                }
            }
        }
    }
}

fn cond(c: &mut Cond) {
    match c {
        Cond::Or(all) | Cond::And(all) => all.iter_mut().for_each(cond),
        Cond::Not(inner) => cond(inner),
        Cond::Test(t) => {
            t.span = Span::default();
            t.path.span = Span::default();
            if let Some((op, value)) = &mut t.compare {
                op.span = Span::default();
                text(value);
            }
        }
    }
}

fn text(t: &mut Text) {
    t.span = Span::default();
    for part in &mut t.parts {
        if let Part::Var(v) = part {
            v.span = Span::default();
        }
    }
}
