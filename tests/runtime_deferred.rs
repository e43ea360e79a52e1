//! Deferred sends (`Engine::defer_sends`, what `kflowc serve` uses so the
//! sends of different runs overlap) decide exactly what awaited sends do:
//! every example, driven by the same events, makes the same sends with the
//! same payloads at the same times, the same tag changes and the same trace
//! for each run, as long as each event's sends are completed before the next
//! event.

#[path = "support/examples.rs"]
mod examples;

use chrono::{DateTime, Duration, TimeZone, Utc};
use examples::{example_files, per_run};
use kflow::ir::Channel;
use kflow::runtime::{Contact, Engine, Event, Host as _, SimHost, VirtualClock};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn engine(example: &str, deferred: bool) -> Engine<SimHost> {
    let path = format!("{}/examples/{example}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).expect("example exists");
    let source = kflow::SourceFile::new(example, text).expect("small");
    let program = kflow::compile(&source).expect("compiles");
    let mut engine = Engine::new(SimHost::new(VirtualClock::new(t0())));
    engine.load(program).expect("valid IR");
    for (id, phone) in [("ana", "+15551230000"), ("bo", "+15551230001")] {
        let mut c = Contact::new(id);
        c.phone = Some(phone.into());
        c.email = Some(format!("{id}@example.com"));
        c.fields.insert("first_name".into(), id.into());
        c.fields.insert("name".into(), id.into());
        engine.upsert_contact(c);
    }
    if deferred {
        engine.defer_sends();
    }
    engine
}

/// Makes every pending send and hands back the answers in order, as the
/// service does after each event.
async fn drain(engine: &mut Engine<SimHost>) -> usize {
    let mut made = 0;
    loop {
        let pending = engine.take_pending_sends();
        if pending.is_empty() {
            return made;
        }
        made += pending.len();
        for send in pending {
            let result = engine.host().send(&send.outbound).await;
            engine.complete_send(send, result).await;
        }
    }
}

/// The events every example gets: replies on each channel from two
/// contacts, taps, link opens, a failed status, and days passing.
fn script() -> Vec<(i64, Event)> {
    let reply = |contact: &str, channel| Event::Reply {
        contact: contact.into(),
        channel,
    };
    vec![
        (0, reply("ana", Channel::Whatsapp)),
        (0, reply("bo", Channel::Whatsapp)),
        (1, reply("ana", Channel::Sms)),
        (
            2,
            Event::Chose {
                contact: "ana".into(),
                answers: Some("msg-1".into()),
                id: "confirm".into(),
            },
        ),
        (
            3,
            Event::LinkOpened {
                message_id: "msg-2".into(),
            },
        ),
        (
            4,
            Event::DeliveryFailed {
                message_id: "msg-1".into(),
                reason: "131026".into(),
            },
        ),
        (40, reply("bo", Channel::Email)),
        (
            50,
            Event::Chose {
                contact: "bo".into(),
                answers: Some("msg-2".into()),
                id: "m9".into(),
            },
        ),
        (3 * 24 * 60, reply("ana", Channel::Whatsapp)),
    ]
}

/// Fires each timer due up to `until` at its due time, completing the
/// sends it decides before the next one (the service fires a step's due
/// timers at the step's instant and completes their sends in that step).
async fn advance(e: &mut Engine<SimHost>, until: DateTime<Utc>) {
    let clock = e.host().clock().clone();
    while let Some(due) = e.next_due().filter(|d| *d <= until) {
        clock.set(due);
        e.fire_due().await;
        drain(e).await;
    }
    clock.set(until);
}

async fn run(example: &str, deferred: bool) -> Engine<SimHost> {
    let mut e = engine(example, deferred);
    for (minutes, event) in script() {
        advance(&mut e, t0() + Duration::minutes(minutes)).await;
        e.handle(event).await;
        drain(&mut e).await;
    }
    advance(&mut e, t0() + Duration::days(5)).await;
    e
}

#[tokio::test]
async fn deferred_sends_decide_what_awaited_sends_do() {
    let examples = example_files();
    let mut sends = 0;
    for example in &examples {
        let awaited = run(example, false).await;
        let deferred = run(example, true).await;
        let (a, d) = (awaited.host().sent(), deferred.host().sent());
        assert_eq!(a, d, "{example}: sends");
        assert_eq!(awaited.host().tags(), deferred.host().tags(), "{example}");
        // Runs decided in one instant interleave differently (each decides
        // up to its send, then the sends complete); each run's own story is
        // the same.
        assert_eq!(
            per_run(&awaited.host().trace()),
            per_run(&deferred.host().trace()),
            "{example}"
        );
        assert_eq!(awaited.stats(), deferred.stats(), "{example}");
        sends += a.len();
    }
    assert!(sends > 30, "the script makes the examples send ({sends})");
}

#[tokio::test]
async fn the_sends_of_several_runs_are_pending_at_once() {
    let mut e = engine("booking_cta.kflow", true);
    for contact in ["ana", "bo"] {
        e.handle(Event::Reply {
            contact: contact.into(),
            channel: Channel::Whatsapp,
        })
        .await;
    }
    assert!(e.is_sending("ana") && e.is_sending("bo"));
    let pending = e.take_pending_sends();
    assert_eq!(pending.len(), 2, "both CTAs decided, none made yet");
    assert!(e.host().sent().is_empty());
    assert_eq!(e.stats().timers, 0, "no CTA waits before it is sent");
    // The answers come back in the other order: each run goes on by itself.
    for send in pending.into_iter().rev() {
        let result = e.host().send(&send.outbound).await;
        e.complete_send(send, result).await;
    }
    assert_eq!(e.stats().timers, 2, "both CTAs wait for their outcome");
    assert!(!e.is_sending("ana"));
}
