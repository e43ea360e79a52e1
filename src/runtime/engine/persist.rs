//! What a durable embedder stores and gets back: the runs and contacts that
//! changed since it last asked, and the engine rebuilt from them after a
//! restart.

use std::cmp::Reverse;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Engine, Run, Timer, Timers, Wait};
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
    /// The version of the workflow it runs on ([`Engine::load_version`]);
    /// empty in records written before versions were kept, which resume on
    /// the workflow's current version.
    #[serde(default)]
    pub version: String,
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
        let loaded = &self.workflows[run.workflow as usize];
        Some(RunRecord {
            id,
            workflow: loaded.workflow.clone(),
            version: loaded.version.clone(),
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
    /// workflow, version or node is not loaded are skipped and reported.
    pub fn restore(
        &mut self,
        contacts: Vec<Contact>,
        runs: Vec<RunRecord>,
        next_run: u64,
    ) -> Vec<RestoreProblem> {
        let problems = self.hydrate(contacts, runs);
        self.next_run = self.next_run.max(next_run);
        problems
    }

    /// Adds stored contacts and runs to what the engine holds, for an
    /// embedder that keeps them in its store and hands the engine only those
    /// an event or a due timer needs ([`Engine::evict`] forgets them again).
    /// A contact or run the engine already holds is kept as it is: it may
    /// be newer than the stored one. Runs whose workflow, version or node is
    /// not loaded are skipped and reported.
    pub fn hydrate(&mut self, contacts: Vec<Contact>, runs: Vec<RunRecord>) -> Vec<RestoreProblem> {
        // As stored: loading a contact changes nothing to write back, and
        // tests no goal (a goal is tested when a contact changes).
        for contact in contacts {
            if !self.contact_ids.contains_key(&contact.id) {
                self.put_contact(contact);
            }
        }
        let mut problems = Vec::new();
        for record in runs {
            if self.runs.contains_key(&record.id) {
                continue;
            }
            if let Err(reason) = self.hydrate_run(record.id, &record) {
                problems.push(RestoreProblem {
                    run: record.id,
                    reason,
                });
            }
        }
        problems
    }

    /// The loaded version a record runs on: the one it names, or for a
    /// record written before versions were kept, the current one.
    fn version_of(&self, record: &RunRecord) -> Result<u32, String> {
        if let Some(w) = self.version_index(&record.workflow, &record.version) {
            return Ok(w);
        }
        let current = self
            .families
            .iter()
            .find(|f| f.name == record.workflow)
            .and_then(|f| f.current);
        match current {
            Some(w) if record.version.is_empty() => Ok(w),
            _ if !record.version.is_empty() => Err(format!(
                "version {} of workflow `{}` is not loaded",
                record.version, record.workflow
            )),
            _ => Err(format!("workflow `{}` is not loaded", record.workflow)),
        }
    }

    fn hydrate_run(&mut self, id: u64, record: &RunRecord) -> Result<(), String> {
        let w = self.version_of(record)?;
        if record.wait == Wait::Sending {
            return Err(
                "it was stored while its send was in flight, which the engine never records".into(),
            );
        }
        if self.workflows[w as usize].node(record.node).is_none() {
            return Err(format!(
                "workflow `{}` has no node {}",
                record.workflow, record.node.0
            ));
        }
        let contact = self.intern(&record.contact);
        // Which trigger started it follows from where it is; a node no
        // trigger reaches (a hand-made record) counts as the first's.
        let loaded = &self.workflows[w as usize];
        let trigger = loaded
            .trigger_of
            .get(record.node.0 as usize)
            .copied()
            .flatten()
            .or_else(|| loaded.triggers.first().map(|t| t.channel))
            .unwrap_or(Channel::Whatsapp);
        let family = loaded.family;
        let due_micros = record.due.map(|d| d.timestamp_micros());
        if let Wait::Cta { message_id } | Wait::Choice { message_id } = &record.wait {
            self.by_message.insert(message_id.clone(), id);
        }
        if let Some(due) = due_micros {
            self.deadlines += 1;
            self.timers.push(Reverse(Timer {
                due_micros: due,
                seq: self.next_seq,
                run: id,
                generation: record.generation,
            }));
            self.next_seq += 1;
        }
        self.active
            .insert(super::run_key(family, contact, trigger), id);
        self.runs.insert(
            id,
            Run {
                workflow: w,
                contact,
                trigger,
                node: record.node,
                generation: record.generation,
                wait: record.wait.clone(),
                due_micros,
            },
        );
        self.next_run = self.next_run.max(id + 1);
        Ok(())
    }

    /// Forgets every contact and run the engine holds, and their timers,
    /// once an embedder that keeps them in its store has stored what
    /// changed ([`Engine::take_changes`]); the next [`Engine::hydrate`]
    /// brings back what the next event needs. Workflows, custom values, the
    /// counters and what the engine remembers of recent CTA outcomes stay.
    /// Sends still pending are dropped with their runs: complete them first.
    pub fn evict(&mut self) {
        self.contacts.clear();
        self.contact_ids.clear();
        self.runs.clear();
        self.active.clear();
        self.by_message.clear();
        self.timers = Timers::default();
        self.deadlines = 0;
        self.sending.clear();
        if let Some(journal) = &mut self.journal {
            *journal = Journal::default();
        }
    }

    /// Numbers the runs started from now on `first`, `first + 1`, ...: an
    /// embedder that derives run ids from what started them (the service
    /// uses the inbox sequence number of the reply) gets the same ids when
    /// it processes the same event again.
    pub fn number_runs_from(&mut self, first: u64) {
        self.next_run = first;
    }
}
