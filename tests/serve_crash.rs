//! Crash safety of `kflowc serve`: the service is killed with SIGKILL at
//! several points while a stream of webhooks comes in, and restarted on the
//! same database and port each time. Afterwards every acknowledged event must
//! be in the inbox and processed, no message may have reached a provider twice
//! and every run must be in a state consistent with what it was told and what
//! it sent.
//!
//! The providers are wiremock stand-ins in this process that answer (the
//! WhatsApp one after 80 ms, the others at once) and record every request with its callback data (the effect key
//! `workflow:run:node`). The stream is sent from a task here: contact records,
//! WhatsApp replies from many contacts (some notifications repeated, as Meta
//! does), `failed` statuses for some CTAs, tracking-link opens for others,
//! and late `failed` statuses that arrive after a CTA's timeout. A request
//! that gets no answer (the process was killed) is not acknowledged and is
//! sent again after the restart, as Meta and a browser would.
//!
//! Five kills, placed by a seeded generator (`KFLOW_CRASH_SEED` overrides the
//! seed): two at random moments, one while a CTA request is at the WhatsApp
//! stand-in (its answer is never received: the send is in doubt), one while
//! several CTAs are at the stand-in at once (the stand-in answers after
//! 80 ms, as a real API takes time, and replies come in bursts whose sends
//! the service makes together: every one of them is in doubt), and one
//! while a timeout's SMS is at the Twilio stand-in after a late `failed`
//! status for the same CTA was acknowledged. That last one checks that a
//! decision the service already acted on (the timeout branch: the SMS went
//! out) is not taken differently when the interrupted work is done again
//! after the restart with an event that arrived meanwhile (the status must
//! then be ignored, not send the email fallback as well).
//!
//! Checked afterwards, on the database opened read-only: every acknowledged
//! event's dedupe key is in the inbox and processed; no effect key reached a
//! stand-in twice, and every send a stand-in received was begun in the ledger
//! first; every accepted send in the ledger carries the id the stand-in
//! answered; each contact that replied got one run and one CTA; every run
//! that ended has exactly one outcome (tag, email or SMS) that fits what it
//! was told, and one still waiting waits on a sent CTA with nothing decided;
//! the run counter is ahead of every run id. In-doubt sends are listed.
//!
//! The test clock runs 400x (a 30-minute CTA timeout passes in 4.5 s). Every
//! wait is a bounded poll; nothing asserts on timing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[path = "support/service.rs"]
mod service;
#[path = "support/stand_in.rs"]
mod stand_in;

use service::{failed_status, free_port, index, phone, signed, whatsapp_reply, write_config};
use stand_in::Sent;

const APP_SECRET: &str = "crash-app-secret";
const VERIFY_TOKEN: &str = "crash-verify-token";
const TWILIO_TOKEN: &str = "crash-twilio-token";
const ADMIN_TOKEN: &str = "crash-admin-token";

const WA_PATH: &str = "/v25.0/PNID/messages";
const SMS_PATH: &str = "/2010-04-01/Accounts/AC123/Messages.json";
const EMAIL_PATH: &str = "/v3/mail/send";

/// Contacts in the stream, one reply (one run) each.
const CONTACTS: usize = 48;
/// Workflow time per wall-clock time: the 30-minute timeout takes 4.5 s.
const TIME_SCALE: f64 = 400.0;
/// The seed when `KFLOW_CRASH_SEED` is not set.
const DEFAULT_SEED: u64 = 0x6b66_6c77_0c2a_5401;
/// Replies are released [`REPLY_BURST`] at a time, one burst per this interval.
const REPLY_EVERY: Duration = Duration::from_millis(1200);
/// Replies released together: their CTAs are decided in one step and are at
/// the WhatsApp stand-in at the same time.
const REPLY_BURST: usize = 6;
/// How long the WhatsApp stand-in takes to answer, as the Cloud API does:
/// long enough for several sends to be in flight when a kill lands.
const WA_DELAY: Duration = Duration::from_millis(80);
/// Requests in flight at once from the stream.
const IN_FLIGHT: usize = 6;
/// Bound on the whole stream, drain included.
const STREAM_LIMIT: Duration = Duration::from_secs(70);
/// Bound on waiting for a kill's trigger.
const TRIGGER_LIMIT: Duration = Duration::from_secs(25);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// SplitMix64: a small seeded generator, so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// What a contact does after its CTA is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// WhatsApp reports the CTA `failed` right away: the email fallback.
    Fails,
    /// The contact opens the tracking link: tagged.
    Opens,
    /// Nothing: the timeout's SMS.
    Silent,
    /// A `failed` status arrives only after the timeout's SMS went out: it
    /// must be ignored.
    LateStatus,
}

fn class(i: usize) -> Class {
    match i % 4 {
        0 => Class::Fails,
        1 => Class::Opens,
        2 => Class::Silent,
        _ => Class::LateStatus,
    }
}

// ----- the provider stand-ins -----

/// What makes the stand-in stop the service before it answers.
#[derive(Clone, Copy, Debug)]
enum Trigger {
    /// The CTA request that makes this many.
    Cta(usize),
    /// A WhatsApp request while this many (it included) are at the stand-in.
    Burst(usize),
    /// The next SMS to a [`Class::LateStatus`] contact.
    LateSms,
}

/// A trigger that went off: the killer answers `done` once the service is
/// dead, and only then does the stand-in answer (to nobody).
struct Fired {
    contact: String,
    done: mpsc::Sender<()>,
}

struct Recorder {
    sent: Mutex<Vec<Sent>>,
    /// When each WhatsApp request came: those of the last [`WA_DELAY`] are
    /// still waiting for their answer.
    whatsapp_at: Mutex<Vec<Instant>>,
    next: AtomicUsize,
    armed: Mutex<Option<Trigger>>,
    fire: Mutex<mpsc::Sender<Fired>>,
}

impl Recorder {
    fn sent(&self) -> Vec<Sent> {
        lock(&self.sent).clone()
    }

    fn ctas(&self) -> usize {
        lock(&self.sent)
            .iter()
            .filter(|s| s.kind == "interactive")
            .count()
    }

    fn arm(&self, trigger: Option<Trigger>) {
        *lock(&self.armed) = trigger;
    }

    /// Records `sent`; tells whether an armed trigger goes off on it.
    fn record(&self, sent: Sent) -> bool {
        let mut all = lock(&self.sent);
        all.push(sent.clone());
        let ctas = all.iter().filter(|s| s.kind == "interactive").count();
        drop(all);
        let outstanding = if sent.channel == "whatsapp" {
            let mut times = lock(&self.whatsapp_at);
            let now = Instant::now();
            times.retain(|t| now.duration_since(*t) < WA_DELAY);
            times.push(now);
            times.len()
        } else {
            0
        };
        let mut armed = lock(&self.armed);
        let fires = match *armed {
            Some(Trigger::Cta(n)) => sent.kind == "interactive" && ctas >= n,
            Some(Trigger::Burst(n)) => outstanding >= n,
            Some(Trigger::LateSms) => {
                sent.channel == "sms" && index(&sent.to).map(class) == Some(Class::LateStatus)
            }
            None => false,
        };
        if fires {
            *armed = None;
        }
        fires
    }
}

struct Stand {
    recorder: Arc<Recorder>,
    channel: &'static str,
}

impl Respond for Stand {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.recorder.next.fetch_add(1, Ordering::SeqCst);
        let (sent, response) = stand_in::answer(self.channel, request, n, WA_DELAY);
        let contact = sent.to.clone();
        if self.recorder.record(sent) {
            let (done, killed) = mpsc::channel();
            let told = lock(&self.recorder.fire)
                .send(Fired { contact, done })
                .is_ok();
            if told {
                // Bounded: the killer answers as soon as the process is dead.
                let _ = killed.recv_timeout(TRIGGER_LIMIT);
            }
        }
        response
    }
}

async fn providers(recorder: &Arc<Recorder>) -> MockServer {
    let server = MockServer::start().await;
    for (at, channel) in [
        (WA_PATH, "whatsapp"),
        (SMS_PATH, "sms"),
        (EMAIL_PATH, "email"),
    ] {
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

// ----- the service process -----

/// `kflowc serve` as a child process, started again after each kill.
struct Service {
    child: Option<Child>,
    config: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    starts: usize,
}

impl Service {
    fn new(config: PathBuf) -> Service {
        Service {
            child: None,
            config,
            log: Arc::new(Mutex::new(Vec::new())),
            starts: 0,
        }
    }

    /// Starts the service and waits (bounded) until it listens.
    fn start(&mut self) {
        for _ in 0..5 {
            self.starts += 1;
            let generation = self.starts;
            let mut child = Command::new(env!("CARGO_BIN_EXE_kflowc"))
                .args(["serve", "--config"])
                .arg(&self.config)
                .env("WHATSAPP_TOKEN", "wa-token")
                .env("WHATSAPP_APP_SECRET", APP_SECRET)
                .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
                .env("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
                .env("SENDGRID_API_KEY", "sg-key")
                .env("KFLOW_ADMIN_TOKEN", ADMIN_TOKEN)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start kflowc serve");
            let stderr = child.stderr.take().expect("stderr");
            let (ready, listening) = mpsc::channel();
            let log = self.log.clone();
            // Reads stderr until the process is gone, so it never blocks on
            // a full pipe; keeps every line for the report.
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("listening on") {
                        let _ = ready.send(true);
                    }
                    lock(&log).push(format!("[start {generation}] {line}"));
                }
                let _ = ready.send(false);
            });
            if let Ok(true) = listening.recv_timeout(Duration::from_secs(30)) {
                self.child = Some(child);
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("kflowc serve did not start: {:#?}", lock(&self.log));
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

// ----- the kills -----

#[derive(Clone, Copy, Debug)]
enum Kill {
    /// This long after the (re)start.
    After(Duration),
    /// While the CTA request that makes `n` more than were sent before the
    /// kill was armed is at the stand-in.
    Cta(usize),
    /// While a timeout's SMS to a late-status contact is at the stand-in,
    /// once the late status is acknowledged.
    LateSms,
    /// While this many WhatsApp sends are at the stand-in at once: their
    /// answers are all lost, and every one of them is in doubt.
    Burst(usize),
}

/// What the killer did, for the summary.
struct Killed {
    what: String,
}

/// Runs the plan: kill, pause, restart. Returns the service (running).
fn killer(
    mut service: Service,
    plan: Vec<(Kill, Duration)>,
    recorder: Arc<Recorder>,
    fired: mpsc::Receiver<Fired>,
    late_acked: Arc<Mutex<HashSet<String>>>,
    kills: Arc<Mutex<Vec<Killed>>>,
) -> Service {
    for (kill, pause) in plan {
        let what = match kill {
            Kill::After(delay) => {
                std::thread::sleep(delay);
                service.kill();
                format!(
                    "at a random moment ({} ms after the start)",
                    delay.as_millis()
                )
            }
            Kill::Cta(n) => {
                let at = recorder.ctas() + n;
                recorder.arm(Some(Trigger::Cta(at)));
                match fired.recv_timeout(TRIGGER_LIMIT) {
                    Ok(f) => {
                        service.kill();
                        let _ = f.done.send(());
                        format!("while CTA #{at} (to {}) was at the stand-in", f.contact)
                    }
                    Err(_) => {
                        recorder.arm(None);
                        service.kill();
                        format!("CTA #{at} never came; killed anyway")
                    }
                }
            }
            Kill::Burst(n) => {
                recorder.arm(Some(Trigger::Burst(n)));
                match fired.recv_timeout(TRIGGER_LIMIT) {
                    Ok(f) => {
                        service.kill();
                        let _ = f.done.send(());
                        format!(
                            "while {n} WhatsApp sends were at the stand-in (the last to {})",
                            f.contact
                        )
                    }
                    Err(_) => {
                        recorder.arm(None);
                        service.kill();
                        format!("{n} WhatsApp sends were never in flight at once; killed anyway")
                    }
                }
            }
            Kill::LateSms => {
                recorder.arm(Some(Trigger::LateSms));
                match fired.recv_timeout(TRIGGER_LIMIT) {
                    Ok(f) => {
                        let start = Instant::now();
                        while !lock(&late_acked).contains(&f.contact)
                            && start.elapsed() < TRIGGER_LIMIT
                        {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        let acked = lock(&late_acked).contains(&f.contact);
                        service.kill();
                        let _ = f.done.send(());
                        format!(
                            "while the timeout SMS to {} was at the stand-in (its late `failed` status {})",
                            f.contact,
                            if acked {
                                "acknowledged"
                            } else {
                                "NOT acknowledged"
                            }
                        )
                    }
                    Err(_) => {
                        recorder.arm(None);
                        service.kill();
                        "no timeout SMS to a late-status contact came; killed anyway".to_owned()
                    }
                }
            }
        };
        lock(&kills).push(Killed { what });
        std::thread::sleep(pause);
        service.start();
    }
    service
}

// ----- the stream -----

#[derive(Clone, Debug)]
enum Body {
    /// `PUT /api/contacts/{id}`.
    Contact(Value),
    /// An inbound WhatsApp message with this wamid.
    Reply(String),
    /// A `failed` status for this outbound wamid.
    Failed(String),
    /// A tracking link to open.
    Link(String),
}

#[derive(Clone, Debug)]
struct Event {
    body: Body,
    contact: usize,
    /// The inbox key it must end up under (none for contact records, whose
    /// keys the service makes up).
    key: Option<String>,
    /// Sent again on purpose although (or whether or not) acknowledged.
    repeat: bool,
    /// A late status (after the timeout).
    late: bool,
    not_before: Instant,
    attempts: u32,
    /// Why the last attempt was not acknowledged.
    last_error: Option<String>,
}

/// How the service answered one attempt.
enum Answer {
    /// 200 (a link: 302): durable.
    Acked,
    /// A link that had expired (410): nothing to store, nothing to retry.
    Expired,
    /// No answer (killed) or 5xx: send again.
    Retry(String),
}

async fn send(http: &reqwest::Client, base: &str, event: &Event) -> Answer {
    let who = phone(event.contact);
    let request = match &event.body {
        Body::Contact(record) => http
            .put(format!("{base}/api/contacts/{who}"))
            .bearer_auth(ADMIN_TOKEN)
            .json(record),
        Body::Reply(id) => {
            let body = whatsapp_reply(who.trim_start_matches('+'), id, "PNID");
            signed(http, base, APP_SECRET, body)
        }
        Body::Failed(id) => {
            let body = failed_status(id, who.trim_start_matches('+'));
            signed(http, base, APP_SECRET, body)
        }
        Body::Link(url) => http.get(url),
    };
    match request.send().await {
        Err(e) => Answer::Retry(e.to_string()),
        Ok(r) => match (r.status().as_u16(), &event.body) {
            (200, Body::Contact(_) | Body::Reply(_) | Body::Failed(_)) | (302, Body::Link(_)) => {
                Answer::Acked
            }
            (410, Body::Link(_)) => Answer::Expired,
            (s, _) if s >= 500 => Answer::Retry(format!("HTTP {s}")),
            (s, body) => panic!("unexpected HTTP {s} for {body:?}"),
        },
    }
}

/// What the stream did.
#[derive(Default)]
struct Stream {
    /// Events acknowledged (each once, however often sent).
    acked: Vec<Event>,
    /// Attempts, acknowledged or not.
    attempts: usize,
    /// Attempts that got no answer or a 5xx.
    unanswered: usize,
    /// Repeats sent on purpose (provider retries of delivered notifications).
    repeats: usize,
    /// Links that had expired when opened.
    expired: usize,
    /// Events never acknowledged before the stream's bound.
    abandoned: Vec<Event>,
    /// Whether the service drained (inbox empty, no run left) in time.
    drained: bool,
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Sends the stream, reacting to what the stand-ins receive, until every
/// event is acknowledged, the killer is done and the service has drained.
async fn stream(
    base: String,
    recorder: Arc<Recorder>,
    late_acked: Arc<Mutex<HashSet<String>>>,
    killer_done: impl Fn() -> bool,
    rng: &mut Rng,
) -> Stream {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A pooled connection to a killed process would only fail.
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    let start = Instant::now();
    let mut out = Stream::default();
    let mut queue: Vec<Event> = (0..CONTACTS)
        .map(|i| Event {
            body: Body::Contact(json!({
                "phone": phone(i),
                "email": format!("c{i}@example.com"),
                "fields": {"first_name": format!("C{i}"), "name": format!("Contact {i}")}
            })),
            contact: i,
            key: None,
            repeat: false,
            late: false,
            not_before: start,
            attempts: 0,
            last_error: None,
        })
        .collect();
    let mut contacts_acked = 0;
    let mut replies_from: Option<Instant> = None;
    let mut released = 0;
    let mut seen = 0;
    // Outbound CTA wamid per contact.
    let mut cta: HashMap<usize, String> = HashMap::new();
    let mut in_flight = tokio::task::JoinSet::new();
    let mut last_metrics = start;
    loop {
        let now = Instant::now();
        if now.duration_since(start) > STREAM_LIMIT {
            out.abandoned.append(&mut queue);
            break;
        }
        // Replies, one by one, once every contact record is stored.
        if let Some(from) = replies_from {
            while released < CONTACTS && now >= from + REPLY_EVERY * (released / REPLY_BURST) as u32
            {
                let i = released;
                let id = format!("wamid.IN.{i}.{:08x}", rng.next() as u32);
                let event = Event {
                    body: Body::Reply(id.clone()),
                    contact: i,
                    key: Some(format!("wa:msg:{id}")),
                    repeat: false,
                    late: false,
                    not_before: now,
                    attempts: 0,
                    last_error: None,
                };
                if i % 5 == 0 {
                    // Meta delivers this notification twice.
                    queue.push(Event {
                        repeat: true,
                        not_before: now + Duration::from_millis(rng.range(50, 800)),
                        ..event.clone()
                    });
                }
                queue.push(event);
                released += 1;
            }
        }
        // React to what reached the providers.
        let sent = recorder.sent();
        for s in &sent[seen..] {
            let Some(i) = index(&s.to) else { continue };
            let follow = |body: Body, key: String, late: bool, delay: u64| Event {
                body,
                contact: i,
                key: Some(key),
                repeat: false,
                late,
                not_before: now + Duration::from_millis(delay),
                attempts: 0,
                last_error: None,
            };
            match (s.kind.as_str(), class(i)) {
                ("interactive", c) => {
                    cta.insert(i, s.id.clone());
                    let delay = rng.range(0, 300);
                    let event = match c {
                        Class::Fails => follow(
                            Body::Failed(s.id.clone()),
                            format!("wa:status:{}:failed", s.id),
                            false,
                            delay,
                        ),
                        Class::Opens => {
                            let link = s.link.clone().expect("a CTA carries its link");
                            let token = link.rsplit('/').next().unwrap_or_default().to_owned();
                            follow(Body::Link(link), format!("link:{token}"), false, delay)
                        }
                        _ => continue,
                    };
                    if i % 8 < 2 {
                        queue.push(Event {
                            repeat: true,
                            not_before: event.not_before + Duration::from_millis(200),
                            ..event.clone()
                        });
                    }
                    queue.push(event);
                }
                ("sms", Class::LateStatus) => {
                    if let Some(id) = cta.get(&i) {
                        queue.push(follow(
                            Body::Failed(id.clone()),
                            format!("wa:status:{id}:failed"),
                            true,
                            0,
                        ));
                    }
                }
                _ => {}
            }
        }
        seen = sent.len();
        // Send what is due, a few at a time.
        let mut i = 0;
        while in_flight.len() < IN_FLIGHT && i < queue.len() {
            if queue[i].not_before <= now {
                let mut event = queue.swap_remove(i);
                event.attempts += 1;
                out.attempts += 1;
                let http = http.clone();
                let base = base.clone();
                in_flight.spawn(async move {
                    let answer = send(&http, &base, &event).await;
                    (event, answer)
                });
            } else {
                i += 1;
            }
        }
        // Collect answers.
        let mut answered = false;
        while let Some(done) = in_flight.try_join_next() {
            answered = true;
            let (mut event, answer) = done.expect("a send task");
            match answer {
                Answer::Acked => {
                    if event.repeat {
                        out.repeats += 1;
                        continue;
                    }
                    if matches!(event.body, Body::Contact(_)) {
                        contacts_acked += 1;
                        if contacts_acked == CONTACTS {
                            replies_from = Some(Instant::now());
                        }
                    }
                    if event.late {
                        lock(&late_acked).insert(phone(event.contact));
                    }
                    out.acked.push(event);
                }
                Answer::Expired => out.expired += 1,
                Answer::Retry(why) => {
                    out.unanswered += 1;
                    event.last_error = Some(why);
                    // As a provider would: again, a little later.
                    event.not_before = Instant::now() + Duration::from_millis(100);
                    queue.push(event);
                }
            }
        }
        let settled = released == CONTACTS && queue.is_empty() && in_flight.is_empty();
        if settled && killer_done() && now.duration_since(last_metrics) > Duration::from_millis(250)
        {
            last_metrics = now;
            let text = match http.get(format!("{base}/metrics")).send().await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let pending = metric(&text, "kflow_inbox_pending");
            let runs = metric(&text, "kflow_runs_active");
            // Anything sent meanwhile is seen on the next pass first.
            if pending == Some(0) && runs == Some(0) && recorder.sent().len() == seen {
                out.drained = true;
                break;
            }
        }
        if !answered {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    in_flight.abort_all();
    out
}

// ----- the checks -----

struct Effect {
    run: Option<u64>,
    contact: String,
    kind: String,
    /// `None`: in doubt.
    result: Option<Value>,
}

fn read_store(file: &Path) -> rusqlite::Result<Store> {
    let db = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let inbox = db
        .prepare("SELECT dedupe_key, processed_at IS NOT NULL FROM inbox")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<HashMap<String, bool>>>()?;
    let effects = db
        .prepare("SELECT key, run_id, request, result FROM effects")?
        .query_map([], |r| {
            let request: String = r.get(2)?;
            let result: Option<String> = r.get(3)?;
            let request: Value = serde_json::from_str(&request).unwrap_or(Value::Null);
            Ok((
                r.get::<_, String>(0)?,
                Effect {
                    run: r.get(1)?,
                    contact: request["contact"].as_str().unwrap_or_default().to_owned(),
                    kind: request["message"]["kind"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    result: result.map(|r| serde_json::from_str(&r).unwrap_or(Value::Null)),
                },
            ))
        })?
        .collect::<rusqlite::Result<BTreeMap<String, Effect>>>()?;
    let emails = db
        .prepare("SELECT id, json_extract(data, '$.email') FROM contacts")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<HashMap<String, Option<String>>>>()?;
    let tags = db
        .prepare("SELECT id, data FROM contacts")?
        .query_map([], |r| {
            let data: String = r.get(1)?;
            let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            let tags = data["tags"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Ok((r.get(0)?, tags))
        })?
        .collect::<rusqlite::Result<HashMap<String, Vec<String>>>>()?;
    let runs = db
        .prepare("SELECT id, contact, data FROM runs")?
        .query_map([], |r| {
            let data: String = r.get(2)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                serde_json::from_str(&data).unwrap_or(Value::Null),
            ))
        })?
        .collect::<rusqlite::Result<Vec<(u64, String, Value)>>>()?;
    let messages = db
        .prepare("SELECT message_id, status FROM messages")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<HashMap<String, String>>>()?;
    let next_run = db
        .query_row("SELECT value FROM meta WHERE key = 'next_run'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|v| v.parse().ok());
    Ok(Store {
        inbox,
        effects,
        emails,
        tags,
        runs,
        messages,
        next_run,
    })
}

struct Store {
    /// Dedupe key -> processed.
    inbox: HashMap<String, bool>,
    effects: BTreeMap<String, Effect>,
    /// Contact id -> its stored email address.
    emails: HashMap<String, Option<String>>,
    tags: HashMap<String, Vec<String>>,
    /// (id, contact, data).
    runs: Vec<(u64, String, Value)>,
    /// Message id -> status.
    messages: HashMap<String, String>,
    next_run: Option<u64>,
}

/// Everything that is wrong, each with the evidence.
fn check(stream: &Stream, sent: &[Sent], store: &Store) -> Vec<String> {
    let mut wrong = Vec::new();

    // No acknowledged event is lost: each is in the inbox, processed.
    for event in &stream.acked {
        if let Body::Contact(record) = &event.body {
            let who = phone(event.contact);
            let stored = store.emails.get(&who).cloned().flatten();
            if stored.as_deref() != record["email"].as_str() {
                wrong.push(format!(
                    "acknowledged contact record of {who} lost: email is {stored:?}"
                ));
            }
        }
        let Some(key) = &event.key else { continue };
        match store.inbox.get(key) {
            None => wrong.push(format!(
                "acknowledged event lost: {key} ({}) is not in the inbox",
                phone(event.contact)
            )),
            Some(false) => wrong.push(format!("acknowledged event {key} was never processed")),
            Some(true) => {}
        }
    }
    let pending = store.inbox.values().filter(|p| !**p).count();
    if pending > 0 {
        wrong.push(format!(
            "{pending} inbox event(s) still unprocessed after the drain"
        ));
    }

    // No message was sent twice, and the ledger knew of every send first.
    let mut by_key: HashMap<&str, Vec<&Sent>> = HashMap::new();
    for s in sent {
        if s.key.is_empty() {
            wrong.push(format!(
                "a {} send to {} carried no callback data",
                s.channel, s.to
            ));
            continue;
        }
        by_key.entry(&s.key).or_default().push(s);
    }
    for (key, sends) in &by_key {
        if sends.len() > 1 {
            let ids: Vec<&str> = sends.iter().map(|s| s.id.as_str()).collect();
            wrong.push(format!(
                "sent twice: effect {key} reached the {} stand-in {} times ({ids:?}) for {}",
                sends[0].channel,
                sends.len(),
                sends[0].to
            ));
        }
        if !store.effects.contains_key(*key) {
            wrong.push(format!(
                "the stand-in received {key} (to {}) but the ledger never began it",
                sends[0].to
            ));
        }
    }
    // An accepted send carries the id the provider answered with.
    for (key, effect) in &store.effects {
        let Some(r) = &effect.result else { continue };
        if r["result"] != "accepted" {
            continue;
        }
        let id = r["message_id"].as_str().unwrap_or_default();
        match by_key.get(key.as_str()).and_then(|s| s.first()) {
            None => wrong.push(format!(
                "the ledger says {key} was accepted as {id}, but no provider received it"
            )),
            Some(s) if s.id != id => wrong.push(format!(
                "the ledger says {key} was accepted as {id}, the provider answered {}",
                s.id
            )),
            Some(_) => {}
        }
    }

    // Every acknowledged reply started exactly one run, with one CTA, and
    // every run that ended has exactly one outcome that fits what it was told.
    let replied: HashSet<usize> = stream
        .acked
        .iter()
        .filter(|e| matches!(e.body, Body::Reply(_)))
        .map(|e| e.contact)
        .collect();
    let late_acked: HashSet<usize> = stream
        .acked
        .iter()
        .filter(|e| e.late)
        .map(|e| e.contact)
        .collect();
    let runs_of: HashMap<&str, Vec<u64>> =
        store.runs.iter().fold(HashMap::new(), |mut m, (id, c, _)| {
            m.entry(c.as_str()).or_default().push(*id);
            m
        });
    let mut outcomes: BTreeMap<(Class, &'static str), usize> = BTreeMap::new();
    for i in 0..CONTACTS {
        let who = phone(i);
        let mine: Vec<(&String, &Effect)> = store
            .effects
            .iter()
            .filter(|(_, e)| e.contact == who)
            .collect();
        let ctas: Vec<&(&String, &Effect)> = mine.iter().filter(|(_, e)| e.kind == "cta").collect();
        if !replied.contains(&i) {
            if !mine.is_empty() {
                let keys: Vec<&String> = mine.iter().map(|(k, _)| *k).collect();
                wrong.push(format!(
                    "{who} never replied (acknowledged) yet was sent {keys:?}"
                ));
            }
            continue;
        }
        let mut run_ids: Vec<Option<u64>> = mine.iter().map(|(_, e)| e.run).collect();
        run_ids.sort_unstable();
        run_ids.dedup();
        if ctas.len() != 1 || run_ids.len() != 1 {
            wrong.push(format!(
                "{who} replied once but the ledger holds {} CTA(s) over runs {run_ids:?}: {:?}",
                ctas.len(),
                mine.iter().map(|(k, _)| k).collect::<Vec<_>>()
            ));
            continue;
        }
        let (cta_key, cta_effect) = *ctas[0];
        let cta_sends = by_key.get(cta_key.as_str()).map_or(0, Vec::len);
        let cta_state = match &cta_effect.result {
            None => "in doubt",
            Some(r) if r["result"] == "accepted" => "accepted",
            Some(_) => "failed",
        };
        if cta_state == "accepted" && cta_sends != 1 {
            wrong.push(format!(
                "{who}: CTA {cta_key} accepted but the stand-in saw it {cta_sends} times"
            ));
        }
        let tagged = store
            .tags
            .get(&who)
            .is_some_and(|t| t.iter().any(|t| t == "clicked-booking"));
        let mut got: Vec<&'static str> = Vec::new();
        if tagged {
            got.push("tag");
        }
        for (_, e) in &mine {
            match e.kind.as_str() {
                "sms" => got.push("sms"),
                "email" => got.push("email"),
                "cta" => {}
                other => got.push(if other == "template" {
                    "template"
                } else {
                    "other"
                }),
            }
        }
        let waiting = runs_of.get(who.as_str()).cloned().unwrap_or_default();
        if !waiting.is_empty() {
            // Still waiting: on its CTA, which exists, with nothing decided.
            for (id, _, data) in store.runs.iter().filter(|(_, c, _)| *c == who) {
                let on = data["wait"]["message_id"].as_str().unwrap_or_default();
                if data["wait"]["for"] != "cta" || !store.messages.contains_key(on) {
                    wrong.push(format!(
                        "{who}: run {id} waits on {} which is not a sent CTA",
                        data["wait"]
                    ));
                }
            }
            if waiting.len() > 1 || !got.is_empty() {
                wrong.push(format!(
                    "{who}: runs {waiting:?} still wait although the outcome {got:?} was decided"
                ));
            }
            continue;
        }
        let allowed: &[&str] = match (cta_state, class(i)) {
            ("accepted", Class::Fails) => &["email", "sms"],
            ("accepted", Class::Opens) => &["tag", "sms"],
            ("accepted", Class::Silent | Class::LateStatus) => &["sms"],
            // In doubt or refused: the Not Delivered path.
            _ => &["email"],
        };
        match got.as_slice() {
            [one] if allowed.contains(one) => {
                *outcomes.entry((class(i), one)).or_default() += 1;
            }
            _ => wrong.push(format!(
                "{who} ({:?}, CTA {cta_key} {cta_state}{}): the run ended with outcome(s) {got:?}, expected exactly one of {allowed:?}; its sends: {:?}",
                class(i),
                if late_acked.contains(&i) {
                    ", late `failed` status acknowledged"
                } else {
                    ""
                },
                mine.iter()
                    .map(|(k, e)| format!(
                        "{k} {} {}, {} time(s) at the stand-in",
                        e.kind,
                        if e.result.is_some() {
                            "completed"
                        } else {
                            "IN DOUBT"
                        },
                        by_key.get(k.as_str()).map_or(0, Vec::len)
                    ))
                    .collect::<Vec<_>>()
            )),
        }
    }

    // The run counter is ahead of every run id used.
    let top = store.effects.values().filter_map(|e| e.run).max();
    if let (Some(top), Some(next)) = (top, store.next_run)
        && next <= top
    {
        wrong.push(format!(
            "meta next_run is {next} but run {top} exists: ids would be reused"
        ));
    }
    if !stream.drained {
        wrong.push("the service did not drain (inbox empty, no run left) in time".into());
    }
    if !stream.abandoned.is_empty() {
        wrong.push(format!(
            "{} event(s) never acknowledged: {:?}",
            stream.abandoned.len(),
            stream
                .abandoned
                .iter()
                .map(|e| (&e.key, e.attempts, &e.last_error))
                .collect::<Vec<_>>()
        ));
    }
    eprintln!("outcomes by class: {outcomes:?}");
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill_and_nothing_is_sent_twice() {
    let seed = std::env::var("KFLOW_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let mut rng = Rng(seed);
    let started = Instant::now();

    let (fire, fired) = mpsc::channel();
    let recorder = Arc::new(Recorder {
        sent: Mutex::new(Vec::new()),
        whatsapp_at: Mutex::new(Vec::new()),
        next: AtomicUsize::new(1),
        armed: Mutex::new(None),
        fire: Mutex::new(fire),
    });
    let stand_ins = providers(&recorder).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = write_config(
        dir.path(),
        "kflow.toml",
        port,
        "kflow.db",
        "PNID",
        &stand_ins.uri(),
        TIME_SCALE,
    );
    let mut service = Service::new(config);
    service.start();
    let log = service.log.clone();

    // Two kills at random moments, one on a CTA in flight, one on a
    // timeout's SMS in flight; a short random pause before each restart.
    let plan = vec![
        (
            Kill::After(Duration::from_millis(rng.range(1500, 3000))),
            Duration::from_millis(rng.range(50, 400)),
        ),
        (
            Kill::Cta(rng.range(2, 6) as usize),
            Duration::from_millis(rng.range(50, 400)),
        ),
        (Kill::Burst(3), Duration::from_millis(rng.range(50, 400))),
        (
            Kill::After(Duration::from_millis(rng.range(800, 2500))),
            Duration::from_millis(rng.range(50, 400)),
        ),
        (Kill::LateSms, Duration::from_millis(rng.range(50, 400))),
    ];
    let kill_count = plan.len();
    let kills = Arc::new(Mutex::new(Vec::new()));
    let late_acked = Arc::new(Mutex::new(HashSet::new()));
    let killer = {
        let recorder = recorder.clone();
        let late_acked = late_acked.clone();
        let kills = kills.clone();
        std::thread::spawn(move || killer(service, plan, recorder, fired, late_acked, kills))
    };
    let killer_done = {
        let kills = kills.clone();
        move || lock(&kills).len() == kill_count
    };

    let base = format!("http://127.0.0.1:{port}");
    let out = stream(base, recorder.clone(), late_acked, killer_done, &mut rng).await;
    // Stop the service (the killer has returned it) before reading its file.
    let mut service = match killer.join() {
        Ok(s) => s,
        Err(_) => panic!("the killer thread panicked"),
    };
    service.kill();
    let sent = recorder.sent();
    let store = read_store(&dir.path().join("kflow.db")).expect("read the store");
    let wrong = check(&out, &sent, &store);

    let in_doubt: Vec<&String> = store
        .effects
        .iter()
        .filter(|(_, e)| e.result.is_none())
        .map(|(k, _)| k)
        .collect();
    let count = |f: fn(&Event) -> bool| out.acked.iter().filter(|e| f(e)).count();
    eprintln!(
        "seed {seed:#x}: {} events acknowledged ({} contact records, {} replies, {} `failed` statuses of which {} late, {} link opens; and {} repeats on purpose), {} attempts, {} unanswered, {} links expired; {} kills:",
        out.acked.len(),
        count(|e| matches!(e.body, Body::Contact(_))),
        count(|e| matches!(e.body, Body::Reply(_))),
        count(|e| matches!(e.body, Body::Failed(_))),
        count(|e| e.late),
        count(|e| matches!(e.body, Body::Link(_))),
        out.repeats,
        out.attempts,
        out.unanswered,
        out.expired,
        lock(&kills).len()
    );
    for k in lock(&kills).iter() {
        eprintln!("  killed {}", k.what);
    }
    eprintln!(
        "{} sends at the stand-ins, {} ledger effects, {} in doubt {in_doubt:?}; {:.1} s",
        sent.len(),
        store.effects.len(),
        in_doubt.len(),
        started.elapsed().as_secs_f64()
    );
    if !wrong.is_empty() {
        for line in lock(&log).iter() {
            eprintln!("{line}");
        }
    }
    assert!(
        wrong.is_empty(),
        "{} consistency violation(s) (seed {seed:#x}):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
