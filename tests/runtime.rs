//! The interpreter through its public API: the seed workflow's every branch
//! with a recording host on a virtual clock, asserting the exact sends, their
//! times and rendered payloads.

use chrono::{DateTime, Duration, TimeZone, Utc};
use kflow::ir::Channel;
use kflow::runtime::{
    Contact, Engine, Event, Host, Message, Outbound, RenderedHeader, SendResult, SimHost, StepRef,
    TraceKind, VirtualClock,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn engine_for(example: &str) -> Engine<SimHost> {
    let path = format!("{}/examples/{example}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("example exists");
    engine_for_source(example, text)
}

/// An engine running `text` (warnings allowed), with Ana as its contact.
fn engine_for_source(name: &str, text: String) -> Engine<SimHost> {
    let source = kflow::SourceFile::new(name, text).expect("small");
    let program = kflow::compile(&source).expect("example compiles");
    let mut engine = Engine::new(SimHost::new(VirtualClock::new(t0())));
    engine.load(program).expect("valid IR");
    let mut ana = Contact::new("ana");
    ana.phone = Some("+15551230000".into());
    ana.email = Some("ana@example.com".into());
    ana.fields.insert("first_name".into(), "Ana".into());
    ana.fields.insert("name".into(), "Ana Silva".into());
    engine.upsert_contact(ana);
    engine.set_custom_value("agent_calendar", "dr lee&co");
    engine
}

async fn reply(engine: &mut Engine<SimHost>, channel: Channel) {
    engine
        .handle(Event::Reply {
            contact: "ana".into(),
            channel,
        })
        .await;
}

async fn at(engine: &mut Engine<SimHost>, offset: Duration) {
    let clock = engine.host().clock().clone();
    engine.advance(&clock, t0() + offset).await;
}

/// (minutes after t0, kind) for every send.
fn sends(engine: &Engine<SimHost>) -> Vec<(i64, &'static str)> {
    engine
        .host()
        .sent()
        .iter()
        .map(|s| ((s.at - t0()).num_minutes(), s.outbound.message.kind()))
        .collect()
}

#[tokio::test]
async fn seed_cta_is_rendered_with_encoded_variables() {
    let mut engine = engine_for("booking_cta.kflow");
    reply(&mut engine, Channel::Whatsapp).await;
    let sent = engine.host().sent();
    assert_eq!(sent.len(), 1);
    let cta = &sent[0];
    assert_eq!(cta.at, t0());
    assert_eq!(cta.outbound.to, "+15551230000");
    assert_eq!(cta.outbound.step.workflow, "WhatsApp booking CTA");
    assert_eq!(
        cta.outbound.message,
        Message::Cta {
            from: Some("+15550100001".into()),
            header: RenderedHeader::Image {
                link: "https://cdn.example.com/booking.png".into()
            },
            body: "Hi Ana, pick a time that suits you.".into(),
            footer: Some("Kyrios Dental".into()),
            display_text: "Book now".into(),
            url: "https://www.example.com/?name=Ana%20Silva&calendar=dr%20lee%26co".into(),
            timeout_seconds: 1800,
        }
    );
    assert_eq!(
        engine.stats().active,
        1,
        "the run waits for the CTA's outcome"
    );
}

#[tokio::test]
async fn seed_link_opened_tags_and_ends() {
    let mut engine = engine_for("booking_cta.kflow");
    reply(&mut engine, Channel::Whatsapp).await;
    at(&mut engine, Duration::minutes(12)).await;
    engine
        .handle(Event::LinkOpened {
            message_id: "msg-1".into(),
        })
        .await;
    let tags = engine.host().tags();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].tag, "clicked-booking");
    assert_eq!(tags[0].at, t0() + Duration::minutes(12));
    assert!(
        engine
            .contact("ana")
            .is_some_and(|c| c.tags.contains("clicked-booking"))
    );
    // The timeout no longer fires, and the run has ended.
    at(&mut engine, Duration::hours(2)).await;
    assert_eq!(sends(&engine), vec![(0, "cta")]);
    assert_eq!(engine.stats().active, 0);
}

#[tokio::test]
async fn seed_delivery_failure_falls_back_to_email() {
    let mut engine = engine_for("booking_cta.kflow");
    reply(&mut engine, Channel::Whatsapp).await;
    at(&mut engine, Duration::minutes(1)).await;
    fail(&mut engine, "131026 undeliverable").await;
    assert_eq!(sends(&engine), vec![(0, "cta"), (1, "email")]);
    let email = &engine.host().sent()[1];
    assert_eq!(email.outbound.to, "ana@example.com");
    assert!(
        matches!(&email.outbound.message, Message::Email { subject, .. } if subject == "Your booking link")
    );
    at(&mut engine, Duration::hours(1)).await;
    assert_eq!(sends(&engine).len(), 2, "the timeout does not also fire");
}

#[tokio::test]
async fn seed_provider_refusal_is_not_delivered() {
    let mut engine = engine_for("booking_cta.kflow");
    engine.host().fail_sends(
        "cta",
        Some("131047"),
        "Re-engagement message: more than 24 hours have passed",
    );
    reply(&mut engine, Channel::Whatsapp).await;
    let sent = engine.host().sent();
    assert_eq!(sends(&engine), vec![(0, "cta"), (0, "email")]);
    assert!(matches!(&sent[0].result, SendResult::Failed { code: Some(c), .. } if c == "131047"));
    assert_eq!(engine.stats().active, 0);
}

#[tokio::test]
async fn seed_timeout_sends_sms_and_expires_the_link() {
    let mut engine = engine_for("booking_cta.kflow");
    reply(&mut engine, Channel::Whatsapp).await;
    at(&mut engine, Duration::minutes(29)).await;
    assert_eq!(sends(&engine), vec![(0, "cta")]);
    at(&mut engine, Duration::minutes(30)).await;
    assert_eq!(sends(&engine), vec![(0, "cta"), (30, "sms")]);
    let sms = &engine.host().sent()[1];
    assert_eq!(sms.at, t0() + Duration::minutes(30));
    assert_eq!(
        sms.outbound.message,
        Message::Sms {
            body: "Still want a slot? Reply YES.".into(),
            from: None
        }
    );
    // Opening the link after the timeout changes nothing.
    engine
        .handle(Event::LinkOpened {
            message_id: "msg-1".into(),
        })
        .await;
    assert!(engine.host().tags().is_empty());
    assert!(
        engine
            .host()
            .trace()
            .iter()
            .any(|e| matches!(&e.kind, TraceKind::Ignored { event, .. } if event == "link opened"))
    );
}

#[tokio::test]
async fn only_the_first_outcome_counts() {
    let mut engine = engine_for("booking_cta.kflow");
    reply(&mut engine, Channel::Whatsapp).await;
    engine
        .handle(Event::LinkOpened {
            message_id: "msg-1".into(),
        })
        .await;
    fail(&mut engine, "late failure").await;
    assert_eq!(sends(&engine), vec![(0, "cta")]);
    assert_eq!(engine.host().tags().len(), 1);
}

#[tokio::test]
async fn a_reply_during_a_run_refreshes_the_window_but_starts_no_second_run() {
    let mut engine = engine_for("booking_cta.kflow");
    reply(&mut engine, Channel::Whatsapp).await;
    at(&mut engine, Duration::minutes(5)).await;
    reply(&mut engine, Channel::Whatsapp).await;
    assert_eq!(engine.stats().started, 1);
    assert_eq!(
        engine.contact("ana").and_then(|c| c.last_whatsapp_inbound),
        Some(t0() + Duration::minutes(5))
    );
    // After the run ends, the next reply starts a new one.
    at(&mut engine, Duration::minutes(40)).await;
    reply(&mut engine, Channel::Whatsapp).await;
    assert_eq!(engine.stats().started, 2);
}

#[tokio::test]
async fn an_sms_reply_during_a_run_neither_refreshes_the_window_nor_says_so() {
    let mut engine = engine_for("sms_trigger_window_check.kflow");
    let opened = t0() - Duration::hours(1);
    let mut ana = engine.contact("ana").cloned().expect("ana");
    ana.last_whatsapp_inbound = Some(opened);
    engine.upsert_contact(ana);
    reply(&mut engine, Channel::Sms).await;
    assert_eq!(
        sends(&engine),
        [(0, "cta")],
        "the window was open: the CTA waits"
    );
    at(&mut engine, Duration::minutes(5)).await;
    reply(&mut engine, Channel::Sms).await;
    assert_eq!(engine.stats().started, 1);
    assert_eq!(
        engine.contact("ana").and_then(|c| c.last_whatsapp_inbound),
        Some(opened),
        "an SMS is not a WhatsApp message"
    );
    let reasons = ignored_reasons_of(&engine, "reply on sms");
    assert_eq!(
        reasons,
        ["a run of this workflow from `on reply sms` is already in progress for this contact"]
    );
}

#[tokio::test]
async fn a_wait_that_ends_early_stops_counting_as_a_timer() {
    let mut engine = engine_for("booking_cta.kflow");
    for i in 0..600 {
        let id = format!("c{i}");
        let mut contact = Contact::new(id.as_str());
        contact.phone = Some(format!("+1555123{i:04}"));
        engine.upsert_contact(contact);
        engine
            .handle(Event::Reply {
                contact: id,
                channel: Channel::Whatsapp,
            })
            .await;
    }
    assert_eq!(engine.stats().timers, 600, "every CTA waits with a timeout");
    let ids: Vec<String> = engine
        .host()
        .sent()
        .iter()
        .filter_map(|s| match &s.result {
            SendResult::Accepted { message_id } => Some(message_id.clone()),
            SendResult::Failed { .. } => None,
        })
        .collect();
    assert_eq!(ids.len(), 600);
    for message_id in ids.iter().step_by(2) {
        engine
            .handle(Event::LinkOpened {
                message_id: message_id.clone(),
            })
            .await;
    }
    let stats = engine.stats();
    assert_eq!(stats.timers, 300, "the 300 opened CTAs wait no more");
    assert_eq!(stats.active, 300);
    // The rest time out as before, and then nothing is left.
    at(&mut engine, Duration::minutes(31)).await;
    assert_eq!(engine.stats().timers, 0);
    assert_eq!(engine.stats().active, 0);
}

#[tokio::test]
async fn window_closed_after_a_day_sends_the_template() {
    let mut engine = engine_for("window_closed_template.kflow");
    engine.set_custom_value("clinic_phone", "+1 555 0100");
    reply(&mut engine, Channel::Whatsapp).await;
    at(&mut engine, Duration::days(1)).await;
    assert_eq!(sends(&engine), vec![(0, "whatsapp"), (24 * 60, "template")]);
    let template = &engine.host().sent()[1];
    assert_eq!(
        template.outbound.message,
        Message::Template {
            name: "appointment_reminder".into(),
            language: "en_US".into(),
            category: "utility".into(),
            params: vec!["Ana".into(), "+1 555 0100".into()],
            header: None,
            buttons: Vec::new(),
        }
    );
}

#[tokio::test]
async fn window_reopened_by_a_reply_sends_a_session_message() {
    let mut engine = engine_for("window_closed_template.kflow");
    reply(&mut engine, Channel::Whatsapp).await;
    at(&mut engine, Duration::hours(20)).await;
    reply(&mut engine, Channel::Whatsapp).await;
    at(&mut engine, Duration::days(1)).await;
    assert_eq!(sends(&engine), vec![(0, "whatsapp"), (24 * 60, "whatsapp")]);
}

#[tokio::test]
async fn sms_trigger_with_closed_window_stays_on_sms() {
    let mut engine = engine_for("sms_trigger_window_check.kflow");
    reply(&mut engine, Channel::Sms).await;
    assert_eq!(sends(&engine), vec![(0, "sms")]);
}

#[tokio::test]
async fn send_time_window_check_refuses_a_stale_window() {
    // The contact wrote on WhatsApp 23h59m before the SMS; the check passes
    // and the CTA goes out. A minute later it would not.
    let mut engine = engine_for("sms_trigger_window_check.kflow");
    let mut ana = engine.contact("ana").cloned().expect("ana");
    ana.last_whatsapp_inbound = Some(t0() - Duration::hours(23) - Duration::minutes(59));
    engine.upsert_contact(ana.clone());
    reply(&mut engine, Channel::Sms).await;
    assert_eq!(sends(&engine), vec![(0, "cta")]);

    let mut late = engine_for("sms_trigger_window_check.kflow");
    ana.last_whatsapp_inbound = Some(t0() - Duration::hours(24));
    late.upsert_contact(ana);
    reply(&mut late, Channel::Sms).await;
    assert_eq!(sends(&late), vec![(0, "sms")]);
}

/// The seed workflow with its first-name fallback taken out.
fn booking_without_fallback() -> String {
    let path = format!("{}/examples/booking_cta.kflow", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("example exists");
    assert!(text.contains("{{contact.first_name | there}}"));
    text.replace("{{contact.first_name | there}}", "{{contact.first_name}}")
}

#[tokio::test]
async fn a_missing_value_renders_empty_and_is_traced() {
    let mut engine = engine_for_source("booking_cta.kflow", booking_without_fallback());
    let mut ana = engine.contact("ana").cloned().expect("ana");
    ana.fields.remove("first_name");
    engine.upsert_contact(ana);
    reply(&mut engine, Channel::Whatsapp).await;
    let sent = engine.host().sent();
    assert!(
        matches!(&sent[0].outbound.message, Message::Cta { body, .. } if body == "Hi , pick a time that suits you.")
    );
    assert!(engine.host().trace().iter().any(
        |e| matches!(&e.kind, TraceKind::MissingValue { var } if var == "contact.first_name")
    ));
}

#[tokio::test]
async fn a_fallback_fills_a_missing_or_blank_value() {
    for first_name in [None, Some(""), Some("  ")] {
        let mut engine = engine_for("booking_cta.kflow");
        let mut ana = engine.contact("ana").cloned().expect("ana");
        match first_name {
            None => ana.fields.remove("first_name"),
            Some(blank) => ana.fields.insert("first_name".into(), blank.into()),
        };
        ana.fields.remove("name");
        engine.upsert_contact(ana);
        reply(&mut engine, Channel::Whatsapp).await;
        let sent = engine.host().sent();
        let Message::Cta { body, url, .. } = &sent[0].outbound.message else {
            panic!("a CTA first: {:?}", sent[0].outbound.message);
        };
        assert_eq!(
            body, "Hi there, pick a time that suits you.",
            "{first_name:?}"
        );
        // In a URL the fallback is encoded as a value would be.
        assert!(url.contains("name=guest&"), "{url}");
        assert!(
            !engine
                .host()
                .trace()
                .iter()
                .any(|e| matches!(&e.kind, TraceKind::MissingValue { .. })),
            "a fallback is not a missing value"
        );
    }
    // A value wins over the fallback.
    let mut engine = engine_for("booking_cta.kflow");
    reply(&mut engine, Channel::Whatsapp).await;
    assert!(matches!(
        &engine.host().sent()[0].outbound.message,
        Message::Cta { body, .. } if body == "Hi Ana, pick a time that suits you."
    ));
}

#[tokio::test]
async fn an_empty_template_parameter_is_not_sent() {
    let flow = |param: &str| {
        format!(
            "on reply whatsapp < template \"t\" < language \"en\" category utility param \"{param}\" > >\n"
        )
    };
    let mut engine = engine_for_source("t.kflow", flow("{{contact.first_name}}"));
    let mut ana = engine.contact("ana").cloned().expect("ana");
    ana.fields.remove("first_name");
    engine.upsert_contact(ana.clone());
    reply(&mut engine, Channel::Whatsapp).await;
    assert!(engine.host().sent().is_empty(), "nothing goes out");
    assert!(
        engine.host().trace().iter().any(|e| matches!(
            &e.kind,
            TraceKind::NotSent { reason, .. } if reason.contains("template parameter 1 renders empty")
        )),
        "{:?}",
        engine.host().trace()
    );

    let mut engine = engine_for_source("t.kflow", flow("{{contact.first_name | there}}"));
    engine.upsert_contact(ana);
    reply(&mut engine, Channel::Whatsapp).await;
    assert!(matches!(
        &engine.host().sent()[0].outbound.message,
        Message::Template { params, .. } if params == &["there".to_owned()]
    ));
}

#[tokio::test]
async fn a_rendered_body_over_the_limit_is_not_sent_and_not_delivered() {
    let mut engine = engine_for("booking_cta.kflow");
    let mut ana = engine.contact("ana").cloned().expect("ana");
    ana.fields.insert("first_name".into(), "A".repeat(1024));
    engine.upsert_contact(ana);
    reply(&mut engine, Channel::Whatsapp).await;
    // No CTA went out; the Not Delivered path sent the email.
    assert_eq!(sends(&engine), vec![(0, "email")]);
    assert!(
        engine
            .host()
            .trace()
            .iter()
            .any(|e| matches!(&e.kind, TraceKind::NotSent { kind, reason } if kind == "cta" && reason.contains("body")))
    );
}

#[tokio::test]
async fn recorded_changes_restore_a_waiting_run_in_a_new_engine() {
    let mut engine = engine_for("booking_cta.kflow");
    engine.record_changes();
    let _ = engine.take_changes();
    reply(&mut engine, Channel::Whatsapp).await;
    let changes = engine.take_changes();
    assert_eq!(changes.runs.len(), 1);
    assert_eq!(
        changes.contacts.len(),
        1,
        "the reply refreshed Ana's window"
    );
    let record = changes.runs[0].clone();
    assert_eq!(record.due, Some(t0() + Duration::minutes(30)));
    assert!(
        matches!(&record.wait, kflow::runtime::Wait::Cta { message_id } if message_id == "msg-1")
    );

    // A restarted engine resumes from the records alone.
    let mut restarted = engine_for("booking_cta.kflow");
    let problems = restarted.restore(
        changes.contacts.clone(),
        vec![record.clone()],
        changes.next_run,
    );
    assert!(problems.is_empty());
    restarted
        .handle(Event::LinkOpened {
            message_id: "msg-1".into(),
        })
        .await;
    assert_eq!(restarted.host().tags().len(), 1);

    // Down past the deadline: the overdue timer fires at once on restart.
    let mut late = engine_for("booking_cta.kflow");
    late.restore(changes.contacts, vec![record], changes.next_run);
    at(&mut late, Duration::hours(3)).await;
    let sent = late.host().sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].at,
        t0() + Duration::minutes(30),
        "fired at its due time"
    );
    assert_eq!(late.stats().started, 0);
}

#[tokio::test]
async fn ended_runs_are_reported_as_ended() {
    let mut engine = engine_for("booking_cta.kflow");
    engine.record_changes();
    reply(&mut engine, Channel::Whatsapp).await;
    let _ = engine.take_changes();
    engine
        .handle(Event::LinkOpened {
            message_id: "msg-1".into(),
        })
        .await;
    let changes = engine.take_changes();
    assert_eq!(changes.ended, vec![1]);
    assert!(changes.runs.is_empty());
    assert!(
        changes
            .contacts
            .iter()
            .any(|c| c.tags.contains("clicked-booking"))
    );
}

#[test]
fn an_ir_waiting_longer_than_a_year_is_refused_at_load() {
    let source =
        kflow::SourceFile::new("w.kflow", "on reply sms < wait 1d tag \"x\" >").expect("small");
    let mut program = kflow::compile(&source).expect("compiles");
    for node in &mut program.nodes {
        if let kflow::ir::Op::Wait { seconds } = &mut node.op {
            *seconds = u64::MAX;
        }
    }
    let mut engine = Engine::new(SimHost::new(VirtualClock::new(t0())));
    assert!(matches!(
        engine.load(program),
        Err(kflow::runtime::LoadError::Malformed { reason }) if reason.contains("at most a year")
    ));
}

/// A host that does not trace and records only what was not sent.
struct NotSentHost {
    clock: VirtualClock,
    not_sent: std::sync::Mutex<Vec<(StepRef, String, String)>>,
}

impl Host for NotSentHost {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn send(&self, _: &Outbound) -> impl std::future::Future<Output = SendResult> + Send {
        std::future::ready(SendResult::Accepted {
            message_id: "msg".into(),
        })
    }

    fn set_tag(&self, _: &str, _: &str, _: bool) -> impl std::future::Future<Output = ()> + Send {
        std::future::ready(())
    }

    fn not_sent(&self, step: &StepRef, kind: &str, reason: &str) {
        let mut seen = self.not_sent.lock().unwrap_or_else(|e| e.into_inner());
        seen.push((step.clone(), kind.to_owned(), reason.to_owned()));
    }
}

#[tokio::test]
async fn every_message_not_sent_reaches_the_host_even_without_tracing() {
    let path = format!("{}/examples/booking_cta.kflow", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("example exists");
    let source = kflow::SourceFile::new("booking_cta.kflow", text).expect("small");
    let program = kflow::compile(&source).expect("example compiles");
    let host = NotSentHost {
        clock: VirtualClock::new(t0()),
        not_sent: Default::default(),
    };
    let mut engine = Engine::new(host);
    engine.load(program).expect("valid IR");
    // A contact with neither a phone number nor an email address: the CTA
    // cannot go, so Not Delivered sends the email, which cannot go either.
    engine
        .handle(Event::Reply {
            contact: "nobody".into(),
            channel: Channel::Whatsapp,
        })
        .await;
    let seen = engine
        .host()
        .not_sent
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let kinds: Vec<(&str, &str)> = seen
        .iter()
        .map(|(_, kind, reason)| (kind.as_str(), reason.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("cta", "the contact has no phone number"),
            ("email", "the contact has no email address"),
        ]
    );
    assert!(
        seen.iter()
            .all(|(step, _, _)| step.workflow == "WhatsApp booking CTA" && step.run == 1)
    );
    assert_ne!(seen[0].0.node, seen[1].0.node);
}

/// A front desk with a trigger per channel: the WhatsApp run waits on its
/// CTA for half an hour; SMS and email replies have triggers of their own.
const FRONT_DESK: &str = r#"on reply whatsapp <
  cta <
    header text "Hi"
    body "Pick a slot"
    url "https://www.example.com/book"
    button "Book now"
  >
  on timeout 30m < tag "cta-timed-out" >
>
on reply sms < sms "Thanks, we got your text." >
on reply email <
  await reply whatsapp
  on timeout 1d < tag "no-whatsapp" >
>
"#;

#[tokio::test]
async fn a_reply_on_another_channel_starts_that_triggers_run() {
    let mut engine = engine_for_source("front.kflow", FRONT_DESK.to_owned());
    reply(&mut engine, Channel::Whatsapp).await;
    assert_eq!(engine.stats().active, 1, "the CTA waits");
    at(&mut engine, Duration::minutes(5)).await;
    reply(&mut engine, Channel::Sms).await;
    // The SMS trigger ran while the WhatsApp run still waits.
    assert_eq!(engine.stats().started, 2);
    assert_eq!(sends(&engine), [(0, "cta"), (5, "sms")]);
    assert_eq!(engine.stats().active, 1);
    // A second WhatsApp reply is still ignored: its trigger's run waits.
    reply(&mut engine, Channel::Whatsapp).await;
    assert_eq!(engine.stats().started, 2);
    let reasons = ignored_reasons_of(&engine, "reply on whatsapp");
    assert_eq!(
        reasons,
        [
            "a run of this workflow from `on reply whatsapp` is already in progress for this contact (the reply still refreshed the WhatsApp window)"
        ]
    );
}

#[tokio::test]
async fn a_run_awaiting_a_reply_takes_it_before_a_trigger_does() {
    let mut engine = engine_for_source("front.kflow", FRONT_DESK.to_owned());
    reply(&mut engine, Channel::Email).await;
    assert_eq!(engine.stats().active, 1, "awaiting a WhatsApp reply");
    reply(&mut engine, Channel::Whatsapp).await;
    // The email run took the WhatsApp reply and ended; no WhatsApp run.
    assert_eq!(engine.stats().started, 1);
    assert_eq!(engine.stats().active, 0);
    assert!(sends(&engine).is_empty());
    // With nothing waiting, the next WhatsApp reply starts its own run.
    reply(&mut engine, Channel::Whatsapp).await;
    assert_eq!(engine.stats().started, 2);
    assert_eq!(sends(&engine), [(0, "cta")]);
}

#[tokio::test]
async fn a_restored_run_keeps_its_trigger() {
    let mut engine = engine_for_source("front.kflow", FRONT_DESK.to_owned());
    engine.record_changes();
    let _ = engine.take_changes();
    reply(&mut engine, Channel::Whatsapp).await;
    let changes = engine.take_changes();
    let mut restarted = engine_for_source("front.kflow", FRONT_DESK.to_owned());
    assert!(
        restarted
            .restore(changes.contacts, changes.runs, changes.next_run)
            .is_empty()
    );
    // The restored run came from `on reply whatsapp`: an SMS still starts
    // the SMS trigger's run, and a WhatsApp reply is still ignored.
    reply(&mut restarted, Channel::Sms).await;
    reply(&mut restarted, Channel::Whatsapp).await;
    assert_eq!(restarted.stats().started, 1, "only the SMS run is new");
    assert_eq!(sends(&restarted), [(0, "sms")]);
}

async fn fail(engine: &mut Engine<SimHost>, reason: &str) {
    engine
        .handle(Event::DeliveryFailed {
            message_id: "msg-1".into(),
            reason: reason.into(),
        })
        .await;
}

async fn open(engine: &mut Engine<SimHost>) {
    engine
        .handle(Event::LinkOpened {
            message_id: "msg-1".into(),
        })
        .await;
}

/// The reasons the trace gives for every event that changed nothing.
fn ignored_reasons(engine: &Engine<SimHost>) -> Vec<String> {
    ignored(engine, None)
}

/// The reasons the trace gives for `event`s (`reply on sms`) that changed
/// nothing.
fn ignored_reasons_of(engine: &Engine<SimHost>, event: &str) -> Vec<String> {
    ignored(engine, Some(event))
}

fn ignored(engine: &Engine<SimHost>, only: Option<&str>) -> Vec<String> {
    engine
        .host()
        .trace()
        .into_iter()
        .filter_map(|e| match e.kind {
            TraceKind::Ignored { event, reason } if only.is_none_or(|o| o == event) => Some(reason),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_late_event_about_a_cta_says_what_had_happened() {
    // Opened twice: the second open names the first.
    let mut engine = engine_for("booking_cta.kflow");
    reply(&mut engine, Channel::Whatsapp).await;
    at(&mut engine, Duration::minutes(5)).await;
    open(&mut engine).await;
    at(&mut engine, Duration::minutes(10)).await;
    open(&mut engine).await;
    assert_eq!(
        ignored_reasons(&engine),
        ["its link was already opened 5m ago"]
    );

    // Opened after its delivery failed.
    let mut engine = engine_for("booking_cta.kflow");
    reply(&mut engine, Channel::Whatsapp).await;
    at(&mut engine, Duration::minutes(1)).await;
    fail(&mut engine, "131026").await;
    at(&mut engine, Duration::minutes(2)).await;
    open(&mut engine).await;
    assert_eq!(
        ignored_reasons(&engine),
        ["its delivery had already failed 1m ago, and the run took Not Delivered"]
    );
}
