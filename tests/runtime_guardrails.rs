//! Guardrails and template quick replies in the interpreter, on a virtual
//! clock: which sends go out and exactly when under quiet hours (in the
//! contact's zone, summer time included), what the frequency cap refuses
//! and where that run goes, when a goal ends a run, and a template's taps.

use chrono::{DateTime, Duration, TimeZone, Utc};
use kflow::ir::Channel;
use kflow::runtime::{
    Contact, Engine, Event, Message, RenderedHeader, RenderedTemplateButton, SimHost, TraceKind,
    VirtualClock, Wait,
};

/// Monday 2 March 2026, 09:00 UTC (09:00 in Lisbon, 04:00 in New York).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn at_utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("valid time")
}

/// An engine running `text`, its clock at `start`, with Ana (whose zone is
/// `zone`, when given) as its contact.
fn engine(text: &str, start: DateTime<Utc>, zone: Option<&str>) -> Engine<SimHost> {
    let source = kflow::SourceFile::new("guardrails.kflow", text).expect("small");
    let program = kflow::compile(&source).unwrap_or_else(|d| panic!("compiles: {d:?}"));
    let mut engine = Engine::new(SimHost::new(VirtualClock::new(start)));
    engine.load(program).expect("valid IR");
    let mut ana = Contact::new("ana");
    ana.phone = Some("+351912345678".into());
    ana.fields.insert("first_name".into(), "Ana".into());
    if let Some(zone) = zone {
        ana.fields.insert("timezone".into(), zone.into());
    }
    engine.upsert_contact(ana);
    engine
}

async fn until(engine: &mut Engine<SimHost>, t: DateTime<Utc>) {
    let clock = engine.host().clock().clone();
    engine.advance(&clock, t).await;
}

async fn reply(engine: &mut Engine<SimHost>, channel: Channel) {
    engine
        .handle(Event::Reply {
            contact: "ana".into(),
            channel,
        })
        .await;
}

/// Every send: when it went out and its kind.
fn sends(engine: &Engine<SimHost>) -> Vec<(DateTime<Utc>, &'static str)> {
    engine
        .host()
        .sent()
        .iter()
        .map(|s| (s.at, s.outbound.message.kind()))
        .collect()
}

/// The reasons of every message not sent.
fn not_sent(engine: &Engine<SimHost>) -> Vec<String> {
    engine
        .host()
        .trace()
        .into_iter()
        .filter_map(|t| match t.kind {
            TraceKind::NotSent { reason, .. } => Some(reason),
            _ => None,
        })
        .collect()
}

const QUIET: &str = r#"
quiet 21:00-08:00 timezone contact.timezone default "Europe/Lisbon"

on reply sms <
  sms "Thanks, we got your text."
  wait 12h
  sms "Still there?"
  sms "Reply STOP to stop."
>
"#;

#[tokio::test]
async fn a_send_inside_quiet_hours_waits_until_they_end_in_the_contacts_zone() {
    // 22:30 in Lisbon (UTC in March): held until 08:00 there.
    let start = at_utc(2026, 3, 2, 22, 30);
    let mut e = engine(QUIET, start, None);
    reply(&mut e, Channel::Sms).await;
    assert!(sends(&e).is_empty(), "nothing goes out at night");
    until(&mut e, at_utc(2026, 3, 4, 0, 0)).await;
    assert_eq!(
        sends(&e),
        vec![
            (at_utc(2026, 3, 3, 8, 0), "sms"),
            // 08:00 + 12h = 20:00: before quiet hours, both go at once.
            (at_utc(2026, 3, 3, 20, 0), "sms"),
            (at_utc(2026, 3, 3, 20, 0), "sms"),
        ]
    );
    let waits: Vec<(String, DateTime<Utc>)> = e
        .host()
        .trace()
        .into_iter()
        .filter_map(|t| match t.kind {
            TraceKind::Waiting { on, until } => Some((on, until)),
            _ => None,
        })
        .collect();
    assert_eq!(
        waits[0],
        ("quiet hours".to_owned(), at_utc(2026, 3, 3, 8, 0))
    );
}

#[tokio::test]
async fn quiet_hours_follow_the_contacts_own_zone_and_its_summer_time() {
    // 02:00 UTC on 3 March is 21:00 in New York (UTC-5): held until 08:00
    // there, 13:00 UTC.
    let mut e = engine(QUIET, at_utc(2026, 3, 3, 2, 0), Some("America/New_York"));
    reply(&mut e, Channel::Sms).await;
    until(&mut e, at_utc(2026, 3, 3, 13, 0)).await;
    assert_eq!(sends(&e), vec![(at_utc(2026, 3, 3, 13, 0), "sms")]);
    // In July New York is UTC-4: 01:30 UTC is 21:30, held until 12:00 UTC.
    let mut e = engine(QUIET, at_utc(2026, 7, 1, 1, 30), Some("America/New_York"));
    reply(&mut e, Channel::Sms).await;
    until(&mut e, at_utc(2026, 7, 2, 0, 0)).await;
    assert_eq!(sends(&e)[0], (at_utc(2026, 7, 1, 12, 0), "sms"));
}

#[tokio::test]
async fn an_unknown_contact_zone_falls_back_to_the_default_and_is_traced() {
    let mut e = engine(QUIET, at_utc(2026, 3, 2, 22, 30), Some("Lisbon"));
    reply(&mut e, Channel::Sms).await;
    until(&mut e, at_utc(2026, 3, 3, 9, 0)).await;
    assert_eq!(sends(&e)[0], (at_utc(2026, 3, 3, 8, 0), "sms"));
    let fallback = e.host().trace().into_iter().find_map(|t| match t.kind {
        TraceKind::TimezoneFallback { value, zone } => Some((value, zone)),
        _ => None,
    });
    assert_eq!(
        fallback,
        Some(("Lisbon".to_owned(), "Europe/Lisbon".to_owned()))
    );
}

#[tokio::test]
async fn a_send_held_by_quiet_hours_survives_a_restart() {
    let mut e = engine(QUIET, at_utc(2026, 3, 2, 22, 30), None);
    e.record_changes();
    reply(&mut e, Channel::Sms).await;
    let changes = e.take_changes();
    let record = changes.runs[0].clone();
    assert_eq!(record.wait, Wait::Quiet);
    assert_eq!(record.due, Some(at_utc(2026, 3, 3, 8, 0)));
    let mut restarted = engine(QUIET, at_utc(2026, 3, 2, 23, 0), None);
    assert!(
        restarted
            .restore(changes.contacts, vec![record], changes.next_run)
            .is_empty()
    );
    until(&mut restarted, at_utc(2026, 3, 3, 8, 0)).await;
    assert_eq!(sends(&restarted), vec![(at_utc(2026, 3, 3, 8, 0), "sms")]);
}

const CAPPED: &str = r#"
at most 2 per 1d

on reply whatsapp <
  whatsapp "One"
  whatsapp "Two"
  cta <
    header text "Book"
    body "Pick a time."
    url "https://www.example.com/book"
    button "Book now"
  >
  on not delivered < tag "capped" >
  on timeout 1h < stop >
  wait 1d
  if window.open < whatsapp "Three, a day later" >
>
"#;

#[tokio::test]
async fn a_send_over_the_cap_is_not_sent_and_takes_not_delivered() {
    let mut e = engine(CAPPED, t0(), None);
    reply(&mut e, Channel::Whatsapp).await;
    assert_eq!(sends(&e), vec![(t0(), "whatsapp"), (t0(), "whatsapp")]);
    let reasons = not_sent(&e);
    assert_eq!(reasons.len(), 1);
    assert!(
        reasons[0]
            .starts_with("frequency cap: this workflow sent the contact 2 messages in the last 1d"),
        "{}",
        reasons[0]
    );
    assert!(reasons[0].ends_with("the next may go out from 2026-03-03T09:00:00Z"));
    // The waited CTA took its Not Delivered path.
    assert!(e.contact("ana").is_some_and(|c| c.tags.contains("capped")));
    // Ana writes again two hours later (which only refreshes the window):
    // a day after the first two, the cap lets the run's last message go.
    until(&mut e, t0() + Duration::hours(2)).await;
    reply(&mut e, Channel::Whatsapp).await;
    until(&mut e, t0() + Duration::days(2)).await;
    assert_eq!(sends(&e).len(), 3, "{:?}", not_sent(&e));
    assert_eq!(sends(&e)[2], (t0() + Duration::days(1), "whatsapp"));
}

#[tokio::test]
async fn the_cap_counts_the_last_sends_only_and_keeps_no_more() {
    let text = r#"
at most 1 per 1h

on reply sms < sms "Hi" >
"#;
    let mut e = engine(text, t0(), None);
    for minutes in [0, 30, 60, 61, 150] {
        until(&mut e, t0() + Duration::minutes(minutes)).await;
        reply(&mut e, Channel::Sms).await;
    }
    let minutes: Vec<i64> = sends(&e)
        .iter()
        .map(|(at, _)| (*at - t0()).num_minutes())
        .collect();
    // +30m is within the hour of +0m; +60m is exactly an hour later (the
    // period is the last hour before the send, so +0m no longer counts);
    // +61m is within the hour of +60m.
    assert_eq!(minutes, vec![0, 60, 150]);
    let kept = &e.contact("ana").expect("ana").recent_sends["guardrails"];
    assert_eq!(kept, &vec![t0() + Duration::minutes(150)]);
}

const GOAL: &str = r#"
goal contact.tags has "booked"

on reply whatsapp <
  whatsapp "Here is the link: https://www.example.com/book"
  wait 1d
  if window.open < whatsapp "Still want a slot?" >
>

on reply sms <
  tag "booked"
  sms "Thanks for booking!"
>
"#;

#[tokio::test]
async fn a_tag_from_another_run_ends_a_waiting_run_at_its_goal() {
    let mut e = engine(GOAL, t0(), None);
    reply(&mut e, Channel::Whatsapp).await;
    until(&mut e, t0() + Duration::hours(2)).await;
    reply(&mut e, Channel::Sms).await;
    assert_eq!(e.stats().active, 0, "the waiting run ended at its goal");
    until(&mut e, t0() + Duration::days(2)).await;
    assert_eq!(
        sends(&e),
        vec![
            (t0(), "whatsapp"),
            // The SMS run's own goal holds after its tag: it ends before its
            // next step, so its SMS never goes.
        ]
    );
    let goals = e
        .host()
        .trace()
        .into_iter()
        .filter(|t| matches!(t.kind, TraceKind::GoalReached { .. }))
        .count();
    assert_eq!(goals, 2);
}

#[tokio::test]
async fn a_contact_updated_by_the_embedder_ends_a_run_at_its_goal() {
    let mut e = engine(GOAL, t0(), None);
    reply(&mut e, Channel::Whatsapp).await;
    let mut ana = e.contact("ana").cloned().expect("ana");
    ana.tags.insert("booked".into());
    e.upsert_contact(ana);
    assert_eq!(e.stats().active, 0);
    until(&mut e, t0() + Duration::days(2)).await;
    assert_eq!(sends(&e), vec![(t0(), "whatsapp")]);
}

#[tokio::test]
async fn a_run_whose_goal_already_holds_ends_before_its_first_step() {
    let mut e = engine(GOAL, t0(), None);
    let mut ana = e.contact("ana").cloned().expect("ana");
    ana.tags.insert("booked".into());
    e.upsert_contact(ana);
    reply(&mut e, Channel::Whatsapp).await;
    assert!(sends(&e).is_empty());
    assert_eq!(e.stats().started, 1);
    assert_eq!(e.stats().active, 0);
}

const TEMPLATE: &str = r#"
on reply whatsapp <
  template "visit_reminder" <
    language "en_US"
    category utility
    header image "https://cdn.example.com/{{contact.first_name | x}}.png"
    param "{{contact.first_name | there}}"
    button 0 url "visits/{{contact.id}}"
    button 2 reply "reschedule"
    button 1 reply "confirm"
  >
  on reply "confirm" < tag "confirmed" >
  on reply "reschedule" < tag "reschedule" >
  on timeout 1d < tag "silent" >
  on not delivered < tag "undelivered" >
>
"#;

async fn tap(engine: &mut Engine<SimHost>, answers: &str, payload: &str) {
    engine
        .handle(Event::Chose {
            contact: "ana".into(),
            answers: Some(answers.into()),
            id: payload.into(),
        })
        .await;
}

fn tags(engine: &Engine<SimHost>) -> Vec<String> {
    engine.host().tags().iter().map(|t| t.tag.clone()).collect()
}

#[tokio::test]
async fn a_template_is_rendered_with_its_header_and_buttons_in_index_order() {
    let mut e = engine(TEMPLATE, t0(), None);
    reply(&mut e, Channel::Whatsapp).await;
    let sent = e.host().sent();
    assert_eq!(
        sent[0].outbound.message,
        Message::Template {
            name: "visit_reminder".into(),
            language: "en_US".into(),
            category: "utility".into(),
            params: vec!["Ana".into()],
            header: Some(RenderedHeader::Image {
                link: "https://cdn.example.com/Ana.png".into()
            }),
            buttons: vec![
                RenderedTemplateButton::Url {
                    index: 0,
                    text: "visits/ana".into()
                },
                RenderedTemplateButton::QuickReply {
                    index: 1,
                    payload: "confirm".into()
                },
                RenderedTemplateButton::QuickReply {
                    index: 2,
                    payload: "reschedule".into()
                },
            ],
        }
    );
    assert_eq!(e.stats().timers, 1, "the run waits a day for a tap");
}

#[tokio::test]
async fn each_quick_reply_of_a_template_takes_its_branch() {
    for (payload, tag) in [("confirm", "confirmed"), ("reschedule", "reschedule")] {
        let mut e = engine(TEMPLATE, t0(), None);
        reply(&mut e, Channel::Whatsapp).await;
        until(&mut e, t0() + Duration::hours(3)).await;
        tap(&mut e, "msg-1", payload).await;
        assert_eq!(tags(&e), vec![tag.to_owned()], "{payload}");
        assert_eq!(e.stats().active, 0);
        // The tap is a WhatsApp reply: it refreshed the window.
        let last = e.contact("ana").and_then(|c| c.last_whatsapp_inbound);
        assert_eq!(last, Some(t0() + Duration::hours(3)));
    }
}

#[tokio::test]
async fn a_template_waits_a_day_then_times_out_or_takes_not_delivered() {
    let mut e = engine(TEMPLATE, t0(), None);
    reply(&mut e, Channel::Whatsapp).await;
    until(&mut e, t0() + Duration::days(1) - Duration::seconds(1)).await;
    assert!(tags(&e).is_empty());
    until(&mut e, t0() + Duration::days(1)).await;
    assert_eq!(tags(&e), vec!["silent".to_owned()]);

    let mut e = engine(TEMPLATE, t0(), None);
    reply(&mut e, Channel::Whatsapp).await;
    e.handle(Event::DeliveryFailed {
        message_id: "msg-1".into(),
        reason: "131026".into(),
    })
    .await;
    assert_eq!(tags(&e), vec!["undelivered".to_owned()]);
}

#[tokio::test]
async fn an_empty_template_parameter_is_not_sent_and_takes_not_delivered() {
    let text = TEMPLATE.replace(
        "button 0 url \"visits/{{contact.id}}\"",
        "button 0 url \"{{contact.last_name}}\"",
    );
    let mut e = engine(&text, t0(), None);
    reply(&mut e, Channel::Whatsapp).await;
    assert!(sends(&e).is_empty());
    assert_eq!(tags(&e), vec!["undelivered".to_owned()]);
    assert_eq!(
        not_sent(&e),
        vec![
            "the suffix of URL button 0 renders empty, which WhatsApp refuses; give its variables a fallback (`{{contact.first_name | there}}`)"
                .to_owned()
        ]
    );
}
