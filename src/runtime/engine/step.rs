//! Walking a run: one node at a time until it waits or ends.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Engine, Step, Timer, Wait};
use crate::ir::{self, Cond, Op, Outcome};
use crate::runtime::host::Host;
use crate::runtime::trace::TraceKind;

/// Most nodes one run may pass through without waiting; only a corrupt IR
/// (a loop with no wait) can reach it.
const STEP_LIMIT: usize = 10_000;

impl<H: Host> Engine<H> {
    pub(super) async fn resume(&mut self, run_id: u64, outcome: Outcome) {
        let Some(run) = self.runs.get_mut(&run_id) else {
            return;
        };
        run.wait = Wait::Nothing;
        let cancelled = run.due_micros.take().is_some();
        let node = run.node;
        if cancelled {
            self.deadline_cancelled();
        }
        self.touch_run(run_id);
        self.trace_run(run_id, Some(node), || TraceKind::Outcome { outcome });
        if self.follow(run_id, outcome) {
            self.execute(run_id).await;
        }
    }

    /// Moves the run along `outcome`'s edge; ends it when there is none.
    pub(super) fn follow(&mut self, run_id: u64, outcome: Outcome) -> bool {
        let Some(run) = self.runs.get_mut(&run_id) else {
            return false;
        };
        let next = self.workflows[run.workflow as usize]
            .node(run.node)
            .and_then(|n| n.next(outcome));
        match next {
            Some(next) => {
                run.node = next;
                self.touch_run(run_id);
                true
            }
            None => {
                self.end(run_id);
                false
            }
        }
    }

    pub(super) fn end(&mut self, run_id: u64) {
        if let Some(run) = self.runs.remove(&run_id) {
            if let Some(j) = &mut self.journal {
                j.runs.remove(&run_id);
                j.ended.push(run_id);
            }
            let family = self.family_of(&run);
            self.active
                .remove(&super::run_key(family, run.contact, run.trigger));
            if run.due_micros.is_some() {
                self.deadline_cancelled();
            }
            if let Wait::Cta { message_id } | Wait::Choice { message_id } = &run.wait {
                self.by_message.remove(message_id);
            }
            self.stats.ended += 1;
            if self.host.tracing() {
                let event = self.trace_event(run_id, &run, None, TraceKind::Ended);
                self.host.trace(event);
            }
        }
    }

    pub(super) async fn execute(&mut self, run_id: u64) {
        for _ in 0..STEP_LIMIT {
            let Some(run) = self.runs.get(&run_id) else {
                return;
            };
            let program = Arc::clone(&self.workflows[run.workflow as usize].program);
            let Some(node) = program.node(run.node) else {
                self.end(run_id);
                return;
            };
            if let Some(goal) = self.goal_reached(run_id) {
                self.end_at_goal(run_id, goal);
                return;
            }
            let step = self.step(run_id, node).await;
            match step {
                Step::Next(outcome) => {
                    // Outcomes decided on the spot (window checks, branches,
                    // refused CTAs); `done` goes without saying.
                    if outcome != Outcome::Done && self.host.tracing() {
                        self.trace_run(run_id, Some(node.id), || TraceKind::Outcome { outcome });
                    }
                    if !self.follow(run_id, outcome) {
                        return;
                    }
                }
                Step::Suspend => return,
                Step::End => {
                    self.end(run_id);
                    return;
                }
            }
        }
        self.trace_run(run_id, None, || TraceKind::NotSent {
            kind: "run".into(),
            reason: format!(
                "the run passed {STEP_LIMIT} steps without waiting; the IR must be corrupt"
            ),
        });
        self.end(run_id);
    }

    pub(super) fn wait(&mut self, run_id: u64, seconds: u64, wait: Wait, what: &str) -> Step {
        let now = self.host.now();
        // Load validation bounds waits to a year; saturate anyway rather
        // than let a date overflow panic.
        let due = now
            .checked_add_signed(chrono::Duration::seconds(
                seconds.min(i64::MAX as u64 / 1_000_000) as i64,
            ))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let Some(run) = self.runs.get_mut(&run_id) else {
            return Step::End;
        };
        run.generation = run.generation.wrapping_add(1);
        run.wait = wait;
        if run.due_micros.replace(due.timestamp_micros()).is_none() {
            self.deadlines += 1;
        }
        let timer = Timer {
            due_micros: due.timestamp_micros(),
            seq: self.next_seq,
            run: run_id,
            generation: run.generation,
        };
        self.next_seq += 1;
        // A quiet-hours hold lasts until a time of day, a length seldom
        // repeated: it would only take a lane from a real wait length.
        if run.wait == Wait::Quiet {
            self.timers.push(std::cmp::Reverse(timer));
        } else {
            self.timers.push_after(seconds, timer);
        }
        let node = run.node;
        self.touch_run(run_id);
        self.trace_run(run_id, Some(node), || TraceKind::Waiting {
            on: what.into(),
            until: due,
        });
        Step::Suspend
    }

    pub(super) async fn step(&mut self, run_id: u64, node: &ir::Node) -> Step {
        let Some(run) = self.runs.get(&run_id) else {
            return Step::End;
        };
        let contact_ix = run.contact as usize;
        let now = self.host.now();
        match &node.op {
            Op::CheckWindow => Step::Next(if self.contacts[contact_ix].window_open(now) {
                Outcome::WindowOpen
            } else {
                Outcome::WindowClosed
            }),
            Op::Branch { cond } => {
                let holds = self.eval(cond, contact_ix, now);
                Step::Next(if holds { Outcome::True } else { Outcome::False })
            }
            Op::SendCta { .. }
            | Op::SendButtons { .. }
            | Op::SendList { .. }
            | Op::SendWhatsapp { .. }
            | Op::SendTemplate { .. }
            | Op::SendSms { .. }
            | Op::SendEmail { .. } => self.send_step(run_id, node, contact_ix, now).await,
            Op::Wait { seconds } => self.wait(run_id, *seconds, Wait::Timer, "timer"),
            Op::AwaitReply {
                channel,
                timeout_seconds,
            } => self.wait(
                run_id,
                *timeout_seconds,
                Wait::Reply { channel: *channel },
                "reply",
            ),
            Op::Tag { tag } | Op::Untag { tag } => {
                let present = matches!(node.op, Op::Tag { .. });
                let contact = &mut self.contacts[contact_ix];
                if !present {
                    contact.tags.remove(tag);
                } else if !contact.tags.contains(tag) {
                    contact.tags.insert(tag.clone());
                }
                self.touch_contact(contact_ix as u32);
                self.host
                    .set_tag(&self.contacts[contact_ix].id, tag, present)
                    .await;
                self.trace_run(run_id, Some(node.id), || TraceKind::Tagged {
                    tag: tag.clone(),
                    present,
                });
                // This run tests its goal before its next step; the
                // contact's other runs, waiting, test theirs now.
                self.end_runs_at_goal(contact_ix as u32, Some(run_id));
                Step::Next(Outcome::Done)
            }
            Op::End => Step::End,
        }
    }

    pub(super) fn eval(&self, cond: &Cond, contact_ix: usize, now: DateTime<Utc>) -> bool {
        let contact = &self.contacts[contact_ix];
        match cond {
            Cond::All { of } => of.iter().all(|c| self.eval(c, contact_ix, now)),
            Cond::Any { of } => of.iter().any(|c| self.eval(c, contact_ix, now)),
            Cond::Not { cond } => !self.eval(cond, contact_ix, now),
            Cond::WindowOpen => contact.window_open(now),
            Cond::HasTag { tag } => {
                let tag = self.values(contact_ix).text(tag, &mut Vec::new());
                contact.tags.contains(&tag)
            }
            Cond::Compare { var, cmp, value } => {
                let values = self.values(contact_ix);
                let value = values.text(value, &mut Vec::new());
                let actual =
                    values.text(&ir::Text(vec![ir::Part::Var(var.clone())]), &mut Vec::new());
                match cmp {
                    ir::Compare::Eq => actual == value,
                    ir::Compare::Ne => actual != value,
                    ir::Compare::Contains => actual.contains(&value),
                }
            }
        }
    }
}
