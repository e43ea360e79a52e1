//! A workflow's guardrails: quiet hours, a frequency cap and a goal, each
//! written at most once per file and applying to every run of it.
//!
//! Quiet hours matter to the window analysis: a send that may fall inside
//! them waits until they end, so [`Guardrails::quiet_hold`] is the longest
//! such a wait can be, which [`super::flow`] spends before the send.

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{Cap, File, Goal, Item, Quiet, Text, Zone};

use super::conditions;
use super::vars::{Scope, forbid_vars};
use crate::duration::{format as format_duration, format_clock};
use crate::platform::limits::CAP_COUNT_MAX;
use crate::platform::quiet::{CLOCK_CHANGE_SECONDS, length_seconds, parse_clock, zone, zone_names};
use crate::platform::suggest::did_you_mean;

/// What the flow checker needs to know of a file's guardrails.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Guardrails {
    /// The longest a send may be held by quiet hours (their length plus a
    /// night when clocks go back), and the `quiet` keyword, for labels.
    pub(crate) quiet_hold: Option<(u64, Span)>,
}

/// Checks every guardrail of `file`.
pub(crate) fn check(file: &File, scope: &Scope, out: &mut Vec<Diagnostic>) -> Guardrails {
    let mut guardrails = Guardrails::default();
    let mut first: [Option<Span>; 3] = [None; 3];
    for item in &file.items {
        let (slot, head, what) = match item {
            Item::Quiet(q) => (0, q.head, "quiet hours"),
            Item::Cap(c) => (1, c.head, "a frequency cap"),
            Item::Goal(g) => (2, g.head, "a goal"),
            _ => continue,
        };
        let again = first[slot];
        if let Some(earlier) = again {
            out.push(
                Diagnostic::new(
                    Code::GuardrailDuplicate,
                    format!("a file has {what} once"),
                    head,
                    "given again",
                )
                .with_label(earlier, "first given here")
                .with_help("keep one: it holds for every run of the file, whatever its trigger"),
            );
        } else {
            first[slot] = Some(head);
        }
        // A second one is checked too, so every problem shows at once; the
        // first is the one that counts.
        match item {
            Item::Quiet(q) => {
                let hold = quiet(q, scope, out);
                if again.is_none() {
                    guardrails.quiet_hold = hold;
                }
            }
            Item::Cap(c) => cap(c, out),
            Item::Goal(g) => goal(g, scope, out),
            _ => {}
        }
    }
    guardrails
}

fn quiet(q: &Quiet, scope: &Scope, out: &mut Vec<Diagnostic>) -> Option<(u64, Span)> {
    let from = clock(&q.from.node, q.from.span, out);
    let to = clock(&q.to.node, q.to.span, out);
    match &q.zone {
        Zone::Named(name) => {
            zone_name(name, out);
            if let Some(default) = &q.default {
                out.push(
                    Diagnostic::new(
                        Code::QuietTimezone,
                        "a `default` zone is for contacts without one, and this zone is the same for everyone",
                        default.span,
                        "never used",
                    )
                    .with_help("remove the `default`, or read the zone from the contact: `timezone contact.timezone default \"Europe/Lisbon\"`"),
                );
            }
        }
        Zone::Field(path) => {
            let key = path.node.strip_prefix("contact.");
            if !key.is_some_and(|k| k != "tags" && scope.has_contact_field(k)) {
                let suggestion = key.and_then(|k| did_you_mean(k, scope.contact_fields()));
                out.push(
                    Diagnostic::new(
                        Code::QuietTimezone,
                        format!("`{}` is not a contact field kflow can read a time zone from", path.node),
                        path.span,
                        "not a contact field",
                    )
                    .with_help(match suggestion {
                        Some(s) => format!("did you mean `contact.{s}`? Or name the zone: `timezone \"Europe/Lisbon\"`"),
                        None => "read the zone from a contact field, `timezone contact.timezone`, or name it: `timezone \"Europe/Lisbon\"`".to_owned(),
                    }),
                );
            }
            match &q.default {
                Some(default) => zone_name(default, out),
                None => out.push(
                    Diagnostic::new(
                        Code::QuietNoDefault,
                        format!("contacts without a `{}` have quiet hours in UTC", path.node),
                        path.span,
                        "no default zone",
                    )
                    .with_help(format!(
                        "say which zone they have: `timezone {} default \"Europe/Lisbon\"`",
                        path.node
                    )),
                ),
            }
        }
    }
    let (from, to) = (from?, to?);
    if from == to {
        out.push(
            Diagnostic::new(
                Code::QuietHours,
                format!(
                    "quiet hours from {} to {} hold no time at all",
                    format_clock(from),
                    format_clock(to)
                ),
                q.from.span.to(q.to.span),
                "starts when it ends",
            )
            .with_help("write when quiet hours start and when they end, such as `quiet 21:00-08:00`; remove the line to send at any hour"),
        );
        return None;
    }
    Some((length_seconds(from, to) + CLOCK_CHANGE_SECONDS, q.head))
}

/// A quiet-hours time as written (`21:00`), in minutes after midnight:
/// what lowering writes to the IR, read by the rule this checker holds
/// the source to.
pub(crate) fn minutes(text: &str) -> Option<u16> {
    parse_clock(text)
}

fn clock(text: &str, span: Span, out: &mut Vec<Diagnostic>) -> Option<u16> {
    let minutes = parse_clock(text);
    if minutes.is_none() {
        out.push(
            Diagnostic::new(
                Code::QuietHours,
                format!("`{text}` is not a time of day"),
                span,
                "not a time",
            )
            .with_help(
                "write hours from 0 to 23 and two digits of minutes, such as `21:00` or `8:30`",
            ),
        );
    }
    minutes
}

/// Checks a zone name written in the file.
fn zone_name(name: &Text, out: &mut Vec<Diagnostic>) {
    forbid_vars(name, "a time zone", out);
    let Some(literal) = name.as_literal() else {
        return;
    };
    if zone(&literal).is_some() {
        return;
    }
    let suggestion = did_you_mean(&literal, zone_names());
    let diagnostic = Diagnostic::new(
        Code::QuietTimezone,
        format!("`{literal}` is not a time zone kflow knows"),
        name.span,
        "unknown time zone",
    )
    .with_help(match suggestion {
        Some(s) => format!("did you mean `{s}`? Zones are the IANA database's names"),
        None => "write an IANA zone name such as `\"Europe/Lisbon\"` or `\"America/New_York\"`"
            .to_owned(),
    });
    out.push(match suggestion {
        Some(s) => diagnostic.with_fix(Span::new(name.span.start + 1, name.span.end - 1), s),
        None => diagnostic,
    });
}

fn cap(c: &Cap, out: &mut Vec<Diagnostic>) {
    let count: Option<u32> = c.count.node.parse().ok();
    if !count.is_some_and(|n| (1..=CAP_COUNT_MAX).contains(&n)) {
        out.push(
            Diagnostic::new(
                Code::CapValue,
                format!(
                    "a frequency cap of {} messages is outside 1 to {CAP_COUNT_MAX}",
                    c.count.node
                ),
                c.count.span,
                "not allowed",
            )
            .with_help(format!(
                "cap at 1 to {CAP_COUNT_MAX} messages per period, such as `at most 2 per 1d`; remove the line for no cap"
            )),
        );
    }
    if c.per.seconds == 0 && !c.per.malformed {
        out.push(
            Diagnostic::new(
                Code::CapValue,
                format!(
                    "a frequency cap counts messages over {}: no time at all",
                    format_duration(0)
                ),
                c.per.span,
                "no period",
            )
            .with_help("count over a positive period, such as `per 1d` or `per 7d`"),
        );
    }
}

fn goal(g: &Goal, scope: &Scope, out: &mut Vec<Diagnostic>) {
    conditions::check(&g.cond, scope, out);
}
