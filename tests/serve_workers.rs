//! Three `kflowc serve` workers on one PostgreSQL database, and one of them
//! killed with SIGKILL under load while its sends are at the provider.
//!
//! The workers share the database and the stand-in providers (wiremock in
//! this process; the WhatsApp one answers after 80 ms, as the Cloud API
//! takes time). Each worker sends WhatsApp messages under a phone number id
//! of its own, so the stand-in knows which worker made a request. The
//! stream, from this process, gives each contact an email address (the
//! admin API), then a WhatsApp reply, posted to the live workers in turn
//! (any worker accepts any webhook); then, as each contact's CTA reaches
//! the stand-in, opens its link (a third of the contacts), reports it
//! failed (another third), or lets it time out (the rest). A request that
//! gets no answer is sent again to another live worker.
//!
//! When worker 1 has had several WhatsApp sends answered and makes another,
//! the stand-in holds that request until worker 1 is dead: its answer is
//! lost and the send is in doubt. The two survivors take over its shards
//! once its leases run out and redo the step it was in, and the stream goes
//! on against them.
//!
//! Checked afterwards, on the database: every acknowledged event is stored
//! and processed; no ledger key reached a stand-in twice; every contact got
//! exactly one CTA and exactly one outcome (the tag of an opened link, the
//! email of a failed CTA, or the SMS of a timeout), the one its class asks
//! for unless its CTA was in doubt (then the email: a send in doubt takes
//! Not Delivered); no run is left and no step record; the survivors hold
//! every shard. The test clock runs 400x (the 30-minute timeout passes in
//! 4.5 s); every wait is a bounded poll.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/service.rs"]
mod service;
#[path = "support/stand_in.rs"]
mod stand_in;

use service::{failed_status, free_port, index, phone, signed, whatsapp_reply, write_config};
use stand_in::Sent;

const APP_SECRET: &str = "workers-app-secret";
const ADMIN_TOKEN: &str = "workers-admin-token";
const SMS_PATH: &str = "/2010-04-01/Accounts/AC123/Messages.json";
const EMAIL_PATH: &str = "/v3/mail/send";

/// Contacts in the stream, one reply (one run) each.
const CONTACTS: usize = 90;
/// The workers.
const WORKERS: usize = 3;
/// The worker killed.
const VICTIM: usize = 1;
/// Worker 1 dies on its WhatsApp send after this many.
const KILL_AFTER: usize = 6;
/// Workflow time per wall-clock time: the 30-minute timeout takes 4.5 s.
const TIME_SCALE: f64 = 400.0;
/// How long the WhatsApp stand-in takes to answer.
const WA_DELAY: Duration = Duration::from_millis(80);
/// The most time the whole exchange may take.
const LIMIT: Duration = Duration::from_secs(120);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the stream does after a contact's CTA arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Opens,
    Fails,
    TimesOut,
}

fn class(i: usize) -> Class {
    match i % 3 {
        0 => Class::Opens,
        1 => Class::Fails,
        _ => Class::TimesOut,
    }
}

struct Recorder {
    sent: Mutex<Vec<Sent>>,
    next: AtomicUsize,
    /// Set once the victim's fatal send came in.
    fired: AtomicBool,
    kill: Mutex<mpsc::Sender<mpsc::Sender<()>>>,
}

struct Stand {
    recorder: Arc<Recorder>,
    channel: &'static str,
}

impl Respond for Stand {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let r = &self.recorder;
        let n = r.next.fetch_add(1, Ordering::SeqCst);
        let (sent, response) = stand_in::answer(self.channel, request, n, WA_DELAY);
        let victims = {
            let mut all = lock(&r.sent);
            all.push(sent.clone());
            all.iter().filter(|s| s.worker == Some(VICTIM)).count()
        };
        if sent.worker == Some(VICTIM)
            && victims > KILL_AFTER
            && !r.fired.swap(true, Ordering::SeqCst)
        {
            // Hold the answer until the worker is dead: nobody receives it.
            let (done, killed) = mpsc::channel();
            if lock(&r.kill).send(done).is_ok() {
                let _ = killed.recv_timeout(Duration::from_secs(20));
            }
        }
        response
    }
}

async fn providers(recorder: &Arc<Recorder>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v25\.0/PNID[0-9]+/messages$"))
        .respond_with(Stand {
            recorder: recorder.clone(),
            channel: "whatsapp",
        })
        .mount(&server)
        .await;
    for (at, channel) in [(SMS_PATH, "sms"), (EMAIL_PATH, "email")] {
        Mock::given(method("POST"))
            .and(path(at))
            .respond_with(Stand {
                recorder: recorder.clone(),
                channel,
            })
            .mount(&server)
            .await;
    }
    server
}

/// One worker process.
struct Worker {
    child: Option<Child>,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
    paused: bool,
}

impl Worker {
    fn start(n: usize, config: &Path, base: String) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kflowc"))
            .args(["serve", "--config"])
            .arg(config)
            .env("WHATSAPP_TOKEN", "wa-token")
            .env("WHATSAPP_APP_SECRET", APP_SECRET)
            .env("WHATSAPP_VERIFY_TOKEN", "verify")
            .env("TWILIO_AUTH_TOKEN", "twilio-token")
            .env("SENDGRID_API_KEY", "sg-key")
            .env("KFLOW_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kflowc serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready, listening) = mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("listening on") {
                    let _ = ready.send(());
                }
                lock(&lines).push(format!("[worker {n}] {line}"));
            }
        });
        if listening.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            panic!("worker {n} did not start: {:#?}", lock(&log));
        }
        Worker {
            child: Some(child),
            base,
            log,
            paused: false,
        }
    }

    /// SIGSTOP or SIGCONT: a worker paused past its leases, as a long
    /// garbage-collection pause or a frozen virtual machine would.
    fn signal(&mut self, stop: bool) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .arg(if stop { "-STOP" } else { "-CONT" })
                .arg(child.id().to_string())
                .status()
                .expect("kill(1)");
            assert!(status.success());
            self.paused = stop;
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether it answers requests.
    fn alive(&self) -> bool {
        self.child.is_some() && !self.paused
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.paused {
            self.signal(false);
        }
        self.kill();
    }
}

/// A request the stream makes, and the inbox key it is stored under.
#[derive(Clone, Debug)]
enum Ask {
    Contact(usize),
    Reply(usize),
    Failed(usize, String),
    Open(String),
}

impl Ask {
    /// The dedupe key it is stored under, when it is stored.
    fn key(&self) -> Option<String> {
        match self {
            Ask::Contact(_) => None,
            Ask::Reply(i) => Some(format!("wa:msg:wamid.IN.{i}")),
            Ask::Failed(_, id) => Some(format!("wa:status:{id}:failed")),
            Ask::Open(link) => link.rsplit('/').next().map(|t| format!("link:{t}")),
        }
    }
}

/// Sends `ask` to a live worker, the next one after a failure, for a
/// bounded number of tries; true once one acknowledged it.
async fn deliver(http: &reqwest::Client, workers: &[String], ask: &Ask, turn: usize) -> bool {
    for attempt in 0..(3 * workers.len()) {
        let base = &workers[(turn + attempt) % workers.len()];
        let request = match ask {
            Ask::Contact(i) => http
                .put(format!("{base}/api/contacts/{}", phone(*i)))
                .bearer_auth(ADMIN_TOKEN)
                .json(
                    &json!({"phone": phone(*i), "email": format!("c{i}@example.com"),
                    "fields": {"first_name": format!("C{i}")}}),
                ),
            Ask::Reply(i) => signed(
                http,
                base,
                APP_SECRET,
                whatsapp_reply(
                    phone(*i).trim_start_matches('+'),
                    &format!("wamid.IN.{i}"),
                    "PNID0",
                ),
            ),
            Ask::Failed(i, id) => signed(
                http,
                base,
                APP_SECRET,
                failed_status(id, phone(*i).trim_start_matches('+')),
            ),
            // The link names the worker that sent it; any worker opens it.
            Ask::Open(link) => match link.split_once("/l/") {
                Some((_, token)) => http.get(format!("{base}/l/{token}")),
                None => return false,
            },
        };
        match request.send().await {
            Ok(r) if matches!(r.status().as_u16(), 200 | 302) => return true,
            Ok(r) if r.status().as_u16() == 410 => return false,
            Ok(r) if r.status().is_client_error() => {
                panic!("HTTP {} for {ask:?}", r.status())
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    false
}

async fn query(url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    let driver = tokio::spawn(connection);
    let rows = client.query(sql, &[]).await.expect(sql);
    drop(client);
    let _ = driver.await;
    rows
}

/// What happens to worker 1 while its send is at the stand-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// SIGKILL: it never comes back.
    Killed,
    /// SIGSTOP until the others have taken its shards, then SIGCONT: it
    /// wakes in the middle of a step it no longer owns.
    Paused,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_under_load_loses_and_doubles_nothing() {
    scenario(Fate::Killed).await;
}

/// A worker paused past its leases wakes up inside a step whose shards
/// another worker took and redid: its commit is fenced, it abandons the
/// step, and nothing it does then is sent twice or decided twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_paused_past_its_leases_is_fenced_out() {
    scenario(Fate::Paused).await;
}

async fn scenario(fate: Fate) {
    let Some(db) = postgres::fresh_database().await else {
        return;
    };
    let (kill_tx, kill_rx) = mpsc::channel();
    let recorder = Arc::new(Recorder {
        sent: Mutex::new(Vec::new()),
        next: AtomicUsize::new(0),
        fired: AtomicBool::new(false),
        kill: Mutex::new(kill_tx),
    });
    let stand = providers(&recorder).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut workers = Vec::new();
    for n in 0..WORKERS {
        let port = free_port();
        let config = write_config(
            dir.path(),
            &format!("worker{n}.toml"),
            port,
            &db.url,
            &format!("PNID{n}"),
            &stand.uri(),
            TIME_SCALE,
        );
        workers.push(Worker::start(
            n,
            &config,
            format!("http://127.0.0.1:{port}"),
        ));
    }
    let workers = Arc::new(Mutex::new(workers));
    // The killer: SIGKILLs (or SIGSTOPs) the victim when the stand-in says
    // so, then lets the held request answer (to nobody, or to a process
    // that reads it when it wakes).
    let killer = {
        let workers = workers.clone();
        std::thread::spawn(move || {
            if let Ok(done) = kill_rx.recv_timeout(LIMIT) {
                match fate {
                    Fate::Killed => lock(&workers)[VICTIM].kill(),
                    Fate::Paused => lock(&workers)[VICTIM].signal(true),
                }
                let _: Result<(), _> = done.send(());
                true
            } else {
                false
            }
        })
    };
    let live = || -> Vec<String> {
        lock(&workers)
            .iter()
            .filter(|w| w.alive())
            .map(|w| w.base.clone())
            .collect()
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let started = Instant::now();
    let mut acked: Vec<String> = Vec::new();
    // Contacts first, with their email (the Not Delivered fallback).
    for i in 0..CONTACTS {
        assert!(deliver(&http, &live(), &Ask::Contact(i), i).await);
    }
    // Replies in bursts of six, the outcomes as CTAs arrive.
    let mut done_with: HashSet<usize> = HashSet::new();
    let mut replied: HashSet<usize> = HashSet::new();
    let mut given_up: HashSet<usize> = HashSet::new();
    let mut unanswered: Vec<String> = Vec::new();
    let mut next_reply = 0;
    let mut turn = 0;
    while started.elapsed() < LIMIT {
        for _ in 0..6 {
            if next_reply < CONTACTS {
                let ask = Ask::Reply(next_reply);
                if deliver(&http, &live(), &ask, turn).await {
                    acked.extend(ask.key());
                    replied.insert(next_reply);
                } else {
                    // Not acknowledged by anyone: its contact's story is
                    // not checked (it may or may not be stored).
                    done_with.insert(next_reply);
                }
                next_reply += 1;
                turn += 1;
            }
        }
        let ctas: Vec<Sent> = lock(&recorder.sent)
            .iter()
            .filter(|s| s.kind == "interactive")
            .cloned()
            .collect();
        for cta in ctas {
            let Some(i) = index(&cta.to) else { continue };
            if !done_with.insert(i) {
                continue;
            }
            let ask = match (class(i), &cta.link) {
                (Class::Opens, Some(link)) => Ask::Open(link.clone()),
                (Class::Fails, _) => Ask::Failed(i, cta.id.clone()),
                _ => continue,
            };
            if deliver(&http, &live(), &ask, turn).await {
                acked.extend(ask.key());
            } else {
                unanswered.push(format!("{ask:?}"));
            }
            turn += 1;
        }
        if next_reply >= CONTACTS {
            // A CTA whose send the kill left in doubt may never reach the
            // stand-in: its contact needs nothing more from the stream.
            // (Sends in flight are begun and not completed too, for less
            // than the stand-in's delay: only those begun long ago count.)
            let stale = format!(
                "SELECT request FROM effects WHERE result IS NULL AND created_at <
                 (SELECT max(created_at) FROM effects) - {}",
                (2.0 * TIME_SCALE * 1e6) as i64
            );
            for row in query(&db.url, &stale).await {
                let request: Value =
                    serde_json::from_str(row.get::<_, &str>(0)).unwrap_or(Value::Null);
                if let Some(i) = request["contact"].as_str().and_then(index) {
                    given_up.insert(i);
                }
            }
            if done_with.union(&given_up).count() >= CONTACTS {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let killed = killer.join().unwrap_or(false);
    let logs = || -> Vec<String> {
        lock(&workers)
            .iter()
            .flat_map(|w| lock(&w.log).clone())
            .collect()
    };
    assert!(killed, "worker {VICTIM} was never killed: {:#?}", logs());
    if fate == Fate::Paused {
        // Wake it once the two others hold every shard between them.
        let mut taken = false;
        while started.elapsed() < LIMIT {
            let held: i64 = query(
                &db.url,
                "SELECT count(*) FROM shards WHERE lease_until > now()
                 AND owner IN (SELECT owner FROM shards WHERE lease_until > now()
                               GROUP BY owner ORDER BY count(*) DESC LIMIT 2)",
            )
            .await[0]
                .get(0);
            if held == 64 {
                taken = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            taken,
            "the others never took the paused worker's shards: {:#?}",
            logs()
        );
        lock(&workers)[VICTIM].signal(false);
    }

    // Wait until every stored event is processed and every run has ended
    // (the timeouts, and the dead worker's shards taken over).
    let mut settled = false;
    while started.elapsed() < LIMIT + Duration::from_secs(60) {
        let pending: i64 = query(
            &db.url,
            "SELECT (SELECT count(*) FROM inbox WHERE processed_at IS NULL)
                  + (SELECT count(*) FROM runs) + (SELECT count(*) FROM intents)",
        )
        .await[0]
            .get(0);
        if pending == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(settled, "the survivors did not finish: {:#?}", logs());

    let mut problems = Vec::new();
    // Every acknowledged event is stored and processed.
    let processed: HashSet<String> = query(
        &db.url,
        "SELECT dedupe_key FROM inbox WHERE processed_at IS NOT NULL",
    )
    .await
    .iter()
    .map(|r| r.get(0))
    .collect();
    for key in &acked {
        if !processed.contains(key) {
            problems.push(format!("acknowledged {key} is not processed"));
        }
    }
    // Nothing reached a provider twice.
    let sent = lock(&recorder.sent).clone();
    let mut keys: HashMap<&str, usize> = HashMap::new();
    for s in &sent {
        *keys.entry(s.key.as_str()).or_default() += 1;
    }
    for (key, n) in &keys {
        if *n > 1 {
            problems.push(format!("{key} reached a provider {n} times"));
        }
    }
    // Sends in doubt: begun, never completed (the contact is in the
    // request); the stand-in may or may not have received them.
    let in_doubt: HashMap<String, String> = query(
        &db.url,
        "SELECT key, request FROM effects WHERE result IS NULL",
    )
    .await
    .iter()
    .map(|r| {
        let request: Value = serde_json::from_str(r.get::<_, &str>(1)).unwrap_or(Value::Null);
        (
            r.get::<_, String>(0),
            request["contact"].as_str().unwrap_or_default().to_owned(),
        )
    })
    .collect();
    if in_doubt.is_empty() {
        problems.push("the kill left no send in doubt".into());
    }
    let doubted_contacts: HashSet<&str> = in_doubt.values().map(String::as_str).collect();
    // Per contact: one CTA, one outcome, the right one.
    let tagged: HashSet<String> = query(
        &db.url,
        "SELECT id FROM contacts WHERE data LIKE '%clicked-booking%'",
    )
    .await
    .iter()
    .map(|r| r.get(0))
    .collect();
    let mut per: BTreeMap<usize, Vec<&Sent>> = BTreeMap::new();
    for s in &sent {
        let who = match s.channel {
            "email" => {
                s.to.strip_prefix('c')
                    .and_then(|t| t.strip_suffix("@example.com"))
                    .and_then(|n| n.parse().ok())
            }
            _ => index(&s.to),
        };
        if let Some(i) = who {
            per.entry(i).or_default().push(s);
        }
    }
    if replied.len() < CONTACTS * 9 / 10 {
        problems.push(format!(
            "only {} of {CONTACTS} replies were acknowledged",
            replied.len()
        ));
    }
    for i in (0..CONTACTS).filter(|i| replied.contains(i)) {
        let got = per.get(&i).cloned().unwrap_or_default();
        let ctas: Vec<&&Sent> = got.iter().filter(|s| s.kind == "interactive").collect();
        // A CTA in doubt may have been killed before its request left.
        let doubted = doubted_contacts.contains(phone(i).as_str());
        if ctas.len() != 1 && !(doubted && ctas.is_empty()) {
            problems.push(format!("{}: {} CTAs", phone(i), ctas.len()));
            continue;
        }
        let mut outcomes = Vec::new();
        if tagged.contains(&phone(i)) {
            outcomes.push("tag");
        }
        outcomes.extend(
            got.iter()
                .filter(|s| s.channel != "whatsapp")
                .map(|s| s.channel),
        );
        let expected = match (doubted, class(i)) {
            (true, _) | (false, Class::Fails) => "email",
            (false, Class::Opens) => "tag",
            (false, Class::TimesOut) => "sms",
        };
        if outcomes != [expected] {
            problems.push(format!(
                "{} ({:?}, CTA {}in doubt): outcomes {outcomes:?}, expected [{expected}]",
                phone(i),
                class(i),
                if doubted { "" } else { "not " }
            ));
        }
    }
    // The survivors hold every shard between them (a worker woken from its
    // pause takes its share back).
    let owners: Vec<(i64, i64)> = query(
        &db.url,
        "SELECT count(DISTINCT owner), count(*) FROM shards
         WHERE owner IS NOT NULL AND lease_until > now()",
    )
    .await
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let expected_owners = match fate {
        Fate::Killed => 2..=2,
        Fate::Paused => 2..=3,
    };
    if owners.len() != 1 || !expected_owners.contains(&owners[0].0) || owners[0].1 != 64 {
        problems.push(format!("shards held (owners, shards): {owners:?}"));
    }
    if fate == Fate::Paused {
        // It woke inside a step whose shards were taken: the commit was
        // fenced, and it said so.
        let victim = lock(&lock(&workers)[VICTIM].log).clone();
        if !victim.iter().any(|l| l.contains("step abandoned")) {
            problems.push("the paused worker never abandoned its step".into());
        }
    }
    let by_worker: BTreeMap<Option<usize>, usize> = sent
        .iter()
        .filter(|s| s.channel == "whatsapp")
        .fold(BTreeMap::new(), |mut m, s| {
            *m.entry(s.worker).or_default() += 1;
            m
        });
    assert!(
        problems.is_empty(),
        "{} problems: {problems:#?}\nnot acknowledged: {unanswered:#?}\nWhatsApp sends by worker: {by_worker:?}\n{:#?}",
        problems.len(),
        logs()
    );
    // Each worker sent some of it: the work was shared.
    assert_eq!(by_worker.len(), WORKERS, "{by_worker:?}");
}
