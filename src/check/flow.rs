//! Walks a trigger's statements in execution order, carrying the window state
//! and working out each statement's possible outcomes.
//!
//! Every statement ends with a set of outcomes, each reached with its own
//! window state ([`Exits`]): a `cta` that is waited on ends as opened, not
//! delivered or timeout; `await reply` as replied or timeout; `stop` never
//! ends; a block ends as its last statement; an `if` as its taken branch.
//! Handlers written after a statement run on the outcome they name; an outcome
//! the statement cannot produce makes its handler unreachable. A statement's
//! handlers also *claim* the `cta`s and `await`s in its tail positions: those
//! wait for their outcome, with the `on timeout` duration as their timeout.

use std::collections::{HashMap, HashSet};

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{Block, Channel, Handler, HandlerKind, Stmt, StmtKind};

use super::claim::{self, Claim};
use super::conditions::{self, Fact};
use super::costs::{self, Billing, SendCost};
use super::messages;
use super::vars::Scope;
use super::window::{Anchor, Window};

/// The outcomes a statement can end with, each with the window it leaves.
#[derive(Clone, Debug, Default)]
struct Exits {
    done: Option<Window>,
    replied: Option<Window>,
    opened: Option<Window>,
    not_delivered: Option<Window>,
    timeout: Option<Window>,
}

fn join(a: Option<Window>, b: Option<Window>) -> Option<Window> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.join(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

impl Exits {
    fn done(window: Window) -> Exits {
        Exits {
            done: Some(window),
            ..Exits::default()
        }
    }

    /// Where a handled outcome's handler starts.
    fn of(&self, kind: &HandlerKind) -> Option<&Window> {
        match kind {
            HandlerKind::LinkOpened => self.opened.as_ref(),
            HandlerKind::NotDelivered => self.not_delivered.as_ref(),
            HandlerKind::Timeout(_) => self.timeout.as_ref(),
        }
    }

    fn merge(&mut self, other: Exits) {
        self.done = join(self.done.take(), other.done);
        self.replied = join(self.replied.take(), other.replied);
        self.opened = join(self.opened.take(), other.opened);
        self.not_delivered = join(self.not_delivered.take(), other.not_delivered);
        self.timeout = join(self.timeout.take(), other.timeout);
    }

    /// The state after the statement, whichever way it ended.
    fn joined(&self) -> Option<Window> {
        [
            &self.replied,
            &self.opened,
            &self.not_delivered,
            &self.timeout,
        ]
        .into_iter()
        .fold(self.done.clone(), |acc, w| join(acc, w.clone()))
    }

    /// The outcomes, in words.
    fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        for (w, name) in [
            (&self.done, "done"),
            (&self.replied, "replied"),
            (&self.opened, "link opened"),
            (&self.not_delivered, "not delivered"),
            (&self.timeout, "timeout"),
        ] {
            if w.is_some() {
                names.push(name);
            }
        }
        names
    }
}

/// Walks statements, reporting into `out`.
pub(crate) struct Flow<'a> {
    scope: &'a Scope,
    out: &'a mut Vec<Diagnostic>,
    /// What each send costs, in the order the walk meets them.
    pub(crate) costs: Vec<SendCost>,
    /// Where each send's entry in `costs` is, by its keyword's start, so a
    /// statement met again finds it in one lookup.
    cost_at: HashMap<u32, usize>,
    /// Handler timeouts already range-checked (one handler may claim several CTAs).
    checked_timeouts: HashSet<u32>,
}

impl<'a> Flow<'a> {
    pub(crate) fn new(scope: &'a Scope, out: &'a mut Vec<Diagnostic>) -> Flow<'a> {
        Flow {
            scope,
            out,
            costs: Vec::new(),
            cost_at: HashMap::new(),
            checked_timeouts: HashSet::new(),
        }
    }

    /// Checks a trigger's body, starting from the window its channel gives.
    pub(crate) fn trigger(&mut self, channel: Channel, head: Span, body: &Block) {
        let start = match channel {
            Channel::Whatsapp => Window::opened(Anchor::Reply(head)),
            Channel::Sms => Window::unknown(Anchor::OtherTrigger(head, "SMS")),
            Channel::Email => Window::unknown(Anchor::OtherTrigger(head, "email")),
        };
        self.block(body, start, None);
    }

    fn block(&mut self, block: &Block, state: Window, tail: Option<Claim>) -> Exits {
        for orphan in &block.orphans {
            self.block(&orphan.body, state.clone(), None);
        }
        if block.stmts.is_empty() {
            return Exits::done(state);
        }
        let mut current = Some(state.clone());
        let mut fallback = state;
        let mut reachable = true;
        let mut exits = Exits::default();
        for (i, stmt, claim) in claim::tails(block, tail) {
            let input = match current.take() {
                Some(w) => w,
                None => {
                    if reachable {
                        reachable = false;
                        self.unreachable_code(block, i);
                    }
                    fallback.clone()
                }
            };
            fallback = input.clone();
            exits = self.stmt(stmt, input, claim);
            current = exits.joined();
        }
        if reachable { exits } else { Exits::default() }
    }

    /// Records a send's cost once, however often the walk meets it.
    fn cost(&mut self, span: Span, kind: &'static str, billing: Billing) {
        match self.cost_at.get(&span.start) {
            // Met again on another path: the dearer reading stands.
            Some(&i) => {
                let known = &mut self.costs[i];
                if billing.billable_by_whatsapp() && !known.billing.billable_by_whatsapp() {
                    known.billing = billing;
                }
            }
            None => {
                self.cost_at.insert(span.start, self.costs.len());
                self.costs.push(SendCost {
                    span,
                    kind,
                    billing,
                });
            }
        }
    }

    fn unreachable_code(&mut self, block: &Block, first: usize) {
        let (Some(stopper), Some(from), Some(to)) = (
            block.stmts.get(first - 1),
            block.stmts.get(first),
            block.stmts.last(),
        ) else {
            return;
        };
        let end = to.handlers.last().map_or(to.span.end, |h| h.body.span.end);
        let why = match stopper.kind {
            StmtKind::Stop => "`stop` ends the run here".to_owned(),
            _ => format!(
                "every way through this `{}` stops the run",
                stopper.kind.keyword()
            ),
        };
        self.out.push(
            Diagnostic::new(
                Code::FlowUnreachable,
                "these statements never run",
                Span::new(from.span.start, end),
                "unreachable",
            )
            .with_label(stopper.head, why)
            .with_help(match stopper.kind {
                StmtKind::Stop => "remove them, or move them before the `stop`",
                _ => "remove them, or let one way through the statement above continue instead of stopping",
            }),
        );
    }

    fn stmt(&mut self, stmt: &Stmt, state: Window, tail: Option<Claim>) -> Exits {
        let Some(claim) = Claim::made_by(stmt) else {
            return self.kind(stmt, state, tail);
        };
        let exits = self.kind(stmt, state.clone(), Some(claim));
        let mut done = join(exits.done.clone(), exits.replied.clone());
        let mut handled: Vec<&Handler> = Vec::new();
        for handler in &stmt.handlers {
            let same = |h: &&Handler| {
                std::mem::discriminant(&h.kind) == std::mem::discriminant(&handler.kind)
            };
            if let Some(first) = handled.iter().copied().find(same) {
                self.out.push(
                    Diagnostic::new(
                        Code::HandlerDuplicate,
                        format!(
                            "`{}` is written twice for the same statement",
                            handler.kind.describe()
                        ),
                        handler.head,
                        "second handler",
                    )
                    .with_label(first.head, "first handler")
                    .with_help("merge the two handlers' statements into the first one"),
                );
                self.block(&handler.body, state.clone(), None);
                continue;
            }
            handled.push(handler);
            match exits.of(&handler.kind) {
                Some(start) => {
                    let body = self.block(&handler.body, start.clone(), None);
                    done = join(done, body.joined());
                }
                None => {
                    self.unreachable_handler(stmt, handler, &exits);
                    self.block(&handler.body, state.clone(), None);
                }
            }
        }
        for (kind_is_handled, window) in [
            (
                handled.iter().any(|h| h.kind == HandlerKind::LinkOpened),
                &exits.opened,
            ),
            (
                handled.iter().any(|h| h.kind == HandlerKind::NotDelivered),
                &exits.not_delivered,
            ),
            (
                handled
                    .iter()
                    .any(|h| matches!(h.kind, HandlerKind::Timeout(_))),
                &exits.timeout,
            ),
        ] {
            if !kind_is_handled {
                done = join(done, window.clone());
            }
        }
        Exits {
            done,
            ..Exits::default()
        }
    }

    fn unreachable_handler(&mut self, stmt: &Stmt, handler: &Handler, exits: &Exits) {
        let keyword = stmt.kind.keyword();
        let names = exits.names();
        let ends = if names.is_empty() {
            format!("this `{keyword}` never finishes")
        } else {
            format!("this `{keyword}` can only end as: {}", names.join(", "))
        };
        let help = match handler.kind {
            HandlerKind::LinkOpened | HandlerKind::NotDelivered => {
                "a handler applies to the statement right before it; only a `cta` (or an `if` whose branches end in one) has this outcome"
            }
            HandlerKind::Timeout(_) => {
                "a handler applies to the statement right before it; only a `cta` or `await reply` (or an `if` whose branches end in one) can time out"
            }
        };
        self.out.push(
            Diagnostic::new(
                Code::HandlerUnreachable,
                format!("`{}` can never run", handler.kind.describe()),
                handler.head,
                "unreachable handler",
            )
            .with_label(stmt.head, ends)
            .with_help(help),
        );
    }

    fn kind(&mut self, stmt: &Stmt, state: Window, tail: Option<Claim>) -> Exits {
        match &stmt.kind {
            StmtKind::If(if_stmt) => {
                let mut exits = Exits::default();
                let mut rest = state;
                for branch in &if_stmt.branches {
                    let facts = conditions::check(&branch.cond, self.scope, self.out);
                    let inside = with_fact(rest.clone(), facts.when_true);
                    exits.merge(self.block(&branch.block, inside, tail));
                    rest = with_fact(rest, facts.when_false);
                }
                match &if_stmt.otherwise {
                    Some(block) => exits.merge(self.block(block, rest, tail)),
                    None => exits.merge(Exits::done(rest)),
                }
                exits
            }
            StmtKind::Cta(cta) => {
                let handler_timeout = tail.and_then(|c| c.timeout);
                if let Some(t) = handler_timeout
                    && self.checked_timeouts.insert(t.span.start)
                {
                    messages::timeout_range(t, self.out);
                }
                let info = messages::cta(cta, stmt.head, handler_timeout, self.scope, self.out);
                self.out.extend(state.require_open(stmt.head, "this `cta`"));
                self.cost(stmt.head, "cta", Billing::FreeService);
                if tail.is_none() {
                    return Exits::done(state);
                }
                let timeout = handler_timeout
                    .or(info.timeout_field)
                    .map_or(0, |d| d.seconds);
                let after = state.spend(timeout, stmt.head);
                Exits {
                    opened: Some(after.clone()),
                    not_delivered: Some(after.clone()),
                    timeout: Some(after),
                    ..Exits::default()
                }
            }
            StmtKind::Whatsapp(text) => {
                messages::whatsapp_text(text, self.scope, self.out);
                self.out
                    .extend(state.require_open(stmt.head, "this `whatsapp` message"));
                self.cost(stmt.head, "whatsapp", Billing::FreeService);
                Exits::done(state)
            }
            StmtKind::Template(t) => {
                let marketing = messages::template(t, stmt.head, self.scope, self.out);
                let billing = costs::template(marketing, &state);
                if billing == Billing::Marketing && state.is_open() {
                    self.out.push(
                        Diagnostic::new(
                            Code::TemplatePaidInWindow,
                            "a marketing template where the window is open is billed, and a session message here would be free",
                            stmt.head,
                            "billed marketing template",
                        )
                        .with_help("send this as a `whatsapp` message or a `cta` (free inside the window) and keep the template for where the window is closed (`if window.closed < ... >`)"),
                    );
                }
                self.cost(stmt.head, "template", billing);
                Exits::done(state)
            }
            StmtKind::Sms(sms) => {
                let segments = messages::sms(sms, stmt.head, self.scope, self.out);
                self.cost(stmt.head, "sms", Billing::Sms { segments });
                Exits::done(state)
            }
            StmtKind::Email(fields) => {
                messages::email(fields, stmt.head, self.scope, self.out);
                self.cost(stmt.head, "email", Billing::Email);
                Exits::done(state)
            }
            StmtKind::Wait(d) => {
                if d.seconds == 0 && !d.malformed {
                    self.out.push(
                        Diagnostic::new(
                            Code::WaitZero,
                            "this `wait` waits no time",
                            d.span,
                            "zero duration",
                        )
                        .with_help("wait a positive time such as `wait 5m`, or remove the `wait`"),
                    );
                }
                Exits::done(state.spend(d.seconds, stmt.span))
            }
            StmtKind::AwaitReply(channel) => self.await_reply(stmt, channel.node, state, tail),
            StmtKind::Tag(text) | StmtKind::Untag(text) => {
                messages::tag(text, self.out);
                Exits::done(state)
            }
            StmtKind::Stop => Exits::default(),
        }
    }

    fn await_reply(
        &mut self,
        stmt: &Stmt,
        channel: Channel,
        state: Window,
        tail: Option<Claim>,
    ) -> Exits {
        let Some(timeout) = tail.and_then(|c| c.timeout) else {
            self.out.push(
                Diagnostic::new(
                    Code::AwaitMissingTimeout,
                    format!(
                        "`await reply {}` has no timeout, so a run could wait forever",
                        channel.as_str()
                    ),
                    stmt.span,
                    "waits with no limit",
                )
                .with_help(
                    "follow it with a handler that bounds the wait: `on timeout 1d < ... >`",
                ),
            );
            let replied = match channel {
                Channel::Whatsapp => Window::opened(Anchor::Await(stmt.span)),
                _ => state,
            };
            return Exits {
                replied: Some(replied),
                ..Exits::default()
            };
        };
        let waited = state.spend(timeout.seconds, stmt.span);
        let replied = match channel {
            Channel::Whatsapp => Window::opened(Anchor::Await(stmt.span)),
            _ => waited.clone(),
        };
        Exits {
            replied: Some(replied),
            timeout: Some(waited),
            ..Exits::default()
        }
    }
}

fn with_fact(state: Window, fact: Fact) -> Window {
    match fact {
        Fact::Unknown => state,
        Fact::Open(check) => state.proven_open(check),
        Fact::Closed(check) => Window::proven_closed(check),
    }
}
