//! An engine that keeps nothing between events (`Engine::evict`, then
//! `Engine::hydrate` of only what the next event needs, as `kflowc serve`
//! does with its store) decides exactly what an engine holding everything
//! in memory does: every example, driven by the same events, makes the
//! same sends at the same times, the same tag changes and the same trace
//! for each run.

#[path = "support/examples.rs"]
mod examples;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};
use examples::{example_files, per_run};
use kflow::ir::Channel;
use kflow::runtime::{Contact, Engine, Event, RunRecord, SimHost, VirtualClock, Wait};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn contacts() -> Vec<Contact> {
    ["ana", "bo"]
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut c = Contact::new(*id);
            c.phone = Some(format!("+1555123000{i}"));
            c.email = Some(format!("{id}@example.com"));
            c.fields.insert("first_name".into(), (*id).into());
            c
        })
        .collect()
}

fn engine(example: &str) -> Engine<SimHost> {
    let path = format!("{}/examples/{example}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).expect("example exists");
    let source = kflow::SourceFile::new(example, text).expect("small");
    let program = kflow::compile(&source).expect("compiles");
    let mut engine = Engine::new(SimHost::new(VirtualClock::new(t0())));
    engine.load(program).expect("valid IR");
    engine
}

/// What a durable embedder keeps: contacts and waiting runs.
#[derive(Default)]
struct Stored {
    contacts: HashMap<String, Contact>,
    runs: BTreeMap<u64, RunRecord>,
}

impl Stored {
    fn save(&mut self, engine: &mut Engine<SimHost>) {
        let changes = engine.take_changes();
        for c in changes.contacts {
            self.contacts.insert(c.id.clone(), c);
        }
        for r in changes.runs {
            self.runs.insert(r.id, r);
        }
        for id in changes.ended {
            self.runs.remove(&id);
        }
        engine.evict();
    }

    /// Loads the contacts named, every run of each, and the runs waiting on
    /// `message` or due by `due`, as the service's step does.
    fn load(
        &self,
        engine: &mut Engine<SimHost>,
        named: &[&str],
        message: Option<&str>,
        due: DateTime<Utc>,
    ) {
        let mut wanted: Vec<String> = named.iter().map(|c| c.to_string()).collect();
        for r in self.runs.values() {
            let waits_on = match &r.wait {
                Wait::Cta { message_id } | Wait::Choice { message_id } => Some(message_id.as_str()),
                _ => None,
            };
            if (message.is_some() && waits_on == message) || r.due.is_some_and(|d| d <= due) {
                wanted.push(r.contact.clone());
            }
        }
        let contacts = wanted
            .iter()
            .filter_map(|id| self.contacts.get(id).cloned())
            .collect();
        let runs = self
            .runs
            .values()
            .filter(|r| wanted.contains(&r.contact))
            .cloned()
            .collect();
        let problems = engine.hydrate(contacts, runs);
        assert!(problems.is_empty(), "{problems:?}");
    }

    fn next_due(&self) -> Option<DateTime<Utc>> {
        self.runs.values().filter_map(|r| r.due).min()
    }
}

fn script() -> Vec<(i64, Event)> {
    let reply = |contact: &str, channel| Event::Reply {
        contact: contact.into(),
        channel,
    };
    let chose = |contact: &str, answers: &str, id: &str| Event::Chose {
        contact: contact.into(),
        answers: Some(answers.into()),
        id: id.into(),
    };
    vec![
        (0, reply("ana", Channel::Whatsapp)),
        (0, reply("bo", Channel::Whatsapp)),
        (1, reply("ana", Channel::Sms)),
        (2, chose("ana", "msg-1", "confirm")),
        (2, chose("bo", "msg-2", "reschedule")),
        (
            3,
            Event::LinkOpened {
                message_id: "msg-2".into(),
            },
        ),
        (
            4,
            Event::Delivered {
                message_id: "msg-1".into(),
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
        (50, chose("bo", "msg-2", "m9")),
        (3 * 24 * 60, reply("ana", Channel::Whatsapp)),
        (
            3 * 24 * 60 + 5,
            Event::LinkOpened {
                message_id: "msg-4".into(),
            },
        ),
    ]
}

fn names(event: &Event) -> (Vec<&str>, Option<&str>) {
    match event {
        Event::Reply { contact, .. } | Event::Chose { contact, .. } => {
            (vec![contact.as_str()], None)
        }
        Event::LinkOpened { message_id }
        | Event::DeliveryFailed { message_id, .. }
        | Event::Delivered { message_id } => (Vec::new(), Some(message_id.as_str())),
    }
}

async fn in_memory(example: &str) -> Engine<SimHost> {
    let mut e = engine(example);
    for c in contacts() {
        e.upsert_contact(c);
    }
    let clock = e.host().clock().clone();
    for (minutes, event) in script() {
        e.advance(&clock, t0() + Duration::minutes(minutes)).await;
        e.handle(event).await;
    }
    e.advance(&clock, t0() + Duration::days(5)).await;
    e
}

async fn stored(example: &str) -> (Engine<SimHost>, Stored) {
    let mut e = engine(example);
    e.record_changes();
    let mut store = Stored::default();
    for c in contacts() {
        e.upsert_contact(c);
    }
    store.save(&mut e);
    let clock = e.host().clock().clone();
    let mut steps = script();
    steps.push((
        5 * 24 * 60,
        Event::Delivered {
            message_id: "none".into(),
        },
    ));
    for (minutes, event) in steps {
        let until = t0() + Duration::minutes(minutes);
        // Each deadline fires in a step of its own, at its instant.
        while let Some(due) = store.next_due().filter(|d| *d <= until) {
            clock.set(due);
            store.load(&mut e, &[], None, due);
            e.fire_due().await;
            store.save(&mut e);
        }
        clock.set(until);
        let (contacts, message) = names(&event);
        store.load(&mut e, &contacts, message, until);
        e.handle(event).await;
        store.save(&mut e);
    }
    (e, store)
}

#[tokio::test]
async fn an_engine_that_forgets_between_events_decides_the_same() {
    let examples = example_files();
    let mut sends = 0;
    for example in &examples {
        let memory = in_memory(example).await;
        let (forgetful, store) = stored(example).await;
        let (m, f) = (memory.host().sent(), forgetful.host().sent());
        assert_eq!(m, f, "{example}: sends");
        assert_eq!(memory.host().tags(), forgetful.host().tags(), "{example}");
        let mut traced = per_run(&forgetful.host().trace());
        // The extra closing event above found nothing; it is the only
        // difference.
        if let Some(runless) = traced.get_mut(&0) {
            runless.retain(|e| e.at < t0() + Duration::days(5));
        }
        traced.retain(|_, events| !events.is_empty());
        assert_eq!(per_run(&memory.host().trace()), traced, "{example}");
        assert_eq!(
            memory.stats().started,
            forgetful.stats().started,
            "{example}"
        );
        assert_eq!(memory.stats().ended, forgetful.stats().ended, "{example}");
        // What is left waiting is in the store, not in the engine.
        assert_eq!(memory.stats().active, store.runs.len(), "{example}");
        assert_eq!(forgetful.stats().active, 0, "{example}");
        for c in contacts() {
            assert_eq!(
                memory.contact(&c.id),
                store.contacts.get(&c.id),
                "{example}: contact {}",
                c.id
            );
        }
        sends += m.len();
    }
    assert!(sends > 30, "the script makes the examples send ({sends})");
}

fn compile(text: &str) -> kflow::ir::Program {
    let source = kflow::SourceFile::new("w.kflow", text).expect("small");
    kflow::compile(&source).expect("compiles")
}

fn sms_texts(engine: &Engine<SimHost>) -> Vec<(String, String)> {
    engine
        .host()
        .sent()
        .iter()
        .map(|s| {
            let text = match &s.outbound.message {
                kflow::runtime::Message::Sms { body, .. } => body.clone(),
                other => format!("{other:?}"),
            };
            (s.outbound.contact.clone(), text)
        })
        .collect()
}

/// A changed workflow starts new runs on its new version; a run waiting
/// on the old one resumes and finishes on it, and still holds its
/// trigger's place for its contact.
#[tokio::test]
async fn runs_finish_on_the_version_they_started_on() {
    let v1 = compile(r#"workflow "W" on reply sms < wait 1h sms "v1: an hour later" >"#);
    let v2 = compile(
        r#"workflow "W" on reply sms < sms "v2: hello" wait 2h sms "v2: two hours later" >"#,
    );
    let mut e = Engine::new(SimHost::new(VirtualClock::new(t0())));
    e.load_version(v1.clone(), "v1".into()).expect("valid IR");
    e.record_changes();
    let mut store = Stored::default();
    for c in contacts() {
        e.upsert_contact(c);
    }
    let reply = |c: &str| Event::Reply {
        contact: c.into(),
        channel: Channel::Sms,
    };
    e.handle(reply("ana")).await;
    store.save(&mut e);
    let waiting: Vec<&RunRecord> = store.runs.values().collect();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].version, "v1");

    // The deploy: v2 is what new runs start on; v1 stays for ana's run.
    e.load_version(v2, "v2".into()).expect("valid IR");
    assert!(e.has_version("W", "v1") && e.has_version("W", "v2"));
    let clock = e.host().clock().clone();
    clock.set(t0() + Duration::minutes(10));
    store.load(&mut e, &["ana", "bo"], None, clock.now());
    e.handle(reply("ana")).await;
    e.handle(reply("bo")).await;
    store.save(&mut e);
    let versions: BTreeMap<String, String> = store
        .runs
        .values()
        .map(|r| (r.contact.clone(), r.version.clone()))
        .collect();
    assert_eq!(
        versions,
        BTreeMap::from([("ana".into(), "v1".into()), ("bo".into(), "v2".into())]),
        "ana's second reply starts nothing: her v1 run holds the trigger"
    );
    for at in [t0() + Duration::hours(1), t0() + Duration::minutes(130)] {
        clock.set(at);
        store.load(&mut e, &[], None, at);
        e.fire_due().await;
        store.save(&mut e);
    }
    assert_eq!(
        sms_texts(&e),
        [
            ("bo".to_owned(), "v2: hello".to_owned()),
            ("ana".to_owned(), "v1: an hour later".to_owned()),
            ("bo".to_owned(), "v2: two hours later".to_owned()),
        ]
    );
    assert!(store.runs.is_empty());
}

/// A record naming a version that is not loaded is reported, not run on
/// another version; a record from before versions resumes on the current.
#[tokio::test]
async fn a_run_of_a_version_not_loaded_is_reported() {
    let program = compile(r#"workflow "W" on reply sms < wait 1h sms "later" >"#);
    let mut e = Engine::new(SimHost::new(VirtualClock::new(t0())));
    e.load_version(program, "v2".into()).expect("valid IR");
    let record = |id: u64, version: &str| RunRecord {
        id,
        workflow: "W".into(),
        version: version.into(),
        contact: "ana".into(),
        node: kflow::ir::NodeId(0),
        generation: 1,
        wait: Wait::Timer,
        due: Some(t0() + Duration::hours(1)),
    };
    let problems = e.hydrate(Vec::new(), vec![record(7, "v1"), record(8, "")]);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].run, 7);
    assert_eq!(
        problems[0].reason,
        "version v1 of workflow `W` is not loaded"
    );
    assert_eq!(e.stats().active, 1, "the record without a version resumes");
    assert_eq!(
        e.run_record(8).map(|r| r.version),
        Some("v2".into()),
        "and is saved on the current version from then on"
    );
}
