//! [`super::Db`]'s operations on the embedded SQLite file: one process owns
//! every contact, so events are processed in arrival order and routes are
//! not needed.

use chrono::{DateTime, Utc};

use super::{EffectBegin, EffectEnd, NewEvent, StepCommit, StepKeys, StepState, StepWork};
use crate::store::{self, EffectState, Enqueued, LinkOpen, Store, StoreError};

pub(super) async fn enqueue_all(
    store: &Store,
    events: Vec<NewEvent>,
    now: DateTime<Utc>,
) -> Result<Vec<Enqueued>, StoreError> {
    store
        .write(move |tx| {
            events
                .iter()
                .map(|e| store::inbox::enqueue(tx, &e.key, &e.source, &e.payload, now))
                .collect()
        })
        .await
}

pub(super) fn link_peek(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<LinkOpen, StoreError> {
    store.read(|conn| store::links::peek(conn, token, now))
}

pub(super) async fn link_open(
    store: &Store,
    token: &str,
    key: &str,
    event: &str,
    now: DateTime<Utc>,
) -> Result<LinkOpen, StoreError> {
    let (token, key, event) = (token.to_owned(), key.to_owned(), event.to_owned());
    store
        .write(move |tx| {
            let open = store::links::open(tx, &token, now)?;
            if matches!(open, LinkOpen::First { .. }) {
                store::inbox::enqueue(tx, &key, "link", &event, now)?;
            }
            Ok(open)
        })
        .await
}

pub(super) fn run_ids_from(store: &Store) -> Result<u64, StoreError> {
    Ok(store.read(store::meta::run_ids_from)?.unwrap_or(1))
}

/// What a step covers, recorded before it may send anything and deleted in
/// its own commit (see `server/processor.rs`).
#[derive(serde::Serialize, serde::Deserialize)]
struct Intent {
    /// The inbox events, in processing order.
    seqs: Vec<u64>,
    /// The instant the step runs at.
    at: DateTime<Utc>,
}

pub(super) async fn begin_step(
    store: &Store,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Option<StepWork>, StoreError> {
    // A step a crash interrupted is redone first. One whose record no
    // longer parses is ignored: the next step starts afresh.
    let intent = store
        .read(store::meta::step_intent)?
        .and_then(|raw| serde_json::from_str::<Intent>(&raw).ok());
    if let Some(intent) = intent {
        let items = store.read(|conn| store::inbox::pending_payloads(conn, &intent.seqs))?;
        return Ok(Some(StepWork {
            at: intent.at,
            items,
            redo: true,
            shards: Vec::new(),
            intent: None,
        }));
    }
    let items: Vec<(u64, String)> = store
        .pending(limit)?
        .into_iter()
        .map(|i| (i.seq, i.payload))
        .collect();
    if items.is_empty() {
        let due = store.read(store::runs::next_due)?;
        if due.is_none_or(|due| due > now) {
            return Ok(None);
        }
    }
    let intent = serde_json::to_string(&Intent {
        seqs: items.iter().map(|(seq, _)| *seq).collect(),
        at: now,
    })?;
    store
        .write(move |tx| store::meta::set_step_intent(tx, &intent))
        .await?;
    Ok(Some(StepWork {
        at: now,
        items,
        redo: false,
        shards: Vec::new(),
        intent: None,
    }))
}

pub(super) fn step_state(store: &Store, keys: &StepKeys) -> Result<StepState, StoreError> {
    store.read(|conn| {
        let mut contacts = keys.contacts.clone();
        contacts.extend(store::runs::contacts_waiting_on(conn, &keys.messages)?);
        if let Some(due) = keys.due {
            contacts.extend(store::runs::contacts_due(conn, due, keys.due_limit)?);
        }
        contacts.sort_unstable();
        contacts.dedup();
        Ok(StepState {
            contacts: store::contacts::load_many(conn, &contacts)?,
            runs: store::runs::of_contacts(conn, &contacts)?,
        })
    })
}

pub(super) async fn commit_step(store: &Store, commit: StepCommit) -> Result<(), StoreError> {
    store
        .write(move |tx| {
            for (workflow, version, ir) in &commit.programs {
                store::programs::ensure(tx, workflow, version, ir, commit.at)?;
            }
            for contact in &commit.contacts {
                store::contacts::save(tx, contact)?;
            }
            for run in &commit.runs {
                store::runs::save(tx, run)?;
            }
            for id in &commit.ended {
                store::runs::delete(tx, *id)?;
            }
            for (id, reason) in &commit.stranded {
                store::runs::strand(tx, *id, reason)?;
            }
            for (id, status, error) in &commit.statuses {
                store::messages::apply_status(tx, id, *status, error.as_deref(), commit.at)?;
            }
            for seq in &commit.processed {
                store::inbox::mark_processed(tx, *seq, commit.at)?;
            }
            store::meta::clear_step_intent(tx)
        })
        .await
}

pub(super) async fn effect_begin(
    store: &Store,
    begin: EffectBegin,
    now: DateTime<Utc>,
) -> Result<EffectState, StoreError> {
    // A CTA's tracking link is stored in the same transaction as the
    // ledger's begin: never a begun send without its link.
    store
        .write(move |tx| {
            let state = store::effects::begin(tx, &begin.key, begin.run, &begin.request, now)?;
            if state == EffectState::Fresh
                && let Some((token, url, expires)) = &begin.link
            {
                store::links::create(tx, token, None, Some(begin.run), url, *expires)?;
            }
            Ok(state)
        })
        .await
}

pub(super) fn effect_end(
    store: &Store,
    end: EffectEnd,
    now: DateTime<Utc>,
) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
    store.write(move |tx| {
        store::effects::complete(tx, &end.key, &end.result, now)?;
        if let Some(id) = &end.message_id {
            store::messages::record_sent(tx, id, Some(end.run), end.channel, now)?;
            if let Some(token) = &end.token {
                store::links::attach_message(tx, token, id)?;
            }
        }
        Ok(())
    })
}
