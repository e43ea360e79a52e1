//! Lowering `if`: one test node per condition, chained through their
//! "no" edges to the `else` block.

use super::{Dangling, Fragment, Lowerer, text};
use crate::check::claim::Claim;
use crate::diag::Diagnostic;
use crate::ir::{self, Cond, Op, Outcome};
use crate::source::Span;
use crate::syntax::ast::{self, CompareOp};

impl Lowerer {
    pub(super) fn if_stmt(
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

pub(super) fn lower_cond(cond: &ast::Cond) -> Cond {
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
