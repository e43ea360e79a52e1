//! What a deploy would strand: the waiting states of one version of a
//! workflow that the next version has no equivalent for.
//!
//! A run that waits (on a CTA's outcome, a choice, a `wait`, an `await
//! reply`, or at any send while quiet hours hold it) is
//! stored with its workflow and node id, and resumes at that node id in
//! whatever version is loaded. So for each waiting node of OLD this finds
//! the node of NEW at the same *place*: reached from the same trigger
//! through the same steps and outcomes (the first such path, edges in
//! order), waiting the same way. The place is kept where the node is; it
//! has **moved** when NEW has it under another id (runs would resume at the
//! wrong step); it is **stranded** when NEW has no such place at all.
//! Durations and texts may change freely: a waiting run keeps its due time,
//! and what it sends next is what NEW says.

use std::collections::HashMap;

use super::{Channel, NodeId, Op, Outcome, Program};

/// How a node waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitKind {
    /// A waited CTA: for its link to be opened, a failure, or its timeout.
    Cta,
    /// A `wait`.
    Wait,
    /// An `await reply` on a channel.
    Reply(Channel),
    /// A waited `buttons`, `list` or template with quick replies: for the
    /// contact's choice, a failure, or its timeout.
    Choice,
    /// Any other send of a workflow with quiet hours: a run may be held at
    /// it until they end.
    Quiet,
}

impl WaitKind {
    /// A short description: `waits on a CTA`.
    pub fn describe(self) -> String {
        match self {
            WaitKind::Cta => "waits on a CTA".to_owned(),
            WaitKind::Wait => "waits".to_owned(),
            WaitKind::Reply(channel) => format!("awaits a {} reply", channel.as_str()),
            WaitKind::Choice => "waits for a choice".to_owned(),
            WaitKind::Quiet => "may be held by quiet hours".to_owned(),
        }
    }
}

/// One waiting node of a program and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingState {
    /// Its id.
    pub node: NodeId,
    /// How it waits.
    pub kind: WaitKind,
    /// The place: the trigger's channel, then each decision or wait on the
    /// way and the outcome taken from it, and the node itself:
    /// `whatsapp: check_window window_open > send_cta`. Sends and tags on the
    /// way are left out, so adding one before a wait keeps its place.
    pub place: String,
}

/// What NEW makes of one waiting state of OLD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The same place, under the same id: waiting runs resume where they
    /// should.
    Kept,
    /// The same place under another id: runs resume at `old` id, which in
    /// NEW is `there` (an op name, or `nothing`).
    Moved {
        /// The place's id in NEW.
        to: NodeId,
        /// What NEW has under the old id.
        there: &'static str,
    },
    /// NEW has no such place.
    Stranded {
        /// What NEW has under the old id.
        there: &'static str,
    },
}

impl Verdict {
    /// True when waiting runs would not resume where they should.
    pub fn is_problem(&self) -> bool {
        !matches!(self, Verdict::Kept)
    }
}

/// How a node of a program waits; `quiet` when the program has quiet
/// hours, which may hold a run at any send.
fn wait_kind(op: &Op, quiet: bool) -> Option<WaitKind> {
    match op {
        Op::SendCta { waits: true, .. } => Some(WaitKind::Cta),
        Op::SendButtons { waits: true, .. }
        | Op::SendList { waits: true, .. }
        | Op::SendTemplate { waits: true, .. } => Some(WaitKind::Choice),
        Op::Wait { .. } => Some(WaitKind::Wait),
        Op::AwaitReply { channel, .. } => Some(WaitKind::Reply(*channel)),
        Op::SendCta { .. }
        | Op::SendButtons { .. }
        | Op::SendList { .. }
        | Op::SendTemplate { .. }
        | Op::SendWhatsapp { .. }
        | Op::SendSms { .. }
        | Op::SendEmail { .. }
            if quiet =>
        {
            Some(WaitKind::Quiet)
        }
        _ => None,
    }
}

/// Every waiting node of `program` with its place, in node order.
pub fn waiting_states(program: &Program) -> Vec<WaitingState> {
    let places = places(program);
    program
        .nodes
        .iter()
        .filter_map(|node| {
            let kind = wait_kind(&node.op, program.guardrails.quiet.is_some())?;
            let place = places.get(node.id.0 as usize)?.clone()?;
            Some(WaitingState {
                node: node.id,
                kind,
                place,
            })
        })
        .collect()
}

/// Each node's place: the first path to it, triggers in order, depth
/// first with edges in order.
fn places(program: &Program) -> Vec<Option<String>> {
    let mut out = vec![None; program.nodes.len()];
    let quiet = program.guardrails.quiet.is_some();
    for trigger in &program.triggers {
        let mut stack = vec![(trigger.entry, format!("{}:", trigger.channel.as_str()))];
        while let Some((id, prefix)) = stack.pop() {
            let Some(node) = program.node(id) else {
                continue;
            };
            let Some(slot) = out.get_mut(id.0 as usize) else {
                continue;
            };
            if slot.is_some() {
                continue;
            }
            let here = format!("{prefix} {}", node.op.as_str());
            *slot = Some(here.clone());
            let marks = wait_kind(&node.op, quiet).is_some()
                || matches!(node.op, Op::CheckWindow | Op::Branch { .. });
            // Reversed so the first edge is walked first.
            for edge in node.edges.iter().rev() {
                let step = if !marks {
                    prefix.clone()
                } else if edge.on == Outcome::Done {
                    format!("{here} >")
                } else if let Outcome::Choice(i) = edge.on {
                    // Each choice is its own way on.
                    format!("{here} choice {i} >")
                } else {
                    format!("{here} {} >", edge.on.as_str())
                };
                stack.push((edge.to, step));
            }
        }
    }
    out
}

/// Each waiting state of `old` with what `new` makes of it.
pub fn compare(old: &Program, new: &Program) -> Vec<(WaitingState, Verdict)> {
    let new_states = waiting_states(new);
    let by_place: HashMap<(&str, WaitKind), NodeId> = new_states
        .iter()
        .map(|s| ((s.place.as_str(), s.kind), s.node))
        .collect();
    waiting_states(old)
        .into_iter()
        .map(|state| {
            let there = new.node(state.node).map_or("nothing", |n| n.op.as_str());
            let verdict = match by_place.get(&(state.place.as_str(), state.kind)) {
                Some(&id) if id == state.node => Verdict::Kept,
                Some(&to) => Verdict::Moved { to, there },
                None => Verdict::Stranded { there },
            };
            (state, verdict)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(text: &str) -> Program {
        crate::compile(&crate::SourceFile::new("t.kflow", text).expect("small")).expect("compiles")
    }

    const OLD: &str = r#"on reply whatsapp <
  if window.open <
    cta < header text "Hi" body "Pick" url "https://example.com" button "Book" >
    on link opened < tag "clicked" >
    on timeout 30m < wait 1d sms "Still there?" >
  >
>
"#;

    #[test]
    fn the_same_workflow_keeps_every_place() {
        let verdicts = compare(&program(OLD), &program(OLD));
        assert_eq!(verdicts.len(), 2, "the CTA and the wait");
        assert!(verdicts.iter().all(|(_, v)| *v == Verdict::Kept));
        assert_eq!(
            verdicts[0].0.place,
            "whatsapp: check_window window_open > send_cta"
        );
        assert_eq!(
            verdicts[1].0.place,
            "whatsapp: check_window window_open > send_cta timeout > wait"
        );
    }

    #[test]
    fn new_texts_and_durations_keep_the_places() {
        let new = OLD
            .replace("30m", "1h")
            .replace("1d", "2d")
            .replace("Pick", "Pick a slot");
        assert!(
            compare(&program(OLD), &program(&new))
                .iter()
                .all(|(_, v)| *v == Verdict::Kept)
        );
    }

    #[test]
    fn a_step_added_before_moves_the_ids_but_not_the_places() {
        let new = OLD.replace("  if window.open <", "  tag \"new\"\n  if window.open <");
        let verdicts = compare(&program(OLD), &program(&new));
        assert!(
            verdicts
                .iter()
                .all(|(_, v)| matches!(v, Verdict::Moved { .. })),
            "{verdicts:?}"
        );
    }

    #[test]
    fn choices_and_quiet_hours_are_waiting_places() {
        let buttons = r#"on reply whatsapp <
  buttons < body "Come?" reply "yes" "Yes" reply "no" "No" >
  on reply "yes" < wait 1h sms "Great" >
  on reply "no" < wait 1h sms "Pity" >
  on timeout 1d < stop >
>
"#;
        let states = waiting_states(&program(buttons));
        let places: Vec<&str> = states.iter().map(|s| s.place.as_str()).collect();
        assert_eq!(
            places,
            vec![
                "whatsapp: send_buttons",
                "whatsapp: send_buttons choice 0 > wait",
                "whatsapp: send_buttons choice 1 > wait"
            ]
        );
        assert_eq!(states[0].kind, WaitKind::Choice);
        // Under quiet hours every send may hold a run; a send added before
        // one moves it.
        let quiet = format!("quiet 21:00-08:00 timezone \"UTC\"\n{buttons}");
        let states = waiting_states(&program(&quiet));
        assert_eq!(states.len(), 5);
        assert!(
            states
                .iter()
                .filter(|s| s.kind == WaitKind::Quiet)
                .all(|s| s.place.ends_with("send_sms"))
        );
        let more = quiet.replace("wait 1h sms \"Pity\"", "sms \"Oh\" wait 1h sms \"Pity\"");
        assert!(
            compare(&program(&quiet), &program(&more))
                .iter()
                .any(|(_, v)| v.is_problem())
        );
    }

    #[test]
    fn a_removed_wait_strands_its_runs() {
        let new = OLD.replace("wait 1d ", "");
        let verdicts = compare(&program(OLD), &program(&new));
        assert_eq!(verdicts[0].1, Verdict::Kept);
        assert!(
            matches!(verdicts[1].1, Verdict::Stranded { .. }),
            "{verdicts:?}"
        );
        assert!(verdicts[1].1.is_problem());
    }
}
