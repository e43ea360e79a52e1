//! End to end: `kflowc serve` on loopback with local stand-ins for the
//! WhatsApp Cloud, Twilio and SendGrid APIs (wiremock). Posts signed webhooks
//! of the real shapes, follows tracking links with an HTTP client and checks
//! each seed branch: opened, not delivered (a `failed` status and an API
//! error), timeout (a 600x test clock makes 30 minutes pass in 3 seconds) and
//! window closed -> template. Every wait is a bounded poll.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kflow::server::signature::{sign_meta, sign_twilio};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[path = "support/postgres.rs"]
mod postgres;

const APP_SECRET: &str = "test-app-secret";
const VERIFY_TOKEN: &str = "test-verify-token";
const TWILIO_TOKEN: &str = "test-twilio-token";
const ADMIN_TOKEN: &str = "test-admin-token";
const EMAIL_TOKEN: &str = "test-email-token";

/// Kills the service when the test ends, however it ends.
struct Service {
    child: Child,
    base: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Answers WhatsApp sends with an id derived from the recipient, so a test
/// knows which id a contact's message got.
struct WamidByRecipient(AtomicUsize);

impl Respond for WamidByRecipient {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let to = body["to"]
            .as_str()
            .unwrap_or("unknown")
            .trim_start_matches('+')
            .to_owned();
        ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": to}],
            "messages": [{"id": format!("wamid.{to}.{n}")}]
        }))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

async fn providers() -> MockServer {
    let server = MockServer::start().await;
    // The API error branch: this recipient is outside the window per Meta.
    Mock::given(method("POST"))
        .and(path("/v25.0/PNID/messages"))
        .and(body_partial_json(json!({"to": "+15551230003"})))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047,
            "error_data": {"messaging_product": "whatsapp", "details": "More than 24 hours have passed since the recipient last replied to the sender number."},
            "fbtrace_id": "trace"}})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/PNID/messages"))
        .respond_with(WamidByRecipient(AtomicUsize::new(1)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"sid": "SM1", "status": "queued"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "sg-1"))
        .mount(&server)
        .await;
    server
}

/// The workflows most tests serve.
const WORKFLOWS: &[&str] = &[
    "examples/booking_cta.kflow",
    "tests/serve/sms_reply.kflow",
    "tests/serve/email_reply.kflow",
];

fn start(providers: &MockServer, dir: &Path) -> Service {
    start_serving(providers, dir, WORKFLOWS)
}

/// The SQLite file most tests use, beside the config.
const SQLITE: &str = "kflow.db";

/// `kflowc serve` with `workflows` (paths in the repository).
fn start_serving(providers: &MockServer, dir: &Path, workflows: &[&str]) -> Service {
    start_configured(providers, dir, workflows, 600.0, "")
}

/// `kflowc serve` with `workflows`, a clock `time_scale` times the wall
/// clock's, and `extra` sections at the end of its config.
fn start_configured(
    providers: &MockServer,
    dir: &Path,
    workflows: &[&str],
    time_scale: f64,
    extra: &str,
) -> Service {
    start_on(SQLITE, providers, dir, workflows, time_scale, extra)
}

/// [`start_configured`] on `database`: a SQLite file, or a PostgreSQL URL.
fn start_on(
    database: &str,
    providers: &MockServer,
    dir: &Path,
    workflows: &[&str],
    time_scale: f64,
    extra: &str,
) -> Service {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let root = env!("CARGO_MANIFEST_DIR");
    let workflows = workflows
        .iter()
        .map(|w| format!("\"{root}/{w}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
public_url = "{base}"
database = "{database}"
workflows = [{workflows}]
time_scale = {time_scale}
admin_token_env = "KFLOW_ADMIN_TOKEN"
email_token_env = "KFLOW_EMAIL_TOKEN"

[whatsapp]
base_url = "{p}"
phone_number_id = "PNID"
numbers = {{ "+15550100001" = "PNID" }}

[twilio]
base_url = "{p}"
account_sid = "AC123"
from = "+15550009999"

[sendgrid]
base_url = "{p}"
from_email = "noreply@example.com"

[retry]
max_attempts = 2
base_delay_ms = 10
max_delay_ms = 20
request_timeout_ms = 5000
{extra}
"#,
        p = providers.uri()
    );
    std::fs::write(dir.join("kflow.toml"), config).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kflowc"))
        .args(["serve", "--config"])
        .arg(dir.join("kflow.toml"))
        .env("WHATSAPP_TOKEN", "wa-token")
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
        .env("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
        .env("SENDGRID_API_KEY", "sg-key")
        .env("KFLOW_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("KFLOW_EMAIL_TOKEN", EMAIL_TOKEN)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kflowc serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut log = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("listening on") => break,
            Some(Ok(line)) => log.push(line),
            _ => panic!("kflowc serve did not start: {log:?}"),
        }
    }
    // Keep draining stderr so the service never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Service { child, base }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn inbound_whatsapp(from: &str, id: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100001", "phone_number_id": "PNID"},
        "contacts": [{"profile": {"name": "Test"}, "wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": "1749416383", "type": "text", "text": {"body": "hi"}}]
    }}]}]})
    .to_string()
}

fn failed_status(message_id: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "statuses": [{"id": message_id, "status": "failed", "timestamp": "1750030073", "recipient_id": "15551230002",
            "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable"}]}]
    }}]}]})
    .to_string()
}

async fn post_whatsapp(service: &Service, body: &str) -> reqwest::StatusCode {
    client()
        .post(format!("{}/webhooks/whatsapp", service.base))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            sign_meta(APP_SECRET.as_bytes(), body.as_bytes()),
        )
        .body(body.to_owned())
        .send()
        .await
        .expect("webhook answered")
        .status()
}

async fn put_contact(service: &Service, id: &str, record: Value) {
    let status = client()
        .put(format!("{}/api/contacts/{id}", service.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&record)
        .send()
        .await
        .expect("contact stored")
        .status();
    assert_eq!(status, 200);
}

/// Requests the stand-ins received on `path`, as JSON or form fields.
async fn received(providers: &MockServer, on: &str) -> Vec<Request> {
    providers
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == on)
        .collect()
}

/// Polls until `pick` finds something, for at most `limit`.
async fn wait_for<T>(limit: Duration, mut pick: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(t) = pick().await {
            return Some(t);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn whatsapp_sent_to(providers: &MockServer, to: &str) -> Vec<Value> {
    received(providers, "/v25.0/PNID/messages")
        .await
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["to"] == to)
        .collect()
}

/// The first WhatsApp message sent to `to`, once it is (within 10 s).
async fn first_whatsapp_sent_to(providers: &MockServer, to: &str) -> Option<Value> {
    wait_for(Duration::from_secs(10), async || {
        whatsapp_sent_to(providers, to).await.into_iter().next()
    })
    .await
}

fn form(r: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_branches_run_against_real_http() {
    seed_branches(SQLITE).await;
}

/// The same, with the store on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_branches_run_on_postgres() {
    if let Some(db) = postgres::fresh_database().await {
        seed_branches(&db.url).await;
    }
}

async fn seed_branches(database: &str) {
    let providers = providers().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let service = start_on(database, &providers, dir.path(), WORKFLOWS, 600.0, "");
    let http = client();

    // The verification handshake.
    let ok = http
        .get(format!(
            "{}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444",
            service.base
        ))
        .send()
        .await
        .expect("answered");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.expect("body"), "1158201444");
    let bad = http
        .get(format!(
            "{}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1",
            service.base
        ))
        .send()
        .await
        .expect("answered");
    assert_eq!(bad.status(), 403);

    // Unsigned and mis-signed notifications are refused and change nothing.
    let body = inbound_whatsapp("15551239999", "wamid.IN.unsigned");
    let unsigned = http
        .post(format!("{}/webhooks/whatsapp", service.base))
        .body(body.clone())
        .send()
        .await
        .expect("answered");
    assert_eq!(unsigned.status(), 401);
    let mis = http
        .post(format!("{}/webhooks/whatsapp", service.base))
        .header(
            "x-hub-signature-256",
            sign_meta(b"wrong-secret", body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .expect("answered");
    assert_eq!(mis.status(), 401);
    assert_eq!(post_whatsapp(&service, "{not json").await, 400);

    // Contacts with the fields the workflow renders.
    let contact = |n: u32, email: Option<&str>| json!({"phone": format!("+1555123000{n}"), "email": email, "fields": {"first_name": format!("C{n}"), "name": format!("Contact {n}")}});
    put_contact(&service, "+15551230001", contact(1, Some("c1@example.com"))).await;
    put_contact(&service, "+15551230002", contact(2, Some("c2@example.com"))).await;
    put_contact(&service, "+15551230003", contact(3, Some("c3@example.com"))).await;
    put_contact(&service, "+15551230004", contact(4, None)).await;

    // Four WhatsApp replies start four runs; a retried notification does not
    // start a fifth.
    for n in 1..=4 {
        assert_eq!(
            post_whatsapp(
                &service,
                &inbound_whatsapp(&format!("1555123000{n}"), &format!("wamid.IN.{n}"))
            )
            .await,
            200
        );
    }
    assert_eq!(
        post_whatsapp(&service, &inbound_whatsapp("15551230004", "wamid.IN.4")).await,
        200
    );

    // Opened: the CTA carries a tracking link that redirects to the
    // personalized URL, once it is opened the run tags the contact.
    let cta = wait_for(Duration::from_secs(20), async || {
        whatsapp_sent_to(&providers, "+15551230001").await.pop()
    })
    .await
    .expect("the CTA to contact 1 was sent");
    assert_eq!(cta["type"], "interactive");
    assert_eq!(cta["interactive"]["type"], "cta_url");
    assert_eq!(
        cta["interactive"]["header"],
        json!({"type": "image", "image": {"link": "https://cdn.example.com/booking.png"}})
    );
    assert_eq!(
        cta["interactive"]["body"]["text"],
        "Hi C1, pick a time that suits you."
    );
    assert_eq!(
        cta["interactive"]["action"]["parameters"]["display_text"],
        "Book now"
    );
    let link = cta["interactive"]["action"]["parameters"]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    assert!(
        link.starts_with(&format!("{}/l/", service.base)),
        "tracking link: {link}"
    );
    let token = link.rsplit('/').next().unwrap_or_default();
    assert!(token.len() >= 22, "at least 128 random bits: {token}");
    let opened = http.get(&link).send().await.expect("redirect");
    assert_eq!(opened.status(), 302);
    assert_eq!(
        opened.headers()["location"],
        // No agent_calendar custom value: its fallback.
        "https://www.example.com/?name=Contact%201&calendar=main"
    );
    assert_eq!(
        http.get(format!("{}/l/not-a-token", service.base))
            .send()
            .await
            .expect("answered")
            .status(),
        404
    );

    // Not delivered by a `failed` status: the email fallback goes out.
    let c2 = wait_for(Duration::from_secs(20), async || {
        whatsapp_sent_to(&providers, "+15551230002").await.pop()
    })
    .await
    .expect("the CTA to contact 2 was sent");
    assert_eq!(c2["interactive"]["type"], "cta_url");
    assert_eq!(
        post_whatsapp(&service, &failed_status("wamid.15551230002.2")).await,
        200
    );
    let email_to = async |address: &str| {
        received(&providers, "/v3/mail/send")
            .await
            .into_iter()
            .find(|r| {
                serde_json::from_slice::<Value>(&r.body)
                    .is_ok_and(|b| b["personalizations"][0]["to"][0]["email"] == address)
            })
    };
    let email2 = wait_for(Duration::from_secs(20), async || {
        email_to("c2@example.com").await
    })
    .await;
    assert!(
        email2.is_some(),
        "a failed status leads to the email fallback"
    );

    // Not delivered by an API error (131047): the email fallback goes out.
    let email3 = wait_for(Duration::from_secs(20), async || {
        email_to("c3@example.com").await
    })
    .await;
    assert!(
        email3.is_some(),
        "an API refusal leads to the email fallback"
    );

    // Timeout: 30 minutes of workflow time later, the SMS fallback goes out
    // to contact 4 and to contact 1 nothing more (its link was opened).
    let sms4 = wait_for(Duration::from_secs(30), async || {
        received(&providers, "/2010-04-01/Accounts/AC123/Messages.json")
            .await
            .into_iter()
            .find(|r| form(r).contains(&("To".to_owned(), "+15551230004".to_owned())))
    })
    .await
    .expect("the timeout's SMS to contact 4");
    assert!(form(&sms4).contains(&(
        "Body".to_owned(),
        "Still want a slot? Reply YES.".to_owned()
    )));
    let sms_to_1 = received(&providers, "/2010-04-01/Accounts/AC123/Messages.json")
        .await
        .into_iter()
        .any(|r| form(&r).contains(&("To".to_owned(), "+15551230001".to_owned())));
    assert!(!sms_to_1, "an opened link ends the wait: no timeout SMS");
    // The link is expired now, and its page says so and until when.
    let gone = http.get(&link).send().await.expect("answered");
    assert_eq!(gone.status(), 410);
    let page = gone.text().await.expect("a page");
    assert!(page.contains("This link has expired"), "{page}");
    assert!(page.contains("It was valid until "), "{page}");
    assert!(page.contains(" UTC"), "{page}");
    // One CTA per contact: the retried notification started nothing.
    assert_eq!(whatsapp_sent_to(&providers, "+15551230004").await.len(), 1);

    // Window closed -> template: an SMS reply (Twilio-signed) from a contact
    // who never wrote on WhatsApp.
    let params = vec![
        ("From".to_owned(), "+15551230005".to_owned()),
        ("To".to_owned(), "+15550009999".to_owned()),
        ("Body".to_owned(), "hello".to_owned()),
        ("MessageSid".to_owned(), "SMIN5".to_owned()),
    ];
    let url = format!("{}/webhooks/twilio/inbound", service.base);
    let signature = sign_twilio(TWILIO_TOKEN.as_bytes(), &url, &params);
    let sms_in = http
        .post(&url)
        .header("x-twilio-signature", signature)
        .form(&params)
        .send()
        .await
        .expect("answered");
    assert_eq!(sms_in.status(), 200);
    let template = wait_for(Duration::from_secs(20), async || {
        whatsapp_sent_to(&providers, "+15551230005").await.pop()
    })
    .await
    .expect("a template to contact 5");
    assert_eq!(template["type"], "template");
    assert_eq!(template["template"]["name"], "booking_reopen");

    let metrics = http
        .get(format!("{}/metrics", service.base))
        .send()
        .await
        .expect("metrics");
    let text = metrics.text().await.expect("body");
    assert!(text.contains("kflow_runs_started_total 5"), "{text}");
    // Every contact here can be reached, so no message went unsent.
    assert_eq!(metric(&text, "kflow_sends_not_made_total"), 0, "{text}");

    // Requests for links that do not exist (anyone can send them) and
    // repeated or late opens are answered from a read: they must not keep the store's
    // writer busy. 200 such requests in a row would be 200 commits otherwise;
    // the service's own work may add a few meanwhile. (SQLite's writer
    // counts its commits; PostgreSQL's links take the same read-first path.)
    if database != SQLITE {
        return;
    }
    let commits = async || {
        let text = http
            .get(format!("{}/metrics", service.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("body");
        metric(&text, "kflow_store_commits_total")
    };
    let before = commits().await;
    for i in 0..200 {
        let url = if i % 2 == 0 {
            format!("{}/l/unknown-{i}", service.base)
        } else {
            link.clone()
        };
        let status = http.get(url).send().await.expect("answered").status();
        // The opened link answers 302, or 410 once its wait is over.
        assert!(matches!(status.as_u16(), 404 | 302 | 410), "{status}");
    }
    let after = commits().await;
    assert!(
        after - before < 20,
        "{before} -> {after} commits for 200 lookups"
    );
}

/// The value of an unlabelled counter in a Prometheus text page.
fn metric(page: &str, name: &str) -> u64 {
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {page}"))
}

/// A body over `max_body_bytes` gets its documented 413, read by the client,
/// not a connection reset while it is still sending; and the service goes on.
#[tokio::test]
async fn an_oversized_webhook_gets_its_413() {
    let providers = providers().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let service = start(&providers, dir.path());
    let http = client();
    for size in [10 * 1024 * 1024, 4 * 1024 * 1024] {
        let body = vec![b'x'; size];
        let status = http
            .post(format!("{}/webhooks/whatsapp", service.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| format!("{e:?}"));
        assert_eq!(status, Ok(413), "a {size}-byte body");
    }
    let health = http
        .get(format!("{}/healthz", service.base))
        .send()
        .await
        .expect("still serving");
    assert_eq!(health.status(), 200);
}

/// SendGrid Inbound Parse posts an email reply as multipart/form-data, with
/// the token in the URL's basic auth (SendGrid cannot add a header): the
/// reply runs the email trigger once, however often SendGrid retries it.
#[tokio::test]
async fn a_sendgrid_inbound_parse_post_is_an_email_reply() {
    let providers = providers().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let service = start(&providers, dir.path());
    let http = client();
    let fixture = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serve/sendgrid_inbound_parse.multipart"),
    )
    .expect("fixture");
    let post = |password: &str| {
        http.post(format!("{}/webhooks/email", service.base))
            .basic_auth("kflow", Some(password))
            .header("content-type", "multipart/form-data; boundary=xYzZY")
            .body(fixture.clone())
            .send()
    };
    let refused = post("wrong").await.expect("answered");
    assert_eq!(refused.status(), 401);
    for _ in 0..2 {
        let accepted = post(EMAIL_TOKEN).await.expect("answered");
        assert_eq!(accepted.status(), 200, "SendGrid retries get 200 too");
    }
    let sent = wait_for(Duration::from_secs(10), async || {
        let mails = received(&providers, "/v3/mail/send").await;
        (!mails.is_empty()).then_some(mails)
    })
    .await
    .expect("the email trigger answered");
    let mail: Value = serde_json::from_slice(&sent[0].body).expect("JSON");
    assert_eq!(
        mail["personalizations"][0]["to"][0]["email"], "ana@example.com",
        "the address in From, lower-cased"
    );
    // Give a second run time to show up, if the retry had made one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received(&providers, "/v3/mail/send").await.len(), 1);

    let broken = http
        .post(format!("{}/webhooks/email", service.base))
        .bearer_auth(EMAIL_TOKEN)
        .header("content-type", "multipart/form-data; boundary=xYzZY")
        .body("--xYzZY\r\nno headers")
        .send()
        .await
        .expect("answered");
    assert_eq!(broken.status(), 400);
}

/// A tap as the Cloud API posts it (`interactive.button_reply` with
/// `context.id`, §6.4), from `from`, answering `answers`.
fn button_reply(from: &str, id: &str, answers: &str, chosen: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100001", "phone_number_id": "PNID"},
        "contacts": [{"profile": {"name": "Test"}, "wa_id": from}],
        "messages": [{"context": {"from": "15550100001", "id": answers}, "from": from, "id": id,
            "timestamp": "1749416383", "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": chosen, "title": "Reschedule"}}}]
    }}]}]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_tap_takes_its_branch_over_real_http() {
    button_tap(SQLITE).await;
}

/// The same, with the store on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_tap_takes_its_branch_on_postgres() {
    if let Some(db) = postgres::fresh_database().await {
        button_tap(&db.url).await;
    }
}

async fn button_tap(database: &str) {
    let providers = providers().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let service = start_on(
        database,
        &providers,
        dir.path(),
        &["examples/appointment_buttons.kflow"],
        600.0,
        "",
    );
    let ana = "15551230040";
    assert_eq!(
        post_whatsapp(&service, &inbound_whatsapp(ana, "wamid.in.1")).await,
        200
    );
    let sent = first_whatsapp_sent_to(&providers, &format!("+{ana}"))
        .await
        .expect("the reminder went out");
    // The payload of the reference's section 2.2.
    assert_eq!(sent["type"], "interactive");
    assert_eq!(sent["interactive"]["type"], "button");
    assert_eq!(
        sent["interactive"]["action"]["buttons"],
        json!([
            {"type": "reply", "reply": {"id": "confirm", "title": "Confirm"}},
            {"type": "reply", "reply": {"id": "reschedule", "title": "Reschedule"}},
            {"type": "reply", "reply": {"id": "cancel", "title": "Cancel"}}
        ])
    );
    assert_eq!(
        sent["interactive"]["header"],
        json!({"type": "text", "text": "Your visit tomorrow"})
    );
    let reminder = wait_for(Duration::from_secs(5), async || {
        let sends = received(&providers, "/v25.0/PNID/messages").await;
        (sends.len() == 1).then_some(())
    })
    .await;
    assert!(reminder.is_some(), "exactly one send so far");
    // The stand-in numbered the reminder `wamid.<to>.<n>`; with one send it is 1.
    let wamid = format!("wamid.{ana}.1");

    // A tap on some other message changes nothing; the tap on the reminder
    // takes the Reschedule branch, whose message goes out in the window
    // the tap reopened.
    let other = button_reply(ana, "wamid.in.2", "wamid.someone-else", "confirm");
    assert_eq!(post_whatsapp(&service, &other).await, 200);
    let tap = button_reply(ana, "wamid.in.3", &wamid, "reschedule");
    assert_eq!(post_whatsapp(&service, &tap).await, 200);
    let follow_up = wait_for(Duration::from_secs(10), async || {
        let sent = whatsapp_sent_to(&providers, &format!("+{ana}")).await;
        (sent.len() >= 2).then_some(sent)
    })
    .await
    .expect("the branch's message went out");
    assert_eq!(follow_up.len(), 2, "{follow_up:#?}");
    assert_eq!(follow_up[1]["type"], "text");
    assert!(
        follow_up[1]["text"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("an agent will write to you shortly")),
        "{follow_up:#?}"
    );
    // A retried webhook (same message id) is not a second tap.
    assert_eq!(post_whatsapp(&service, &tap).await, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        whatsapp_sent_to(&providers, &format!("+{ana}")).await.len(),
        2
    );
}

/// A tap on a template's quick reply as the Cloud API posts it (`type:
/// button`, `button.payload`, `context.id`; §6.4 and
/// `tests/serve/cloud_api/template_button.json`).
fn template_tap(from: &str, id: &str, answers: &str, payload: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100001", "phone_number_id": "PNID"},
        "contacts": [{"profile": {"name": "Test"}, "wa_id": from}],
        "messages": [{"context": {"from": "15550100001", "id": answers}, "from": from, "id": id,
            "timestamp": "1764756240", "type": "button",
            "button": {"payload": payload, "text": "Reschedule"}}]
    }}]}]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_quick_reply_takes_its_branch_over_real_http() {
    let providers = providers().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let service = start_serving(
        &providers,
        dir.path(),
        &["tests/serve/template_buttons.kflow"],
    );
    let ana = "15551230041";
    assert_eq!(
        post_whatsapp(&service, &inbound_whatsapp(ana, "wamid.in.1")).await,
        200
    );
    let sent = first_whatsapp_sent_to(&providers, &format!("+{ana}"))
        .await
        .expect("the template went out");
    // The reference's section 3 send shape: body, then the buttons by index
    // (the contact has no first name yet: the fallback fills it).
    assert_eq!(sent["type"], "template");
    assert_eq!(
        sent["template"]["components"],
        json!([
            {"type": "body", "parameters": [{"type": "text", "text": "there"}]},
            {"type": "button", "sub_type": "url", "index": "0",
             "parameters": [{"type": "text", "text": format!("visits/%2B{ana}")}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1",
             "parameters": [{"type": "payload", "payload": "confirm"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "2",
             "parameters": [{"type": "payload", "payload": "reschedule"}]}
        ])
    );
    let wamid = format!("wamid.{ana}.1");
    let tap = template_tap(ana, "wamid.in.2", &wamid, "reschedule");
    assert_eq!(post_whatsapp(&service, &tap).await, 200);
    let follow_up = wait_for(Duration::from_secs(10), async || {
        let sent = whatsapp_sent_to(&providers, &format!("+{ana}")).await;
        (sent.len() >= 2).then_some(sent)
    })
    .await
    .expect("the branch's message went out");
    assert_eq!(follow_up.len(), 2, "{follow_up:#?}");
    // A free-form message: the tap opened the window.
    assert_eq!(follow_up[1]["type"], "text");
    assert!(
        follow_up[1]["text"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("an agent will write to you shortly")),
        "{follow_up:#?}"
    );
}

/// The frequency cap holds across runs and survives a contact record
/// updated through the admin API: the second reply's message is not sent,
/// and the service counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_outlives_an_admin_update_of_the_contact() {
    let providers = providers().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let service = start_serving(&providers, dir.path(), &["tests/serve/capped.kflow"]);
    let ana = "15551230042";
    assert_eq!(
        post_whatsapp(&service, &inbound_whatsapp(ana, "wamid.in.1")).await,
        200
    );
    first_whatsapp_sent_to(&providers, &format!("+{ana}"))
        .await
        .expect("the first message went out");
    put_contact(
        &service,
        &format!("+{ana}"),
        json!({"phone": format!("+{ana}"), "fields": {"first_name": "Ana"}}),
    )
    .await;
    assert_eq!(
        post_whatsapp(&service, &inbound_whatsapp(ana, "wamid.in.2")).await,
        200
    );
    let http = client();
    let not_made = wait_for(Duration::from_secs(10), async || {
        let text = http
            .get(format!("{}/metrics", service.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (metric(&text, "kflow_sends_not_made_total") == 1).then_some(())
    })
    .await;
    assert!(not_made.is_some(), "the second message is held by the cap");
    assert_eq!(
        whatsapp_sent_to(&providers, &format!("+{ana}")).await.len(),
        1
    );
}

/// Rows of the tables retention prunes, read beside the running service.
fn table_rows(db: &Path) -> Vec<(String, u64)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database read-only");
    kflow::store::retention::counts(&conn)
        .expect("count rows")
        .into_iter()
        .map(|(t, n)| (t.to_owned(), n))
        .collect()
}

/// A soak at one hour of workflow time per wall second: a new contact
/// every 6 minutes for 24 hours, each run sending a CTA, timing out and
/// sending an SMS, with 4 hours of retention. Without pruning every table
/// grows with the load; with it, each levels off near what 4 hours of load
/// leave behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_database_level_under_steady_load() {
    let providers = providers().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let retention = "[retention]\ninbox = \"4h\"\neffects = \"4h\"\nmessages = \"4h\"\nlinks = \"4h\"\nevery = \"15m\"\nbatch = 20\n";
    let service = start_configured(
        &providers,
        dir.path(),
        &["examples/booking_cta.kflow"],
        3600.0,
        retention,
    );
    let db = dir.path().join("kflow.db");
    let events = 240;
    let mut samples = Vec::new();
    for i in 0..events {
        let from = format!("1555{:07}", 9_000_000 + i);
        let status = post_whatsapp(
            &service,
            &inbound_whatsapp(&from, &format!("wamid.soak.{i}")),
        )
        .await;
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
        if i % 20 == 19 {
            samples.push(table_rows(&db));
        }
    }
    let inbox = |sample: &[(String, u64)]| sample[0].1;
    let all: Vec<u64> = samples.iter().map(|s| inbox(s)).collect();
    // 4 hours of load is 40 events; the pass every 15 minutes and the
    // engine's catching up leave a few more.
    let last = samples.last().expect("samples");
    for (table, rows) in last {
        let per_event = match table.as_str() {
            "inbox" | "links" => 1,
            _ => 2,
        };
        assert!(
            *rows <= 60 * per_event,
            "{table} kept {rows} rows of {events} events' worth; samples {samples:?}"
        );
    }
    assert!(
        all[all.len() - 1] <= all[all.len() - 4] + 10,
        "the inbox still grows at the end: {all:?}"
    );
    let page = client()
        .get(format!("{}/metrics", service.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metric(&page, "kflow_rows_pruned_total") >= 300, "{page}");
}
