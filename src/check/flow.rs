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
use crate::syntax::ast::{Block, Channel, Duration, Handler, HandlerKind, Stmt, StmtKind, Text};

use super::claim::{self, Claim};
use super::conditions::{self, Fact};
use super::costs::{self, Billing, SendCost};
use super::guardrails::Guardrails;
use super::interactive;
use super::messages;
use super::vars::{self, Scope};
use super::window::{Anchor, Window};
use crate::platform::suggest::did_you_mean;

/// The outcomes a statement can end with, each with the window it leaves.
#[derive(Clone, Debug, Default)]
struct Exits {
    done: Option<Window>,
    replied: Option<Window>,
    opened: Option<Window>,
    not_delivered: Option<Window>,
    timeout: Option<Window>,
    /// A waited `buttons` or `list` ends as the choice of one of these ids
    /// (each with where it is first written).
    chose: Vec<(String, Span)>,
    /// The window after any choice: a choice is a WhatsApp reply.
    chose_window: Option<Window>,
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
            HandlerKind::Choice(id) => {
                let id = id.as_literal()?;
                self.chose
                    .iter()
                    .any(|(c, _)| *c == id)
                    .then_some(self.chose_window.as_ref())
                    .flatten()
            }
        }
    }

    fn merge(&mut self, other: Exits) {
        self.done = join(self.done.take(), other.done);
        self.replied = join(self.replied.take(), other.replied);
        self.opened = join(self.opened.take(), other.opened);
        self.not_delivered = join(self.not_delivered.take(), other.not_delivered);
        self.timeout = join(self.timeout.take(), other.timeout);
        self.chose_window = join(self.chose_window.take(), other.chose_window);
        for (id, span) in other.chose {
            if !self.chose.iter().any(|(c, _)| *c == id) {
                self.chose.push((id, span));
            }
        }
    }

    /// The state after the statement, whichever way it ended.
    fn joined(&self) -> Option<Window> {
        [
            &self.replied,
            &self.opened,
            &self.not_delivered,
            &self.timeout,
            &self.chose_window,
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
            (&self.chose_window, "a choice (`on reply \"id\"`)"),
        ] {
            if w.is_some() {
                names.push(name);
            }
        }
        names
    }

    /// A waited `buttons` or `list`: one of its choices, not delivered, or
    /// timed out, each after waiting up to `timeout` seconds from `state`.
    fn choice(state: &Window, timeout: u64, head: Span, choices: Vec<(String, Span)>) -> Exits {
        let after = state.clone().spend(timeout, head);
        Exits {
            not_delivered: Some(after.clone()),
            timeout: Some(after),
            chose: choices,
            chose_window: Some(Window::opened(Anchor::Choice(head))),
            ..Exits::default()
        }
    }
}

/// Walks statements, reporting into `out`.
pub(crate) struct Flow<'a> {
    scope: &'a Scope,
    guardrails: Guardrails,
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
    pub(crate) fn new(
        scope: &'a Scope,
        guardrails: Guardrails,
        out: &'a mut Vec<Diagnostic>,
    ) -> Flow<'a> {
        Flow {
            scope,
            guardrails,
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
            let same = |h: &&Handler| match (&h.kind, &handler.kind) {
                (HandlerKind::Choice(a), HandlerKind::Choice(b)) => {
                    a.as_literal().is_some() && a.as_literal() == b.as_literal()
                }
                (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
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
                    match &handler.kind {
                        HandlerKind::Choice(id) if exits.chose_window.is_some() => {
                            self.unknown_choice(stmt, id, &exits)
                        }
                        HandlerKind::Choice(id) if id.as_literal().is_none() => {
                            vars::forbid_vars(id, "a reply id", self.out)
                        }
                        _ => self.unreachable_handler(stmt, handler, &exits),
                    }
                    self.block(&handler.body, state.clone(), None);
                }
            }
        }
        let chosen = |id: &str| {
            handled.iter().any(|h| match &h.kind {
                HandlerKind::Choice(t) => t.as_literal().as_deref() == Some(id),
                _ => false,
            })
        };
        let mut unhandled_choice = false;
        for (id, span) in &exits.chose {
            if !chosen(id) {
                unhandled_choice = true;
                self.out.push(
                    Diagnostic::new(
                        Code::ReplyUnhandled,
                        format!("no handler says what to do when the contact chooses `{id}`"),
                        *span,
                        "no `on reply` for this choice",
                    )
                    .with_label(stmt.head, "its handlers")
                    .with_help(format!(
                        "add `on reply \"{id}\" < ... >` after the message; without one, this choice goes on after the handlers"
                    )),
                );
            }
        }
        if unhandled_choice {
            done = join(done, exits.chose_window.clone());
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

    fn unknown_choice(&mut self, stmt: &Stmt, id: &Text, exits: &Exits) {
        let Some(literal) = id.as_literal() else {
            vars::forbid_vars(id, "a reply id", self.out);
            return;
        };
        let ids: Vec<&str> = exits.chose.iter().map(|(c, _)| c.as_str()).collect();
        let suggestion = did_you_mean(&literal, ids.iter().copied());
        let listed = ids
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let message = match stmt.kind {
            StmtKind::Template(_) => {
                format!("no quick reply of this template has the payload `{literal}`")
            }
            _ => format!(
                "no button or row of this `{}` has the id `{literal}`",
                stmt.kind.keyword()
            ),
        };
        let diagnostic = Diagnostic::new(Code::ReplyUnknown, message, id.span, "no such choice")
            .with_label(stmt.head, format!("offers {listed}"))
            .with_help(match suggestion {
                Some(s) => {
                    format!("did you mean `{s}`? `on reply` names a choice's id, not its title")
                }
                None => format!("`on reply` names a choice's id, one of {listed}"),
            });
        self.out.push(match suggestion {
            Some(s) => diagnostic.with_fix(Span::new(id.span.start + 1, id.span.end - 1), s),
            None => diagnostic,
        });
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
            HandlerKind::LinkOpened => {
                "a handler applies to the statement right before it; only a `cta` (or an `if` whose branches end in one) has this outcome"
            }
            HandlerKind::NotDelivered => {
                "a handler applies to the statement right before it; only a `cta`, `buttons`, `list` or a template with quick replies (or an `if` whose branches end in one) has this outcome"
            }
            HandlerKind::Timeout(_) => {
                "a handler applies to the statement right before it; only a `cta`, `buttons`, `list`, a template with quick replies or `await reply` (or an `if` whose branches end in one) can time out"
            }
            HandlerKind::Choice(_) if matches!(stmt.kind, StmtKind::Cta(_)) => {
                "a `cta` carries one URL button, answered by `on link opened`; to let the contact choose, send a `buttons` or `list` message (a message cannot have both)"
            }
            HandlerKind::Choice(_) if matches!(stmt.kind, StmtKind::Template(_)) => {
                "a template is answered by a choice only through its quick replies: give each its payload, `button 1 reply \"confirm\"`, and branch with `on reply \"confirm\"`"
            }
            HandlerKind::Choice(_) => {
                "a handler applies to the statement right before it; only a `buttons` or `list` message, or a template with quick replies (or an `if` whose branches end in one), is answered by a choice"
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

    /// The window at a send: quiet hours may hold it first.
    fn held(&self, state: Window) -> Window {
        match self.guardrails.quiet_hold {
            Some((seconds, quiet)) => state.hold(seconds, quiet),
            None => state,
        }
    }

    fn kind(&mut self, stmt: &Stmt, state: Window, tail: Option<Claim>) -> Exits {
        let state = match stmt.kind {
            StmtKind::Cta(_)
            | StmtKind::Buttons(_)
            | StmtKind::List(_)
            | StmtKind::Whatsapp(_)
            | StmtKind::Template(_)
            | StmtKind::Sms(_)
            | StmtKind::Email(_) => self.held(state),
            _ => state,
        };
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
                    messages::timeout_range(t, Code::CtaTimeoutRange, self.out);
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
            StmtKind::Buttons(message) | StmtKind::List(message) => {
                let handler_timeout = tail.and_then(|c| c.timeout);
                let keyword = stmt.kind.keyword();
                let info = if matches!(stmt.kind, StmtKind::Buttons(_)) {
                    interactive::buttons(message, stmt.head, handler_timeout, self.scope, self.out)
                } else {
                    interactive::list(message, stmt.head, handler_timeout, self.scope, self.out)
                };
                self.out
                    .extend(state.require_open(stmt.head, &format!("this `{keyword}`")));
                self.cost(stmt.head, keyword, Billing::FreeService);
                if tail.is_none() {
                    return Exits::done(state);
                }
                self.waited_choice(
                    stmt.head,
                    state,
                    handler_timeout,
                    info.timeout_field,
                    info.choices,
                    (
                        Code::InteractiveMissingField,
                        format!("this `{keyword}` waits for the contact's choice"),
                    ),
                )
            }
            StmtKind::Whatsapp(text) => {
                messages::whatsapp_text(text, self.scope, self.out);
                self.out
                    .extend(state.require_open(stmt.head, "this `whatsapp` message"));
                self.cost(stmt.head, "whatsapp", Billing::FreeService);
                Exits::done(state)
            }
            StmtKind::Template(t) => {
                let handler_timeout = tail.and_then(|c| c.timeout);
                let info = messages::template(t, stmt.head, handler_timeout, self.scope, self.out);
                let billing = costs::template(info.marketing, &state);
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
                // A template waits only when handlers claim it and it has
                // quick replies to tap; then it ends as a `buttons` does.
                if tail.is_none() || info.choices.is_empty() {
                    return Exits::done(state);
                }
                self.waited_choice(
                    stmt.head,
                    state,
                    handler_timeout,
                    info.timeout_field,
                    info.choices,
                    (
                        Code::TemplateMissingField,
                        "this `template` waits for a tap on its quick replies".to_owned(),
                    ),
                )
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

    /// A claimed message answered by a choice (`buttons`, `list`, a
    /// template with quick replies): its wait is bounded by the handlers'
    /// `on timeout` or its `timeout` field (`unbounded` reports neither:
    /// the code and what waits), and it ends as one of its choices, not
    /// delivered or timeout.
    fn waited_choice(
        &mut self,
        head: Span,
        state: Window,
        handler_timeout: Option<Duration>,
        timeout_field: Option<Duration>,
        choices: Vec<(String, Span)>,
        unbounded: (Code, String),
    ) -> Exits {
        if let Some(t) = handler_timeout
            && self.checked_timeouts.insert(t.span.start)
        {
            messages::timeout_range(t, Code::InteractiveTimeoutRange, self.out);
        }
        let timeout = handler_timeout.or(timeout_field);
        if timeout.is_none() {
            let (code, what) = unbounded;
            self.out.push(
                Diagnostic::new(
                    code,
                    format!("{what} but has no timeout, so a run could wait forever"),
                    head,
                    "waits with no limit",
                )
                .with_help("bound the wait with a handler after it, `on timeout 1d < ... >` (5m to 2d), or a `timeout 1d` field"),
            );
        }
        Exits::choice(&state, timeout.map_or(0, |d| d.seconds), head, choices)
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
