//! A processing step on PostgreSQL: begun on the shards this worker holds
//! (redoing first a step a crash left on any of them), loaded, and
//! committed whole, each write that decisions depend on fenced by the
//! shards' leases (see `lease.rs`).

use chrono::{DateTime, Utc};

use super::lease::fence;
use super::{PgStore, micros, pg_error, time, to_i64, to_u64};
use crate::store::db::{SHARDS, StepCommit, StepKeys, StepState, StepWork, shard_of};
use crate::store::messages::transition;
use crate::store::{RunRecord, StoreError};

pub(crate) async fn begin_step(
    store: &PgStore,
    limit: usize,
    now: DateTime<Utc>,
    unroutable_before: DateTime<Utc>,
) -> Result<Option<StepWork>, StoreError> {
    let held = store.shards();
    if held.is_empty() {
        return Ok(None);
    }
    let mut client = store.client().await?;
    // A step a crash interrupted, on shards held now (taken over from the
    // worker that crashed, or our own from before a restart): redone first,
    // for those shards, with its events and its instant.
    let left = client
        .query_opt(
            "SELECT id, at, seqs, shards FROM intents WHERE shards && $1 ORDER BY id LIMIT 1",
            &[&held],
        )
        .await
        .map_err(pg_error)?;
    if let Some(row) = left {
        let id: i64 = row.get(0);
        let at = time(row.get(1))?;
        let seqs: Vec<i64> = row.get(2);
        let shards: Vec<i32> = row.get(3);
        let cover: Vec<i32> = shards.into_iter().filter(|s| held.contains(s)).collect();
        let items = client
            .query(
                "SELECT seq, payload FROM inbox
                 WHERE seq = ANY($1) AND processed_at IS NULL AND shard = ANY($2)
                 ORDER BY array_position($1, seq)",
                &[&seqs, &cover],
            )
            .await
            .map_err(pg_error)?
            .iter()
            .map(|r| (to_u64(r.get(0)), r.get(1)))
            .collect();
        return Ok(Some(StepWork {
            at,
            items,
            redo: true,
            shards: cover,
            intent: Some(id),
        }));
    }
    route(&client, unroutable_before).await?;
    let items: Vec<(u64, String)> = client
        .query(
            "SELECT seq, payload FROM inbox
             WHERE processed_at IS NULL AND shard = ANY($1) ORDER BY seq LIMIT $2",
            &[&held, &i64::try_from(limit).unwrap_or(i64::MAX)],
        )
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| (to_u64(r.get(0)), r.get(1)))
        .collect();
    if items.is_empty() {
        let due = client
            .query_opt(
                "SELECT 1 FROM runs WHERE due_at <= $1 AND stranded IS NULL AND shard = ANY($2)
                 LIMIT 1",
                &[&micros(now), &held],
            )
            .await
            .map_err(pg_error)?;
        if due.is_none() {
            return Ok(None);
        }
    }
    let seqs: Vec<i64> = items
        .iter()
        .map(|(seq, _)| to_i64(*seq))
        .collect::<Result<_, _>>()?;
    let tx = client.transaction().await.map_err(pg_error)?;
    fence(&tx, store.worker(), &held).await?;
    let id: i64 = tx
        .query_one(
            "INSERT INTO intents (worker, at, seqs, shards) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&store.worker_id(), &micros(now), &seqs, &held],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    tx.commit().await.map_err(pg_error)?;
    Ok(Some(StepWork {
        at: now,
        items,
        redo: false,
        shards: held,
        intent: Some(id),
    }))
}

/// Gives statuses stored before their message was known the shard of the
/// message's contact, and those stored before `unroutable_before` and still
/// unknown a shard of their own (no run waits on such a message).
async fn route(
    client: &deadpool_postgres::Object,
    unroutable_before: DateTime<Utc>,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE inbox i SET shard = m.shard FROM messages m
             WHERE i.processed_at IS NULL AND i.shard IS NULL
               AND m.message_id = i.route AND m.shard IS NOT NULL",
            &[],
        )
        .await
        .map_err(pg_error)?;
    client
        .execute(
            "UPDATE inbox SET shard = (seq % $2)::integer
             WHERE processed_at IS NULL AND shard IS NULL AND received_at < $1",
            &[&micros(unroutable_before), &i64::from(SHARDS)],
        )
        .await
        .map_err(pg_error)?;
    Ok(())
}

pub(crate) async fn step_state(
    store: &PgStore,
    keys: &StepKeys,
    shards: &[i32],
) -> Result<StepState, StoreError> {
    let client = store.client().await?;
    let mut contacts = keys.contacts.clone();
    if !keys.messages.is_empty() {
        let rows = client
            .query(
                "SELECT DISTINCT contact FROM runs
                 WHERE waiting_on = ANY($1) AND stranded IS NULL AND shard = ANY($2)",
                &[&keys.messages, &shards],
            )
            .await
            .map_err(pg_error)?;
        contacts.extend(rows.iter().map(|r| r.get::<_, String>(0)));
    }
    if let Some(due) = keys.due {
        let rows = client
            .query(
                "SELECT contact FROM runs
                 WHERE due_at <= $1 AND stranded IS NULL AND shard = ANY($2)
                 ORDER BY due_at, id LIMIT $3",
                &[
                    &micros(due),
                    &shards,
                    &i64::try_from(keys.due_limit).unwrap_or(i64::MAX),
                ],
            )
            .await
            .map_err(pg_error)?;
        contacts.extend(rows.iter().map(|r| r.get::<_, String>(0)));
    }
    contacts.sort_unstable();
    contacts.dedup();
    let loaded = client
        .query("SELECT data FROM contacts WHERE id = ANY($1)", &[&contacts])
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)))
        .collect::<Result<Vec<_>, _>>()?;
    let runs = client
        .query(
            "SELECT id, workflow, version, contact, data, due_at, waiting_on FROM runs
             WHERE contact = ANY($1) AND stranded IS NULL AND shard = ANY($2) ORDER BY id",
            &[&contacts, &shards],
        )
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| {
            Ok(RunRecord {
                id: to_u64(r.get(0)),
                workflow: r.get(1),
                version: r.get(2),
                contact: r.get(3),
                data: r.get(4),
                due_at: r.get::<_, Option<i64>>(5).map(time).transpose()?,
                waiting_on: r.get(6),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(StepState {
        contacts: loaded,
        runs,
    })
}

pub(crate) async fn commit_step(
    store: &PgStore,
    commit: StepCommit,
    shards: &[i32],
    intent: Option<i64>,
) -> Result<(), StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg_error)?;
    fence(&tx, store.worker(), shards).await?;
    let at = micros(commit.at);
    for (workflow, version, ir) in &commit.programs {
        tx.execute(
            "INSERT INTO programs (workflow, version, ir, loaded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (workflow, version) DO NOTHING",
            &[workflow, version, &&**ir, &at],
        )
        .await
        .map_err(pg_error)?;
    }
    if !commit.contacts.is_empty() {
        let ids: Vec<&str> = commit.contacts.iter().map(|c| c.id.as_str()).collect();
        let data = commit
            .contacts
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        tx.execute(
            "INSERT INTO contacts (id, data) SELECT * FROM unnest($1::text[], $2::text[])
             ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            &[&ids, &data],
        )
        .await
        .map_err(pg_error)?;
    }
    if !commit.runs.is_empty() {
        let runs = &commit.runs;
        let ids = runs
            .iter()
            .map(|r| to_i64(r.id))
            .collect::<Result<Vec<_>, _>>()?;
        let workflows: Vec<&str> = runs.iter().map(|r| r.workflow.as_str()).collect();
        let versions: Vec<&str> = runs.iter().map(|r| r.version.as_str()).collect();
        let contacts: Vec<&str> = runs.iter().map(|r| r.contact.as_str()).collect();
        let run_shards: Vec<i32> = runs.iter().map(|r| shard_of(&r.contact)).collect();
        let data: Vec<&str> = runs.iter().map(|r| r.data.as_str()).collect();
        let due: Vec<Option<i64>> = runs.iter().map(|r| r.due_at.map(micros)).collect();
        let waiting: Vec<Option<&str>> = runs.iter().map(|r| r.waiting_on.as_deref()).collect();
        tx.execute(
            "INSERT INTO runs (id, workflow, version, contact, shard, data, due_at, waiting_on)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                                  $5::integer[], $6::text[], $7::bigint[], $8::text[])
             ON CONFLICT (id) DO UPDATE SET workflow = excluded.workflow,
                 version = excluded.version, contact = excluded.contact, shard = excluded.shard,
                 data = excluded.data, due_at = excluded.due_at,
                 waiting_on = excluded.waiting_on, stranded = NULL",
            &[
                &ids,
                &workflows,
                &versions,
                &contacts,
                &run_shards,
                &data,
                &due,
                &waiting,
            ],
        )
        .await
        .map_err(pg_error)?;
    }
    if !commit.ended.is_empty() {
        let ended = commit
            .ended
            .iter()
            .map(|id| to_i64(*id))
            .collect::<Result<Vec<_>, _>>()?;
        tx.execute("DELETE FROM runs WHERE id = ANY($1)", &[&ended])
            .await
            .map_err(pg_error)?;
    }
    for (id, reason) in &commit.stranded {
        tx.execute(
            "UPDATE runs SET stranded = $2 WHERE id = $1",
            &[&to_i64(*id)?, reason],
        )
        .await
        .map_err(pg_error)?;
    }
    for (message_id, status, error) in &commit.statuses {
        let stored: Option<String> = tx
            .query_opt(
                "SELECT status FROM messages WHERE message_id = $1 FOR UPDATE",
                &[message_id],
            )
            .await
            .map_err(pg_error)?
            .map(|r| r.get(0));
        let Some(to) = transition(stored.and_then(|s| s.parse().ok()), *status) else {
            continue;
        };
        let error = error
            .as_deref()
            .filter(|_| to == crate::store::MessageStatus::Failed);
        tx.execute(
            "INSERT INTO messages (message_id, status, error, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (message_id) DO UPDATE SET
                 status = excluded.status, error = excluded.error, updated_at = excluded.updated_at",
            &[message_id, &to.as_str(), &error, &at],
        )
        .await
        .map_err(pg_error)?;
    }
    if !commit.processed.is_empty() {
        let seqs = commit
            .processed
            .iter()
            .map(|s| to_i64(*s))
            .collect::<Result<Vec<_>, _>>()?;
        tx.execute(
            "UPDATE inbox SET processed_at = $1 WHERE seq = ANY($2) AND processed_at IS NULL",
            &[&at, &seqs],
        )
        .await
        .map_err(pg_error)?;
    }
    if let Some(id) = intent {
        // The step's record covers the shards it was begun on; a redo by a
        // worker that took over part of them removes its part.
        tx.execute(
            "UPDATE intents SET shards = ARRAY(SELECT unnest(shards) EXCEPT SELECT unnest($2::integer[]))
             WHERE id = $1",
            &[&id, &shards],
        )
        .await
        .map_err(pg_error)?;
        tx.execute(
            "DELETE FROM intents WHERE id = $1 AND cardinality(shards) = 0",
            &[&id],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)
}

pub(crate) async fn next_due(store: &PgStore) -> Result<Option<DateTime<Utc>>, StoreError> {
    let held = store.shards();
    if held.is_empty() {
        return Ok(None);
    }
    let client = store.client().await?;
    let due: Option<i64> = client
        .query_opt(
            "SELECT due_at FROM runs WHERE due_at IS NOT NULL AND stranded IS NULL
             AND shard = ANY($1) ORDER BY due_at LIMIT 1",
            &[&held],
        )
        .await
        .map_err(pg_error)?
        .map(|r| r.get(0));
    due.map(time).transpose()
}
