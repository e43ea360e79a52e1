//! What a durable embedder stores and gets back: the runs and contacts that
//! changed since it last asked, and the engine rebuilt from them after a
//! restart.

use std::cmp::Reverse;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Engine, Run, Timer, Wait};
use crate::ir::{Channel, NodeId};
use crate::runtime::contact::Contact;
use crate::runtime::host::Host;

/// A run as stored by a durable embedder: everything needed to resume it
/// after a restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id.
    pub id: u64,
    /// The workflow's name.
    pub workflow: String,
    /// The contact's id.
    pub contact: String,
    /// The node it is at.
    pub node: NodeId,
    /// Bumped each time the run starts waiting.
    pub generation: u32,
    /// What it waits for.
    pub wait: Wait,
    /// When its timer falls due, if it has one.
    pub due: Option<DateTime<Utc>>,
}

/// What changed since the last [`Engine::take_changes`]: the records a
/// durable embedder writes, in one transaction, before acknowledging the
/// events that caused them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Contacts that changed (window, tags, new contacts).
    pub contacts: Vec<Contact>,
    /// Runs that started or moved and still exist.
    pub runs: Vec<RunRecord>,
    /// Runs that ended.
    pub ended: Vec<u64>,
    /// The id the next run will get.
    pub next_run: u64,
}

/// Why a stored run could not be restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreProblem {
    /// The run.
    pub run: u64,
    /// What is wrong (for example, its workflow is no longer loaded).
    pub reason: String,
}

#[derive(Default)]
pub(super) struct Journal {
    pub(super) runs: HashSet<u64>,
    pub(super) ended: Vec<u64>,
    pub(super) contacts: HashSet<u32>,
}

impl<H: Host> Engine<H> {
    /// Starts recording what changes, for [`Engine::take_changes`].
    pub fn record_changes(&mut self) {
        self.journal.get_or_insert_with(Journal::default);
    }

    pub(super) fn touch_run(&mut self, run: u64) {
        if let Some(j) = &mut self.journal {
            j.runs.insert(run);
        }
    }

    pub(super) fn touch_contact(&mut self, contact: u32) {
        if let Some(j) = &mut self.journal {
            j.contacts.insert(contact);
        }
    }

    /// What changed since the last call (empty unless recording).
    pub fn take_changes(&mut self) -> Changes {
        let Some(journal) = self.journal.as_mut().map(std::mem::take) else {
            return Changes {
                next_run: self.next_run,
                ..Changes::default()
            };
        };
        let mut contacts: Vec<u32> = journal.contacts.into_iter().collect();
        contacts.sort_unstable();
        let mut runs: Vec<u64> = journal
            .runs
            .into_iter()
            .filter(|r| self.runs.contains_key(r))
            .collect();
        runs.sort_unstable();
        Changes {
            contacts: contacts
                .iter()
                .map(|&c| self.contacts[c as usize].clone())
                .collect(),
            runs: runs.iter().filter_map(|&r| self.run_record(r)).collect(),
            ended: journal.ended,
            next_run: self.next_run,
        }
    }

    /// A run as a storable record.
    pub fn run_record(&self, id: u64) -> Option<RunRecord> {
        let run = self.runs.get(&id)?;
        Some(RunRecord {
            id,
            workflow: self.workflows[run.workflow as usize].workflow.clone(),
            contact: self.contacts[run.contact as usize].id.clone(),
            node: run.node,
            generation: run.generation,
            wait: run.wait.clone(),
            due: run.due_micros.and_then(DateTime::from_timestamp_micros),
        })
    }

    /// Restores stored state after a restart: contacts, waiting runs (timers
    /// that fell due while the process was down fire at the next
    /// [`Engine::fire_due`], in due order) and the run counter. Runs whose
    /// workflow or node no longer exists are skipped and reported.
    pub fn restore(
        &mut self,
        contacts: Vec<Contact>,
        runs: Vec<RunRecord>,
        next_run: u64,
    ) -> Vec<RestoreProblem> {
        for contact in contacts {
            self.upsert_contact(contact);
        }
        let mut problems = Vec::new();
        for record in runs {
            let Some(w) = self
                .workflows
                .iter()
                .position(|p| p.workflow == record.workflow)
            else {
                problems.push(RestoreProblem {
                    run: record.id,
                    reason: format!("workflow `{}` is not loaded", record.workflow),
                });
                continue;
            };
            if record.wait == Wait::Sending {
                problems.push(RestoreProblem {
                    run: record.id,
                    reason:
                        "it was stored while its send was in flight, which the engine never records"
                            .into(),
                });
                continue;
            }
            if self.workflows[w].node(record.node).is_none() {
                problems.push(RestoreProblem {
                    run: record.id,
                    reason: format!(
                        "workflow `{}` has no node {}",
                        record.workflow, record.node.0
                    ),
                });
                continue;
            }
            let contact = self.intern(&record.contact);
            // Which trigger started it follows from where it is; a node no
            // trigger reaches (a hand-made record) counts as the first's.
            let loaded = &self.workflows[w];
            let trigger = loaded
                .trigger_of
                .get(record.node.0 as usize)
                .copied()
                .flatten()
                .or_else(|| loaded.triggers.first().map(|t| t.channel))
                .unwrap_or(Channel::Whatsapp);
            let due_micros = record.due.map(|d| d.timestamp_micros());
            if let Wait::Cta { message_id } | Wait::Choice { message_id } = &record.wait {
                self.by_message.insert(message_id.clone(), record.id);
            }
            if let Some(due) = due_micros {
                self.deadlines += 1;
                self.timers.push(Reverse(Timer {
                    due_micros: due,
                    seq: self.next_seq,
                    run: record.id,
                    generation: record.generation,
                }));
                self.next_seq += 1;
            }
            self.active
                .insert(super::run_key(w as u32, contact, trigger), record.id);
            self.runs.insert(
                record.id,
                Run {
                    workflow: w as u32,
                    contact,
                    trigger,
                    node: record.node,
                    generation: record.generation,
                    wait: record.wait,
                    due_micros,
                },
            );
            self.next_run = self.next_run.max(record.id + 1);
        }
        self.next_run = self.next_run.max(next_run);
        problems
    }
}
