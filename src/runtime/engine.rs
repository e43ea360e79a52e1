//! The interpreter: runs as data, one timer queue, events found by key.
//!
//! A run is a small record (workflow, contact, current node, what it waits
//! for); a waiting run is not a parked task. Timers live in one binary heap
//! ordered by due time; a timer that no longer matches its run (the run moved
//! on) is dropped when it surfaces. Events find their run through maps keyed
//! by (workflow, contact) and by message id. Nothing here reads a clock or
//! does I/O except through the [`Host`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::contact::Contact;
use super::host::{Host, Message, Outbound, RenderedHeader, SendResult, StepRef};
use super::render::Values;
use super::trace::{TraceEvent, TraceKind};
use crate::ir::{self, Channel, Cond, FORMAT_VERSION, Header, NodeId, Op, Outcome, Program};

/// Most nodes one run may pass through without waiting; only a corrupt IR
/// (a loop with no wait) can reach it.
const STEP_LIMIT: usize = 10_000;

/// The longest wait an IR may ask for: a year, as the language allows.
const MAX_WAIT_SECONDS: u64 = 365 * 86_400;

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
    /// The contact opened the link of the CTA with this message id.
    LinkOpened {
        /// The provider's message id from [`SendResult::Accepted`].
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

/// Why a program cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Written by another IR version.
    Version {
        /// The program's version.
        found: u32,
    },
    /// A node id or edge points outside the program.
    Malformed {
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Version { found } => write!(
                f,
                "IR format version {found} cannot be run by this engine (it runs version {FORMAT_VERSION}); rebuild the workflow"
            ),
            LoadError::Malformed { reason } => write!(f, "malformed IR: {reason}"),
        }
    }
}

impl std::error::Error for LoadError {}

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
    /// A reply on a channel (or its timeout).
    Reply {
        /// The channel.
        channel: Channel,
    },
}

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
struct Journal {
    runs: HashSet<u64>,
    ended: Vec<u64>,
    contacts: HashSet<u32>,
}

#[derive(Clone, Debug)]
struct Run {
    workflow: u32,
    contact: u32,
    node: NodeId,
    /// Bumped every time the run starts waiting, so stale timers are known.
    generation: u32,
    wait: Wait,
    /// When the current wait's timer falls due.
    due_micros: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    due_micros: i64,
    seq: u64,
    run: u64,
    generation: u32,
}

/// Most wait lengths given their own lane in [`Timers`].
const TIMER_LANES: usize = 32;

/// The timer queue: what is due first comes out first (ties in the order the
/// timers were set).
///
/// Most timers are set "now + the wait's length", and now does not go back,
/// so the timers of one length are set in due order. Each length gets a lane,
/// a FIFO queue, and a timer joins the back of its lane in O(1) when it is
/// not earlier than the lane's last one; anything else (a clock that stepped
/// back, restored timers, more lengths than lanes) goes to a binary heap. The
/// first timer is the earliest of the lanes' fronts and the heap's top. With
/// a million timers waiting this replaces a pop that walks twenty levels of a
/// 32 MB heap with a read from the front of a queue.
#[derive(Default)]
struct Timers {
    lanes: Vec<(u64, VecDeque<Reverse<Timer>>)>,
    heap: BinaryHeap<Reverse<Timer>>,
}

impl Timers {
    /// Adds a timer with no lane.
    fn push(&mut self, timer: Reverse<Timer>) {
        self.heap.push(timer);
    }

    /// Adds a timer set for `seconds` from now.
    fn push_after(&mut self, seconds: u64, timer: Timer) {
        let lane = match self.lanes.iter().position(|(s, _)| *s == seconds) {
            Some(i) => Some(i),
            None if self.lanes.len() < TIMER_LANES => {
                self.lanes.push((seconds, VecDeque::new()));
                Some(self.lanes.len() - 1)
            }
            None => None,
        };
        match lane.map(|i| &mut self.lanes[i].1) {
            Some(queue) if queue.back().is_none_or(|Reverse(last)| *last <= timer) => {
                queue.push_back(Reverse(timer));
            }
            _ => self.heap.push(Reverse(timer)),
        }
    }

    /// Where the first timer is: `Some(lane)` or `None` for the heap.
    fn first(&self) -> Option<Option<usize>> {
        let mut best = self.heap.peek().map(|t| (t, None));
        for (i, (_, queue)) in self.lanes.iter().enumerate() {
            if let Some(t) = queue.front()
                && best.is_none_or(|(b, _)| t > b)
            {
                best = Some((t, Some(i)));
            }
        }
        best.map(|(_, at)| at)
    }

    /// The first timer.
    fn peek(&self) -> Option<&Reverse<Timer>> {
        match self.first()? {
            Some(i) => self.lanes[i].1.front(),
            None => self.heap.peek(),
        }
    }

    /// Removes the first timer.
    fn pop(&mut self) -> Option<Reverse<Timer>> {
        match self.first()? {
            Some(i) => self.lanes[i].1.pop_front(),
            None => self.heap.pop(),
        }
    }

    fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(|(_, q)| q.len()).sum::<usize>()
    }
}

/// Hashes the engine's own keys (run numbers, interned indexes) with one
/// multiply per word (FxHash). They are handed out here in sequence, so no
/// one outside can choose colliding keys and SipHash's protection buys
/// nothing; maps keyed by outside strings (contact and message ids) keep the
/// standard hasher.
#[derive(Clone, Copy, Default)]
struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
}

type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A loaded workflow and what could be decided about it once, at load.
struct Loaded {
    program: Arc<Program>,
    /// Per node: whether a CTA's header link and URL are absolute http(s)
    /// URLs whatever their variables hold (see [`static_url_ok`]), so the
    /// send can skip parsing them.
    urls_ok: Vec<[bool; 2]>,
}

impl Loaded {
    fn new(program: Program) -> Loaded {
        let urls_ok = program
            .nodes
            .iter()
            .map(|node| match &node.op {
                Op::SendCta { message, .. } => {
                    let header = match &message.header {
                        Header::Text { .. } => false,
                        Header::Image { link }
                        | Header::Video { link }
                        | Header::Document { link } => static_url_ok(link),
                    };
                    [header, static_url_ok(&message.url)]
                }
                _ => [false, false],
            })
            .collect();
        Loaded {
            program: Arc::new(program),
            urls_ok,
        }
    }
}

impl std::ops::Deref for Loaded {
    type Target = Program;

    fn deref(&self) -> &Program {
        &self.program
    }
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
    /// Timers queued (including stale ones not yet dropped).
    pub timers: usize,
}

/// The engine. `H` is the embedder's [`Host`].
pub struct Engine<H> {
    host: H,
    workflows: Vec<Loaded>,
    contacts: Vec<Contact>,
    contact_ids: HashMap<String, u32>,
    custom_values: BTreeMap<String, String>,
    runs: IdMap<u64, Run>,
    active: IdMap<(u32, u32), u64>,
    by_message: HashMap<String, u64>,
    timers: Timers,
    next_run: u64,
    next_seq: u64,
    stats: Stats,
    /// What changed, when a durable embedder asked for [`Engine::record_changes`].
    journal: Option<Journal>,
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
            contacts: Vec::new(),
            contact_ids: HashMap::new(),
            custom_values: BTreeMap::new(),
            runs: IdMap::default(),
            active: IdMap::default(),
            by_message: HashMap::new(),
            timers: Timers::default(),
            next_run: 1,
            next_seq: 0,
            stats: Stats::default(),
            journal: None,
        }
    }

    /// Starts recording what changes, for [`Engine::take_changes`].
    pub fn record_changes(&mut self) {
        self.journal.get_or_insert_with(Journal::default);
    }

    fn touch_run(&mut self, run: u64) {
        if let Some(j) = &mut self.journal {
            j.runs.insert(run);
        }
    }

    fn touch_contact(&mut self, contact: u32) {
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
            let due_micros = record.due.map(|d| d.timestamp_micros());
            if let Wait::Cta { message_id } = &record.wait {
                self.by_message.insert(message_id.clone(), record.id);
            }
            if let Some(due) = due_micros {
                self.timers.push(Reverse(Timer {
                    due_micros: due,
                    seq: self.next_seq,
                    run: record.id,
                    generation: record.generation,
                }));
                self.next_seq += 1;
            }
            self.active.insert((w as u32, contact), record.id);
            self.runs.insert(
                record.id,
                Run {
                    workflow: w as u32,
                    contact,
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

    /// The host.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// Adds a workflow after checking that its graph is well formed.
    pub fn load(&mut self, program: Program) -> Result<(), LoadError> {
        validate(&program)?;
        self.workflows.push(Loaded::new(program));
        Ok(())
    }

    /// Adds or replaces a contact (its window and tags included).
    pub fn upsert_contact(&mut self, contact: Contact) {
        let i = match self.contact_ids.get(&contact.id) {
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
        };
        self.touch_contact(i);
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
            timers: self.timers.len(),
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
            Event::Reply { contact, channel } => self.reply(&contact, channel).await,
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
                    self.trace_run(run, None, || TraceKind::Ignored {
                        event: "delivered".into(),
                        reason: "delivery is recorded; the CTA still waits for its link to be opened or its timeout".into(),
                    });
                }
            }
        }
    }

    async fn reply(&mut self, contact_id: &str, channel: Channel) {
        let contact = self.intern(contact_id);
        let now = self.host.now();
        if channel == Channel::Whatsapp {
            self.contacts[contact as usize].last_whatsapp_inbound = Some(now);
            self.touch_contact(contact);
        }
        for w in 0..self.workflows.len() as u32 {
            if let Some(&run_id) = self.active.get(&(w, contact)) {
                let waits_for_this = matches!(
                    self.runs.get(&run_id).map(|r| &r.wait),
                    Some(Wait::Reply { channel: c }) if *c == channel
                );
                if waits_for_this {
                    self.resume(run_id, Outcome::Replied).await;
                } else {
                    self.trace_run(run_id, None, || TraceKind::Ignored {
                        event: format!("reply on {}", channel.as_str()),
                        reason: "a run of this workflow is already in progress for this contact (the reply still refreshes the window)".into(),
                    });
                }
                continue;
            }
            let program = &self.workflows[w as usize];
            let Some(entry) = program
                .triggers
                .iter()
                .find(|t| t.channel == channel)
                .map(|t| t.entry)
            else {
                continue;
            };
            let run_id = self.next_run;
            self.next_run += 1;
            self.stats.started += 1;
            self.runs.insert(
                run_id,
                Run {
                    workflow: w,
                    contact,
                    node: entry,
                    generation: 0,
                    wait: Wait::Nothing,
                    due_micros: None,
                },
            );
            self.touch_run(run_id);
            self.active.insert((w, contact), run_id);
            self.trace_run(run_id, Some(entry), || TraceKind::Started {
                channel: channel.as_str().into(),
            });
            self.execute(run_id).await;
        }
    }

    async fn cta_outcome(
        &mut self,
        message_id: &str,
        outcome: Outcome,
        label: impl FnOnce() -> String,
    ) {
        match self.by_message.remove(message_id) {
            Some(run_id) => self.resume(run_id, outcome).await,
            None => {
                if self.host.tracing() {
                    self.host.trace(TraceEvent {
                        at: self.host.now(),
                        workflow: String::new(),
                        run: 0,
                        contact: String::new(),
                        node: None,
                        span: None,
                        kind: TraceKind::Ignored {
                            event: label(),
                            reason: format!(
                                "no run waits on message {message_id}: its outcome was already decided, its timeout passed, or it was not a waited CTA"
                            ),
                        },
                    });
                }
            }
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
        let now = self.host.now().timestamp_micros();
        let mut fired = 0;
        while let Some(Reverse(t)) = self.timers.peek().copied() {
            if t.due_micros > now {
                break;
            }
            self.timers.pop();
            let Some(run) = self.runs.get(&t.run) else {
                continue;
            };
            if run.generation != t.generation {
                continue;
            }
            let outcome = match &run.wait {
                Wait::Nothing => continue,
                Wait::Timer => Outcome::Done,
                Wait::Cta { message_id } => {
                    self.by_message.remove(message_id.as_str());
                    Outcome::Timeout
                }
                Wait::Reply { .. } => Outcome::Timeout,
            };
            fired += 1;
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

    async fn resume(&mut self, run_id: u64, outcome: Outcome) {
        let Some(run) = self.runs.get_mut(&run_id) else {
            return;
        };
        run.wait = Wait::Nothing;
        run.due_micros = None;
        let node = run.node;
        self.touch_run(run_id);
        self.trace_run(run_id, Some(node), || TraceKind::Outcome { outcome });
        if self.follow(run_id, outcome) {
            self.execute(run_id).await;
        }
    }

    /// Moves the run along `outcome`'s edge; ends it when there is none.
    fn follow(&mut self, run_id: u64, outcome: Outcome) -> bool {
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

    fn end(&mut self, run_id: u64) {
        if let Some(run) = self.runs.remove(&run_id) {
            if let Some(j) = &mut self.journal {
                j.runs.remove(&run_id);
                j.ended.push(run_id);
            }
            self.active.remove(&(run.workflow, run.contact));
            if let Wait::Cta { message_id } = &run.wait {
                self.by_message.remove(message_id);
            }
            self.stats.ended += 1;
            if self.host.tracing() {
                let event = self.trace_event(run_id, &run, None, TraceKind::Ended);
                self.host.trace(event);
            }
        }
    }

    async fn execute(&mut self, run_id: u64) {
        for _ in 0..STEP_LIMIT {
            let Some(run) = self.runs.get(&run_id) else {
                return;
            };
            let program = Arc::clone(&self.workflows[run.workflow as usize].program);
            let Some(node) = program.node(run.node) else {
                self.end(run_id);
                return;
            };
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

    fn wait(&mut self, run_id: u64, seconds: u64, wait: Wait, what: &str) -> Step {
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
        run.due_micros = Some(due.timestamp_micros());
        let timer = Timer {
            due_micros: due.timestamp_micros(),
            seq: self.next_seq,
            run: run_id,
            generation: run.generation,
        };
        self.next_seq += 1;
        self.timers.push_after(seconds, timer);
        let node = run.node;
        self.touch_run(run_id);
        self.trace_run(run_id, Some(node), || TraceKind::Waiting {
            on: what.into(),
            until: due,
        });
        Step::Suspend
    }

    async fn step(&mut self, run_id: u64, node: &ir::Node) -> Step {
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
            Op::SendCta {
                message,
                timeout_seconds,
                waits,
            } => {
                let failed = if *waits {
                    Outcome::NotDelivered
                } else {
                    Outcome::Done
                };
                let rendered = match self.render_cta(run_id, node, message, *timeout_seconds, now) {
                    Ok(m) => m,
                    Err(reason) => {
                        self.trace_run(run_id, Some(node.id), || TraceKind::NotSent {
                            kind: "cta".into(),
                            reason,
                        });
                        return Step::Next(failed);
                    }
                };
                match self.send(run_id, node, rendered).await {
                    Some(message_id) if *waits => {
                        self.by_message.insert(message_id.clone(), run_id);
                        self.wait(run_id, *timeout_seconds, Wait::Cta { message_id }, "cta")
                    }
                    Some(_) => Step::Next(Outcome::Done),
                    None => Step::Next(failed),
                }
            }
            Op::SendWhatsapp { text } => {
                let contact = &self.contacts[contact_ix];
                let mut missing = Vec::new();
                let body = self.values(contact_ix).text(text, &mut missing);
                let check = whatsapp_ready(contact, now).and_then(|to| {
                    let n = body.chars().count();
                    if n == 0 || n > 4096 {
                        Err(format!(
                            "the rendered text is {n} characters; WhatsApp accepts 1 to 4096"
                        ))
                    } else {
                        Ok(to)
                    }
                });
                self.report_missing(run_id, node, missing);
                match check {
                    Ok(to) => {
                        let out = self.outbound(run_id, node, to, Message::Whatsapp { body });
                        self.send(run_id, node, out).await;
                    }
                    Err(reason) => self.trace_run(run_id, Some(node.id), || TraceKind::NotSent {
                        kind: "whatsapp".into(),
                        reason,
                    }),
                }
                Step::Next(Outcome::Done)
            }
            Op::SendTemplate {
                name,
                language,
                category,
                params,
            } => {
                let mut missing = Vec::new();
                let values = self.values(contact_ix);
                let params = params
                    .iter()
                    .map(|p| values.text(p, &mut missing))
                    .collect();
                self.report_missing(run_id, node, missing);
                match self.contacts[contact_ix].phone.clone() {
                    Some(to) => {
                        let message = Message::Template {
                            name: name.clone(),
                            language: language.clone(),
                            category: category.clone(),
                            params,
                        };
                        let out = self.outbound(run_id, node, to, message);
                        self.send(run_id, node, out).await;
                    }
                    None => self.trace_run(run_id, Some(node.id), || TraceKind::NotSent {
                        kind: "template".into(),
                        reason: "the contact has no phone number".into(),
                    }),
                }
                Step::Next(Outcome::Done)
            }
            Op::SendSms { body, from } => {
                let mut missing = Vec::new();
                let body = self.values(contact_ix).text(body, &mut missing);
                self.report_missing(run_id, node, missing);
                let n = body.chars().count();
                let check = match self.contacts[contact_ix].phone.clone() {
                    None => Err("the contact has no phone number".to_owned()),
                    Some(_) if n == 0 || n > 1600 => Err(format!(
                        "the rendered SMS is {n} characters; providers accept 1 to 1600"
                    )),
                    Some(to) => Ok(to),
                };
                match check {
                    Ok(to) => {
                        let out = self.outbound(
                            run_id,
                            node,
                            to,
                            Message::Sms {
                                body,
                                from: from.clone(),
                            },
                        );
                        self.send(run_id, node, out).await;
                    }
                    Err(reason) => self.trace_run(run_id, Some(node.id), || TraceKind::NotSent {
                        kind: "sms".into(),
                        reason,
                    }),
                }
                Step::Next(Outcome::Done)
            }
            Op::SendEmail {
                subject,
                body,
                from,
            } => {
                let mut missing = Vec::new();
                let values = self.values(contact_ix);
                let subject = values.text(subject, &mut missing);
                let body = values.text(body, &mut missing);
                self.report_missing(run_id, node, missing);
                match self.contacts[contact_ix].email.clone() {
                    Some(to) => {
                        let message = Message::Email {
                            subject,
                            body,
                            from: from.clone(),
                        };
                        let out = self.outbound(run_id, node, to, message);
                        self.send(run_id, node, out).await;
                    }
                    None => self.trace_run(run_id, Some(node.id), || TraceKind::NotSent {
                        kind: "email".into(),
                        reason: "the contact has no email address".into(),
                    }),
                }
                Step::Next(Outcome::Done)
            }
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
                Step::Next(Outcome::Done)
            }
            Op::End => Step::End,
        }
    }

    fn values(&self, contact_ix: usize) -> Values<'_> {
        Values {
            contact: &self.contacts[contact_ix],
            custom: &self.custom_values,
        }
    }

    fn outbound(&self, run_id: u64, node: &ir::Node, to: String, message: Message) -> Outbound {
        let (workflow, contact) = match self.runs.get(&run_id) {
            Some(run) => (
                self.workflows[run.workflow as usize].workflow.clone(),
                self.contacts[run.contact as usize].id.clone(),
            ),
            None => (String::new(), String::new()),
        };
        Outbound {
            step: StepRef {
                workflow,
                run: run_id,
                node: node.id,
            },
            contact,
            to,
            message,
        }
    }

    /// Sends and traces; the message id when the provider accepted it.
    async fn send(&mut self, run_id: u64, node: &ir::Node, out: Outbound) -> Option<String> {
        let result = self.host.send(&out).await;
        if !self.host.tracing() {
            return match result {
                SendResult::Accepted { message_id } => Some(message_id),
                SendResult::Failed { .. } => None,
            };
        }
        let id = match &result {
            SendResult::Accepted { message_id } => Some(message_id.clone()),
            SendResult::Failed { .. } => None,
        };
        self.trace_run(run_id, Some(node.id), || TraceKind::Sent {
            message: Box::new(out),
            result,
        });
        id
    }

    fn report_missing(&self, run_id: u64, node: &ir::Node, missing: Vec<String>) {
        for var in missing {
            self.trace_run(run_id, Some(node.id), || TraceKind::MissingValue { var });
        }
    }

    fn render_cta(
        &self,
        run_id: u64,
        node: &ir::Node,
        message: &ir::CtaMessage,
        timeout_seconds: u64,
        now: DateTime<Utc>,
    ) -> Result<Outbound, String> {
        let Some(run) = self.runs.get(&run_id) else {
            return Err("the run ended".into());
        };
        let contact_ix = run.contact as usize;
        let to = whatsapp_ready(&self.contacts[contact_ix], now)?;
        let values = self.values(contact_ix);
        let mut missing = Vec::new();
        let header = match &message.header {
            Header::Text { text } => RenderedHeader::Text {
                text: values.text(text, &mut missing),
            },
            Header::Image { link } => RenderedHeader::Image {
                link: values.url(link, &mut missing),
            },
            Header::Video { link } => RenderedHeader::Video {
                link: values.url(link, &mut missing),
            },
            Header::Document { link } => RenderedHeader::Document {
                link: values.url(link, &mut missing),
            },
        };
        let body = values.text(&message.body, &mut missing);
        let footer = message
            .footer
            .as_ref()
            .map(|f| values.text(f, &mut missing));
        let display_text = values.text(&message.display_text, &mut missing);
        let url = values.url(&message.url, &mut missing);
        self.report_missing(run_id, node, missing);
        limit("body", &body, 1, 1024)?;
        limit("button label", &display_text, 1, 20)?;
        if let Some(footer) = &footer {
            limit("footer", footer, 0, 60)?;
        }
        let [header_ok, url_ok] = self.workflows[run.workflow as usize]
            .urls_ok
            .get(node.id.0 as usize)
            .copied()
            .unwrap_or_default();
        // The URL parser refuses inputs over 4 GiB, whatever they start with.
        let short = |s: &str| s.len() < u32::MAX as usize;
        match &header {
            RenderedHeader::Text { text } => limit("header", text, 1, 60)?,
            RenderedHeader::Image { link }
            | RenderedHeader::Video { link }
            | RenderedHeader::Document { link } => {
                if !(header_ok && short(link)) {
                    absolute_url("header link", link)?;
                }
            }
        }
        if !(url_ok && short(&url)) {
            absolute_url("URL", &url)?;
        }
        Ok(self.outbound(
            run_id,
            node,
            to,
            Message::Cta {
                from: message.from.clone(),
                header,
                body,
                footer,
                display_text,
                url,
                timeout_seconds,
            },
        ))
    }

    fn eval(&self, cond: &Cond, contact_ix: usize, now: DateTime<Utc>) -> bool {
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

/// The number to send a WhatsApp session message to, if the window is open.
fn whatsapp_ready(contact: &Contact, now: DateTime<Utc>) -> Result<String, String> {
    let Some(phone) = contact.phone.clone() else {
        return Err("the contact has no phone number".into());
    };
    if !contact.window_open(now) {
        return Err("the 24-hour customer service window is closed (no WhatsApp message from the contact in the last 24 hours)".into());
    }
    Ok(phone)
}

fn limit(what: &str, text: &str, min: usize, max: usize) -> Result<(), String> {
    let n = text.chars().count();
    if n < min || n > max {
        Err(format!(
            "the rendered {what} is {n} characters; WhatsApp accepts {min} to {max}"
        ))
    } else {
        Ok(())
    }
}

fn absolute_url(what: &str, text: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| !h.is_empty()) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "the rendered {what} `{text}` is not an absolute http(s) URL"
        )),
    }
}

/// Whether `text` renders to an absolute http(s) URL (as [`absolute_url`]
/// decides) whatever its variables hold, judged from its literal start alone.
///
/// In a URL every value is percent-encoded down to `A-Z a-z 0-9 - . _ ~ %`
/// (see `render`), so a value can never end the authority, start a query or
/// fragment, or add a character the URL parser strips. When the literal text
/// before the first variable already holds `http://` or `https://`, a
/// non-empty authority and the character that ends it (`/`, `\\`, `?` or
/// `#`), the parser has settled the scheme and the host before it reaches any
/// value, and what follows (path, query, fragment) never makes it fail. So
/// the rendered URL passes exactly when that literal start does. Anything
/// less plain (spaces, control or non-ASCII characters in the literal start,
/// a variable inside the authority) answers false and is parsed at send time
/// as before. (The parser also refuses inputs over 4 GiB; `render_cta`
/// parses those whatever this says.)
fn static_url_ok(text: &ir::Text) -> bool {
    let mut prefix = String::new();
    for part in &text.0 {
        match part {
            ir::Part::Text(s) => prefix.push_str(s),
            ir::Part::Var(_) => break,
        }
    }
    if !prefix.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let Some(rest) = prefix
        .strip_prefix("https://")
        .or_else(|| prefix.strip_prefix("http://"))
    else {
        return false;
    };
    let Some(end) = rest.find(['/', '\\', '?', '#']) else {
        return false;
    };
    if end == 0 {
        return false;
    }
    let authority = prefix.len() - rest.len() + end;
    absolute_url("URL", &prefix[..authority]).is_ok()
}

/// Checks ids, edges and triggers so that a hand-edited or corrupt IR cannot
/// make the engine index out of range.
fn validate(program: &Program) -> Result<(), LoadError> {
    if program.format_version != FORMAT_VERSION {
        return Err(LoadError::Version {
            found: program.format_version,
        });
    }
    let n = program.nodes.len() as u32;
    let malformed = |reason: String| Err(LoadError::Malformed { reason });
    for (i, node) in program.nodes.iter().enumerate() {
        if node.id.0 as usize != i {
            return malformed(format!("node at index {i} has id {}", node.id.0));
        }
        let waits = match &node.op {
            Op::Wait { seconds } => *seconds,
            Op::AwaitReply {
                timeout_seconds, ..
            }
            | Op::SendCta {
                timeout_seconds, ..
            } => *timeout_seconds,
            _ => 0,
        };
        if waits > MAX_WAIT_SECONDS {
            return malformed(format!(
                "node {i} waits {waits} seconds; kflow waits at most a year"
            ));
        }
        if let Some(edge) = node.edges.iter().find(|e| e.to.0 >= n) {
            return malformed(format!(
                "node {i} has an edge to node {}, which does not exist",
                edge.to.0
            ));
        }
    }
    if let Some(t) = program.triggers.iter().find(|t| t.entry.0 >= n) {
        return malformed(format!(
            "a trigger starts at node {}, which does not exist",
            t.entry.0
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::ir::{Part, Text};
    use crate::runtime::render::Values;

    fn url(parts: &[(&str, bool)]) -> Text {
        Text(
            parts
                .iter()
                .map(|&(s, var)| {
                    if var {
                        Part::Var(s.into())
                    } else {
                        Part::Text(s.into())
                    }
                })
                .collect(),
        )
    }

    fn render(text: &Text, value: &str) -> String {
        let mut contact = Contact::new("c1");
        contact.fields.insert("v".into(), value.into());
        let custom = BTreeMap::new();
        let values = Values {
            contact: &contact,
            custom: &custom,
        };
        values.url(text, &mut Vec::new())
    }

    #[test]
    fn static_url_verdicts() {
        let yes = [
            url(&[("https://cdn.example.com/booking.png", false)]),
            url(&[
                ("https://www.example.com/?name=", false),
                ("contact.v", true),
            ]),
            url(&[("http://example.com?q=", false), ("contact.v", true)]),
            url(&[("https://example.com#", false), ("contact.v", true)]),
            url(&[
                ("https://user@example.com:8443/p/", false),
                ("contact.v", true),
            ]),
        ];
        for text in &yes {
            assert!(static_url_ok(text), "{text:?}");
        }
        let no = [
            // The variable is in the authority.
            url(&[("https://", false), ("contact.v", true), ("/x", false)]),
            url(&[("https://example.com", false), ("contact.v", true)]),
            url(&[
                ("https://example.com:", false),
                ("contact.v", true),
                ("/", false),
            ]),
            // No authority, or one the parser would read differently.
            url(&[("https:///example.com/", false)]),
            url(&[("https://example.com", false)]),
            url(&[("ftp://example.com/", false)]),
            url(&[("HTTPS://example.com/", false)]),
            url(&[(" https://example.com/", false)]),
            url(&[("https://exa mple.com/", false)]),
            url(&[("https://bücher.example/", false)]),
            // Invalid as written.
            url(&[("https://exa[mple.com/", false)]),
            url(&[("https://example.com:99999/", false)]),
            url(&[("/relative/", false), ("contact.v", true)]),
        ];
        for text in &no {
            assert!(!static_url_ok(text), "{text:?}");
        }
    }

    proptest! {
        /// Timers come out in (due, seq) order however they went in: in
        /// order within a lane, out of order (a clock stepping back), with
        /// more lengths than lanes, or with no lane at all.
        #[test]
        fn timers_come_out_in_order(
            pushes in prop::collection::vec((0u64..40, -5i64..5, any::<bool>()), 0..300),
            pops in prop::collection::vec(any::<bool>(), 0..300),
        ) {
            let mut timers = Timers::default();
            let mut model = std::collections::BTreeSet::new();
            let mut now = 0i64;
            for (i, ((seconds, step, lane), pop)) in
                pushes.iter().zip(pops.iter().chain(std::iter::repeat(&false))).enumerate()
            {
                now += step;
                let timer = Timer {
                    due_micros: now + *seconds as i64 * 1_000_000,
                    seq: i as u64,
                    run: i as u64,
                    generation: 0,
                };
                if *lane {
                    timers.push_after(*seconds, timer);
                } else {
                    timers.push(Reverse(timer));
                }
                model.insert(timer);
                prop_assert_eq!(timers.len(), model.len());
                prop_assert_eq!(timers.peek().map(|t| t.0), model.first().copied());
                if *pop {
                    prop_assert_eq!(timers.pop().map(|t| t.0), model.pop_first());
                }
            }
            while let Some(first) = model.pop_first() {
                prop_assert_eq!(timers.pop().map(|t| t.0), Some(first));
            }
            prop_assert!(timers.pop().is_none());
        }

        /// A verdict of "always valid" holds for any value, and for literal
        /// texts it is the same as parsing them.
        #[test]
        fn a_static_verdict_matches_parsing(
            start in prop::sample::select(vec![
                "https://www.example.com/?name=",
                "https://www.example.com/p/",
                "http://example.com?",
                "https://example.com#",
                "https://u:p@example.com:8080\\x/",
                "https://example.com:99999/",
                "https://[::1]/",
                "https://xn--bcher-kva.example/",
                "https://",
                "https://example.com",
            ]),
            value in ".{0,24}",
            tail in "[ -~]{0,12}",
        ) {
            let text = url(&[(start, false), ("contact.v", true), (&tail, false)]);
            if static_url_ok(&text) {
                let rendered = render(&text, &value);
                prop_assert!(absolute_url("URL", &rendered).is_ok(), "{rendered}");
            }
            let literal = url(&[(start, false), (&tail, false)]);
            let whole = format!("{start}{tail}");
            if static_url_ok(&literal) {
                prop_assert!(absolute_url("URL", &whole).is_ok(), "{whole}");
            }
        }
    }
}
