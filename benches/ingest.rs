//! Webhook ingestion into durable runs: `kflowc serve` in-process under a
//! bounded, loopback-only load.
//!
//! The service (`kflow::server::serve`) listens on `127.0.0.1:0` with a fresh
//! SQLite file (WAL, `synchronous=FULL`) on the real disk (`target/tmp`), the
//! seed workflow `examples/booking_cta.kflow`, and a stand-in WhatsApp Cloud
//! API on loopback (a few lines of axum that answer every send with a new
//! message id, at once or after `--provider-delay-ms`, with no throughput
//! limit). A load generator then posts
//! signed WhatsApp inbound-message webhooks (`X-Hub-Signature-256`, the shape
//! Meta sends), each from a contact not seen before, so each one starts a run
//! that checks the window, sends the CTA (through the effect ledger, with a
//! tracking link) and waits 30 minutes.
//!
//! For each client count in `--clients` (a fresh service and database each
//! time), that many tasks post concurrently, each sending its next webhook as
//! soon as the previous one is answered, until `--events` webhooks were sent
//! or `--cap-secs` passed. Each task opens its keep-alive connection first
//! (`GET /healthz`) and the clock starts once all are open, so the figures
//! are webhook handling, not TCP connection setup. Then the bench polls `/metrics` until the engine
//! has processed every stored event (`kflow_inbox_pending 0`), for at most
//! `--drain-cap-secs`. It prints two tables:
//!
//! - ingestion: accepted/s, webhooks answered 200 (stored durably) per second
//!   of load, and the webhook latency p50/p95/p99/max, from sending the
//!   request to reading the answer;
//! - engine and store: seconds from the first request until the engine had
//!   processed every stored event, and runs/s end to end over that time
//!   (stored, run started, CTA sent, run saved); the store's commits during
//!   the load and webhooks per commit (group commit), and commits and write
//!   jobs in all, from `kflow_store_commits_total` and
//!   `kflow_store_jobs_total` when `/metrics` exports them ("n/a" otherwise).
//!
//! ```text
//! cargo bench --bench ingest
//! cargo bench --bench ingest -- --events 20000 --clients 16,64,256 --cap-secs 60 --drain-cap-secs 180
//! cargo bench --bench ingest -- --workflow tests/serve/sms_reply.kflow   # ingestion alone: no run starts
//! cargo bench --bench ingest -- --events 1000 --clients 64 --provider-delay-ms 100   # a slower Cloud API
//! ```
//!
//! The issue's targets: at least 5,000 accepted events per second and a p99
//! webhook latency under 50 ms, on a 2-core machine. The service, the
//! stand-in and the load generator share those cores: the service runs on a
//! 2-worker runtime (what `kflowc serve` gets there), the stand-in and the
//! generator on one thread each. Everything is on loopback, bounded in count
//! and time; the figures move with whatever else runs on the machine.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kflow::server::config::ServeConfig;
use kflow::server::signature::sign_meta;
use tokio::sync::watch;

const APP_SECRET: &str = "bench-app-secret";

/// What one invocation measures.
#[derive(Clone, Debug)]
struct Options {
    /// Webhooks per client count.
    events: usize,
    /// The concurrent client counts to measure, each against a fresh service.
    clients: Vec<usize>,
    /// The most seconds of load per client count.
    cap: Duration,
    /// The most seconds to wait for the engine to catch up after the load.
    drain_cap: Duration,
    /// The workflow to serve, relative to the package root.
    workflow: PathBuf,
    /// How long the stand-in Cloud API takes to answer a send.
    provider_delay: Duration,
    /// An admin URL of a PostgreSQL server: each row gets a database of its
    /// own there instead of a SQLite file.
    postgres: Option<String>,
    /// `kflowc serve` workers on the one database (PostgreSQL only).
    workers: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            events: 20_000,
            clients: vec![16, 64, 256],
            cap: Duration::from_secs(60),
            drain_cap: Duration::from_secs(180),
            workflow: PathBuf::from("examples/booking_cta.kflow"),
            provider_delay: Duration::ZERO,
            postgres: None,
            workers: 1,
        }
    }
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name}: `{v}` is not a positive number"))
        };
        match arg.as_str() {
            // Cargo passes `--bench`; a filter word may follow it.
            "--bench" => {}
            "--events" => options.events = number("--events", value("--events")?)? as usize,
            "--clients" => {
                options.clients = value("--clients")?
                    .split(',')
                    .map(|c| number("--clients", c.trim().to_owned()).map(|n| n as usize))
                    .collect::<Result<_, _>>()?;
            }
            "--cap-secs" => {
                options.cap = Duration::from_secs(number("--cap-secs", value("--cap-secs")?)?)
            }
            "--drain-cap-secs" => {
                options.drain_cap =
                    Duration::from_secs(number("--drain-cap-secs", value("--drain-cap-secs")?)?)
            }
            "--workflow" => options.workflow = PathBuf::from(value("--workflow")?),
            "--provider-delay-ms" => {
                let v = value("--provider-delay-ms")?;
                options.provider_delay = Duration::from_millis(
                    v.parse()
                        .map_err(|_| format!("--provider-delay-ms: `{v}` is not a number"))?,
                );
            }
            "--postgres" => options.postgres = Some(value("--postgres")?),
            "--workers" => options.workers = number("--workers", value("--workers")?)? as usize,
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            _ => {}
        }
    }
    if options.workers > 1 && options.postgres.is_none() {
        return Err("--workers above 1 needs --postgres (SQLite is one process's)".into());
    }
    Ok(options)
}

fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "ingest: {e}\nusage: cargo bench --bench ingest -- [--events N] [--clients K[,K...]] [--cap-secs S] [--drain-cap-secs S] [--workflow FILE] [--provider-delay-ms MS] [--postgres ADMIN_URL [--workers N]]"
            );
            std::process::exit(2);
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workflow = root.join(&options.workflow);
    let provider = StandIn::start(options.provider_delay);
    let store = match &options.postgres {
        Some(url) => format!(
            "PostgreSQL at {}, {} worker(s)",
            url.rsplit('@').next().unwrap_or(url),
            options.workers
        ),
        None => format!(
            "SQLite WAL synchronous=FULL under {}",
            env!("CARGO_TARGET_TMPDIR")
        ),
    };
    println!(
        "kflow ingest: {} signed WhatsApp inbound webhooks per row, each from a new contact; \
         workflow {}; {store}; \
         stand-in answers after {} ms; load cap {} s, drain cap {} s; {} CPUs",
        options.events,
        workflow.strip_prefix(root).unwrap_or(&workflow).display(),
        options.provider_delay.as_millis(),
        options.cap.as_secs(),
        options.drain_cap.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let mut rows = Vec::new();
    for &clients in &options.clients {
        let row = measure(&options, clients, &workflow, &provider);
        eprintln!("ingest: {clients} clients done");
        rows.push(row);
    }
    print_table(&rows);
}

/// One client count's figures.
struct Row {
    clients: usize,
    sent: usize,
    ok: usize,
    other: usize,
    errors: usize,
    load: Duration,
    latencies: Vec<u32>,
    drained: Option<Duration>,
    processed: u64,
    runs_started: u64,
    ctas: u64,
    /// Store commits during the load (webhooks and whatever the engine
    /// wrote meanwhile).
    load_commits: Option<u64>,
    /// Store commits and write jobs in all, drain included.
    commits: Option<u64>,
    jobs: Option<u64>,
}

/// One service (a worker) in its own thread and runtime: 2 worker threads,
/// what `kflowc serve` gets on this machine.
struct Served {
    base: String,
    stop: watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

fn serve_one(config: ServeConfig) -> Served {
    let (stop, shutdown) = watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("kflow-serve".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("service runtime");
            runtime.block_on(async move {
                let env = |name: &str| match name {
                    "WHATSAPP_TOKEN" => Some("bench-token".to_owned()),
                    "WHATSAPP_APP_SECRET" => Some(APP_SECRET.to_owned()),
                    "WHATSAPP_VERIFY_TOKEN" => Some("bench-verify".to_owned()),
                    _ => None,
                };
                let ready = move |addr: SocketAddr| {
                    let _ = ready_tx.send(addr);
                };
                if let Err(e) = kflow::server::serve(config, &env, shutdown, ready).await {
                    panic!("the service stopped: {e:?}");
                }
            });
        })
        .expect("service thread");
    let addr = ready_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the service started");
    Served {
        base: format!("http://{addr}"),
        stop,
        thread,
    }
}

/// A database of its own on the PostgreSQL server `admin` names, dropped
/// by [`drop_database`].
async fn create_database(admin: &str, name: &str) -> String {
    let (client, connection) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    let driver = tokio::spawn(connection);
    // One statement each: CREATE DATABASE cannot share a transaction.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        client
            .batch_execute(&sql)
            .await
            .expect("create the bench's database");
    }
    drop(client);
    let _ = driver.await;
    match admin.rfind('/') {
        Some(i) => format!("{}/{name}", &admin[..i]),
        None => panic!("--postgres has no database part: {admin}"),
    }
}

async fn drop_database(admin: &str, name: &str) {
    if let Ok((client, connection)) = tokio_postgres::connect(admin, tokio_postgres::NoTls).await {
        let driver = tokio::spawn(connection);
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        drop(client);
        let _ = driver.await;
    }
}

/// Starts fresh services, loads them, waits for the engines, stops them.
fn measure(options: &Options, clients: usize, workflow: &Path, provider: &StandIn) -> Row {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let generator = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("generator runtime");
    let db_name = format!("kflow_bench_{}_{clients}", std::process::id());
    let database = match &options.postgres {
        Some(admin) => generator.block_on(create_database(admin, &db_name)),
        None => "kflow.db".to_owned(),
    };
    let services: Vec<Served> = (0..options.workers)
        .map(|_| serve_one(write_config(dir.path(), workflow, provider.addr, &database)))
        .collect();
    let bases: Vec<String> = services.iter().map(|s| s.base.clone()).collect();
    let base = bases[0].clone();

    // Everything a client sends is built before the clock starts.
    let bodies: Arc<Vec<(String, String)>> = Arc::new(
        (0..options.events)
            .map(|i| {
                let body = inbound_message(&format!("1555{i:07}"), &format!("wamid.IN.{i}"));
                let signature = sign_meta(APP_SECRET.as_bytes(), body.as_bytes());
                (body, signature)
            })
            .collect(),
    );

    // One client for every scrape: building one loads the TLS roots.
    let scraper = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let before = generator
        .block_on(scrape_all(&scraper, &bases))
        .unwrap_or_default();
    let load = generator.block_on(load(&bases, bodies, clients, options.cap));
    let (start, load_time) = (load.start, load.elapsed);
    let at_load_end = generator
        .block_on(scrape_all(&scraper, &bases))
        .unwrap_or_default();
    // For lining the load up with outside traces (strace -tt, perf).
    let unix = |t: Instant| {
        let ago = Instant::now().saturating_duration_since(t);
        (std::time::SystemTime::now() - ago)
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    eprintln!(
        "ingest: {clients} clients: load from {:.6} to {:.6} (Unix seconds)",
        unix(start),
        unix(start + load_time)
    );
    let drained = generator.block_on(async {
        let deadline = start + load_time + options.drain_cap;
        loop {
            if let Ok(m) = scrape_all(&scraper, &bases).await
                && m.get("kflow_inbox_pending") == Some(0)
                && m.get("kflow_events_processed_total").unwrap_or(0)
                    >= m.get("kflow_webhooks_accepted_total").unwrap_or(0)
            {
                return Some(start.elapsed());
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let after = generator
        .block_on(scrape_all(&scraper, &bases))
        .unwrap_or_default();
    let _ = &base;
    for s in &services {
        let _ = s.stop.send(true);
    }
    for s in services {
        s.thread.join().expect("the service thread ended cleanly");
    }
    if let Some(admin) = &options.postgres {
        generator.block_on(drop_database(admin, &db_name));
    }

    let delta = |to: &Metrics, name: &str| {
        to.get(name)
            .map(|a| a.saturating_sub(before.get(name).unwrap_or(0)))
    };
    let mut latencies = load.latencies;
    latencies.sort_unstable();
    Row {
        clients,
        sent: load.sent,
        ok: load.ok,
        other: load.other,
        errors: load.errors,
        load: load_time,
        latencies,
        drained,
        processed: delta(&after, "kflow_events_processed_total").unwrap_or(0),
        runs_started: delta(&after, "kflow_runs_started_total").unwrap_or(0),
        ctas: delta(&after, "kflow_sends_accepted_total").unwrap_or(0),
        load_commits: delta(&at_load_end, "kflow_store_commits_total"),
        commits: delta(&after, "kflow_store_commits_total"),
        jobs: delta(&after, "kflow_store_jobs_total"),
    }
}

fn write_config(dir: &Path, workflow: &Path, provider: SocketAddr, database: &str) -> ServeConfig {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
public_url = "https://kflow.example.com"
database = "{database}"
workflows = ["{workflow}"]

[whatsapp]
base_url = "http://{provider}"
phone_number_id = "PNID"
numbers = {{ "+15550100001" = "PNID" }}
# The stand-in has no throughput limit; Meta's default of 80 messages per
# second would make the engine's sends, not ingestion, the subject.
messages_per_second = 1000000

[retry]
max_attempts = 2
base_delay_ms = 10
max_delay_ms = 20
request_timeout_ms = 5000

[custom_values]
agent_calendar = "dr-ana"
"#,
        workflow = workflow.display(),
    );
    let path: PathBuf = dir.join("kflow.toml");
    std::fs::write(&path, text).expect("write config");
    ServeConfig::load(&path).expect("the bench's config loads")
}

/// A WhatsApp Cloud API notification of one inbound text message, as Meta
/// sends it (about 500 bytes).
fn inbound_message(from: &str, id: &str) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550100001","phone_number_id":"PNID"}},"contacts":[{{"profile":{{"name":"Ana Bench"}},"wa_id":"{from}"}}],"messages":[{{"from":"{from}","id":"{id}","timestamp":"1749416383","type":"text","text":{{"body":"Hi, I would like to book a cleaning"}}}}]}},"field":"messages"}}]}}]}}"#
    )
}

/// What the clients saw.
struct Load {
    /// When the first webhook went out (every connection was open by then).
    start: Instant,
    /// From `start` until the last answer.
    elapsed: Duration,
    sent: usize,
    ok: usize,
    other: usize,
    errors: usize,
    /// Microseconds per answered request.
    latencies: Vec<u32>,
}

/// `clients` tasks posting `bodies` in turn until all are sent or `cap`
/// passed. Each task first opens its connection (`GET /healthz`), and the
/// clock starts once all have, so connection setup is not in the figures.
async fn load(
    bases: &[String],
    bodies: Arc<Vec<(String, String)>>,
    clients: usize,
    cap: Duration,
) -> Load {
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let next = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..clients {
        // Clients spread over the workers, as a load balancer would.
        let base = &bases[k % bases.len()];
        let url: Arc<str> = format!("{base}/webhooks/whatsapp").into();
        let healthz: Arc<str> = format!("{base}/healthz").into();
        let (http, url, healthz, next, bodies, ready) = (
            http.clone(),
            url.clone(),
            healthz.clone(),
            next.clone(),
            bodies.clone(),
            ready.clone(),
        );
        tasks.spawn(async move {
            // A failed warm-up shows again, counted, in the load.
            if let Ok(r) = http.get(&*healthz).send().await {
                let _ = r.bytes().await;
            }
            ready.wait().await;
            let deadline = Instant::now() + cap;
            let mut mine = Load::new(Instant::now());
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() || Instant::now() >= deadline {
                    return mine;
                }
                let (body, signature) = &bodies[i];
                let sent = Instant::now();
                let answer = http
                    .post(&*url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body.clone())
                    .send()
                    .await;
                mine.sent += 1;
                match answer {
                    Ok(response) => {
                        let status = response.status();
                        let _ = response.bytes().await;
                        let micros = sent.elapsed().as_micros().min(u32::MAX as u128) as u32;
                        mine.latencies.push(micros);
                        if status == reqwest::StatusCode::OK {
                            mine.ok += 1;
                        } else {
                            mine.other += 1;
                        }
                    }
                    Err(_) => mine.errors += 1,
                }
            }
        });
    }
    ready.wait().await;
    let mut all = Load::new(Instant::now());
    while let Some(done) = tasks.join_next().await {
        let mine = done.expect("a client task");
        all.sent += mine.sent;
        all.ok += mine.ok;
        all.other += mine.other;
        all.errors += mine.errors;
        all.latencies.extend(mine.latencies);
    }
    all.elapsed = all.start.elapsed();
    all
}

impl Load {
    fn new(start: Instant) -> Load {
        Load {
            start,
            elapsed: Duration::ZERO,
            sent: 0,
            ok: 0,
            other: 0,
            errors: 0,
            latencies: Vec::new(),
        }
    }
}

/// The service's metrics, name to value (plain samples only).
#[derive(Default)]
struct Metrics(Vec<(String, u64)>);

impl Metrics {
    fn get(&self, name: &str) -> Option<u64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// Every worker's metrics together: counters added up; the inbox backlog,
/// which each worker reads from the shared database, taken once.
async fn scrape_all(http: &reqwest::Client, bases: &[String]) -> Result<Metrics, reqwest::Error> {
    let mut all: Vec<(String, u64)> = Vec::new();
    for base in bases {
        for (name, value) in scrape(http, base).await?.0 {
            match all.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) if name == "kflow_inbox_pending" => *v = (*v).max(value),
                Some((_, v)) => *v += value,
                None => all.push((name, value)),
            }
        }
    }
    Ok(Metrics(all))
}

async fn scrape(http: &reqwest::Client, base: &str) -> Result<Metrics, reqwest::Error> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(Metrics(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, value) = l.split_once(' ')?;
                Some((name.to_owned(), value.trim().parse().ok()?))
            })
            .collect(),
    ))
}

/// The stand-in WhatsApp Cloud API: answers every send 200, after `delay`.
struct StandIn {
    addr: SocketAddr,
}

impl StandIn {
    fn start(delay: Duration) -> StandIn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the stand-in");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("stand-in address");
        std::thread::Builder::new()
            .name("whatsapp-stand-in".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("stand-in runtime");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("stand-in listener");
                    let next = Arc::new(AtomicU64::new(1));
                    let app = axum::Router::new().route(
                        "/v25.0/PNID/messages",
                        axum::routing::post(move |body: axum::body::Bytes| {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            async move {
                                if !delay.is_zero() {
                                    tokio::time::sleep(delay).await;
                                }
                                let to = serde_json::from_slice::<serde_json::Value>(&body)
                                    .ok()
                                    .and_then(|v| v["to"].as_str().map(str::to_owned))
                                    .unwrap_or_default();
                                axum::Json(serde_json::json!({
                                    "messaging_product": "whatsapp",
                                    "contacts": [{"input": to, "wa_id": to.trim_start_matches('+')}],
                                    "messages": [{"id": format!("wamid.OUT.{n}")}]
                                }))
                            }
                        }),
                    );
                    let _ = axum::serve(listener, app).await;
                });
            })
            .expect("stand-in thread");
        StandIn { addr }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn print_table(rows: &[Row]) {
    println!();
    println!("Webhook ingestion (200 = the event is durable in the inbox)");
    println!();
    println!(
        "| clients | sent | 200 | other status | errors | load s | accepted/s | p50 ms | p95 ms | p99 ms | max ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let secs = r.load.as_secs_f64();
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
            r.clients,
            r.sent,
            r.ok,
            r.other,
            r.errors,
            secs,
            r.ok as f64 / secs,
            percentile(&r.latencies, 50.0),
            percentile(&r.latencies, 95.0),
            percentile(&r.latencies, 99.0),
            r.latencies.last().map_or(f64::NAN, |m| *m as f64 / 1000.0),
        );
    }
    println!();
    println!(
        "Engine and store (drained: every stored event processed, timed from the first request)"
    );
    println!();
    println!(
        "| clients | drained s | runs started | sends accepted | runs/s end to end | commits during load | webhooks/commit during load | commits in all | jobs/commit in all |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let ratio = |n: u64, d: Option<u64>| {
        d.map_or("n/a".to_owned(), |d| {
            format!("{:.1}", n as f64 / d.max(1) as f64)
        })
    };
    let count = |c: Option<u64>| c.map_or("n/a".to_owned(), |c| c.to_string());
    for r in rows {
        let (drained, e2e) = match r.drained {
            Some(d) => (
                format!("{:.2}", d.as_secs_f64()),
                format!("{:.0}", r.runs_started as f64 / d.as_secs_f64()),
            ),
            None => ("not drained".to_owned(), "-".to_owned()),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.clients,
            drained,
            r.runs_started,
            r.ctas,
            e2e,
            count(r.load_commits),
            ratio(r.ok as u64, r.load_commits),
            count(r.commits),
            r.jobs.map_or("n/a".to_owned(), |j| ratio(j, r.commits)),
        );
        if r.processed < r.ok as u64 {
            println!(
                "  ({} clients: the engine processed {} of {} stored events before the drain cap)",
                r.clients, r.processed, r.ok
            );
        }
    }
    println!();
    println!(
        "Targets: accepted/s >= 5000 and p99 < 50 ms. Commit counts come from \
         kflow_store_commits_total and kflow_store_jobs_total in /metrics (n/a when the \
         service does not export them)."
    );
}
