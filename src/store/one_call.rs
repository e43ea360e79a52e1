//! One-call store operations, each alone in its own write job, for tests,
//! benchmarks and tools. The service composes the table functions inside one
//! write job instead, so that what belongs together commits together.

use chrono::{DateTime, Utc};

use super::*;

/// Single operations, each alone in its own write job: **for tests,
/// benchmarks and tools**. The service does not call these; it composes the
/// table functions inside one [`Store::write`] job so that what belongs
/// together commits together.
impl Store {
    /// Stores an incoming event stamped `now`, unless its `dedupe_key` is
    /// already known; returns once it is durable.
    pub async fn enqueue(
        &self,
        dedupe_key: impl Into<String>,
        source: impl Into<String>,
        payload: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<Enqueued, StoreError> {
        let (key, source, payload) = (dedupe_key.into(), source.into(), payload.into());
        self.write(move |tx| inbox::enqueue(tx, &key, &source, &payload, now))
            .await
    }

    /// Marks an event processed at `now`; false if it was unknown or already
    /// processed. To make processing atomic with its effects, call
    /// [`inbox::mark_processed`] in the same [`Store::write`] job instead.
    pub async fn mark_processed(&self, seq: u64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.write(move |tx| inbox::mark_processed(tx, seq, now))
            .await
    }

    /// Inserts or replaces a contact.
    pub async fn save_contact(&self, contact: Contact) -> Result<(), StoreError> {
        self.write(move |tx| contacts::save(tx, &contact)).await
    }

    /// One contact by id.
    pub fn contact(&self, id: &str) -> Result<Option<Contact>, StoreError> {
        self.read(|conn| contacts::load(conn, id))
    }

    /// Inserts or replaces a run record.
    pub async fn save_run(&self, run: RunRecord) -> Result<(), StoreError> {
        self.write(move |tx| runs::save(tx, &run)).await
    }

    /// Deletes a run record; false if there was none.
    pub async fn delete_run(&self, id: u64) -> Result<bool, StoreError> {
        self.write(move |tx| runs::delete(tx, id)).await
    }

    /// Up to `limit` runs due at or before `t`, earliest first.
    pub fn due_before(&self, t: DateTime<Utc>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.read(|conn| runs::due_before(conn, t, limit))
    }

    /// The next value of the counter `name` (1, 2, 3, ...), durably.
    pub async fn next_id(&self, name: impl Into<String>) -> Result<u64, StoreError> {
        let name = name.into();
        self.write(move |tx| meta::next_id(tx, &name)).await
    }

    /// Begins an effect at `now` before its provider call; see
    /// [`effects::begin`]. Returns once the begin is durable, so the call may
    /// then be made.
    pub async fn begin_effect(
        &self,
        key: impl Into<String>,
        run: u64,
        request: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<EffectState, StoreError> {
        let (key, request) = (key.into(), request.into());
        self.write(move |tx| effects::begin(tx, &key, run, &request, now))
            .await
    }

    /// Records an effect's result at `now`, after its provider call; see
    /// [`effects::complete`].
    pub async fn complete_effect(
        &self,
        key: impl Into<String>,
        result: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<Completion, StoreError> {
        let (key, result) = (key.into(), result.into());
        self.write(move |tx| effects::complete(tx, &key, &result, now))
            .await
    }

    /// Records a message the provider accepted at `now`; see
    /// [`messages::record_sent`].
    pub async fn record_sent(
        &self,
        message_id: impl Into<String>,
        run: Option<u64>,
        channel: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (id, channel) = (message_id.into(), channel.into());
        self.write(move |tx| messages::record_sent(tx, &id, run, &channel, now))
            .await
    }

    /// Applies a delivery status; see [`messages::apply_status`].
    pub async fn apply_status(
        &self,
        message_id: impl Into<String>,
        status: MessageStatus,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<StatusChange, StoreError> {
        let id = message_id.into();
        self.write(move |tx| messages::apply_status(tx, &id, status, error.as_deref(), at))
            .await
    }

    /// Creates a click-tracking link; see [`links::create`].
    pub async fn create_link(
        &self,
        token: impl Into<String>,
        message_id: Option<String>,
        run: Option<u64>,
        url: impl Into<String>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (token, url) = (token.into(), url.into());
        self.write(move |tx| {
            links::create(tx, &token, message_id.as_deref(), run, &url, expires_at)
        })
        .await
    }

    /// Resolves a click; see [`links::open`].
    pub async fn open_link(
        &self,
        token: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<LinkOpen, StoreError> {
        let token = token.into();
        self.write(move |tx| links::open(tx, &token, now)).await
    }
}
