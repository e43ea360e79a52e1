//! `kflowc serve` with many runs waiting: memory, restart, resume, and
//! deadlines that fall due together. Whole processes (the `kflowc` binary),
//! loopback only, bounded in time.
//!
//! The store is filled beforehand, as a service that had been running
//! would have left it: the seed workflow (`examples/booking_cta.kflow`) is
//! run in this process for every contact (reply, CTA sent, waiting for its
//! link, its failure or its 30-minute timeout), and the contacts, the
//! waiting runs and their tracking links are written to a fresh SQLite file
//! through `kflow::store`.
//!
//! - **waiting** (`--runs N`, default 1,000,000): starts `kflowc serve` on an
//!   empty store and reads its resident memory once it listens; then on the
//!   store with N runs waiting, reading the time from the process's start
//!   until it listens (restart → ready) and its memory; then opens 1,000
//!   tracking links at once (64 clients) and reads the time from the start
//!   until all 1,000 runs have resumed (their events processed), and the
//!   memory after.
//! - **deadlines** (`--timers N`, default 2,000): N runs whose CTA
//!   timeouts all fall due at the same instant, a few seconds after the
//!   service starts; each takes the timeout branch (an SMS to a Twilio
//!   stand-in). Lateness per run: from the deadline to the step that fired
//!   it (the ledger's instant of its SMS) and to the SMS reaching the
//!   stand-in.
//!
//! ```text
//! cargo bench --bench waiting
//! cargo bench --bench waiting -- --runs 100000 --timers 2000
//! ```

use std::cell::Cell;
use std::future::{Future, ready};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kflow::ir::Channel;
use kflow::runtime::{
    Contact, Engine, Event, Host, Outbound, RunRecord, SendResult, VirtualClock, Wait,
};
use kflow::store::{self, Store};

const APP_SECRET: &str = "bench-app-secret";

struct Options {
    runs: usize,
    timers: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        runs: 1_000_000,
        timers: 2_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            let v = args.next().ok_or_else(|| format!("{name} needs a value"))?;
            v.parse()
                .map_err(|_| format!("{name}: `{v}` is not a number"))
        };
        match arg.as_str() {
            "--bench" => {}
            "--runs" => options.runs = number("--runs")?,
            "--timers" => options.timers = number("--timers")?,
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            _ => {}
        }
    }
    Ok(options)
}

/// The seeding engine's host: every send accepted, nothing kept.
struct SeedHost {
    clock: VirtualClock,
    next: Cell<u64>,
}

impl Host for SeedHost {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn send(&self, _message: &Outbound) -> impl Future<Output = SendResult> + Send {
        let n = self.next.get() + 1;
        self.next.set(n);
        ready(SendResult::Accepted {
            message_id: format!("wamid.SEED.{n}"),
        })
    }

    fn set_tag(&self, _c: &str, _t: &str, _p: bool) -> impl Future<Output = ()> + Send {
        ready(())
    }
}

fn phone(i: usize) -> String {
    format!("+1556{i:07}")
}

fn token(i: usize) -> String {
    format!("seed-token-{i:08}")
}

/// Fills `db` with `n` contacts, each with a run waiting on its CTA, sent
/// at `sent_at` (so its timeout falls due 30 minutes later) or, for the
/// first `overdue`, 31 minutes before it (their timeouts have passed), and
/// its tracking link. Run ids start above every id the service will derive.
fn seed(db: &Path, n: usize, overdue: usize, sent_at: DateTime<Utc>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("examples/booking_cta.kflow")).expect("seed");
    let source = kflow::SourceFile::new("booking_cta.kflow", text).expect("small");
    let program = kflow::compile(&source).expect("compiles");
    // A virtual clock only goes forward: start at the overdue runs' time.
    let clock = VirtualClock::new(sent_at - chrono::Duration::minutes(31));
    let mut engine = Engine::new(SeedHost {
        clock: clock.clone(),
        next: Cell::new(0),
    });
    engine.load(program).expect("valid IR");
    engine.record_changes();
    let store = Store::open(db).expect("open the store");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    const CHUNK: usize = 20_000;
    let mut done = 0;
    while done < n {
        let upto = if done < overdue {
            overdue.min(n)
        } else {
            (done + CHUNK).min(n)
        };
        if done >= overdue {
            clock.set(sent_at);
        }
        for i in done..upto {
            let mut c = Contact::new(phone(i));
            c.phone = Some(phone(i));
            c.email = Some(format!("c{i}@example.com"));
            c.fields.insert("first_name".into(), format!("C{i}"));
            engine.upsert_contact(c);
            rt.block_on(engine.handle(Event::Reply {
                contact: phone(i),
                channel: Channel::Whatsapp,
            }));
        }
        let changes = engine.take_changes();
        engine.evict();
        let first = done;
        rt.block_on(store.write(move |tx| {
            for c in &changes.contacts {
                store::contacts::save(tx, c)?;
            }
            for (k, run) in changes.runs.iter().enumerate() {
                save_run(tx, run)?;
                if let Wait::Cta { message_id } = &run.wait {
                    let expires = run.due.unwrap_or(DateTime::<Utc>::MAX_UTC);
                    store::links::create(
                        tx,
                        &token(first + k),
                        Some(message_id),
                        Some(run.id),
                        "https://www.example.com/",
                        expires,
                    )?;
                }
            }
            Ok(())
        }))
        .expect("write the seed");
        done = upto;
    }
    let next = (n as u64 + 2).to_string();
    rt.block_on(store.write(move |tx| store::meta::set(tx, "run_ids_from", &next)))
        .expect("write the seed");
}

fn save_run(tx: &rusqlite::Connection, run: &RunRecord) -> rusqlite::Result<()> {
    let waiting_on = match &run.wait {
        Wait::Cta { message_id } | Wait::Choice { message_id } => Some(message_id.clone()),
        _ => None,
    };
    store::runs::save(
        tx,
        &store::RunRecord {
            id: run.id,
            workflow: run.workflow.clone(),
            version: run.version.clone(),
            contact: run.contact.clone(),
            data: serde_json::to_string(run)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            due_at: run.due,
            waiting_on,
        },
    )
}

fn write_config(dir: &Path, port: u16, twilio: &str) -> std::path::PathBuf {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
database = "kflow.db"
workflows = ["{root}/examples/booking_cta.kflow"]

[whatsapp]
base_url = "{twilio}"
phone_number_id = "PNID"
numbers = {{ "+15550100001" = "PNID" }}
messages_per_second = 1000000

[twilio]
base_url = "{twilio}"
account_sid = "AC123"
from = "+15550009999"

[retry]
max_attempts = 2
base_delay_ms = 10
max_delay_ms = 20
request_timeout_ms = 5000
"#
    );
    let path = dir.join("kflow.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `kflowc serve` as a process, timed from its spawn.
struct Service {
    child: Child,
    spawned: Instant,
    ready: Duration,
    base: String,
}

impl Service {
    fn start(config: &Path, port: u16) -> Service {
        let spawned = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_kflowc"))
            .args(["serve", "--config"])
            .arg(config)
            .env("WHATSAPP_TOKEN", "bench-token")
            .env("WHATSAPP_APP_SECRET", APP_SECRET)
            .env("WHATSAPP_VERIFY_TOKEN", "bench-verify")
            .env("TWILIO_AUTH_TOKEN", "bench-twilio")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kflowc serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("listening on") {
                    let _ = tx.send(());
                } else {
                    // Warnings and errors only (RUST_LOG=warn): worth seeing.
                    eprintln!("kflowc serve: {line}");
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(120))
            .expect("kflowc serve listens");
        Service {
            ready: spawned.elapsed(),
            child,
            spawned,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Resident memory, from /proc.
    fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn metric(http: &reqwest::Client, base: &str, name: &str) -> Option<u64> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// When each SMS reached the stand-in.
type Arrivals = Arc<Mutex<Vec<DateTime<Utc>>>>;

/// A Twilio and WhatsApp stand-in that answers at once and notes when each
/// SMS came.
struct StandIn {
    uri: String,
    sms_at: Arrivals,
}

fn stand_in(rt: &tokio::runtime::Runtime) -> StandIn {
    let sms_at: Arrivals = Arc::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let uri = format!("http://{}", listener.local_addr().expect("address"));
    let notes = sms_at.clone();
    rt.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/AC123/Messages.json",
                axum::routing::post(move || {
                    let at = Utc::now();
                    notes.lock().unwrap_or_else(|e| e.into_inner()).push(at);
                    async move {
                        (
                            axum::http::StatusCode::CREATED,
                            axum::Json(serde_json::json!({"sid": format!("SM{}", at.timestamp_micros()), "status": "queued"})),
                        )
                    }
                }),
            )
            .route(
                "/v25.0/PNID/messages",
                axum::routing::post(|| async {
                    axum::Json(serde_json::json!({"messages": [{"id": "wamid.X"}]}))
                }),
            );
        let _ = axum::serve(listener, app).await;
    });
    StandIn { uri, sms_at }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn waiting(runs: usize, rt: &tokio::runtime::Runtime, stand: &StandIn) {
    // The empty service.
    let empty_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let port = free_port();
    let config = write_config(empty_dir.path(), port, &stand.uri);
    let empty = Service::start(&config, port);
    let empty_rss = empty.rss_bytes();
    let empty_ready = empty.ready;
    drop(empty);

    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let seeding = Instant::now();
    // The CTAs go out now: their links and timeouts outlast the bench.
    let overdue = 1_000.min(runs);
    seed(&dir.path().join("kflow.db"), runs, overdue, Utc::now());
    let db_bytes = std::fs::metadata(dir.path().join("kflow.db")).map_or(0, |m| m.len());
    eprintln!(
        "waiting: seeded {runs} waiting runs in {:.1} s ({:.0} MiB of SQLite)",
        seeding.elapsed().as_secs_f64(),
        mib(db_bytes)
    );
    let port = free_port();
    let config = write_config(dir.path(), port, &stand.uri);
    stand
        .sms_at
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    let service = Service::start(&config, port);
    let ready = service.ready;
    let idle_rss = service.rss_bytes();
    // The timeouts that passed while it was down fire at once; each sends
    // its SMS.
    let limit = Instant::now() + Duration::from_secs(60);
    while stand.sms_at.lock().unwrap_or_else(|e| e.into_inner()).len() < overdue
        && Instant::now() < limit
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    let fired = (stand.sms_at.lock().unwrap_or_else(|e| e.into_inner()).len() >= overdue)
        .then(|| service.spawned.elapsed());
    // 1,000 contacts open their links at once.
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let opens = 1_000.min(runs);
    let base = service.base.clone();
    let resumed = rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        // Links of runs still waiting (not the overdue ones).
        let step = ((runs - overdue) / opens).max(1);
        for client in 0..64 {
            let http = http.clone();
            let base = base.clone();
            tasks.spawn(async move {
                let mut k = client;
                while k < opens {
                    let url = format!("{base}/l/{}", token(overdue + k * step));
                    let _ = http.get(url).send().await;
                    k += 64;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        let answered = service.spawned.elapsed();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let done = metric(&http, &base, "kflow_events_processed_total")
                .await
                .unwrap_or(0);
            if done >= opens as u64 {
                return Some((answered, service.spawned.elapsed()));
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let after_rss = service.rss_bytes();
    drop(service);
    if let Ok(store) = Store::open(dir.path().join("kflow.db")) {
        let counts = store.read(|conn| {
            let q = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
            Ok((
                q("SELECT count(*) FROM effects")?,
                q("SELECT count(*) FROM runs")?,
                q("SELECT count(*) FROM runs WHERE stranded IS NOT NULL")?,
                q("SELECT min(due_at) FROM runs")?,
                q("SELECT count(*) FROM inbox")?,
            ))
        });
        eprintln!("waiting: after the run: effects, runs, stranded, first due, inbox = {counts:?}");
    }
    if std::env::var_os("KFLOW_BENCH_KEEP").is_some() {
        eprintln!("waiting: kept {}", dir.keep().display());
        return;
    }
    println!();
    println!("Runs waiting in the store ({runs}), kflowc serve as a process:");
    println!();
    println!("| | value |");
    println!("|---|---:|");
    println!(
        "| empty service: ready after | {:.3} s |",
        empty_ready.as_secs_f64()
    );
    println!(
        "| empty service: RSS when listening | {:.1} MiB |",
        mib(empty_rss)
    );
    println!(
        "| {runs} waiting: restart → ready (listening) | {:.3} s |",
        ready.as_secs_f64()
    );
    println!(
        "| {runs} waiting: RSS when listening | {:.1} MiB |",
        mib(idle_rss)
    );
    println!(
        "| RSS per waiting run above the empty service | {:.1} B |",
        idle_rss.saturating_sub(empty_rss) as f64 / runs as f64
    );
    match fired {
        Some(t) => println!(
            "| restart → the {overdue} runs whose timeouts passed while it was down resumed (their SMS at the provider) | {:.3} s |",
            t.as_secs_f64()
        ),
        None => println!("| restart → {overdue} overdue runs resumed | not within 60 s |"),
    }
    match resumed {
        Some((answered, t)) => {
            println!(
                "| restart → {opens} link opens answered (302, stored) | {:.3} s |",
                answered.as_secs_f64()
            );
            println!(
                "| restart → {opens} runs resumed by their link opens | {:.3} s |",
                t.as_secs_f64()
            );
        }
        None => println!("| restart → {opens} runs resumed | not within 60 s |"),
    }
    println!(
        "| RSS after the {opens} resumed | {:.1} MiB |",
        mib(after_rss)
    );
    println!("| database | {:.0} MiB |", mib(db_bytes));
}

/// The non-empty buckets of `kflow_timer_lateness_seconds` up to the first
/// that holds every observation.
async fn lateness(base: &str) -> Vec<(String, u64)> {
    let text = match reqwest::get(format!("{base}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let count: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("kflow_timer_lateness_seconds_count "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut rows = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("kflow_timer_lateness_seconds_bucket{le=\"") else {
            continue;
        };
        let Some((bound, n)) = rest.split_once("\"} ") else {
            continue;
        };
        let n: u64 = n.trim().parse().unwrap_or(0);
        if n > 0 {
            rows.push((bound.to_owned(), n));
        }
        if n >= count {
            break;
        }
    }
    rows
}

fn deadlines(n: usize, stand: &StandIn) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    // Every CTA was sent 30 minutes before `due`, a few seconds from now.
    let due = Utc::now() + chrono::Duration::seconds(6);
    seed(
        &dir.path().join("kflow.db"),
        n,
        0,
        due - chrono::Duration::minutes(30),
    );
    stand
        .sms_at
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    let port = free_port();
    let config = write_config(dir.path(), port, &stand.uri);
    let service = Service::start(&config, port);
    let deadline = Instant::now() + Duration::from_secs(60);
    while stand.sms_at.lock().unwrap_or_else(|e| e.into_inner()).len() < n
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the last completions commit before reading the ledger.
    std::thread::sleep(Duration::from_millis(500));
    let histogram = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(lateness(&service.base));
    drop(service);
    let arrivals: Vec<DateTime<Utc>> = stand
        .sms_at
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let store = Store::open(dir.path().join("kflow.db")).expect("open the store");
    let decided: Vec<DateTime<Utc>> = store
        .read(|conn| {
            conn.prepare("SELECT created_at FROM effects WHERE request LIKE '%\"sms\"%'")?
                .query_map([], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()
        })
        .expect("read the ledger")
        .into_iter()
        .filter_map(DateTime::from_timestamp_micros)
        .collect();
    let late = |times: &[DateTime<Utc>]| -> Vec<f64> {
        let mut ms: Vec<f64> = times
            .iter()
            .map(|t| (*t - due).num_microseconds().unwrap_or(0) as f64 / 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let pct = |v: &[f64], p: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    };
    println!();
    println!("{n} CTA timeouts due at the same instant (each takes the SMS branch):");
    println!();
    println!(
        "kflow_timer_lateness_seconds (from the deadline to the engine's decision), cumulative:"
    );
    println!();
    println!("| le (s) | runs |");
    println!("|---:|---:|");
    for (bound, runs) in &histogram {
        println!("| {bound} | {runs} |");
    }
    println!();
    println!("| lateness after the deadline | count | min ms | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (what, times) in [
        ("fired (the step's instant in the ledger)", late(&decided)),
        ("SMS at the provider", late(&arrivals)),
    ] {
        println!(
            "| {what} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            times.len(),
            times.first().copied().unwrap_or(f64::NAN),
            pct(&times, 50.0),
            pct(&times, 99.0),
            times.last().copied().unwrap_or(f64::NAN)
        );
    }
}

fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "waiting: {e}\nusage: cargo bench --bench waiting -- [--runs N] [--timers N]"
            );
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let stand = stand_in(&rt);
    println!(
        "kflow waiting: kflowc serve ({}), SQLite under {}, {} CPUs",
        env!("CARGO_BIN_EXE_kflowc"),
        env!("CARGO_TARGET_TMPDIR"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if options.timers > 0 {
        deadlines(options.timers, &stand);
    }
    if options.runs > 0 {
        waiting(options.runs, &rt, &stand);
    }
}
