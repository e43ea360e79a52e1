//! Checked AST to IR.
//!
//! Statements lower in source order; each lowers to a fragment: an entry node
//! and the edges left dangling, labelled with the outcome that leaves by them.
//! A block joins its statements by pointing each one's dangling edges at the
//! next statement's entry. Handlers take the dangling edges of their outcome;
//! whatever is left continues after the last handler. A `cta` or `await`
//! waits for its outcome only when a handler set claims it, which is when it
//! sits in a tail position of the statement the handlers follow: the rule
//! lives in [`crate::check::claim`], shared with the checker.
//!
//! Only files without errors are lowered; a shape the checker should have
//! refused becomes a `kflow::internal` diagnostic, never a panic.

use crate::check::Clean;
use crate::check::claim::{self, Claim};
use crate::diag::{Code, Diagnostic};
use crate::ir::{self, Cond, Edge, Node, NodeId, Op, Outcome, Part, Program, Text};
use crate::source::Span;
use crate::syntax::ast::{self, CompareOp, FieldValue, HandlerKind, Item, Stmt, StmtKind};

/// An edge still to be pointed somewhere: on `node`, the edge for `on`.
#[derive(Clone, Copy, Debug)]
struct Dangling {
    node: NodeId,
    on: Outcome,
    /// Whether handlers further out may still take this edge: true for the
    /// outcomes of a waited `cta` or `await` until the statement carrying
    /// the handlers that claim it. Past those handlers the statement has
    /// finished as done, so an outcome its handlers left alone goes on, and
    /// is not caught again by handlers around it.
    claimable: bool,
}

/// A lowered statement or block.
struct Fragment {
    /// `None` for an empty block, which control passes straight through.
    entry: Option<NodeId>,
    exits: Vec<Dangling>,
}

struct Lowerer {
    nodes: Vec<Node>,
}

/// Lowers a file that checked without errors. `name` is the source name.
pub(crate) fn lower(clean: Clean<'_>, name: &str) -> Result<Program, Diagnostic> {
    let file = clean.file();
    let mut lowerer = Lowerer { nodes: Vec::new() };
    let mut workflow = None;
    let mut custom_fields = Vec::new();
    let mut triggers = Vec::new();
    for item in &file.items {
        match item {
            Item::Workflow(text) => workflow = workflow.or_else(|| Some(text.display())),
            Item::Field(path) => {
                if let Some(key) = path.node.strip_prefix("contact.") {
                    custom_fields.push(key.to_owned());
                }
            }
            Item::Trigger(trigger) => {
                let body = lowerer.block(&trigger.body, None)?;
                let end = lowerer.push(Op::End, trigger.body.span);
                let entry = lowerer.finish(body, end);
                triggers.push(ir::Trigger {
                    channel: channel(trigger.channel.node),
                    entry,
                    span: trigger.head,
                });
            }
        }
    }
    let workflow = workflow.unwrap_or_else(|| {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        base.strip_suffix(".kflow").unwrap_or(base).to_owned()
    });
    let mut nodes = lowerer.nodes;
    for node in &mut nodes {
        node.edges.sort_by_key(|e| e.on);
    }
    Ok(Program {
        format_version: ir::FORMAT_VERSION,
        workflow,
        source: name.to_owned(),
        custom_fields,
        triggers,
        nodes,
    })
}

fn channel(c: ast::Channel) -> ir::Channel {
    match c {
        ast::Channel::Whatsapp => ir::Channel::Whatsapp,
        ast::Channel::Sms => ir::Channel::Sms,
        ast::Channel::Email => ir::Channel::Email,
    }
}

fn internal(span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Internal,
        format!("internal error: cannot compile {what}"),
        span,
        "here",
    )
    .with_help("this file passed the checker but cannot be compiled; this is a bug in kflow, please report it")
}

fn text(t: &ast::Text) -> Text {
    Text(
        t.parts
            .iter()
            .map(|p| match p {
                ast::Part::Lit(s) => Part::Text(s.clone()),
                ast::Part::Var(v) => Part::Var(v.path.clone()),
            })
            .collect(),
    )
}

impl Lowerer {
    fn push(&mut self, op: Op, span: Span) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(Node {
            id,
            op,
            edges: Vec::new(),
            span,
        });
        id
    }

    fn connect(&mut self, from: Dangling, to: NodeId) {
        if let Some(node) = self.nodes.get_mut(from.node.0 as usize) {
            node.edges.push(Edge { on: from.on, to });
        }
    }

    /// Points every exit of `fragment` at `next`; returns where control
    /// enters (the fragment, or `next` when it is empty).
    fn finish(&mut self, fragment: Fragment, next: NodeId) -> NodeId {
        for exit in fragment.exits {
            self.connect(exit, next);
        }
        fragment.entry.unwrap_or(next)
    }

    fn block(&mut self, block: &ast::Block, tail: Option<Claim>) -> Result<Fragment, Diagnostic> {
        let mut entry = None;
        let mut pending: Vec<Dangling> = Vec::new();
        for (_, stmt, claim) in claim::tails(block, tail) {
            let fragment = self.stmt(stmt, claim)?;
            if let Some(start) = fragment.entry {
                for exit in pending.drain(..) {
                    self.connect(exit, start);
                }
                entry = entry.or(Some(start));
            }
            pending.extend(fragment.exits);
        }
        Ok(Fragment {
            entry,
            exits: pending,
        })
    }

    fn stmt(&mut self, stmt: &Stmt, tail: Option<Claim>) -> Result<Fragment, Diagnostic> {
        let Some(claim) = Claim::made_by(stmt) else {
            return self.kind(stmt, tail);
        };
        let fragment = self.kind(stmt, Some(claim))?;
        let mut exits = Vec::new();
        let mut by_outcome: Vec<(Outcome, Vec<Dangling>)> = Vec::new();
        for exit in fragment.exits {
            match exit.on {
                Outcome::Opened | Outcome::NotDelivered | Outcome::Timeout if exit.claimable => {
                    match by_outcome.iter_mut().find(|(o, _)| *o == exit.on) {
                        Some((_, v)) => v.push(exit),
                        None => by_outcome.push((exit.on, vec![exit])),
                    }
                }
                _ => exits.push(exit),
            }
        }
        // Handler bodies are lowered in the order the handlers are written,
        // so node ids follow the source.
        for handler in &stmt.handlers {
            let outcome = match handler.kind {
                HandlerKind::LinkOpened => Outcome::Opened,
                HandlerKind::NotDelivered => Outcome::NotDelivered,
                HandlerKind::Timeout(_) => Outcome::Timeout,
            };
            // None for an unreachable or duplicate handler (both refused by
            // the checker): there is nothing for it to take.
            let Some(at) = by_outcome.iter().position(|(o, _)| *o == outcome) else {
                continue;
            };
            let (_, edges) = by_outcome.remove(at);
            let body = self.block(&handler.body, None)?;
            match body.entry {
                Some(start) => {
                    for e in edges {
                        self.connect(e, start);
                    }
                }
                None => exits.extend(edges),
            }
            exits.extend(body.exits);
        }
        // Outcomes no handler names go on after the handlers.
        for (_, edges) in by_outcome {
            exits.extend(edges);
        }
        for exit in &mut exits {
            exit.claimable = false;
        }
        Ok(Fragment {
            entry: fragment.entry,
            exits,
        })
    }

    fn single(&mut self, op: Op, span: Span, outcomes: &[Outcome]) -> Fragment {
        let id = self.push(op, span);
        Fragment {
            entry: Some(id),
            exits: outcomes
                .iter()
                .map(|&on| Dangling {
                    node: id,
                    on,
                    claimable: true,
                })
                .collect(),
        }
    }

    fn kind(&mut self, stmt: &Stmt, tail: Option<Claim>) -> Result<Fragment, Diagnostic> {
        let span = stmt.span;
        Ok(match &stmt.kind {
            StmtKind::If(if_stmt) => self.if_stmt(if_stmt, span, tail)?,
            StmtKind::Cta(cta) => self.cta(cta, span, tail)?,
            StmtKind::Whatsapp(t) => {
                self.single(Op::SendWhatsapp { text: text(t) }, span, &[Outcome::Done])
            }
            StmtKind::Template(t) => {
                let fields = &t.fields.fields;
                let language = field_literal(fields, "language")
                    .ok_or_else(|| internal(span, "a template without a language"))?;
                let category = fields
                    .iter()
                    .find(|f| f.name.node == "category")
                    .and_then(|f| match &f.value {
                        FieldValue::Word(w, None) => Some(w.node.clone()),
                        _ => None,
                    })
                    .ok_or_else(|| internal(span, "a template without a category"))?;
                let params = fields
                    .iter()
                    .filter(|f| f.name.node == "param")
                    .filter_map(|f| match &f.value {
                        FieldValue::Text(t) => Some(text(t)),
                        _ => None,
                    })
                    .collect();
                let name = t
                    .name
                    .as_literal()
                    .ok_or_else(|| internal(span, "a template name with variables"))?;
                self.single(
                    Op::SendTemplate {
                        name,
                        language,
                        category,
                        params,
                    },
                    span,
                    &[Outcome::Done],
                )
            }
            StmtKind::Sms(sms) => {
                let (body, from) = match sms {
                    ast::Sms::Text(t) => (text(t), None),
                    ast::Sms::Fields(f) => (
                        field_text(&f.fields, "body")
                            .ok_or_else(|| internal(span, "an sms without a body"))?,
                        field_literal(&f.fields, "from"),
                    ),
                };
                self.single(Op::SendSms { body, from }, span, &[Outcome::Done])
            }
            StmtKind::Email(f) => {
                let subject = field_text(&f.fields, "subject")
                    .ok_or_else(|| internal(span, "an email without a subject"))?;
                let body = field_text(&f.fields, "body")
                    .ok_or_else(|| internal(span, "an email without a body"))?;
                let from = field_literal(&f.fields, "from");
                self.single(
                    Op::SendEmail {
                        subject,
                        body,
                        from,
                    },
                    span,
                    &[Outcome::Done],
                )
            }
            StmtKind::Wait(d) => {
                self.single(Op::Wait { seconds: d.seconds }, span, &[Outcome::Done])
            }
            StmtKind::AwaitReply(c) => {
                let timeout_seconds = tail
                    .and_then(|c| c.timeout.map(|d| d.seconds))
                    .ok_or_else(|| internal(span, "an `await reply` without a timeout"))?;
                self.single(
                    Op::AwaitReply {
                        channel: channel(c.node),
                        timeout_seconds,
                    },
                    span,
                    &[Outcome::Replied, Outcome::Timeout],
                )
            }
            StmtKind::Tag(t) => {
                let tag = t
                    .as_literal()
                    .ok_or_else(|| internal(span, "a tag with variables"))?;
                self.single(Op::Tag { tag }, span, &[Outcome::Done])
            }
            StmtKind::Untag(t) => {
                let tag = t
                    .as_literal()
                    .ok_or_else(|| internal(span, "a tag with variables"))?;
                self.single(Op::Untag { tag }, span, &[Outcome::Done])
            }
            StmtKind::Stop => self.single(Op::End, span, &[]),
        })
    }

    fn if_stmt(
        &mut self,
        if_stmt: &ast::If,
        span: Span,
        tail: Option<Claim>,
    ) -> Result<Fragment, Diagnostic> {
        let mut entry = None;
        let mut exits = Vec::new();
        // The edge taken when every condition so far failed.
        let mut otherwise: Option<Dangling> = None;
        for branch in &if_stmt.branches {
            let (op, yes, no) = condition(&branch.cond);
            let test = self.push(op, span);
            if let Some(edge) = otherwise.take() {
                self.connect(edge, test);
            }
            entry = entry.or(Some(test));
            let body = self.block(&branch.block, tail)?;
            let taken = Dangling {
                node: test,
                on: yes,
                claimable: false,
            };
            match body.entry {
                Some(start) => self.connect(taken, start),
                None => exits.push(taken),
            }
            exits.extend(body.exits);
            otherwise = Some(Dangling {
                node: test,
                on: no,
                claimable: false,
            });
        }
        if let Some(edge) = otherwise {
            match &if_stmt.otherwise {
                Some(block) => {
                    let body = self.block(block, tail)?;
                    match body.entry {
                        Some(start) => self.connect(edge, start),
                        None => exits.push(edge),
                    }
                    exits.extend(body.exits);
                }
                None => exits.push(edge),
            }
        }
        Ok(Fragment { entry, exits })
    }

    fn cta(
        &mut self,
        cta: &ast::Cta,
        span: Span,
        tail: Option<Claim>,
    ) -> Result<Fragment, Diagnostic> {
        let fields = &cta.fields.fields;
        let header = fields
            .iter()
            .find(|f| f.name.node == "header")
            .and_then(|f| match &f.value {
                FieldValue::Word(kind, Some(t)) => {
                    let t = text(t);
                    match kind.node.as_str() {
                        "text" => Some(ir::Header::Text { text: t }),
                        "image" => Some(ir::Header::Image { link: t }),
                        "video" => Some(ir::Header::Video { link: t }),
                        "document" => Some(ir::Header::Document { link: t }),
                        _ => None,
                    }
                }
                _ => None,
            })
            .ok_or_else(|| internal(span, "a cta without a valid header"))?;
        let message = ir::CtaMessage {
            name: cta.name.as_ref().map(ast::Text::display),
            from: field_literal(fields, "from"),
            header,
            body: field_text(fields, "body")
                .ok_or_else(|| internal(span, "a cta without a body"))?,
            footer: field_text(fields, "footer"),
            display_text: field_text(fields, "button")
                .ok_or_else(|| internal(span, "a cta without a button"))?,
            url: field_text(fields, "url").ok_or_else(|| internal(span, "a cta without a url"))?,
        };
        let field_timeout = fields
            .iter()
            .find(|f| f.name.node == "timeout")
            .and_then(|f| match &f.value {
                FieldValue::Duration(d) => Some(d.seconds),
                _ => None,
            });
        let timeout_seconds = tail
            .and_then(|c| c.timeout.map(|d| d.seconds))
            .or(field_timeout)
            .ok_or_else(|| internal(span, "a cta without a timeout"))?;
        let waits = tail.is_some();
        let op = Op::SendCta {
            message,
            timeout_seconds,
            waits,
        };
        Ok(if waits {
            self.single(
                op,
                span,
                &[Outcome::Opened, Outcome::NotDelivered, Outcome::Timeout],
            )
        } else {
            self.single(op, span, &[Outcome::Done])
        })
    }
}

fn field_text(fields: &[ast::Field], name: &str) -> Option<Text> {
    fields
        .iter()
        .find(|f| f.name.node == name)
        .and_then(|f| match &f.value {
            FieldValue::Text(t) => Some(text(t)),
            _ => None,
        })
}

fn field_literal(fields: &[ast::Field], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|f| f.name.node == name)
        .and_then(|f| match &f.value {
            FieldValue::Text(t) => t.as_literal(),
            _ => None,
        })
}

/// The test node for a condition, and the outcomes meaning "held" / "failed".
/// A bare `window.open` / `window.closed` becomes a `check_window` node.
fn condition(cond: &ast::Cond) -> (Op, Outcome, Outcome) {
    if let ast::Cond::Test(t) = cond
        && t.compare.is_none()
    {
        match t.path.node.as_str() {
            "window.open" => return (Op::CheckWindow, Outcome::WindowOpen, Outcome::WindowClosed),
            "window.closed" => {
                return (Op::CheckWindow, Outcome::WindowClosed, Outcome::WindowOpen);
            }
            _ => {}
        }
    }
    (
        Op::Branch {
            cond: lower_cond(cond),
        },
        Outcome::True,
        Outcome::False,
    )
}

fn lower_cond(cond: &ast::Cond) -> Cond {
    match cond {
        ast::Cond::Or(items) => Cond::Any {
            of: items.iter().map(lower_cond).collect(),
        },
        ast::Cond::And(items) => Cond::All {
            of: items.iter().map(lower_cond).collect(),
        },
        ast::Cond::Not(inner) => Cond::Not {
            cond: Box::new(lower_cond(inner)),
        },
        ast::Cond::Test(t) => match (t.path.node.as_str(), &t.compare) {
            ("window.open", _) => Cond::WindowOpen,
            ("window.closed", _) => Cond::Not {
                cond: Box::new(Cond::WindowOpen),
            },
            ("contact.tags", Some((_, value))) => Cond::HasTag { tag: text(value) },
            (path, Some((op, value))) => Cond::Compare {
                var: path.to_owned(),
                cmp: match op.node {
                    CompareOp::Eq => ir::Compare::Eq,
                    CompareOp::Ne => ir::Compare::Ne,
                    CompareOp::Contains | CompareOp::Has => ir::Compare::Contains,
                },
                value: text(value),
            },
            // Refused by the checker; never true.
            (_, None) => Cond::Any { of: Vec::new() },
        },
    }
}
