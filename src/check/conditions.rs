//! Conditions: that each test means something, and what it proves about the
//! WhatsApp window in the branch where it holds and where it fails.

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{CompareOp, Cond, Test};

use super::vars::Scope;
use crate::platform::suggest::did_you_mean;

/// What a branch knows about the window from its condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fact {
    /// Nothing.
    Unknown,
    /// Open at the moment of the check written at this span.
    Open(Span),
    /// Closed, by the check written at this span.
    Closed(Span),
}

impl Fact {
    /// Both hold (a branch where `a and b` is true).
    fn both(a: Fact, b: Fact) -> Fact {
        if a == Fact::Unknown { b } else { a }
    }

    /// One of them holds (a branch where `a or b` is true).
    fn either(a: Fact, b: Fact) -> Fact {
        match (a, b) {
            (Fact::Open(s), Fact::Open(_)) => Fact::Open(s),
            (Fact::Closed(s), Fact::Closed(_)) => Fact::Closed(s),
            _ => Fact::Unknown,
        }
    }
}

/// The facts in the branch where the condition holds, and where it fails.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Facts {
    pub(crate) when_true: Fact,
    pub(crate) when_false: Fact,
}

/// Checks a condition, reporting meaningless tests, and returns its facts.
pub(crate) fn check(cond: &Cond, scope: &Scope, out: &mut Vec<Diagnostic>) -> Facts {
    match cond {
        Cond::Test(test) => self::test(test, scope, out),
        Cond::Not(inner) => {
            let f = check(inner, scope, out);
            Facts {
                when_true: f.when_false,
                when_false: f.when_true,
            }
        }
        Cond::And(items) => items
            .iter()
            .map(|c| check(c, scope, out))
            .reduce(|a, b| Facts {
                when_true: Fact::both(a.when_true, b.when_true),
                when_false: Fact::either(a.when_false, b.when_false),
            })
            .unwrap_or(UNKNOWN),
        Cond::Or(items) => items
            .iter()
            .map(|c| check(c, scope, out))
            .reduce(|a, b| Facts {
                when_true: Fact::either(a.when_true, b.when_true),
                when_false: Fact::both(a.when_false, b.when_false),
            })
            .unwrap_or(UNKNOWN),
    }
}

const UNKNOWN: Facts = Facts {
    when_true: Fact::Unknown,
    when_false: Fact::Unknown,
};

fn test(test: &Test, scope: &Scope, out: &mut Vec<Diagnostic>) -> Facts {
    let path = test.path.node.as_str();
    let span = test.path.span;
    let (namespace, key) = path.split_once('.').unwrap_or((path, ""));
    match namespace {
        "window" => window(test, key, out),
        "contact" if key == "tags" => {
            match &test.compare {
                Some((op, value)) if op.node == CompareOp::Has => scope.check_text(value, out),
                Some((op, _)) => out.push(
                    Diagnostic::new(
                        Code::ConditionOperator,
                        format!(
                            "`contact.tags` is a set of tags; `{}` does not apply to it",
                            op.node.as_str()
                        ),
                        op.span,
                        "not a tag test",
                    )
                    .with_help("test for a tag with `contact.tags has \"vip\"`"),
                ),
                None => out.push(bare(test, "contact.tags has \"vip\"")),
            }
            UNKNOWN
        }
        "contact" | "custom_values" => {
            if let Some(d) = scope.check_path(path, span) {
                out.push(d);
            }
            match &test.compare {
                Some((op, _)) if op.node == CompareOp::Has => out.push(
                    Diagnostic::new(
                        Code::ConditionOperator,
                        format!("`has` tests tags; `{path}` is text"),
                        op.span,
                        "only for `contact.tags`",
                    )
                    .with_help(format!(
                        "compare text with `==`, `!=` or `contains`: `{path} contains \"...\"`"
                    )),
                ),
                Some((_, value)) => scope.check_text(value, out),
                None => out.push(bare(test, &format!("{path} == \"...\""))),
            }
            UNKNOWN
        }
        other => {
            let help = match did_you_mean(other, ["window", "contact", "custom_values"]) {
                Some(s) => format!("did you mean `{s}.{key}`?"),
                None => "conditions test `window.open`, `window.closed`, `contact.<field>`, `contact.tags` or `custom_values.<key>`".to_owned(),
            };
            out.push(
                Diagnostic::new(
                    Code::ConditionUnknown,
                    format!("`{path}` is not something a condition can test"),
                    span,
                    "unknown",
                )
                .with_help(help),
            );
            UNKNOWN
        }
    }
}

fn window(test: &Test, key: &str, out: &mut Vec<Diagnostic>) -> Facts {
    if let Some((op, _)) = &test.compare {
        out.push(
            Diagnostic::new(
                Code::ConditionOperator,
                format!(
                    "`{}` is a condition on its own and compares with nothing",
                    test.path.node
                ),
                op.span,
                "nothing to compare",
            )
            .with_help(format!("write `if {} < ... >`", test.path.node)),
        );
    }
    let span = test.span;
    match key {
        "open" => Facts {
            when_true: Fact::Open(span),
            when_false: Fact::Closed(span),
        },
        "closed" => Facts {
            when_true: Fact::Closed(span),
            when_false: Fact::Open(span),
        },
        other => {
            let help = match did_you_mean(other, ["open", "closed"]) {
                Some(s) => format!("did you mean `window.{s}`?"),
                None => "the window tests are `window.open` and `window.closed`".to_owned(),
            };
            out.push(
                Diagnostic::new(
                    Code::ConditionUnknown,
                    format!("`window.{other}` is not a window test"),
                    test.path.span,
                    "unknown",
                )
                .with_help(help),
            );
            UNKNOWN
        }
    }
}

fn bare(test: &Test, example: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ConditionUnknown,
        format!("`{}` is not a condition on its own", test.path.node),
        test.path.span,
        "needs a comparison",
    )
    .with_help(format!("compare it: `{example}`"))
}
