//! The interpreter in virtual time: one million contacts through the seed
//! workflow (`examples/booking_cta.kflow`).
//!
//! Every contact replies on WhatsApp, so its run checks the window, sends the
//! CTA and waits. Then a third open the link (tag), a third have the CTA fail
//! (email fallback) and the rest time out when the virtual clock moves 30
//! minutes on (SMS fallback). Targets from the issue: at least 200,000 runs
//! per second on one core, and one million runs waiting at once in under
//! 1 GiB.
//!
//! The host is not [`kflow::runtime::SimHost`], which records every send and
//! trace event: [`BenchHost`] accepts every send with a counter as its message
//! id, counts sends by kind (to check the outcome split), and does not trace.
//! The engine runs on one thread, driven by a current-thread tokio runtime.
//!
//! `cargo bench --bench runtime` first prints (to stderr) the heap bytes and
//! the resident set per waiting run, measured with a counting global
//! allocator and `/proc/self/status`, then criterion's `runtime/seed_workflow`
//! with its throughput in runs per second. Building the engine and its
//! contacts, and building the events (what a webhook handler would have
//! parsed), are outside the timing; every event and the clock's advance are
//! inside it.

use std::cell::Cell;
use std::future::{Future, ready};
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use kflow::ir::{Channel, Program};
use kflow::runtime::{Contact, Engine, Event, Host, Message, Outbound, SendResult, VirtualClock};
use peak_alloc::PeakAlloc;

/// Counts every heap byte allocated and freed.
#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// Contacts (and runs) per measurement.
const CONTACTS: usize = 1_000_000;

/// A host that accepts every send and remembers only counts.
struct BenchHost {
    clock: VirtualClock,
    next_id: Cell<u64>,
    /// Sends of `cta`, `email`, `sms`, anything else.
    sends: [Cell<u64>; 4],
    tags: Cell<u64>,
}

impl BenchHost {
    fn new(clock: VirtualClock) -> BenchHost {
        BenchHost {
            clock,
            next_id: Cell::new(0),
            sends: Default::default(),
            tags: Cell::new(0),
        }
    }

    fn sent(&self, kind: usize) -> u64 {
        self.sends[kind].get()
    }
}

impl Host for BenchHost {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn send(&self, message: &Outbound) -> impl Future<Output = SendResult> + Send {
        let kind = match message.message {
            Message::Cta { .. } => 0,
            Message::Email { .. } => 1,
            Message::Sms { .. } => 2,
            _ => 3,
        };
        self.sends[kind].set(self.sends[kind].get() + 1);
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        ready(SendResult::Accepted {
            message_id: id.to_string(),
        })
    }

    fn set_tag(
        &self,
        _contact: &str,
        _tag: &str,
        _present: bool,
    ) -> impl Future<Output = ()> + Send {
        self.tags.set(self.tags.get() + 1);
        ready(())
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn seed_program() -> Program {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/booking_cta.kflow");
    let text = std::fs::read_to_string(path).expect("the seed example exists");
    let source = kflow::SourceFile::new("booking_cta.kflow", text).expect("small");
    kflow::compile(&source).expect("the seed example compiles")
}

fn contact_id(i: usize) -> String {
    format!("contact-{i:07}")
}

/// An engine with the seed workflow and `n` contacts that have everything
/// the workflow renders (phone, email, first name, name).
fn engine_with_contacts(program: &Program, n: usize) -> (Engine<BenchHost>, VirtualClock) {
    let clock = VirtualClock::new(t0());
    let mut engine = Engine::new(BenchHost::new(clock.clone()));
    engine.load(program.clone()).expect("valid IR");
    engine.set_custom_value("agent_calendar", "dr lee&co");
    for i in 0..n {
        let mut c = Contact::new(contact_id(i));
        c.phone = Some(format!("+1555{i:07}"));
        c.email = Some(format!("c{i}@example.com"));
        c.fields.insert("first_name".into(), "Ana".into());
        c.fields.insert("name".into(), "Ana Silva".into());
        engine.upsert_contact(c);
    }
    (engine, clock)
}

fn replies(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| Event::Reply {
            contact: contact_id(i),
            channel: Channel::Whatsapp,
        })
        .collect()
}

/// The link and delivery events for a batch of `n` replies whose first CTA
/// gets message id `first_id`: every reply sends exactly one CTA, in order,
/// before any other send, so contact `i`'s CTA is `first_id + i`. Of contact
/// `i`, `i % 3 == 0` opens the link, `1` fails delivery, `2` times out.
fn outcomes(n: usize, first_id: u64) -> Vec<Event> {
    (0..n)
        .filter_map(|i| {
            let message_id = (first_id + i as u64).to_string();
            match i % 3 {
                0 => Some(Event::LinkOpened { message_id }),
                1 => Some(Event::DeliveryFailed {
                    message_id,
                    reason: "131026 undeliverable".into(),
                }),
                _ => None,
            }
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

async fn handle_all(engine: &mut Engine<BenchHost>, events: Vec<Event>) {
    for event in events {
        engine.handle(event).await;
    }
}

/// What the engine and host have counted: runs started and ended, CTAs,
/// tags, emails, SMS, other sends.
fn counts(engine: &Engine<BenchHost>) -> [u64; 7] {
    let stats = engine.stats();
    let host = engine.host();
    [
        stats.started,
        stats.ended,
        host.sent(0),
        host.tags.get(),
        host.sent(1),
        host.sent(2),
        host.sent(3),
    ]
}

/// Checks that a batch of `n` runs went down the paths its contacts were
/// given, and that none is left waiting.
fn assert_batch(engine: &Engine<BenchHost>, before: [u64; 7], n: usize) {
    let after = counts(engine);
    let delta: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let n = n as u64;
    let opened = n.div_ceil(3);
    let failed = (n + 1) / 3;
    let timed_out = n - opened - failed;
    assert_eq!(
        delta,
        [n, n, n, opened, failed, timed_out, 0],
        "runs started, ended; CTAs, tags, emails, SMS, other sends"
    );
    assert_eq!(engine.stats().active, 0);
}

/// Runs one batch: every contact replies, then the link and delivery events,
/// then the clock moves 30 minutes on. Only this is timed (wall and this
/// thread's CPU time); the events are built before.
fn run_batch(
    rt: &tokio::runtime::Runtime,
    engine: &mut Engine<BenchHost>,
    clock: &VirtualClock,
    n: usize,
) -> (Duration, Duration) {
    let replies = replies(n);
    let outcomes = outcomes(n, engine.host().next_id.get() + 1);
    let until = clock.now() + chrono::Duration::minutes(30);
    let before = counts(engine);
    let cpu = thread_cpu();
    let started = Instant::now();
    rt.block_on(async {
        handle_all(engine, black_box(replies)).await;
        handle_all(engine, black_box(outcomes)).await;
        engine.advance(clock, until).await;
    });
    let wall = started.elapsed();
    let cpu = thread_cpu().saturating_sub(cpu);
    assert_batch(engine, before, n);
    (wall, cpu)
}

/// CPU time this thread has run, from `/proc/thread-self/schedstat`; zero
/// where that does not exist. On a busy machine the wall time counts time
/// other processes had the core; this does not.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Resident set and its high-water mark, in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Puts `CONTACTS` runs in the waiting state and prints what they hold.
fn memory_report(program: &Program) {
    let rt = runtime();
    let heap_empty = ALLOC.current_usage() as u64;
    let (mut engine, clock) = engine_with_contacts(program, CONTACTS);
    let before = counts(&engine);
    let heap_before = ALLOC.current_usage() as u64;
    let (rss_before, _) = rss();
    // The reply events are built after the baseline and freed as they are
    // handled, so the difference is what the engine keeps per waiting run.
    rt.block_on(handle_all(&mut engine, replies(CONTACTS)));
    let heap_waiting = ALLOC.current_usage() as u64;
    let (rss_waiting, hwm) = rss();
    let stats = engine.stats();
    assert_eq!(stats.active, CONTACTS, "every run waits for its CTA");

    let n = CONTACTS as u64;
    let per_run = heap_waiting.saturating_sub(heap_before) as f64 / n as f64;
    let contacts = heap_before.saturating_sub(heap_empty);
    eprintln!("runtime bench: {CONTACTS} runs waiting on their CTA at once");
    eprintln!(
        "  heap held per waiting run: {per_run:.1} bytes ({:.1} MiB for all of them)",
        mib(heap_waiting.saturating_sub(heap_before))
    );
    eprintln!(
        "  heap for the {CONTACTS} contacts themselves: {:.1} MiB ({:.1} bytes each)",
        mib(contacts),
        contacts as f64 / n as f64
    );
    eprintln!(
        "  heap in use with the runs waiting: {:.1} MiB (events consumed)",
        mib(heap_waiting)
    );
    eprintln!(
        "  VmRSS before the replies {:.1} MiB, with the runs waiting {:.1} MiB \
         (+{:.1} bytes per run); VmHWM {:.1} MiB",
        mib(rss_before),
        mib(rss_waiting),
        rss_waiting.saturating_sub(rss_before) as f64 / n as f64,
        mib(hwm)
    );

    // Finish the runs too, so the report also shows that they all end.
    let started = Instant::now();
    rt.block_on(async {
        handle_all(&mut engine, outcomes(CONTACTS, 1)).await;
        engine
            .advance(&clock, t0() + chrono::Duration::minutes(30))
            .await;
    });
    let finish = started.elapsed();
    assert_batch(&engine, before, CONTACTS);
    let heap_done = ALLOC.current_usage() as u64;
    eprintln!(
        "  after every run ended ({:.2} s for the outcomes and the clock): heap {:.1} MiB \
         (the maps keep their capacity; a third of the contacts now carry a tag)",
        finish.as_secs_f64(),
        mib(heap_done)
    );
    drop(engine);
}

/// Wall and CPU time over every timed batch of one benchmark.
#[derive(Default)]
struct Totals {
    runs: u64,
    wall: Duration,
    cpu: Duration,
}

impl Totals {
    fn add(&mut self, n: usize, (wall, cpu): (Duration, Duration)) -> Duration {
        self.runs += n as u64;
        self.wall += wall;
        self.cpu += cpu;
        wall
    }

    fn print(&self, name: &str) {
        let per_s = |d: Duration| self.runs as f64 / d.as_secs_f64();
        eprintln!(
            "{name}: {} runs timed; {:.0} runs per wall-clock second, {:.0} per CPU second \
             of the benchmark thread",
            self.runs,
            per_s(self.wall),
            per_s(self.cpu)
        );
    }
}

fn bench(c: &mut Criterion) {
    let program = seed_program();
    memory_report(&program);

    let rt = runtime();
    let mut group = c.benchmark_group("runtime");
    group.throughput(Throughput::Elements(CONTACTS as u64));
    // One iteration is a million runs (seconds); ten single-iteration
    // samples per benchmark keep the whole bench to a few minutes.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(30));

    // A fresh engine per batch: its maps and timer heap grow from empty
    // while the batch runs.
    let mut cold = Totals::default();
    group.bench_function("seed_workflow/cold", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (mut engine, clock) = engine_with_contacts(&program, CONTACTS);
                total += cold.add(CONTACTS, run_batch(&rt, &mut engine, &clock, CONTACTS));
                drop(black_box(engine));
            }
            total
        })
    });

    // One engine for every batch, as in a long-running service: the maps
    // already have room from the first batch (run untimed) and every
    // contact's data is in place.
    let (mut engine, clock) = engine_with_contacts(&program, CONTACTS);
    run_batch(&rt, &mut engine, &clock, CONTACTS);
    let mut warm = Totals::default();
    group.bench_function("seed_workflow/warm", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += warm.add(CONTACTS, run_batch(&rt, &mut engine, &clock, CONTACTS));
            }
            total
        })
    });
    group.finish();
    cold.print("runtime/seed_workflow/cold");
    warm.print("runtime/seed_workflow/warm");
}

criterion_group!(benches, bench);
criterion_main!(benches);
