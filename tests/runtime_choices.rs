//! `buttons` and `list` in the interpreter: which reply takes which branch,
//! what leaves a waiting run where it is (and what the trace says), the
//! rendered payload, the send-time limits, and restoring a waiting run.

use chrono::{DateTime, Duration, TimeZone, Utc};
use kflow::ir::Channel;
use kflow::runtime::{
    Contact, Engine, Event, Message, RenderedChoice, RenderedHeader, RenderedSection, SimHost,
    TraceKind, VirtualClock, Wait,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid time")
}

/// An engine running `example` (or `text`, when given) with Ana as its
/// contact.
fn engine(example: &str, text: Option<&str>) -> Engine<SimHost> {
    let text = match text {
        Some(t) => t.to_owned(),
        None => {
            let path = format!("{}/examples/{example}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read_to_string(path).expect("example exists")
        }
    };
    let source = kflow::SourceFile::new(example, text).expect("small");
    let program = kflow::compile(&source).expect("compiles");
    let mut engine = Engine::new(SimHost::new(VirtualClock::new(t0())));
    engine.load(program).expect("valid IR");
    let mut ana = Contact::new("ana");
    ana.phone = Some("+15551230000".into());
    ana.fields.insert("first_name".into(), "Ana".into());
    engine.upsert_contact(ana);
    engine
}

async fn at(engine: &mut Engine<SimHost>, minutes: i64) {
    let clock = engine.host().clock().clone();
    engine
        .advance(&clock, t0() + Duration::minutes(minutes))
        .await;
}

async fn replies(engine: &mut Engine<SimHost>) {
    engine
        .handle(Event::Reply {
            contact: "ana".into(),
            channel: Channel::Whatsapp,
        })
        .await;
}

async fn taps(engine: &mut Engine<SimHost>, answers: Option<&str>, id: &str) {
    engine
        .handle(Event::Chose {
            contact: "ana".into(),
            answers: answers.map(str::to_owned),
            id: id.into(),
        })
        .await;
}

fn kinds(engine: &Engine<SimHost>) -> Vec<&'static str> {
    engine
        .host()
        .sent()
        .iter()
        .map(|s| s.outbound.message.kind())
        .collect()
}

fn tags(engine: &Engine<SimHost>) -> Vec<String> {
    engine.host().tags().iter().map(|t| t.tag.clone()).collect()
}

/// The reasons of every ignored event, in order.
fn ignored(engine: &Engine<SimHost>) -> Vec<String> {
    engine
        .host()
        .trace()
        .into_iter()
        .filter_map(|t| match t.kind {
            TraceKind::Ignored { reason, .. } => Some(reason),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_buttons_message_is_rendered_as_the_cloud_api_takes_it() {
    let mut e = engine("appointment_buttons.kflow", None);
    replies(&mut e).await;
    let sent = e.host().sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].outbound.message,
        Message::Buttons {
            from: None,
            header: Some(RenderedHeader::Text {
                text: "Your visit tomorrow".into()
            }),
            body: "Hi Ana, we expect you tomorrow at 10:00. Can you make it?".into(),
            footer: Some("Tap a button to answer".into()),
            buttons: ["confirm", "reschedule", "cancel"]
                .iter()
                .zip(["Confirm", "Reschedule", "Cancel"])
                .map(|(id, title)| RenderedChoice {
                    id: (*id).into(),
                    title: title.into(),
                    description: None,
                })
                .collect(),
        }
    );
    assert_eq!(e.stats().timers, 1, "the run waits a day for a tap");
}

#[tokio::test]
async fn each_button_takes_its_own_branch() {
    for (id, tag, text) in [
        ("confirm", "confirmed", "Thank you"),
        ("reschedule", "reschedule", "an agent will write"),
        ("cancel", "cancelled", "Your visit is cancelled"),
    ] {
        let mut e = engine("appointment_buttons.kflow", None);
        replies(&mut e).await;
        at(&mut e, 30).await;
        taps(&mut e, Some("msg-1"), id).await;
        assert_eq!(tags(&e), vec![tag.to_owned()], "{id}");
        let sent = e.host().sent();
        assert_eq!(kinds(&e), vec!["buttons", "whatsapp"], "{id}");
        // The tap reopened the window: the session message is sent.
        assert!(
            matches!(&sent[1].outbound.message, Message::Whatsapp { body } if body.contains(text)),
            "{id}"
        );
        assert_eq!(e.stats().active, 0, "{id}");
        assert_eq!(e.stats().timers, 0, "{id}: the day-long timer left");
        // Nothing fires later.
        at(&mut e, 3 * 24 * 60).await;
        assert_eq!(kinds(&e), vec!["buttons", "whatsapp"], "{id}");
    }
}

#[tokio::test]
async fn a_list_row_takes_its_branch() {
    let mut e = engine("booking_menu.kflow", None);
    replies(&mut e).await;
    let sent = e.host().sent();
    let Message::List {
        button, sections, ..
    } = &sent[0].outbound.message
    else {
        panic!("a list: {:?}", sent[0].outbound.message);
    };
    assert_eq!(button, "See times");
    assert_eq!(
        sections[1],
        RenderedSection {
            title: Some("Afternoons".into()),
            rows: vec![RenderedChoice {
                id: "a14".into(),
                title: "14:00".into(),
                description: Some("Dr Ruiz".into()),
            }],
        }
    );
    taps(&mut e, Some("msg-1"), "a14").await;
    assert_eq!(tags(&e), vec!["slot-a14".to_owned()]);
}

#[tokio::test]
async fn text_replies_and_other_messages_leave_the_run_waiting() {
    let mut e = engine("appointment_buttons.kflow", None);
    replies(&mut e).await;
    // A text reply is not a choice.
    at(&mut e, 5).await;
    replies(&mut e).await;
    // A tap on another message, and a tap naming no message.
    taps(&mut e, Some("wamid.elsewhere"), "confirm").await;
    taps(&mut e, None, "confirm").await;
    // A choice the message does not offer.
    taps(&mut e, Some("msg-1"), "maybe").await;
    assert!(tags(&e).is_empty());
    assert_eq!(e.stats().active, 1, "still waiting");
    assert_eq!(e.stats().started, 1, "no second run started");
    let reasons = ignored(&e);
    assert_eq!(reasons.len(), 4, "{reasons:#?}");
    assert!(reasons[0].starts_with("a text reply is not a choice"));
    assert!(reasons[1].starts_with(
        "it answers an earlier message (wamid.elsewhere), not the one this run waits on (msg-1)"
    ));
    assert!(reasons[2].starts_with("the reply does not say which message it answers"));
    assert!(reasons[3].starts_with(
        "the message this run waits on offers `confirm`, `reschedule`, `cancel`, not `maybe`"
    ));
    // The run still takes the right tap.
    taps(&mut e, Some("msg-1"), "cancel").await;
    assert_eq!(tags(&e), vec!["cancelled".to_owned()]);
}

#[tokio::test]
async fn a_late_tap_says_why_and_is_a_plain_reply() {
    let mut e = engine("appointment_buttons.kflow", None);
    replies(&mut e).await;
    at(&mut e, 24 * 60).await;
    assert_eq!(kinds(&e), vec!["buttons", "sms"], "timed out onto SMS");
    at(&mut e, 24 * 60 + 5).await;
    taps(&mut e, Some("msg-1"), "confirm").await;
    let reasons = ignored(&e);
    assert_eq!(
        reasons,
        vec![
            "its timeout had already passed 5m ago, and the run took the timeout path; it counts as a plain WhatsApp reply"
                .to_owned()
        ]
    );
    // As a WhatsApp reply it starts the trigger again.
    assert_eq!(e.stats().started, 2);
    assert_eq!(kinds(&e), vec!["buttons", "sms", "buttons"]);
}

#[tokio::test]
async fn a_failed_status_takes_not_delivered_and_a_link_event_changes_nothing() {
    let mut e = engine("appointment_buttons.kflow", None);
    replies(&mut e).await;
    e.handle(Event::LinkOpened {
        message_id: "msg-1".into(),
    })
    .await;
    assert_eq!(e.stats().active, 1, "a buttons message has no link");
    assert_eq!(
        ignored(&e),
        vec![
            "this message offers choices (buttons, list rows or quick replies), not a tracked link; the run still waits for a choice"
                .to_owned()
        ]
    );
    e.handle(Event::DeliveryFailed {
        message_id: "msg-1".into(),
        reason: "131026".into(),
    })
    .await;
    assert_eq!(kinds(&e), vec!["buttons", "sms"]);
    assert_eq!(e.stats().active, 0);
}

#[tokio::test]
async fn rendered_titles_are_held_to_the_limits() {
    let text = r#"on reply whatsapp <
  buttons <
    body "Pick one"
    reply "a" "{{contact.first_name}}"
    reply "b" "Ana"
  >
  on reply "a" < tag "a" >
  on reply "b" < tag "b" >
  on timeout 1h < tag "late" >
>
"#;
    let mut e = engine("same_titles.kflow", Some(text));
    replies(&mut e).await;
    assert!(e.host().sent().is_empty(), "two buttons render `Ana`");
    let refused = e.host().trace().into_iter().find_map(|t| match t.kind {
        TraceKind::NotSent { kind, reason } => Some((kind, reason)),
        _ => None,
    });
    assert_eq!(
        refused,
        Some((
            "buttons".to_owned(),
            "two buttons render the same title `Ana`, which WhatsApp refuses".to_owned()
        ))
    );
    assert_eq!(
        tags(&e),
        Vec::<String>::new(),
        "not delivered has no handler"
    );
    assert_eq!(e.stats().active, 0);
}

#[tokio::test]
async fn a_waiting_choice_survives_a_restart() {
    let mut e = engine("appointment_buttons.kflow", None);
    e.record_changes();
    let _ = e.take_changes();
    replies(&mut e).await;
    let changes = e.take_changes();
    let record = changes.runs[0].clone();
    assert!(matches!(&record.wait, Wait::Choice { message_id } if message_id == "msg-1"));
    let mut restarted = engine("appointment_buttons.kflow", None);
    assert!(
        restarted
            .restore(changes.contacts, vec![record], changes.next_run)
            .is_empty()
    );
    taps(&mut restarted, Some("msg-1"), "reschedule").await;
    assert_eq!(tags(&restarted), vec!["reschedule".to_owned()]);
}

#[tokio::test]
async fn a_message_nothing_waits_on_is_sent_and_a_tap_is_a_reply() {
    let text = r#"on reply whatsapp <
  buttons <
    body "Did you like your visit?"
    reply "yes" "Yes"
    reply "no" "No"
  >
  tag "asked"
>
"#;
    let mut e = engine("survey.kflow", Some(text));
    replies(&mut e).await;
    assert_eq!(tags(&e), vec!["asked".to_owned()]);
    assert_eq!(e.stats().active, 0, "nothing waits");
    taps(&mut e, Some("msg-1"), "yes").await;
    assert_eq!(e.stats().started, 2, "the tap starts the trigger again");
}
