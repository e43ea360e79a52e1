//! Which handlers wait on which messages: the claim rule, written once for
//! the checker (which bounds the waits and follows the window through them)
//! and for lowering (which decides which sends wait and where their outcomes
//! go).
//!
//! A statement that carries handlers (`on link opened`, `on not delivered`,
//! `on timeout`) *claims* the `cta`s and `await`s in its tail positions: the
//! statement itself, the last statement of each block inside it, and so on
//! down through `if` branches. Those messages wait for an outcome; every
//! other message is sent and the run goes straight on. An inner claim
//! replaces an outer one: handlers on a tail statement take its outcomes
//! before handlers further out see them.

use crate::syntax::ast::{Block, Duration, HandlerKind, Stmt};

/// The handler set that waits on a statement's tail messages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Claim {
    /// The first `on timeout` handler's duration: how long a claimed message
    /// waits (a `cta` may also give its own `timeout` field).
    pub(crate) timeout: Option<Duration>,
}

impl Claim {
    /// The claim `stmt`'s own handlers make, if it has any.
    pub(crate) fn made_by(stmt: &Stmt) -> Option<Claim> {
        if stmt.handlers.is_empty() {
            return None;
        }
        Some(Claim {
            timeout: stmt.handlers.iter().find_map(|h| match h.kind {
                HandlerKind::Timeout(d) => Some(d),
                _ => None,
            }),
        })
    }
}

/// The statements of `block`, each with the claim it inherits: only the last
/// statement is in tail position, so only it inherits the block's claim.
pub(crate) fn tails(
    block: &Block,
    claim: Option<Claim>,
) -> impl Iterator<Item = (usize, &Stmt, Option<Claim>)> {
    let last = block.stmts.len().saturating_sub(1);
    block
        .stmts
        .iter()
        .enumerate()
        .map(move |(i, stmt)| (i, stmt, if i == last { claim } else { None }))
}
