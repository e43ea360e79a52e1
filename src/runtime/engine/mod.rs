//! The interpreter: runs as data, one timer queue, events found by key.
//!
//! A run is a small record (workflow, contact, current node, what it waits
//! for); a waiting run is not a parked task. Timers live in one queue
//! ordered by due time ([`timers`]); a timer that no longer matches its run
//! (the run moved on) is dropped when it surfaces. Events find their run
//! through maps keyed by (workflow, contact) and by message id. Nothing here
//! reads a clock or does I/O except through the [`Host`].
//!
//! The engine's parts, one file each: this file holds the engine and its
//! event API; [`step`] walks a run through its nodes; [`send`] renders
//! messages at send time and applies the platform's send-time rules;
//! [`timers`] is the timer queue; [`persist`] records what changed for a
//! durable embedder and restores it; [`load`] validates an IR before it runs.

mod choices;
mod decided;
mod guardrails;
mod ids;
mod load;
mod persist;
mod send;
mod step;
mod template;
mod timers;

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::contact::Contact;
use super::host::Host;
use super::trace::{TraceEvent, TraceKind};
use crate::ir::{Channel, NodeId, Outcome, Program};
use ids::IdMap;
use load::{Loaded, validate};
use persist::Journal;
use timers::{Timer, Timers};

/// Below this many queued timers, stale entries are left to be dropped as
/// they surface: compacting a small queue saves nothing.
const COMPACT_AT: usize = 1024;

pub use load::LoadError;
pub use persist::{Changes, RestoreProblem, RunRecord};

/// Something that happened outside the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The contact sent a message on `channel`. A WhatsApp reply opens the
    /// window; any reply may start runs or resume an `await reply`.
    Reply {
        /// The contact's id.
        contact: String,
        /// The channel.
        channel: Channel,
    },
    /// The contact chose a quick-reply button or a list row: a WhatsApp
    /// reply that also answers one message. The run waiting on that message
    /// takes the choice's branch; for everything else it is a reply.
    Chose {
        /// The contact's id.
        contact: String,
        /// The message it answers (the Cloud API's `context.id`), if given.
        answers: Option<String>,
        /// The chosen button's or row's id.
        id: String,
    },
    /// The contact opened the link of the CTA with this message id.
    LinkOpened {
        /// The provider's message id from [`crate::runtime::SendResult::Accepted`].
        message_id: String,
    },
    /// The provider reports that this message could not be delivered.
    DeliveryFailed {
        /// The message id.
        message_id: String,
        /// Why, for the trace.
        reason: String,
    },
    /// The provider reports that this message was delivered.
    Delivered {
        /// The message id.
        message_id: String,
    },
}

/// What a waiting run waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "for", rename_all = "snake_case")]
pub enum Wait {
    /// Nothing: it is running.
    Nothing,
    /// A `wait` timer.
    Timer,
    /// A CTA outcome, for the message with this id.
    Cta {
        /// The provider's message id.
        message_id: String,
    },
    /// The contact's choice on a `buttons` or `list` message (or its
    /// timeout, or its delivery failing), for the message with this id.
    Choice {
        /// The provider's message id.
        message_id: String,
    },
    /// A reply on a channel (or its timeout).
    Reply {
        /// The channel.
        channel: Channel,
    },
    /// Its send is with the host ([`Engine::defer_sends`]). Never stored:
    /// an embedder completes every send before it records the changes.
    Sending,
    /// Its send is held by the workflow's quiet hours; when they end the
    /// run tries the same send again.
    Quiet,
}

/// A send the engine decided and handed to the embedder to make
/// ([`Engine::defer_sends`]): the run waits until
/// [`Engine::complete_send`] brings the host's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSend {
    /// The run that sends.
    pub run: u64,
    /// The node sending.
    pub node: NodeId,
    /// The rendered message.
    pub outbound: super::message::Outbound,
}

/// A run in progress is found by its workflow (the family of versions, so a
/// run of an old version still holds its trigger's place), its contact and
/// the channel of the trigger that started it.
type RunKey = (u32, u32, u8);

fn run_key(family: u32, contact: u32, trigger: Channel) -> RunKey {
    (family, contact, trigger as u8)
}

/// One workflow, by name, and the version of it that new runs start on.
struct Family {
    name: String,
    /// The index in `workflows` of the version new runs start on; `None`
    /// when only versions kept for their runs are loaded.
    current: Option<u32>,
}

/// The channels, in the order a reply looks for runs waiting on them.
const CHANNELS: [Channel; 3] = [Channel::Whatsapp, Channel::Sms, Channel::Email];

#[derive(Clone, Debug)]
struct Run {
    /// The version it runs on: an index in `workflows`.
    workflow: u32,
    contact: u32,
    /// The channel of the trigger that started it: a contact has at most one
    /// run per workflow and trigger.
    trigger: Channel,
    node: NodeId,
    /// Bumped every time the run starts waiting, so stale timers are known.
    generation: u32,
    wait: Wait,
    /// When the current wait's timer falls due.
    due_micros: Option<i64>,
}

/// Counts for operators and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Runs started so far.
    pub started: u64,
    /// Runs ended so far.
    pub ended: u64,
    /// Runs in progress (all of them waiting, between calls).
    pub active: usize,
    /// Runs waiting with a deadline (a timer, a CTA timeout, a reply timeout).
    pub timers: usize,
}

/// The engine. `H` is the embedder's [`Host`].
pub struct Engine<H> {
    host: H,
    /// Every loaded version of every workflow.
    workflows: Vec<Loaded>,
    families: Vec<Family>,
    contacts: Vec<Contact>,
    contact_ids: HashMap<String, u32>,
    custom_values: BTreeMap<String, String>,
    runs: IdMap<u64, Run>,
    active: IdMap<RunKey, u64>,
    by_message: HashMap<String, u64>,
    /// How recent CTAs ended, for events that come after.
    decided: decided::Decided,
    timers: Timers,
    /// Runs waiting with a deadline: the live entries of `timers`. A run
    /// that stops waiting early leaves a stale entry behind; when stale
    /// entries outnumber live ones the queue is compacted, so memory follows
    /// the waiting runs, not every wait ever started.
    deadlines: usize,
    next_run: u64,
    next_seq: u64,
    stats: Stats,
    /// What changed, when a durable embedder asked for [`Engine::record_changes`].
    journal: Option<Journal>,
    /// Whether sends are handed to the embedder instead of awaited.
    defer_sends: bool,
    /// Sends handed out and not yet completed, in the order decided.
    sending: Vec<PendingSend>,
}

/// How a node ended.
enum Step {
    /// Go on along the edge for this outcome.
    Next(Outcome),
    /// The run waits.
    Suspend,
    /// The run ends.
    End,
}

impl<H: Host> Engine<H> {
    /// An engine with no workflows.
    pub fn new(host: H) -> Engine<H> {
        Engine {
            host,
            workflows: Vec::new(),
            families: Vec::new(),
            contacts: Vec::new(),
            contact_ids: HashMap::new(),
            custom_values: BTreeMap::new(),
            runs: IdMap::default(),
            active: IdMap::default(),
            by_message: HashMap::new(),
            decided: decided::Decided::default(),
            timers: Timers::default(),
            deadlines: 0,
            next_run: 1,
            next_seq: 0,
            stats: Stats::default(),
            journal: None,
            defer_sends: false,
            sending: Vec::new(),
        }
    }

    /// From now on, a send is not awaited: the run waits while the
    /// embedder makes it ([`Engine::take_pending_sends`]), so the sends of
    /// different runs can be in flight at once, and
    /// [`Engine::complete_send`] goes on with the run. The decisions are the
    /// same as with awaited sends as long as the embedder completes a
    /// contact's sends before it hands the engine that contact's next event
    /// ([`Engine::is_sending`]): each run's own steps stay in order.
    pub fn defer_sends(&mut self) {
        self.defer_sends = true;
    }

    /// The sends decided since the last call, in the order decided.
    pub fn take_pending_sends(&mut self) -> Vec<PendingSend> {
        std::mem::take(&mut self.sending)
    }

    /// Whether a send of this contact's waits among the pending sends.
    pub fn is_sending(&self, contact: &str) -> bool {
        self.sending.iter().any(|p| p.outbound.contact == contact)
    }

    /// The host's answer to a send handed out by
    /// [`Engine::take_pending_sends`]: the run goes on exactly as if the
    /// send had been awaited (a waited CTA, `buttons` or `list` waits for
    /// its outcome, a refused one takes Not Delivered). A send whose run no
    /// longer waits for it changes nothing.
    pub async fn complete_send(&mut self, pending: PendingSend, result: super::SendResult) {
        let Some(run) = self.runs.get_mut(&pending.run) else {
            return;
        };
        if run.wait != Wait::Sending || run.node != pending.node {
            return;
        }
        run.wait = Wait::Nothing;
        let program = std::sync::Arc::clone(&self.workflows[run.workflow as usize].program);
        let Some(node) = program.node(pending.node) else {
            self.end(pending.run);
            return;
        };
        match self.after_send(pending.run, node, pending.outbound, result) {
            Step::Next(outcome) => {
                if outcome != Outcome::Done && self.host.tracing() {
                    self.trace_run(pending.run, Some(node.id), || TraceKind::Outcome {
                        outcome,
                    });
                }
                if self.follow(pending.run, outcome) {
                    self.execute(pending.run).await;
                }
            }
            Step::Suspend => {}
            Step::End => self.end(pending.run),
        }
    }

    /// The host.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// Adds a workflow after checking that its graph is well formed. New
    /// runs of its name start on it; a workflow of the same name loaded
    /// before stays loaded for the runs that started on it.
    pub fn load(&mut self, program: Program) -> Result<(), LoadError> {
        self.load_version(program, String::new())
    }

    /// [`Engine::load`], naming the version: runs record it
    /// ([`RunRecord::version`]), so a durable embedder can keep every
    /// version that still has runs and resume each run on its own.
    pub fn load_version(&mut self, program: Program, version: String) -> Result<(), LoadError> {
        let w = self.add_version(program, version)?;
        let family = self.workflows[w as usize].family;
        self.families[family as usize].current = Some(w);
        Ok(())
    }

    /// Loads an older version of a workflow only for the runs that started
    /// on it: no new run starts on it. Loading a version already loaded
    /// changes nothing.
    pub fn load_old_version(&mut self, program: Program, version: String) -> Result<(), LoadError> {
        self.add_version(program, version).map(|_| ())
    }

    /// Whether this version of workflow `name` is loaded.
    pub fn has_version(&self, name: &str, version: &str) -> bool {
        self.version_index(name, version).is_some()
    }

    fn version_index(&self, name: &str, version: &str) -> Option<u32> {
        self.workflows
            .iter()
            .position(|w| w.version == version && w.workflow == name)
            .map(|i| i as u32)
    }

    /// Adds a version (or finds it loaded); returns its index.
    fn add_version(&mut self, program: Program, version: String) -> Result<u32, LoadError> {
        if let Some(w) = self.version_index(&program.workflow, &version) {
            return Ok(w);
        }
        validate(&program)?;
        let family = match self
            .families
            .iter()
            .position(|f| f.name == program.workflow)
        {
            Some(f) => f as u32,
            None => {
                self.families.push(Family {
                    name: program.workflow.clone(),
                    current: None,
                });
                (self.families.len() - 1) as u32
            }
        };
        self.workflows.push(Loaded::new(program, version, family));
        Ok((self.workflows.len() - 1) as u32)
    }

    /// The family of the version a run runs on.
    fn family_of(&self, run: &Run) -> u32 {
        self.workflows[run.workflow as usize].family
    }

    /// Adds or replaces a contact (its window and tags included).
    pub fn upsert_contact(&mut self, contact: Contact) {
        let i = self.put_contact(contact);
        self.touch_contact(i);
        // New tags or fields may reach a goal a waiting run has.
        self.end_runs_at_goal(i, None);
    }

    /// Puts a contact in place (adding or replacing it); returns its index.
    /// Nothing else: no change recorded, no goal tested.
    fn put_contact(&mut self, contact: Contact) -> u32 {
        match self.contact_ids.get(&contact.id) {
            Some(&i) => {
                self.contacts[i as usize] = contact;
                i
            }
            None => {
                let i = self.contacts.len() as u32;
                self.contact_ids.insert(contact.id.clone(), i);
                self.contacts.push(contact);
                i
            }
        }
    }

    /// A contact by id.
    pub fn contact(&self, id: &str) -> Option<&Contact> {
        self.contact_ids
            .get(id)
            .map(|&i| &self.contacts[i as usize])
    }

    /// Sets an account custom value (`{{custom_values.key}}`).
    pub fn set_custom_value(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.custom_values.insert(key.into(), value.into());
    }

    /// Counts.
    pub fn stats(&self) -> Stats {
        Stats {
            active: self.runs.len(),
            timers: self.deadlines,
            ..self.stats
        }
    }

    fn intern(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.contact_ids.get(id) {
            return i;
        }
        self.upsert_contact(Contact::new(id));
        (self.contacts.len() - 1) as u32
    }

    /// Handles one event at the host's current time.
    pub async fn handle(&mut self, event: Event) {
        match event {
            Event::Reply { contact, channel } => self.reply(&contact, channel, None).await,
            Event::Chose {
                contact,
                answers,
                id,
            } => {
                let chosen = choices::Chosen {
                    answers: answers.as_deref(),
                    id: &id,
                };
                self.reply(&contact, Channel::Whatsapp, Some(&chosen)).await
            }
            Event::LinkOpened { message_id } => {
                self.cta_outcome(&message_id, Outcome::Opened, || "link opened".into())
                    .await
            }
            Event::DeliveryFailed { message_id, reason } => {
                self.cta_outcome(&message_id, Outcome::NotDelivered, || {
                    format!("delivery failed: {reason}")
                })
                .await
            }
            Event::Delivered { message_id } => {
                if let Some(&run) = self.by_message.get(&message_id) {
                    let choice = matches!(
                        self.runs.get(&run).map(|r| &r.wait),
                        Some(Wait::Choice { .. })
                    );
                    self.trace_run(run, None, || TraceKind::Ignored {
                        event: "delivered".into(),
                        reason: if choice {
                            "delivery is recorded; the message still waits for the contact's choice or its timeout".into()
                        } else {
                            "delivery is recorded; the CTA still waits for its link to be opened or its timeout".into()
                        },
                    });
                }
            }
        }
    }

    async fn reply(
        &mut self,
        contact_id: &str,
        channel: Channel,
        chosen: Option<&choices::Chosen<'_>>,
    ) {
        let contact = self.intern(contact_id);
        let now = self.host.now();
        if channel == Channel::Whatsapp {
            self.contacts[contact as usize].last_whatsapp_inbound = Some(now);
            self.touch_contact(contact);
        }
        if let Some(c) = chosen {
            self.choice_without_run(c);
        }
        // Runs already told why this reply left them waiting.
        let mut traced = std::collections::HashSet::new();
        for w in 0..self.families.len() as u32 {
            // A choice goes to the run waiting on the message it answers.
            if let Some(c) = chosen
                && self.offer_choice(w, contact, c, &mut traced).await
            {
                continue;
            }
            if channel == Channel::Whatsapp {
                self.choice_still_waits(w, contact, chosen, &mut traced);
            }
            // A run waiting for a reply on this channel (`await reply`)
            // takes it, whichever trigger started the run.
            let waiting = CHANNELS.iter().find_map(|&t| {
                let run_id = *self.active.get(&run_key(w, contact, t))?;
                matches!(
                    self.runs.get(&run_id).map(|r| &r.wait),
                    Some(Wait::Reply { channel: c }) if *c == channel
                )
                .then_some(run_id)
            });
            if let Some(run_id) = waiting {
                self.resume(run_id, Outcome::Replied).await;
                continue;
            }
            // New runs start on the workflow's current version.
            let current = self.families[w as usize].current;
            let entry = current.and_then(|v| {
                self.workflows[v as usize]
                    .triggers
                    .iter()
                    .find(|t| t.channel == channel)
                    .map(|t| t.entry)
            });
            let (Some(version), Some(entry)) = (current, entry) else {
                // No trigger for this channel: tell the runs in progress
                // why the reply changed nothing for them.
                for t in CHANNELS {
                    if let Some(&run_id) = self.active.get(&run_key(w, contact, t))
                        && !traced.contains(&run_id)
                    {
                        let why = format!(
                            "this workflow has no `on reply {}` trigger and this run does not wait for such a reply",
                            channel.as_str()
                        );
                        self.ignore_reply(run_id, channel, why);
                    }
                }
                continue;
            };
            if let Some(&run_id) = self.active.get(&run_key(w, contact, channel)) {
                if !traced.contains(&run_id) {
                    let why = format!(
                        "a run of this workflow from `on reply {}` is already in progress for this contact",
                        channel.as_str()
                    );
                    self.ignore_reply(run_id, channel, why);
                }
                continue;
            }
            let run_id = self.next_run;
            self.next_run += 1;
            self.stats.started += 1;
            self.runs.insert(
                run_id,
                Run {
                    workflow: version,
                    contact,
                    trigger: channel,
                    node: entry,
                    generation: 0,
                    wait: Wait::Nothing,
                    due_micros: None,
                },
            );
            self.touch_run(run_id);
            self.active.insert(run_key(w, contact, channel), run_id);
            self.trace_run(run_id, Some(entry), || TraceKind::Started {
                channel: channel.as_str().into(),
            });
            self.execute(run_id).await;
        }
    }

    /// Traces that a reply on `channel` changed nothing for `run_id`, and
    /// why. Only a WhatsApp reply opens the customer service window, so only
    /// its trace says it refreshed the window.
    fn ignore_reply(&mut self, run_id: u64, channel: Channel, why: String) {
        let note = if channel == Channel::Whatsapp {
            " (the reply still refreshed the WhatsApp window)"
        } else {
            ""
        };
        self.trace_run(run_id, None, || TraceKind::Ignored {
            event: format!("reply on {}", channel.as_str()),
            reason: format!("{why}{note}"),
        });
    }

    /// Traces a choice on a message no run waits on any more, with what
    /// became of it, while the engine remembers. (A choice on a message it
    /// never waited on is explained to the runs it leaves waiting.)
    fn choice_without_run(&self, chosen: &choices::Chosen<'_>) {
        let Some(message_id) = chosen.answers else {
            return;
        };
        if self.by_message.contains_key(message_id)
            || !self.decided.knows(message_id)
            || !self.host.tracing()
        {
            return;
        }
        self.trace_runless(TraceKind::Ignored {
            event: format!("choice `{}`", chosen.id),
            reason: format!(
                "{}; it counts as a plain WhatsApp reply",
                self.decided.reason(message_id, self.host.now())
            ),
        });
    }

    /// Traces an event that concerns no run (run 0): one that found no run
    /// to change.
    fn trace_runless(&self, kind: TraceKind) {
        self.host.trace(TraceEvent {
            at: self.host.now(),
            workflow: String::new(),
            run: 0,
            contact: String::new(),
            node: None,
            span: None,
            kind,
        });
    }

    async fn cta_outcome(
        &mut self,
        message_id: &str,
        outcome: Outcome,
        label: impl FnOnce() -> String,
    ) {
        // A link belongs to a CTA: a message answered by a choice has none.
        let wrong_kind = outcome == Outcome::Opened
            && self.by_message.get(message_id).is_some_and(|run| {
                matches!(
                    self.runs.get(run).map(|r| &r.wait),
                    Some(Wait::Choice { .. })
                )
            });
        if wrong_kind {
            if let Some(&run_id) = self.by_message.get(message_id) {
                self.trace_run(run_id, None, || TraceKind::Ignored {
                    event: label(),
                    reason: "this message offers choices (buttons, list rows or quick replies), not a tracked link; the run still waits for a choice".into(),
                });
            }
            return;
        }
        match self.by_message.remove(message_id) {
            Some(run_id) => {
                self.decided.note(message_id, outcome, self.host.now());
                self.resume(run_id, outcome).await
            }
            None => {
                if self.host.tracing() {
                    self.trace_runless(TraceKind::Ignored {
                        event: label(),
                        reason: self.decided.reason(message_id, self.host.now()),
                    });
                }
            }
        }
    }

    /// Notes that a run stopped waiting for its deadline before it fell due,
    /// leaving its entry in the queue, and compacts the queue when such
    /// entries outnumber the live ones (amortised O(1) per cancellation).
    fn deadline_cancelled(&mut self) {
        self.deadlines = self.deadlines.saturating_sub(1);
        let queued = self.timers.len();
        if queued > COMPACT_AT && queued > 2 * self.deadlines {
            let runs = &self.runs;
            self.timers.retain(|t| {
                runs.get(&t.run)
                    .is_some_and(|r| r.generation == t.generation && r.due_micros.is_some())
            });
        }
    }

    /// When the next timer falls due (stale timers are dropped first).
    pub fn next_due(&mut self) -> Option<DateTime<Utc>> {
        while let Some(Reverse(t)) = self.timers.peek() {
            let live = self
                .runs
                .get(&t.run)
                .is_some_and(|r| r.generation == t.generation && r.wait != Wait::Nothing);
            if live {
                return DateTime::from_timestamp_micros(t.due_micros);
            }
            self.timers.pop();
        }
        None
    }

    /// Fires every timer due at the host's current time, in due order.
    /// Returns how many fired.
    pub async fn fire_due(&mut self) -> usize {
        let at = self.host.now();
        let now = at.timestamp_micros();
        let mut fired = 0;
        while let Some(Reverse(t)) = self.timers.peek().copied() {
            if t.due_micros > now {
                break;
            }
            self.timers.pop();
            let Some(run) = self.runs.get_mut(&t.run) else {
                continue;
            };
            if run.generation != t.generation {
                continue;
            }
            let outcome = match &run.wait {
                Wait::Nothing | Wait::Sending => continue,
                Wait::Quiet => {
                    fired += 1;
                    self.quiet_over(t.run).await;
                    continue;
                }
                Wait::Timer => Outcome::Done,
                Wait::Cta { message_id } | Wait::Choice { message_id } => {
                    self.by_message.remove(message_id.as_str());
                    self.decided.note(message_id, Outcome::Timeout, at);
                    Outcome::Timeout
                }
                Wait::Reply { .. } => Outcome::Timeout,
            };
            fired += 1;
            // This timer has left the queue: resuming must not count it as
            // one left behind.
            if run.due_micros.take().is_some() {
                self.deadlines = self.deadlines.saturating_sub(1);
            }
            self.resume(t.run, outcome).await;
        }
        fired
    }

    /// Moves a [`super::VirtualClock`] through every timer due up to `until`,
    /// firing each at its due time, then leaves the clock at `until`.
    pub async fn advance(&mut self, clock: &super::VirtualClock, until: DateTime<Utc>) {
        while let Some(due) = self.next_due() {
            if due > until {
                break;
            }
            clock.set(due);
            self.fire_due().await;
        }
        clock.set(until);
    }

    fn trace_event(
        &self,
        run_id: u64,
        run: &Run,
        node: Option<NodeId>,
        kind: TraceKind,
    ) -> TraceEvent {
        let program = &self.workflows[run.workflow as usize];
        TraceEvent {
            at: self.host.now(),
            workflow: program.workflow.clone(),
            run: run_id,
            contact: self.contacts[run.contact as usize].id.clone(),
            node,
            span: node.and_then(|n| program.node(n)).map(|n| n.span),
            kind,
        }
    }

    fn trace_run(&self, run_id: u64, node: Option<NodeId>, kind: impl FnOnce() -> TraceKind) {
        if !self.host.tracing() {
            return;
        }
        if let Some(run) = self.runs.get(&run_id) {
            let event = self.trace_event(run_id, run, node, kind());
            self.host.trace(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{SimHost, VirtualClock};

    const CARD: &str = r#"on reply whatsapp < cta < header text "Hi" body "Pick a slot" url "https://www.example.com/book" button "Book now" > on link opened < tag "clicked" > on timeout 30m < tag "late" > >"#;

    #[tokio::test]
    async fn stale_timers_do_not_outnumber_live_ones() {
        let source = crate::SourceFile::new("card.kflow", CARD).expect("small");
        let program = crate::compile(&source).expect("compiles");
        let start = DateTime::<Utc>::UNIX_EPOCH;
        let mut engine = Engine::new(SimHost::new(VirtualClock::new(start)));
        engine.load(program).expect("valid IR");
        let runs = 3 * COMPACT_AT;
        for i in 0..runs {
            let mut contact = Contact::new(format!("c{i}"));
            contact.phone = Some(format!("+1555{i:07}"));
            engine.upsert_contact(contact);
            engine
                .handle(Event::Reply {
                    contact: format!("c{i}"),
                    channel: Channel::Whatsapp,
                })
                .await;
        }
        assert_eq!(engine.timers.len(), runs);
        let ids: Vec<String> = engine.by_message.keys().cloned().collect();
        let keep = 10;
        for message_id in &ids[keep..] {
            engine
                .handle(Event::LinkOpened {
                    message_id: message_id.clone(),
                })
                .await;
        }
        assert_eq!(engine.stats().timers, keep);
        assert!(
            engine.timers.len() <= COMPACT_AT + 1,
            "{} entries queued for {keep} live timers",
            engine.timers.len()
        );
        // What is left still fires, in time.
        let clock = engine.host().clock().clone();
        engine
            .advance(&clock, start + chrono::Duration::minutes(31))
            .await;
        assert_eq!(engine.stats().active, 0);
        assert_eq!(engine.stats().timers, 0);
    }
}
