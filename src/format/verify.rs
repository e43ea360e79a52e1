//! The formatter's safety net: its output must parse to the tree it printed.
//!
//! Only layout may change, so two trees are the same when they are equal with
//! every span forgotten. The comparison walks both trees side by side without
//! copying either (a 10 MB file's tree is hundreds of megabytes to clone), and
//! turns any formatter bug into a refusal instead of a changed workflow.

use crate::syntax::ast::*;

/// Whether `a` and `b` are the same tree but for where things were written.
#[cfg(test)]
pub(super) fn same_tree(a: &File, b: &File) -> bool {
    all(&a.items, &b.items, item)
}

/// Whether `a` and `b` are the same item but for where things were written.
pub(super) fn same_item(a: &Item, b: &Item) -> bool {
    item(a, b)
}

fn all<T>(a: &[T], b: &[T], same: impl Fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

fn opt<T>(a: &Option<T>, b: &Option<T>, same: impl Fn(&T, &T) -> bool) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => same(x, y),
        (None, None) => true,
        _ => false,
    }
}

fn item(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Workflow(x), Item::Workflow(y)) => text(x, y),
        (Item::Field(x), Item::Field(y)) => x.node == y.node,
        (Item::Trigger(x), Item::Trigger(y)) => {
            x.channel.node == y.channel.node && block(&x.body, &y.body)
        }
        (Item::Quiet(x), Item::Quiet(y)) => {
            x.from.node == y.from.node
                && x.to.node == y.to.node
                && match (&x.zone, &y.zone) {
                    (Zone::Named(p), Zone::Named(q)) => text(p, q),
                    (Zone::Field(p), Zone::Field(q)) => p.node == q.node,
                    _ => false,
                }
                && opt(&x.default, &y.default, text)
        }
        (Item::Cap(x), Item::Cap(y)) => x.count.node == y.count.node && duration(&x.per, &y.per),
        (Item::Goal(x), Item::Goal(y)) => cond(&x.cond, &y.cond),
        _ => false,
    }
}

fn block(a: &Block, b: &Block) -> bool {
    all(&a.stmts, &b.stmts, stmt) && all(&a.orphans, &b.orphans, handler)
}

fn handler(a: &Handler, b: &Handler) -> bool {
    let kind = match (&a.kind, &b.kind) {
        (HandlerKind::Timeout(x), HandlerKind::Timeout(y)) => duration(x, y),
        (HandlerKind::Choice(x), HandlerKind::Choice(y)) => text(x, y),
        (x, y) => x.describe() == y.describe(),
    };
    kind && block(&a.body, &b.body)
}

fn duration(a: &Duration, b: &Duration) -> bool {
    a.seconds == b.seconds && a.malformed == b.malformed
}

fn stmt(a: &Stmt, b: &Stmt) -> bool {
    all(&a.handlers, &b.handlers, handler) && stmt_kind(&a.kind, &b.kind)
}

fn stmt_kind(a: &StmtKind, b: &StmtKind) -> bool {
    match (a, b) {
        (StmtKind::If(x), StmtKind::If(y)) => {
            all(&x.branches, &y.branches, |p, q| {
                cond(&p.cond, &q.cond) && block(&p.block, &q.block)
            }) && opt(&x.otherwise, &y.otherwise, block)
        }
        (StmtKind::Cta(x), StmtKind::Cta(y))
        | (StmtKind::Buttons(x), StmtKind::Buttons(y))
        | (StmtKind::List(x), StmtKind::List(y)) => {
            opt(&x.name, &y.name, text) && fields(&x.fields, &y.fields)
        }
        (StmtKind::Template(x), StmtKind::Template(y)) => {
            text(&x.name, &y.name) && fields(&x.fields, &y.fields)
        }
        (StmtKind::Sms(Sms::Fields(x)), StmtKind::Sms(Sms::Fields(y)))
        | (StmtKind::Email(x), StmtKind::Email(y)) => fields(x, y),
        (StmtKind::Whatsapp(x), StmtKind::Whatsapp(y))
        | (StmtKind::Sms(Sms::Text(x)), StmtKind::Sms(Sms::Text(y)))
        | (StmtKind::Tag(x), StmtKind::Tag(y))
        | (StmtKind::Untag(x), StmtKind::Untag(y)) => text(x, y),
        (StmtKind::Wait(x), StmtKind::Wait(y)) => duration(x, y),
        (StmtKind::AwaitReply(x), StmtKind::AwaitReply(y)) => x.node == y.node,
        (StmtKind::Stop, StmtKind::Stop) => true,
        _ => false,
    }
}

fn fields(a: &Fields, b: &Fields) -> bool {
    all(&a.fields, &b.fields, |x, y| {
        x.name.node == y.name.node
            && match (&x.value, &y.value) {
                (FieldValue::Text(p), FieldValue::Text(q)) => text(p, q),
                (FieldValue::Duration(p), FieldValue::Duration(q)) => duration(p, q),
                (FieldValue::Word(p, s), FieldValue::Word(q, t)) => {
                    p.node == q.node && opt(s, t, text)
                }
                (FieldValue::Texts(p), FieldValue::Texts(q)) => all(p, q, text),
                (FieldValue::Indexed(n, p, s), FieldValue::Indexed(m, q, t)) => {
                    n.node == m.node && p.node == q.node && opt(s, t, text)
                }
                (FieldValue::Group(p, s), FieldValue::Group(q, t)) => {
                    all(p, q, text) && fields(s, t)
                }
                _ => false,
            }
    })
}

fn cond(a: &Cond, b: &Cond) -> bool {
    match (a, b) {
        (Cond::Or(x), Cond::Or(y)) | (Cond::And(x), Cond::And(y)) => all(x, y, cond),
        (Cond::Not(x), Cond::Not(y)) => cond(x, y),
        (Cond::Test(x), Cond::Test(y)) => {
            x.path.node == y.path.node
                && opt(&x.compare, &y.compare, |(p, s), (q, t)| {
                    p.node == q.node && text(s, t)
                })
        }
        _ => false,
    }
}

fn text(a: &Text, b: &Text) -> bool {
    all(&a.parts, &b.parts, |x, y| match (x, y) {
        (Part::Lit(p), Part::Lit(q)) => p == q,
        (Part::Var(p), Part::Var(q)) => {
            p.path == q.path && opt(&p.fallback, &q.fallback, |f, g| f.node == g.node)
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::syntax;

    fn tree(text: &str) -> File {
        syntax::parse(&SourceFile::new("t.kflow", text).expect("small")).file
    }

    #[test]
    fn layout_does_not_matter_but_content_does() {
        let a = tree("on reply sms < if window.open < tag \"a\" > >");
        let b = tree("on reply sms <\n  if window.open <\n    tag \"a\"\n  >\n>\n");
        assert!(same_tree(&a, &b));
        for other in [
            "on reply sms < if window.open < tag \"b\" > >",
            "on reply sms < if window.open < untag \"a\" > >",
            "on reply email < if window.open < tag \"a\" > >",
            "on reply sms < if not window.open < tag \"a\" > >",
            "on reply sms < if window.open < tag \"a\" > else < stop > >",
            "on reply sms < if window.open < tag \"a\" wait 1h > >",
        ] {
            assert!(!same_tree(&a, &tree(other)), "{other}");
        }
        assert!(!same_tree(
            &tree("on reply sms < wait 1h >"),
            &tree("on reply sms < wait 2h >")
        ));
        assert!(same_tree(
            &tree("on reply sms < wait 60m >"),
            &tree("on reply sms < wait 1h >")
        ));
    }
}
