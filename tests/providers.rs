//! The outbound provider clients against real HTTP servers on loopback
//! (wiremock): the exact method, path, headers and body of every request for
//! each message shape, and how each class of failure is handled (how many
//! requests it costs, and what the trace is told).

use std::collections::BTreeMap;

use kflow::ir::NodeId;
use kflow::providers::{Providers, RetryConfig, SendgridConfig, TwilioConfig, WhatsappConfig};
use kflow::runtime::{
    Message, Outbound, RenderedHeader, RenderedTemplateButton, SendResult, StepRef,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "wa-secret-token";
const AUTH_TOKEN: &str = "authtok";
const SENDGRID_KEY: &str = "SG.secret-key";
const CALLBACK: &str = "run=7;node=3";
const WA_PATH: &str = "/v25.0/111/messages";
const TWILIO_PATH: &str = "/2010-04-01/Accounts/ACtest/Messages.json";

fn env(name: &str) -> Option<String> {
    match name {
        "WHATSAPP_TOKEN" => Some(TOKEN.to_owned()),
        "TWILIO_AUTH_TOKEN" => Some(AUTH_TOKEN.to_owned()),
        "TWILIO_API_KEY_SECRET" => Some("keysecret".to_owned()),
        "SENDGRID_API_KEY" => Some(SENDGRID_KEY.to_owned()),
        _ => None,
    }
}

/// Tiny backoffs so retries cost nothing; `max_attempts` as given.
fn retry(max_attempts: u32) -> RetryConfig {
    RetryConfig {
        max_attempts,
        base_delay_ms: 1,
        max_delay_ms: 2,
        request_timeout_ms: 5_000,
    }
}

fn whatsapp_config(server: &MockServer) -> WhatsappConfig {
    WhatsappConfig {
        base_url: server.uri(),
        api_version: "v25.0".to_owned(),
        phone_number_id: "111".to_owned(),
        numbers: BTreeMap::from([("+15550002222".to_owned(), "222".to_owned())]),
        messages_per_second: 80,
        token_env: "WHATSAPP_TOKEN".to_owned(),
    }
}

fn twilio_config(server: &MockServer) -> TwilioConfig {
    TwilioConfig {
        base_url: server.uri(),
        account_sid: "ACtest".to_owned(),
        from: Some("+15550009999".to_owned()),
        messaging_service_sid: None,
        status_callback: Some("https://kflow.example.com/webhooks/twilio/status?v=1".to_owned()),
        auth_token_env: "TWILIO_AUTH_TOKEN".to_owned(),
        api_key_sid: None,
        api_key_secret_env: "TWILIO_API_KEY_SECRET".to_owned(),
    }
}

fn sendgrid_config(server: &MockServer) -> SendgridConfig {
    SendgridConfig {
        base_url: server.uri(),
        from_email: "noreply@example.com".to_owned(),
        from_name: Some("Example Clinic".to_owned()),
        api_key_env: "SENDGRID_API_KEY".to_owned(),
    }
}

/// Every provider pointed at `server`, retrying up to `max_attempts` times.
fn providers(server: &MockServer, max_attempts: u32) -> Providers {
    Providers::new(
        &whatsapp_config(server),
        Some(&twilio_config(server)),
        Some(&sendgrid_config(server)),
        &retry(max_attempts),
        &env,
    )
    .unwrap_or_else(|e| panic!("config refused: {e}"))
}

fn outbound(to: &str, message: Message) -> Outbound {
    Outbound {
        step: StepRef {
            workflow: "book".to_owned(),
            run: 7,
            node: NodeId(3),
        },
        contact: "c1".to_owned(),
        to: to.to_owned(),
        message,
    }
}

fn cta(header: RenderedHeader, footer: Option<&str>, from: Option<&str>) -> Outbound {
    outbound(
        "+15551230000",
        Message::Cta {
            from: from.map(str::to_owned),
            header,
            body: "Pick a slot, Ana".to_owned(),
            footer: footer.map(str::to_owned),
            display_text: "Book now".to_owned(),
            url: "https://www.example.com/book?name=Ana".to_owned(),
            timeout_seconds: 3600,
        },
    )
}

fn wa_accepted(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": "+15551230000", "wa_id": "15551230000" }],
        "messages": [{ "id": id }]
    }))
}

fn wa_error(status: u16, code: u64, message: &str, details: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": { "messaging_product": "whatsapp", "details": details },
            "fbtrace_id": "AbCd"
        }
    }))
}

fn accepted(id: &str) -> SendResult {
    SendResult::Accepted {
        message_id: id.to_owned(),
    }
}

/// The requests `server` received.
async fn received(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_else(|| panic!("request recording is on by default"))
}

/// The one request `server` received.
async fn only_request(server: &MockServer) -> Request {
    let mut requests = received(server).await;
    assert_eq!(requests.len(), 1, "expected exactly one request");
    requests.remove(0)
}

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// A JSON POST to `path` with a bearer token and exactly `body`.
fn assert_json_post(request: &Request, path: &str, token: &str, body: &Value) {
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), path);
    assert_eq!(request.url.query(), None);
    assert_eq!(header(request, "authorization"), format!("Bearer {token}"));
    assert_eq!(header(request, "content-type"), "application/json");
    let actual: Value = request
        .body_json()
        .unwrap_or_else(|e| panic!("body is not JSON: {e}"));
    assert_eq!(&actual, body);
}

/// Serves `response` to WhatsApp sends, expecting `n` of them.
async fn mount_whatsapp(server: &MockServer, wa_path: &str, response: ResponseTemplate, n: u64) {
    Mock::given(method("POST"))
        .and(path(wa_path))
        .respond_with(response)
        .expect(n)
        .mount(server)
        .await;
}

fn interactive(header: Value, footer: Option<&str>, url: &str) -> Value {
    let mut interactive = json!({
        "type": "cta_url",
        "header": header,
        "body": { "text": "Pick a slot, Ana" },
        "action": {
            "name": "cta_url",
            "parameters": { "display_text": "Book now", "url": url }
        }
    });
    if let Some(f) = footer {
        interactive["footer"] = json!({ "text": f });
    }
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15551230000",
        "type": "interactive",
        "interactive": interactive,
        "biz_opaque_callback_data": CALLBACK
    })
}

/// Sends a CTA with `header` and checks the request carried `expected`.
async fn check_cta(header: RenderedHeader, footer: Option<&str>, expected: Value) {
    let server = MockServer::start().await;
    mount_whatsapp(&server, WA_PATH, wa_accepted("wamid.CTA"), 1).await;
    let result = providers(&server, 3)
        .send(&cta(header, footer, None), CALLBACK, None)
        .await;
    assert_eq!(result, accepted("wamid.CTA"));
    let request = only_request(&server).await;
    let url = "https://www.example.com/book?name=Ana";
    assert_json_post(
        &request,
        WA_PATH,
        TOKEN,
        &interactive(expected, footer, url),
    );
}

#[tokio::test]
async fn cta_with_a_text_header_and_a_footer() {
    check_cta(
        RenderedHeader::Text {
            text: "Hi Ana".to_owned(),
        },
        Some("Reply STOP to opt out"),
        json!({ "type": "text", "text": "Hi Ana" }),
    )
    .await;
}

#[tokio::test]
async fn cta_with_a_text_header_and_no_footer() {
    check_cta(
        RenderedHeader::Text {
            text: "Hi Ana".to_owned(),
        },
        None,
        json!({ "type": "text", "text": "Hi Ana" }),
    )
    .await;
}

#[tokio::test]
async fn cta_with_an_image_header() {
    check_cta(
        RenderedHeader::Image {
            link: "https://cdn.example.com/a.png".to_owned(),
        },
        None,
        json!({ "type": "image", "image": { "link": "https://cdn.example.com/a.png" } }),
    )
    .await;
}

#[tokio::test]
async fn cta_with_a_video_header() {
    check_cta(
        RenderedHeader::Video {
            link: "https://cdn.example.com/v.mp4".to_owned(),
        },
        Some("footer"),
        json!({ "type": "video", "video": { "link": "https://cdn.example.com/v.mp4" } }),
    )
    .await;
}

#[tokio::test]
async fn cta_with_a_document_header() {
    check_cta(
        RenderedHeader::Document {
            link: "https://cdn.example.com/menu.pdf".to_owned(),
        },
        None,
        json!({ "type": "document", "document": { "link": "https://cdn.example.com/menu.pdf" } }),
    )
    .await;
}

#[tokio::test]
async fn the_tracked_url_replaces_the_cta_url_and_from_picks_the_number() {
    let server = MockServer::start().await;
    mount_whatsapp(&server, "/v25.0/222/messages", wa_accepted("wamid.FROM"), 1).await;
    let header = RenderedHeader::Text {
        text: "Hi".to_owned(),
    };
    let tracked = "https://kflow.example.com/l/Zx9";
    let result = providers(&server, 3)
        .send(
            &cta(header, None, Some("+1 555 000 2222")),
            CALLBACK,
            Some(tracked),
        )
        .await;
    assert_eq!(result, accepted("wamid.FROM"));
    let request = only_request(&server).await;
    let expected = interactive(json!({ "type": "text", "text": "Hi" }), None, tracked);
    assert_json_post(&request, "/v25.0/222/messages", TOKEN, &expected);
}

#[tokio::test]
async fn free_form_text() {
    let server = MockServer::start().await;
    mount_whatsapp(&server, WA_PATH, wa_accepted("wamid.TXT"), 1).await;
    let out = outbound(
        "+15551230000",
        Message::Whatsapp {
            body: "See you at 3pm".to_owned(),
        },
    );
    assert_eq!(
        providers(&server, 3).send(&out, CALLBACK, None).await,
        accepted("wamid.TXT")
    );
    let expected = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15551230000",
        "type": "text",
        "text": { "body": "See you at 3pm" },
        "biz_opaque_callback_data": CALLBACK
    });
    assert_json_post(&only_request(&server).await, WA_PATH, TOKEN, &expected);
}

fn template(params: &[&str]) -> Outbound {
    outbound(
        "+15551230000",
        Message::Template {
            name: "appointment_reminder".to_owned(),
            language: "en_US".to_owned(),
            category: "utility".to_owned(),
            params: params.iter().map(|p| (*p).to_owned()).collect(),
            header: None,
            buttons: Vec::new(),
        },
    )
}

/// A template with every kind of parameter: the reference's §3 send shape,
/// components in header, body, buttons order, `index` a string.
#[tokio::test]
async fn template_with_header_and_button_parameters() {
    let server = MockServer::start().await;
    mount_whatsapp(&server, WA_PATH, wa_accepted("wamid.TPLB"), 1).await;
    let out = outbound(
        "+15551230000",
        Message::Template {
            name: "visit_reminder".to_owned(),
            language: "en_US".to_owned(),
            category: "utility".to_owned(),
            params: vec!["Ana".to_owned()],
            header: Some(RenderedHeader::Image {
                link: "https://cdn.example.com/clinic.png".to_owned(),
            }),
            buttons: vec![
                RenderedTemplateButton::Url {
                    index: 0,
                    text: "visit/c%201".to_owned(),
                },
                RenderedTemplateButton::QuickReply {
                    index: 1,
                    payload: "confirm".to_owned(),
                },
            ],
        },
    );
    let result = providers(&server, 3).send(&out, CALLBACK, None).await;
    assert_eq!(result, accepted("wamid.TPLB"));
    let expected = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15551230000",
        "type": "template",
        "template": {
            "name": "visit_reminder",
            "language": { "code": "en_US" },
            "components": [
                { "type": "header", "parameters": [
                    { "type": "image", "image": { "link": "https://cdn.example.com/clinic.png" } }
                ] },
                { "type": "body", "parameters": [{ "type": "text", "text": "Ana" }] },
                { "type": "button", "sub_type": "url", "index": "0",
                  "parameters": [{ "type": "text", "text": "visit/c%201" }] },
                { "type": "button", "sub_type": "quick_reply", "index": "1",
                  "parameters": [{ "type": "payload", "payload": "confirm" }] }
            ]
        },
        "biz_opaque_callback_data": CALLBACK
    });
    assert_json_post(&only_request(&server).await, WA_PATH, TOKEN, &expected);
}

#[tokio::test]
async fn template_with_body_parameters() {
    let server = MockServer::start().await;
    mount_whatsapp(&server, WA_PATH, wa_accepted("wamid.TPL"), 1).await;
    let result = providers(&server, 3)
        .send(&template(&["Ana", "3pm"]), CALLBACK, None)
        .await;
    assert_eq!(result, accepted("wamid.TPL"));
    let expected = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15551230000",
        "type": "template",
        "template": {
            "name": "appointment_reminder",
            "language": { "code": "en_US" },
            "components": [{
                "type": "body",
                "parameters": [
                    { "type": "text", "text": "Ana" },
                    { "type": "text", "text": "3pm" }
                ]
            }]
        },
        "biz_opaque_callback_data": CALLBACK
    });
    assert_json_post(&only_request(&server).await, WA_PATH, TOKEN, &expected);
}

#[tokio::test]
async fn template_without_parameters_has_no_components() {
    let server = MockServer::start().await;
    mount_whatsapp(&server, WA_PATH, wa_accepted("wamid.TPL0"), 1).await;
    let result = providers(&server, 3).send(&template(&[]), "", None).await;
    assert_eq!(result, accepted("wamid.TPL0"));
    // No callback data: no `biz_opaque_callback_data` either.
    let expected = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15551230000",
        "type": "template",
        "template": { "name": "appointment_reminder", "language": { "code": "en_US" } }
    });
    assert_json_post(&only_request(&server).await, WA_PATH, TOKEN, &expected);
}

/// The form fields of a request, in order.
fn form(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn sms(from: Option<&str>) -> Outbound {
    outbound(
        "+15551230000",
        Message::Sms {
            body: "Still want a slot? & more".to_owned(),
            from: from.map(str::to_owned),
        },
    )
}

fn twilio_created(sid: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({ "sid": sid, "status": "queued" }))
}

#[tokio::test]
async fn sms_is_a_form_post_with_basic_auth_and_the_callback_data() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TWILIO_PATH))
        .respond_with(twilio_created("SM123"))
        .expect(1)
        .mount(&server)
        .await;
    let result = providers(&server, 3).send(&sms(None), CALLBACK, None).await;
    assert_eq!(result, accepted("SM123"));
    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), TWILIO_PATH);
    // base64("ACtest:authtok")
    assert_eq!(
        header(&request, "authorization"),
        "Basic QUN0ZXN0OmF1dGh0b2s="
    );
    assert_eq!(
        header(&request, "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        form(&request),
        pairs(&[
            ("To", "+15551230000"),
            ("From", "+15550009999"),
            ("Body", "Still want a slot? & more"),
            (
                "StatusCallback",
                "https://kflow.example.com/webhooks/twilio/status?v=1&kflow=run%3D7%3Bnode%3D3"
            ),
        ])
    );
}

#[tokio::test]
async fn sms_with_an_api_key_a_messaging_service_and_the_step_sender() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TWILIO_PATH))
        .respond_with(twilio_created("SM456"))
        .expect(1)
        .mount(&server)
        .await;
    let twilio = TwilioConfig {
        from: None,
        messaging_service_sid: Some("MGabc".to_owned()),
        status_callback: None,
        api_key_sid: Some("SKkey".to_owned()),
        ..twilio_config(&server)
    };
    let providers = Providers::new(
        &whatsapp_config(&server),
        Some(&twilio),
        None,
        &retry(3),
        &env,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let result = providers.send(&sms(Some("KFLOW")), CALLBACK, None).await;
    assert_eq!(result, accepted("SM456"));
    let request = only_request(&server).await;
    // base64("SKkey:keysecret")
    assert_eq!(
        header(&request, "authorization"),
        "Basic U0trZXk6a2V5c2VjcmV0"
    );
    assert_eq!(
        form(&request),
        pairs(&[
            ("To", "+15551230000"),
            ("From", "KFLOW"),
            ("MessagingServiceSid", "MGabc"),
            ("Body", "Still want a slot? & more"),
        ])
    );
}

fn email(from: Option<&str>) -> Outbound {
    outbound(
        "ana@example.com",
        Message::Email {
            subject: "Your booking".to_owned(),
            body: "Pick a slot: https://www.example.com/book".to_owned(),
            from: from.map(str::to_owned),
        },
    )
}

#[tokio::test]
async fn email_is_a_json_post_with_a_bearer_key_and_custom_args() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "sg-abc"))
        .expect(1)
        .mount(&server)
        .await;
    let result = providers(&server, 3)
        .send(&email(None), CALLBACK, None)
        .await;
    assert_eq!(result, accepted("sg-abc"));
    let expected = json!({
        "personalizations": [{ "to": [{ "email": "ana@example.com" }] }],
        "from": { "email": "noreply@example.com", "name": "Example Clinic" },
        "subject": "Your booking",
        "content": [{ "type": "text/plain", "value": "Pick a slot: https://www.example.com/book" }],
        "custom_args": { "kflow": CALLBACK }
    });
    assert_json_post(
        &only_request(&server).await,
        "/v3/mail/send",
        SENDGRID_KEY,
        &expected,
    );
}

#[tokio::test]
async fn email_without_a_message_id_header_gets_a_generated_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let result = providers(&server, 3)
        .send(&email(Some("desk@example.com")), CALLBACK, None)
        .await;
    let SendResult::Accepted { message_id } = result else {
        panic!("expected Accepted, got {result:?}");
    };
    assert!(message_id.starts_with("kflow-email-"), "{message_id}");
    let body: Value = only_request(&server)
        .await
        .body_json()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body["from"], json!({ "email": "desk@example.com" }));
}

/// Asserts a `Failed` with `code` whose reason contains each of `parts`.
fn assert_failed(result: &SendResult, code: Option<&str>, parts: &[&str]) {
    let SendResult::Failed { code: got, reason } = result else {
        panic!("expected Failed, got {result:?}");
    };
    assert_eq!(got.as_deref(), code, "{reason}");
    for part in parts {
        assert!(reason.contains(part), "{reason:?} lacks {part:?}");
    }
}

fn hi() -> Outbound {
    cta(
        RenderedHeader::Text {
            text: "Hi".to_owned(),
        },
        None,
        None,
    )
}

#[tokio::test]
async fn window_closed_131047_fails_after_one_request() {
    let server = MockServer::start().await;
    let response = wa_error(
        400,
        131047,
        "(#131047) Re-engagement message",
        "More than 24 hours have passed since the recipient last replied to the sender number.",
    );
    mount_whatsapp(&server, WA_PATH, response, 1).await;
    let result = providers(&server, 4).send(&hi(), CALLBACK, None).await;
    assert_failed(
        &result,
        Some("131047"),
        &[
            "WhatsApp error 131047 (HTTP 400)",
            "Re-engagement message",
            "More than 24 hours have passed",
        ],
    );
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn undeliverable_131026_fails_after_one_request() {
    let server = MockServer::start().await;
    let response = wa_error(
        400,
        131026,
        "(#131026) Message undeliverable",
        "not a WhatsApp user",
    );
    mount_whatsapp(&server, WA_PATH, response, 1).await;
    let result = providers(&server, 4).send(&hi(), CALLBACK, None).await;
    assert_failed(&result, Some("131026"), &["Message undeliverable"]);
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn a_bad_token_fails_after_one_request() {
    let server = MockServer::start().await;
    let response = wa_error(401, 190, "Invalid OAuth access token", "");
    mount_whatsapp(&server, WA_PATH, response, 1).await;
    let result = providers(&server, 4).send(&hi(), CALLBACK, None).await;
    assert_failed(
        &result,
        Some("190"),
        &["HTTP 401", "Invalid OAuth access token"],
    );
}

#[tokio::test]
async fn a_429_is_retried_then_accepted_after_two_requests() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(WA_PATH))
        .respond_with(wa_error(429, 130429, "(#130429) Rate limit hit", ""))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_whatsapp(&server, WA_PATH, wa_accepted("wamid.LATE"), 1).await;
    let result = providers(&server, 4).send(&hi(), CALLBACK, None).await;
    assert_eq!(result, accepted("wamid.LATE"));
    let requests = received(&server).await;
    assert_eq!(requests.len(), 2);
    // The retry is the same request.
    assert_eq!(requests[0].body, requests[1].body);
}

#[tokio::test]
async fn a_temporary_code_under_a_400_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(WA_PATH))
        .respond_with(wa_error(400, 131000, "(#131000) Something went wrong", ""))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_whatsapp(&server, WA_PATH, wa_accepted("wamid.OK"), 1).await;
    let result = providers(&server, 4).send(&hi(), CALLBACK, None).await;
    assert_eq!(result, accepted("wamid.OK"));
}

#[tokio::test]
async fn server_errors_are_retried_max_attempts_times_then_fail() {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(500).set_body_string("upstream broke");
    mount_whatsapp(&server, WA_PATH, response, 3).await;
    let result = providers(&server, 3).send(&hi(), CALLBACK, None).await;
    assert_failed(
        &result,
        None,
        &[
            "WhatsApp answered HTTP 500: upstream broke",
            "gave up after 3 attempts",
        ],
    );
    assert_eq!(received(&server).await.len(), 3);
}

/// A worker that lost the contact (its lease ran out while the first
/// request was out) makes no second request: the worker that took the
/// contact over has already counted the send in doubt.
#[tokio::test]
async fn no_retry_once_the_send_is_no_longer_ours() {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(500).set_body_string("upstream broke");
    mount_whatsapp(&server, WA_PATH, response, 1).await;
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let keep_trying = || {
        asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        false
    };
    let result = providers(&server, 3)
        .send_while(&hi(), CALLBACK, None, &keep_trying)
        .await;
    assert_failed(
        &result,
        None,
        &[
            "WhatsApp answered HTTP 500: upstream broke",
            "not tried again: the send is no longer this process's to make",
        ],
    );
    assert_eq!(received(&server).await.len(), 1);
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn exhausted_retries_keep_the_last_code() {
    let server = MockServer::start().await;
    let response = wa_error(503, 131016, "(#131016) Service unavailable", "");
    mount_whatsapp(&server, WA_PATH, response, 2).await;
    let result = providers(&server, 2).send(&hi(), CALLBACK, None).await;
    assert_failed(
        &result,
        Some("131016"),
        &["Service unavailable", "gave up after 2 attempts"],
    );
}

/// Providers whose requests time out after 200 ms.
fn impatient(server: &MockServer, max_attempts: u32) -> Providers {
    let retry = RetryConfig {
        request_timeout_ms: 200,
        ..retry(max_attempts)
    };
    Providers::new(&whatsapp_config(server), None, None, &retry, &env)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(WA_PATH))
        .respond_with(wa_accepted("wamid.SLOW").set_delay(std::time::Duration::from_secs(3)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_whatsapp(&server, WA_PATH, wa_accepted("wamid.FAST"), 1).await;
    let result = impatient(&server, 3).send(&hi(), CALLBACK, None).await;
    assert_eq!(result, accepted("wamid.FAST"));
}

#[tokio::test]
async fn timeouts_on_every_attempt_fail() {
    let server = MockServer::start().await;
    let slow = wa_accepted("wamid.SLOW").set_delay(std::time::Duration::from_secs(3));
    mount_whatsapp(&server, WA_PATH, slow, 2).await;
    let result = impatient(&server, 2).send(&hi(), CALLBACK, None).await;
    assert_failed(
        &result,
        None,
        &[
            "WhatsApp did not answer within 200 ms",
            "gave up after 2 attempts",
        ],
    );
}

#[tokio::test]
async fn an_unreachable_provider_is_retried_then_fails() {
    // A loopback port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let config = WhatsappConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        ..whatsapp_config(&MockServer::start().await)
    };
    let providers =
        Providers::new(&config, None, None, &retry(2), &env).unwrap_or_else(|e| panic!("{e}"));
    let result = providers.send(&hi(), CALLBACK, None).await;
    assert_failed(
        &result,
        None,
        &["WhatsApp could not be reached", "gave up after 2 attempts"],
    );
}

#[tokio::test]
async fn an_unknown_from_number_fails_without_a_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(wa_accepted("wamid.NO"))
        .expect(0)
        .mount(&server)
        .await;
    let header = RenderedHeader::Text {
        text: "Hi".to_owned(),
    };
    let result = providers(&server, 3)
        .send(&cta(header, None, Some("+15550003333")), CALLBACK, None)
        .await;
    assert_failed(
        &result,
        None,
        &[
            "no WhatsApp business number is configured for from +15550003333",
            "+15550002222",
        ],
    );
}

#[tokio::test]
async fn an_accepted_answer_without_an_id_is_not_retried() {
    let server = MockServer::start().await;
    let response =
        ResponseTemplate::new(200).set_body_json(json!({ "messaging_product": "whatsapp" }));
    mount_whatsapp(&server, WA_PATH, response, 1).await;
    let result = providers(&server, 4).send(&hi(), CALLBACK, None).await;
    assert_failed(&result, None, &["without messages[0].id", "not retried"]);
}

#[tokio::test]
async fn twilio_refusals_are_final_and_carry_the_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TWILIO_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 21211,
            "message": "The 'To' number +15551230000 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400
        })))
        .expect(1)
        .mount(&server)
        .await;
    let result = providers(&server, 4).send(&sms(None), CALLBACK, None).await;
    assert_failed(
        &result,
        Some("21211"),
        &[
            "Twilio error 21211 (HTTP 400)",
            "is not a valid phone number",
        ],
    );
}

#[tokio::test]
async fn twilio_server_errors_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TWILIO_PATH))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TWILIO_PATH))
        .respond_with(twilio_created("SM789"))
        .expect(1)
        .mount(&server)
        .await;
    let result = providers(&server, 4).send(&sms(None), CALLBACK, None).await;
    assert_eq!(result, accepted("SM789"));
}

#[tokio::test]
async fn sendgrid_refusals_are_final() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errors": [{ "message": "The from address does not match a verified Sender Identity.", "field": "from", "help": null }]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let result = providers(&server, 4)
        .send(&email(None), CALLBACK, None)
        .await;
    assert_failed(
        &result,
        None,
        &[
            "SendGrid answered HTTP 400",
            "verified Sender Identity. (from)",
        ],
    );
}

#[tokio::test]
async fn sendgrid_429_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "sg-2"))
        .expect(1)
        .mount(&server)
        .await;
    let result = providers(&server, 4)
        .send(&email(None), CALLBACK, None)
        .await;
    assert_eq!(result, accepted("sg-2"));
}

#[tokio::test]
async fn unconfigured_channels_fail_without_a_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let providers = Providers::new(&whatsapp_config(&server), None, None, &retry(3), &env)
        .unwrap_or_else(|e| panic!("{e}"));
    let result = providers.send(&sms(None), CALLBACK, None).await;
    assert_failed(&result, None, &["SMS has no provider configured"]);
    let result = providers.send(&email(None), CALLBACK, None).await;
    assert_failed(&result, None, &["email has no provider configured"]);
}

#[tokio::test]
async fn sends_over_the_throughput_limit_wait_instead_of_failing() {
    let server = MockServer::start().await;
    mount_whatsapp(&server, WA_PATH, wa_accepted("wamid.N"), 25).await;
    let config = WhatsappConfig {
        messages_per_second: 20,
        ..whatsapp_config(&server)
    };
    let providers =
        Providers::new(&config, None, None, &retry(1), &env).unwrap_or_else(|e| panic!("{e}"));
    let start = std::time::Instant::now();
    for _ in 0..25 {
        assert_eq!(
            providers.send(&hi(), CALLBACK, None).await,
            accepted("wamid.N")
        );
    }
    // A burst of 20, then one every 50 ms: at least 250 ms for the last 5.
    // (A lower bound only, which a slow machine cannot break.)
    assert!(start.elapsed() >= std::time::Duration::from_millis(200));
}

#[test]
fn secrets_come_from_the_environment_and_never_show() {
    let server_uri = "http://127.0.0.1:9";
    let whatsapp = WhatsappConfig {
        base_url: server_uri.to_owned(),
        api_version: "v25.0".to_owned(),
        phone_number_id: "111".to_owned(),
        numbers: BTreeMap::new(),
        messages_per_second: 80,
        token_env: "WHATSAPP_TOKEN".to_owned(),
    };
    let none = |_: &str| None;
    let err = Providers::new(&whatsapp, None, None, &RetryConfig::default(), &none)
        .map(|_| ())
        .expect_err("the configuration must be refused");
    assert_eq!(
        err.to_string(),
        "whatsapp.token_env: the environment variable WHATSAPP_TOKEN is not set"
    );
    let providers = Providers::new(&whatsapp, None, None, &RetryConfig::default(), &env)
        .unwrap_or_else(|e| panic!("{e}"));
    let debug = format!("{providers:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
}

#[test]
fn bad_configurations_are_refused_at_start() {
    let base = WhatsappConfig {
        base_url: "http://127.0.0.1:9".to_owned(),
        api_version: "v25.0".to_owned(),
        phone_number_id: "111".to_owned(),
        numbers: BTreeMap::new(),
        messages_per_second: 80,
        token_env: "WHATSAPP_TOKEN".to_owned(),
    };
    let refused = |w: &WhatsappConfig, r: &RetryConfig| {
        Providers::new(w, None, None, r, &env)
            .map(|_| ())
            .expect_err("the configuration must be refused")
            .to_string()
    };
    let ok = RetryConfig::default();
    let zero_rate = WhatsappConfig {
        messages_per_second: 0,
        ..base.clone()
    };
    assert!(refused(&zero_rate, &ok).contains("messages_per_second"));
    let bad_number = WhatsappConfig {
        numbers: BTreeMap::from([("5550002222".to_owned(), "222".to_owned())]),
        ..base.clone()
    };
    assert!(refused(&bad_number, &ok).contains("not an E.164 number"));
    let bad_url = WhatsappConfig {
        base_url: "graph.facebook.com".to_owned(),
        ..base.clone()
    };
    assert!(refused(&bad_url, &ok).contains("whatsapp.base_url"));
    let no_attempts = RetryConfig {
        max_attempts: 0,
        ..ok
    };
    assert!(refused(&base, &no_attempts).contains("max_attempts"));
}

#[test]
fn configs_deserialize_with_documented_defaults() {
    let whatsapp: WhatsappConfig = serde_json::from_value(json!({ "phone_number_id": "111" }))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(whatsapp.base_url, "https://graph.facebook.com");
    assert_eq!(whatsapp.api_version, "v25.0");
    assert_eq!(whatsapp.messages_per_second, 80);
    assert_eq!(whatsapp.token_env, "WHATSAPP_TOKEN");
    assert!(whatsapp.numbers.is_empty());
    let twilio: TwilioConfig =
        serde_json::from_value(json!({ "account_sid": "AC1", "from": "+15550009999" }))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(twilio.base_url, "https://api.twilio.com");
    assert_eq!(twilio.auth_token_env, "TWILIO_AUTH_TOKEN");
    let sendgrid: SendgridConfig = serde_json::from_value(json!({ "from_email": "a@example.com" }))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sendgrid.base_url, "https://api.sendgrid.com");
    assert_eq!(sendgrid.api_key_env, "SENDGRID_API_KEY");
    let retry: RetryConfig =
        serde_json::from_value(json!({ "max_attempts": 2 })).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        retry,
        RetryConfig {
            max_attempts: 2,
            ..RetryConfig::default()
        }
    );
    assert!(serde_json::from_value::<RetryConfig>(json!({ "max_attempt": 2 })).is_err());
}

/// `Host::send` needs a `Send` future; so does the service's host.
#[test]
fn sends_are_send_futures() {
    fn is_send<T: Send>(_: &T) {}
    let whatsapp: WhatsappConfig = serde_json::from_value(json!({
        "phone_number_id": "111", "base_url": "http://127.0.0.1:9"
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let providers = Providers::new(&whatsapp, None, None, &RetryConfig::default(), &env)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = hi();
    let future = providers.send(&out, "", None);
    is_send(&future);
}
