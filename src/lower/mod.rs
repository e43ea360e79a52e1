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

mod choices;
mod conditions;
mod guardrail;
mod messages;

use crate::check::Clean;
use crate::check::claim::{self, Claim};
use crate::diag::{Code, Diagnostic};
use crate::ir::{self, Edge, Node, NodeId, Op, Outcome, Part, Program, Text};
use crate::source::Span;
use crate::syntax::ast::{self, HandlerKind, Item, Stmt, StmtKind};

/// An edge still to be pointed somewhere: on `node`, the edge for `on`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dangling {
    pub(super) node: NodeId,
    pub(super) on: Outcome,
    /// Whether handlers further out may still take this edge: true for the
    /// outcomes of a waited `cta` or `await` until the statement carrying
    /// the handlers that claim it. Past those handlers the statement has
    /// finished as done, so an outcome its handlers left alone goes on, and
    /// is not caught again by handlers around it.
    pub(super) claimable: bool,
}

/// What a handler takes: an outcome, or the choice of one id.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Handled {
    Outcome(Outcome),
    Choice(String),
}

/// A lowered statement or block.
pub(super) struct Fragment {
    /// `None` for an empty block, which control passes straight through.
    pub(super) entry: Option<NodeId>,
    pub(super) exits: Vec<Dangling>,
}

pub(super) struct Lowerer {
    nodes: Vec<Node>,
}

/// Lowers a file that checked without errors. `name` is the source name.
pub(crate) fn lower(clean: Clean<'_>, name: &str) -> Result<Program, Diagnostic> {
    let file = clean.file();
    let mut lowerer = Lowerer { nodes: Vec::new() };
    let mut workflow = None;
    let mut custom_fields = Vec::new();
    let mut triggers = Vec::new();
    let mut guardrails = ir::Guardrails::default();
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
            Item::Quiet(q) => guardrails.quiet = Some(guardrail::quiet(q)?),
            Item::Cap(c) => guardrails.cap = Some(guardrail::cap(c)?),
            Item::Goal(g) => guardrails.goal = Some(guardrail::goal(g)?),
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
        guardrails,
        triggers,
        nodes,
    })
}

pub(super) fn channel(c: ast::Channel) -> ir::Channel {
    match c {
        ast::Channel::Whatsapp => ir::Channel::Whatsapp,
        ast::Channel::Sms => ir::Channel::Sms,
        ast::Channel::Email => ir::Channel::Email,
    }
}

pub(super) fn internal(span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Internal,
        format!("internal error: cannot compile {what}"),
        span,
        "here",
    )
    .with_help("this file passed the checker but cannot be compiled; this is a bug in kflow, please report it")
}

pub(super) fn text(t: &ast::Text) -> Text {
    Text(
        t.parts
            .iter()
            .map(|p| match p {
                ast::Part::Lit(s) => Part::Text(s.clone()),
                ast::Part::Var(v) => match &v.fallback {
                    Some(fallback) => Part::VarOr {
                        var: v.path.clone(),
                        or: fallback.node.clone(),
                    },
                    None => Part::Var(v.path.clone()),
                },
            })
            .collect(),
    )
}

impl Lowerer {
    pub(super) fn push(&mut self, op: Op, span: Span) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(Node {
            id,
            op,
            edges: Vec::new(),
            span,
        });
        id
    }

    /// The id of choice `index` of the `buttons` or `list` at `node`.
    fn choice_id(&self, node: NodeId, index: u8) -> Option<String> {
        let ids = self.nodes.get(node.0 as usize)?.op.choice_ids()?;
        ids.get(index as usize).map(|id| (*id).to_owned())
    }

    pub(super) fn connect(&mut self, from: Dangling, to: NodeId) {
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

    pub(super) fn block(
        &mut self,
        block: &ast::Block,
        tail: Option<Claim>,
    ) -> Result<Fragment, Diagnostic> {
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
        // Claimable outcomes, grouped by what a handler names: an outcome,
        // or for choices the chosen id (the same id may be a different
        // index in each message an `if` ends in).
        let mut by_outcome: Vec<(Handled, Vec<Dangling>)> = Vec::new();
        for exit in fragment.exits {
            let handled = match exit.on {
                Outcome::Opened | Outcome::NotDelivered | Outcome::Timeout if exit.claimable => {
                    Handled::Outcome(exit.on)
                }
                Outcome::Choice(i) if exit.claimable => match self.choice_id(exit.node, i) {
                    Some(id) => Handled::Choice(id),
                    None => {
                        exits.push(exit);
                        continue;
                    }
                },
                _ => {
                    exits.push(exit);
                    continue;
                }
            };
            match by_outcome.iter_mut().find(|(o, _)| *o == handled) {
                Some((_, v)) => v.push(exit),
                None => by_outcome.push((handled, vec![exit])),
            }
        }
        // Handler bodies are lowered in the order the handlers are written,
        // so node ids follow the source.
        for handler in &stmt.handlers {
            let handled = match &handler.kind {
                HandlerKind::LinkOpened => Handled::Outcome(Outcome::Opened),
                HandlerKind::NotDelivered => Handled::Outcome(Outcome::NotDelivered),
                HandlerKind::Timeout(_) => Handled::Outcome(Outcome::Timeout),
                HandlerKind::Choice(id) => match id.as_literal() {
                    Some(id) => Handled::Choice(id),
                    None => continue,
                },
            };
            // None for an unreachable or duplicate handler (both refused by
            // the checker): there is nothing for it to take.
            let Some(at) = by_outcome.iter().position(|(o, _)| *o == handled) else {
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

    pub(super) fn single(&mut self, op: Op, span: Span, outcomes: &[Outcome]) -> Fragment {
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
            StmtKind::Buttons(m) => self.buttons(m, span, tail)?,
            StmtKind::List(m) => self.list(m, span, tail)?,
            StmtKind::Whatsapp(t) => {
                self.single(Op::SendWhatsapp { text: text(t) }, span, &[Outcome::Done])
            }
            StmtKind::Template(t) => self.template(t, span, tail)?,
            StmtKind::Sms(sms) => self.single(messages::sms(sms, span)?, span, &[Outcome::Done]),
            StmtKind::Email(f) => self.single(messages::email(f, span)?, span, &[Outcome::Done]),
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
}
