//! A workflow's guardrails at run time: quiet hours hold a send until they
//! end, in the contact's own time zone; a frequency cap refuses a send over
//! it; a goal ends a run as soon as it holds.
//!
//! Quiet hours and the cap are applied to every send, just before it is
//! rendered: a held send waits ([`Wait::Quiet`]) and is tried again when
//! quiet hours end (the cap is then counted at the moment it really goes
//! out); a capped send is not sent, traced and reported to the host like
//! any message not sent, and a message waited on takes Not Delivered. The
//! goal is tested before each step a run takes and, for the runs waiting,
//! whenever a contact's tags or fields change.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{CHANNELS, Engine, Step, Wait, run_key};
use crate::duration::format as format_duration;
use crate::ir::{self, Op, Outcome};
use crate::platform::quiet::{held_until, zone};
use crate::runtime::host::Host;
use crate::runtime::trace::TraceKind;

/// The kind of message a send node sends, as traces name it: `cta`,
/// `whatsapp`, ... (the IR's `send_cta`, `send_whatsapp` without `send_`).
pub(super) fn send_kind(op: &Op) -> &'static str {
    let name = op.as_str();
    name.strip_prefix("send_").unwrap_or(name)
}

/// How a send node ends when its message does not go out: Not Delivered
/// when handlers wait on it, else done.
pub(super) fn refused(op: &Op) -> Outcome {
    if op.waits() {
        Outcome::NotDelivered
    } else {
        Outcome::Done
    }
}

impl<H: Host> Engine<H> {
    /// Quiet hours and the frequency cap, just before a send: the step the
    /// node takes when its message may not go out now, `None` when it may.
    pub(super) fn guard_send(
        &mut self,
        run_id: u64,
        node: &ir::Node,
        contact_ix: usize,
        now: DateTime<Utc>,
    ) -> Option<Step> {
        let workflow = self.runs.get(&run_id)?.workflow as usize;
        let program = std::sync::Arc::clone(&self.workflows[workflow].program);
        if let Some(quiet) = &program.guardrails.quiet {
            let zone = self.contact_zone(run_id, node, quiet, contact_ix);
            if let Some(until) = held_until(now, quiet.from, quiet.to, zone) {
                // Whole seconds, rounded up: the send is tried again once
                // quiet hours are over, never a moment before.
                let millis = (until - now).num_milliseconds().max(1).unsigned_abs();
                let seconds = millis.div_ceil(1000);
                return Some(self.wait(run_id, seconds, Wait::Quiet, "quiet hours"));
            }
        }
        let cap = program.guardrails.cap?;
        let sent = self.contacts[contact_ix]
            .recent_sends
            .get(&program.workflow)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let since =
            now - chrono::Duration::seconds(cap.seconds.min(i64::MAX as u64 / 1_000_000) as i64);
        let counted: Vec<&DateTime<Utc>> = sent.iter().filter(|t| **t > since).collect();
        if counted.len() < cap.count as usize {
            return None;
        }
        let period = format_duration(cap.seconds);
        let next = counted
            .first()
            .map(|oldest| {
                let at = **oldest + chrono::Duration::seconds(cap.seconds as i64);
                format!(
                    "; the next may go out from {}",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            })
            .unwrap_or_default();
        self.not_sent(
            run_id,
            node,
            send_kind(&node.op),
            format!(
                "frequency cap: this workflow sent the contact {} messages in the last {period}, as many as `at most {} per {period}` allows{next}",
                counted.len(),
                cap.count
            ),
        );
        Some(Step::Next(refused(&node.op)))
    }

    /// The zone quiet hours are read in for the contact: the contact's own
    /// when the workflow reads it from a field and it is a zone kflow
    /// knows (an unknown one is traced), else the workflow's.
    fn contact_zone(
        &self,
        run_id: u64,
        node: &ir::Node,
        quiet: &ir::Quiet,
        contact_ix: usize,
    ) -> Tz {
        // Load validation refused programs whose zone is unknown.
        let default = zone(&quiet.zone).unwrap_or(Tz::UTC);
        let Some(field) = &quiet.field else {
            return default;
        };
        let Some(value) = self.contacts[contact_ix].field(field) else {
            return default;
        };
        match zone(value.trim()) {
            Some(z) => z,
            None => {
                self.trace_run(run_id, Some(node.id), || TraceKind::TimezoneFallback {
                    value,
                    zone: default.name().to_owned(),
                });
                default
            }
        }
    }

    /// A send held by quiet hours is tried again now that they are over.
    pub(super) async fn quiet_over(&mut self, run_id: u64) {
        let Some(run) = self.runs.get_mut(&run_id) else {
            return;
        };
        run.wait = Wait::Nothing;
        if run.due_micros.take().is_some() {
            self.deadlines = self.deadlines.saturating_sub(1);
        }
        self.touch_run(run_id);
        self.execute(run_id).await;
    }

    /// Notes a send the provider accepted, for the frequency cap.
    pub(super) fn note_sent(&mut self, run_id: u64) {
        let Some(run) = self.runs.get(&run_id) else {
            return;
        };
        let (workflow, contact) = (run.workflow as usize, run.contact);
        let Some(cap) = self.workflows[workflow].guardrails.cap else {
            return;
        };
        let name = self.workflows[workflow].workflow.clone();
        let now = self.host.now();
        let sent = self.contacts[contact as usize]
            .recent_sends
            .entry(name)
            .or_default();
        sent.push(now);
        sent.sort_unstable();
        let extra = sent.len().saturating_sub(cap.count as usize);
        sent.drain(..extra);
        self.touch_contact(contact);
    }

    /// The run's goal, written out, when the workflow has one and it holds.
    pub(super) fn goal_reached(&self, run_id: u64) -> Option<String> {
        let run = self.runs.get(&run_id)?;
        let goal = self.workflows[run.workflow as usize]
            .guardrails
            .goal
            .as_ref()?;
        self.eval(&goal.cond, run.contact as usize, self.host.now())
            .then(|| goal.text.clone())
    }

    /// Ends a run whose goal holds, saying so.
    pub(super) fn end_at_goal(&mut self, run_id: u64, goal: String) {
        let node = self.runs.get(&run_id).map(|r| r.node);
        self.trace_run(run_id, node, || TraceKind::GoalReached { goal });
        self.end(run_id);
    }

    /// Ends the runs of contact `contact` (other than `except`) whose goal
    /// now holds: its tags or fields changed.
    pub(super) fn end_runs_at_goal(&mut self, contact: u32, except: Option<u64>) {
        for w in 0..self.workflows.len() as u32 {
            if self.workflows[w as usize].guardrails.goal.is_none() {
                continue;
            }
            for t in CHANNELS {
                let Some(&run_id) = self.active.get(&run_key(w, contact, t)) else {
                    continue;
                };
                if Some(run_id) == except {
                    continue;
                }
                if let Some(goal) = self.goal_reached(run_id) {
                    self.end_at_goal(run_id, goal);
                }
            }
        }
    }
}
