//! Lowering a file's guardrails: quiet hours to minutes and a zone, the cap
//! to a count and seconds, the goal to a condition and its text.

use super::conditions::lower_cond;
use super::internal;
use crate::check::guardrails::minutes;
use crate::diag::Diagnostic;
use crate::ir;
use crate::syntax::ast::{self, Zone};

pub(super) fn quiet(q: &ast::Quiet) -> Result<ir::Quiet, Diagnostic> {
    let bad = || internal(q.span, "quiet hours");
    let from = minutes(&q.from.node).ok_or_else(bad)?;
    let to = minutes(&q.to.node).ok_or_else(bad)?;
    let (field, zone) = match &q.zone {
        Zone::Named(name) => (None, name.as_literal().ok_or_else(bad)?),
        Zone::Field(path) => (
            Some(
                path.node
                    .strip_prefix("contact.")
                    .ok_or_else(bad)?
                    .to_owned(),
            ),
            match &q.default {
                Some(default) => default.as_literal().ok_or_else(bad)?,
                // Documented: contacts without a zone have quiet hours in UTC.
                None => "UTC".to_owned(),
            },
        ),
    };
    Ok(ir::Quiet {
        from,
        to,
        field,
        zone,
    })
}

pub(super) fn cap(c: &ast::Cap) -> Result<ir::Cap, Diagnostic> {
    let count = c
        .count
        .node
        .parse()
        .map_err(|_| internal(c.span, "a frequency cap"))?;
    Ok(ir::Cap {
        count,
        seconds: c.per.seconds,
    })
}

pub(super) fn goal(g: &ast::Goal) -> Result<ir::Goal, Diagnostic> {
    Ok(ir::Goal {
        cond: lower_cond(&g.cond),
        text: g.cond.display(),
    })
}
