//! The durable store (`kflow::store`): migrations, group commit, and each
//! table's rules — inbox de-duplication, the effect ledger (including a real
//! crash between an effect's begin and its completion), the one-way message
//! status machine, click-tracking links — and that what a write reported as
//! done is on disk.
//!
//! Every test uses its own temporary directory on the real disk.

use std::sync::mpsc;

use chrono::{DateTime, Duration, Utc};
use kflow::runtime::Contact;
use kflow::store::{
    self, Completion, EffectState, Enqueued, LinkOpen, MessageStatus, RunRecord, StatusChange,
    Store, StoreError,
};
use rusqlite::Connection;
use tempfile::TempDir;

fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("valid time")
}

fn fresh() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("kflow.db")).expect("open the store");
    (dir, store)
}

fn reopen(dir: &TempDir) -> Store {
    Store::open(dir.path().join("kflow.db")).expect("open the store")
}

/// A write job that holds the writer until `release` gets a message, so the
/// jobs queued meanwhile all land in the next batch. Returns once the writer
/// is inside the blocking job.
fn hold_writer(store: &Store) -> (mpsc::Sender<()>, impl Future<Output = ()>) {
    let (started_tx, started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let job = store.write(move |_tx| {
        started_tx.send(()).expect("signal the test");
        released.recv().expect("wait for the test");
        Ok(())
    });
    started.recv().expect("wait for the test");
    (release, async move { job.await.expect("store write") })
}

// ----- opening and migrations -----

#[test]
fn opening_creates_the_schema_and_reopening_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kflow.db");
    drop(Store::open(&path).expect("open the store"));
    let schema = |path: &std::path::Path| {
        let conn = Connection::open(path).expect("open a plain connection");
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("plain SQL");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("plain SQL");
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name")
            .expect("plain SQL");
        let objects: Vec<(String, String, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("plain SQL")
            .collect::<Result<_, _>>()
            .expect("plain SQL");
        (version, mode, objects)
    };
    let (version, mode, first) = schema(&path);
    assert_eq!(version, store::schema_version());
    assert_eq!(mode, "wal");
    let tables: Vec<&str> = first
        .iter()
        .filter(|(kind, name, _)| kind == "table" && !name.starts_with("sqlite_"))
        .map(|(_, name, _)| name.as_str())
        .collect();
    assert_eq!(
        tables,
        [
            "contacts", "effects", "inbox", "links", "messages", "meta", "programs", "runs"
        ]
    );

    for _ in 0..3 {
        drop(Store::open(&path).expect("open the store"));
    }
    assert_eq!(schema(&path), (version, mode, first));
}

#[test]
fn a_store_from_a_newer_kflow_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kflow.db");
    drop(Store::open(&path).expect("open the store"));
    let newer = store::schema_version() + 1;
    Connection::open(&path)
        .expect("open a plain connection")
        .execute_batch(&format!("PRAGMA user_version = {newer}"))
        .expect("plain SQL");
    let err = Store::open(&path).expect_err("must be refused");
    assert!(
        matches!(err, StoreError::TooNew { found, supported, .. } if found == newer && supported == newer - 1),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("newer"), "{message}");
    assert!(message.contains("kflow.db"), "{message}");
    // Refusing did not touch the file.
    let version: u32 = Connection::open(&path)
        .expect("open a plain connection")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("plain SQL");
    assert_eq!(version, newer);
}

#[test]
fn bad_paths_and_foreign_files_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");

    let missing = dir.path().join("no/such/dir/kflow.db");
    let err = Store::open(&missing)
        .expect_err("must be refused")
        .to_string();
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains("no/such/dir"), "{err}");

    let err = Store::open(dir.path())
        .expect_err("must be refused")
        .to_string();
    assert!(err.contains("directory"), "{err}");

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![b'x'; 4096]).expect("store read");
    let err = Store::open(&garbage).expect_err("must be refused");
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("garbage.db"), "{err}");

    let other = dir.path().join("other.db");
    Connection::open(&other)
        .expect("open a plain connection")
        .execute_batch("PRAGMA application_id = 42; CREATE TABLE t (x);")
        .expect("plain SQL");
    let err = Store::open(&other).expect_err("must be refused");
    assert!(
        matches!(
            err,
            StoreError::Foreign {
                application_id: 42,
                ..
            }
        ),
        "{err:?}"
    );
}

// ----- the writer -----

#[tokio::test]
async fn concurrent_writes_share_commits() {
    let (_dir, store) = fresh();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1_000 {
        let store = store.clone();
        tasks.spawn(async move {
            store
                .enqueue(format!("key-{i}"), "test", "{}", Utc::now())
                .await
        });
    }
    let mut seqs = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done.expect("task").expect("task") {
            Enqueued::New(seq) => seqs.push(seq),
            Enqueued::Duplicate => panic!("no key repeats"),
        }
    }
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 1_000);
    let stats = store.stats();
    assert_eq!(stats.jobs, 1_000);
    assert!(
        stats.commits <= 100,
        "1,000 jobs took {} commits: not grouped",
        stats.commits
    );
    assert!(stats.largest_batch >= 10, "{stats:?}");
    assert_eq!(store.pending(2_000).expect("store read").len(), 1_000);
}

#[tokio::test]
async fn a_failing_job_rolls_back_alone() {
    let (dir, store) = fresh();
    let (release, held) = hold_writer(&store);
    let commits_before = store.stats().commits;

    let insert = |key: &'static str| {
        move |tx: &rusqlite::Transaction<'_>| {
            store::inbox::enqueue(tx, key, "test", "{}", t(0))?;
            Ok(key)
        }
    };
    let a = store.write(insert("a"));
    let b = store.write(move |tx| {
        store::inbox::enqueue(tx, "b", "test", "{}", t(0))?;
        // Fails after writing: its row must go.
        tx.execute("INSERT INTO no_such_table VALUES (1)", [])?;
        Ok("b")
    });
    let c = store.write(move |tx| -> rusqlite::Result<&'static str> {
        store::inbox::enqueue(tx, "c", "test", "{}", t(0))?;
        panic!("job c panics");
    });
    let d = store.write(insert("d"));
    release.send(()).expect("signal the test");
    held.await;

    assert_eq!(a.await.expect("store write"), "a");
    assert!(matches!(b.await, Err(StoreError::Sql(_))));
    assert!(matches!(c.await, Err(StoreError::JobPanicked)));
    assert_eq!(d.await.expect("store write"), "d");
    let stats = store.stats();
    assert_eq!(
        stats.commits,
        commits_before + 2,
        "the held job's batch, then a, b, c, d in one"
    );
    assert!(stats.largest_batch >= 4);

    let keys: Vec<String> = store
        .pending(10)
        .expect("store read")
        .into_iter()
        .map(|item| item.dedupe_key)
        .collect();
    assert_eq!(keys, ["a", "d"]);
    // The writer survived the panic.
    assert_eq!(
        store
            .enqueue("e", "test", "{}", Utc::now())
            .await
            .expect("store write"),
        Enqueued::New(3)
    );
    drop(store);
    assert_eq!(reopen(&dir).pending(10).expect("store read").len(), 3);
}

#[tokio::test]
async fn a_write_is_on_disk_when_it_returns() {
    let (dir, store) = fresh();
    let path = dir.path().join("kflow.db");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let store = store.clone();
        let path = path.clone();
        tasks.spawn(async move {
            let key = format!("k{i}");
            let Enqueued::New(seq) = store
                .enqueue(key.clone(), "test", "{}", Utc::now())
                .await
                .expect("store write")
            else {
                panic!("new key");
            };
            // A connection that is not the store's sees the row at once.
            let conn = Connection::open(&path).expect("open a plain connection");
            let found: String = conn
                .query_row("SELECT dedupe_key FROM inbox WHERE seq = ?1", [seq], |r| {
                    r.get(0)
                })
                .expect("store read");
            assert_eq!(found, key);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
}

#[tokio::test]
async fn reads_do_not_wait_for_the_writer() {
    let (_dir, store) = fresh();
    store
        .enqueue("before", "test", "{}", Utc::now())
        .await
        .expect("store write");
    let (release, held) = hold_writer(&store);
    let queued = store.enqueue("during", "test", "{}", Utc::now());
    // The writer is busy; a read still answers, with the committed state.
    let keys: Vec<String> = store
        .pending(10)
        .expect("store read")
        .into_iter()
        .map(|i| i.dedupe_key)
        .collect();
    assert_eq!(keys, ["before"]);
    release.send(()).expect("signal the test");
    held.await;
    queued.await.expect("store write");
    assert_eq!(store.pending(10).expect("store read").len(), 2);
}

#[tokio::test]
async fn queued_jobs_commit_before_the_store_closes() {
    let (dir, store) = fresh();
    let clone = store.clone();
    let pending: Vec<_> = (0..20)
        .map(|i| {
            let key = format!("k{i}");
            clone.write(move |tx| store::inbox::enqueue(tx, &key, "test", "{}", t(0)))
        })
        .collect();
    drop(store);
    drop(clone); // joins the writer after it drained the queue
    for job in pending {
        assert!(matches!(job.await.expect("store write"), Enqueued::New(_)));
    }
    assert_eq!(reopen(&dir).pending(100).expect("store read").len(), 20);
}

// ----- inbox -----

#[tokio::test]
async fn every_notification_is_stored_once() {
    let (dir, store) = fresh();
    assert_eq!(
        store
            .enqueue("wamid.1", "whatsapp", "{\"a\":1}", Utc::now())
            .await
            .expect("store write"),
        Enqueued::New(1)
    );
    assert_eq!(
        store
            .enqueue("wamid.1", "whatsapp", "{\"a\":2}", Utc::now())
            .await
            .expect("store write"),
        Enqueued::Duplicate
    );
    // One webhook with several items, one a retry and one repeated inside.
    let items = ["wamid.2", "wamid.1", "wamid.3", "wamid.2"]
        .map(|k| (k.to_owned(), "whatsapp".to_owned(), "{}".to_owned()))
        .to_vec();
    assert_eq!(
        store
            .enqueue_all(items, Utc::now())
            .await
            .expect("store write"),
        [
            Enqueued::New(2),
            Enqueued::Duplicate,
            Enqueued::New(3),
            Enqueued::Duplicate
        ]
    );
    let pending = store.pending(10).expect("store read");
    let keys: Vec<&str> = pending.iter().map(|i| i.dedupe_key.as_str()).collect();
    assert_eq!(keys, ["wamid.1", "wamid.2", "wamid.3"]);
    assert_eq!(pending[0].payload, "{\"a\":1}", "the first copy is kept");
    assert_eq!(pending[0].source, "whatsapp");
    assert_eq!(store.pending(2).expect("store read").len(), 2);

    assert!(
        store
            .mark_processed(1, Utc::now())
            .await
            .expect("store write")
    );
    assert!(
        !store
            .mark_processed(1, Utc::now())
            .await
            .expect("store write")
    );
    assert!(
        !store
            .mark_processed(99, Utc::now())
            .await
            .expect("store write")
    );
    let keys: Vec<String> = store
        .pending(10)
        .expect("store read")
        .into_iter()
        .map(|i| i.dedupe_key)
        .collect();
    assert_eq!(keys, ["wamid.2", "wamid.3"]);

    // Processed, a retry is still a duplicate, also after a restart.
    drop(store);
    let store = reopen(&dir);
    assert_eq!(
        store
            .enqueue("wamid.1", "whatsapp", "{}", Utc::now())
            .await
            .expect("store write"),
        Enqueued::Duplicate
    );

    // Pruning drops processed rows received before the cutoff only.
    let pruned = store
        .write(|tx| store::retention::prune(tx, "inbox", Utc::now() + Duration::days(1), 100))
        .await
        .expect("store write");
    assert_eq!(pruned, 1);
    assert_eq!(store.pending(10).expect("store read").len(), 2);
    assert_eq!(
        store
            .enqueue("wamid.1", "whatsapp", "{}", Utc::now())
            .await
            .expect("store write"),
        Enqueued::New(4),
        "sequence numbers are never reused"
    );
}

#[tokio::test]
async fn processing_commits_with_its_effects() {
    let (_dir, store) = fresh();
    let Enqueued::New(seq) = store
        .enqueue("k", "test", "{}", Utc::now())
        .await
        .expect("store write")
    else {
        panic!()
    };
    // Marking processed and saving the run fail together: the run's data is
    // not JSON, so the event stays pending.
    let failed = store
        .write(move |tx| {
            store::inbox::mark_processed(tx, seq, t(1))?;
            store::runs::save(
                tx,
                &RunRecord {
                    id: 1,
                    workflow: "w".into(),
                    version: String::new(),
                    contact: "c".into(),
                    data: "not json".into(),
                    due_at: None,
                    waiting_on: None,
                },
            )
        })
        .await;
    assert!(matches!(failed, Err(StoreError::Sql(_))), "{failed:?}");
    assert_eq!(store.pending(10).expect("store read").len(), 1);
    assert!(store.load_runs().expect("store read").is_empty());
}

// ----- effects -----

#[tokio::test]
async fn the_effect_ledger_tells_fresh_done_and_in_doubt() {
    let (dir, store) = fresh();
    let request = r#"{"to":"+15551230000","text":"hi"}"#;
    assert_eq!(
        store
            .begin_effect("run1/send1", 1, request, Utc::now())
            .await
            .expect("store write"),
        EffectState::Fresh
    );
    // Begun again before completing: in doubt (a crash, or a call in flight).
    assert_eq!(
        store
            .begin_effect("run1/send1", 1, request, Utc::now())
            .await
            .expect("store write"),
        EffectState::InDoubt
    );
    let open = store.in_doubt().expect("store read");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].key, "run1/send1");
    assert_eq!(open[0].run_id, Some(1));
    assert_eq!(open[0].request, request);

    let result = r#"{"message_id":"wamid.9"}"#;
    assert_eq!(
        store
            .complete_effect("run1/send1", result, Utc::now())
            .await
            .expect("store write"),
        Completion::Recorded
    );
    assert_eq!(
        store
            .complete_effect("run1/send1", "{}", Utc::now())
            .await
            .expect("store write"),
        Completion::AlreadyCompleted
    );
    assert_eq!(
        store
            .complete_effect("never/begun", "{}", Utc::now())
            .await
            .expect("store write"),
        Completion::Unknown
    );
    assert!(store.in_doubt().expect("store read").is_empty());

    drop(store);
    let store = reopen(&dir);
    assert_eq!(
        store
            .begin_effect("run1/send1", 1, request, Utc::now())
            .await
            .expect("store write"),
        EffectState::Completed(result.to_owned()),
        "the first result is kept and reused"
    );
    // Requests and results must be JSON.
    assert!(
        store
            .begin_effect("bad", 1, "not json", Utc::now())
            .await
            .is_err()
    );
    assert!(store.in_doubt().expect("store read").is_empty());
}

#[tokio::test]
async fn an_effect_begun_before_a_clean_shutdown_is_in_doubt_after() {
    let (dir, store) = fresh();
    assert_eq!(
        store
            .begin_effect("run2/send", 2, "{}", Utc::now())
            .await
            .expect("store write"),
        EffectState::Fresh
    );
    drop(store);
    let store = reopen(&dir);
    assert_eq!(store.in_doubt().expect("store read").len(), 1);
    assert_eq!(
        store
            .begin_effect("run2/send", 2, "{}", Utc::now())
            .await
            .expect("store write"),
        EffectState::InDoubt
    );
}

const CRASH_DIR: &str = "KFLOW_STORE_CRASH_DIR";

/// The child half of the crash test: it does nothing in a normal run.
#[tokio::test]
async fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let store = Store::open(std::path::Path::new(&dir).join("kflow.db")).expect("open the store");
    store
        .enqueue("wamid.crash", "whatsapp", "{}", Utc::now())
        .await
        .expect("store write");
    assert_eq!(
        store
            .begin_effect("run7/send", 7, "{}", Utc::now())
            .await
            .expect("store write"),
        EffectState::Fresh
    );
    // The provider call would go here; the process dies first, with no
    // destructor run and no clean close of the database.
    std::process::abort();
}

#[tokio::test]
async fn a_crash_between_request_and_answer_is_in_doubt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let status = std::process::Command::new(std::env::current_exe().expect("run the crash child"))
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CRASH_DIR, dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run the crash child");
    assert!(!status.success(), "the child must have crashed");

    let store = reopen(&dir);
    // What was acknowledged before the crash is there.
    let pending = store.pending(10).expect("store read");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].dedupe_key, "wamid.crash");
    let open = store.in_doubt().expect("store read");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].key, "run7/send");
    // Retrying the step does not resend: the effect is in doubt.
    assert_eq!(
        store
            .begin_effect("run7/send", 7, "{}", Utc::now())
            .await
            .expect("store write"),
        EffectState::InDoubt
    );
}

// ----- message statuses -----

#[test]
fn the_status_machine_moves_one_way() {
    use MessageStatus::{Delivered as D, Failed as F, Read as R, Sent as S};
    // stored, incoming, the status after (None: ignored).
    let table = [
        (None, S, Some(S)),
        (None, D, Some(D)),
        (None, R, Some(R)),
        (None, F, Some(F)),
        (Some(S), S, None),
        (Some(S), D, Some(D)),
        (Some(S), R, Some(R)),
        (Some(S), F, Some(F)),
        (Some(D), S, None),
        (Some(D), D, None),
        (Some(D), R, Some(R)),
        (Some(D), F, Some(F)),
        (Some(R), S, None),
        (Some(R), D, None),
        (Some(R), R, None),
        (Some(R), F, None),
        (Some(F), S, None),
        (Some(F), D, None),
        (Some(F), R, None),
        (Some(F), F, None),
    ];
    assert_eq!(table.len(), 5 * 4, "every pair");
    for (stored, incoming, after) in table {
        assert_eq!(
            store::messages::transition(stored, incoming),
            after,
            "{stored:?} + {incoming:?}"
        );
    }

    // The same table through the database.
    let dir = tempfile::tempdir().expect("temp dir");
    let conn_path = dir.path().join("kflow.db");
    let store = Store::open(&conn_path).expect("open the store");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for (i, (stored, incoming, after)) in table.into_iter().enumerate() {
        let id = format!("wamid.{i}");
        rt.block_on(async {
            if let Some(stored) = stored {
                store
                    .record_sent(id.clone(), Some(1), "whatsapp", Utc::now())
                    .await
                    .expect("store write");
                if stored != S {
                    store
                        .apply_status(id.clone(), stored, Some("setup".into()), t(1))
                        .await
                        .expect("store write");
                }
            }
            let change = store
                .apply_status(id.clone(), incoming, Some("131026".into()), t(2))
                .await
                .expect("store write");
            let expected = match after {
                Some(to) => StatusChange::Advanced { from: stored, to },
                None => StatusChange::Ignored,
            };
            assert_eq!(change, expected, "{stored:?} + {incoming:?}");
        });
        let record = store.message(&id).expect("store read").expect("store read");
        let now = after.or(stored).expect("store read");
        assert_eq!(record.status, now, "{stored:?} + {incoming:?}");
        assert_eq!(
            record.error.is_some(),
            now == F,
            "an error is kept for failed only"
        );
        assert_eq!(
            record.updated_at == t(2),
            after.is_some(),
            "only a change moves updated_at"
        );
    }
    assert!(R.is_delivered() && D.is_delivered());
    assert!(!S.is_delivered() && !F.is_delivered());
    assert_eq!("read".parse::<MessageStatus>(), Ok(R));
    assert!("deleted".parse::<MessageStatus>().is_err());
}

#[tokio::test]
async fn a_status_that_overtakes_its_send_is_kept() {
    let (_dir, store) = fresh();
    assert_eq!(
        store
            .apply_status("wamid.early", MessageStatus::Read, None, t(5))
            .await
            .expect("store write"),
        StatusChange::Advanced {
            from: None,
            to: MessageStatus::Read
        }
    );
    let record = store
        .message("wamid.early")
        .expect("store read")
        .expect("store read");
    assert_eq!((record.run_id, record.channel), (None, None));
    // The send's commit arrives after: it adopts the row, keeps `read`.
    store
        .record_sent("wamid.early", Some(3), "whatsapp", Utc::now())
        .await
        .expect("store write");
    let record = store
        .message("wamid.early")
        .expect("store read")
        .expect("store read");
    assert_eq!(record.status, MessageStatus::Read);
    assert_eq!(record.run_id, Some(3));
    assert_eq!(record.channel.as_deref(), Some("whatsapp"));
    assert_eq!(record.updated_at, t(5));
    // A late duplicate delivered changes nothing.
    assert_eq!(
        store
            .apply_status("wamid.early", MessageStatus::Delivered, None, t(4))
            .await
            .expect("store write"),
        StatusChange::Ignored
    );
    assert_eq!(store.message("nope").expect("store read"), None);
}

// ----- links -----

#[tokio::test]
async fn links_open_once_then_again_until_they_expire() {
    let (dir, store) = fresh();
    let url = "https://www.example.com/book";
    store
        .create_link("tok1", Some("wamid.1".into()), Some(4), url, t(100))
        .await
        .expect("store write");
    store
        .create_link("tok2", None, None, url, t(100))
        .await
        .expect("store write");
    assert!(
        store
            .create_link("tok1", None, None, url, t(100))
            .await
            .is_err(),
        "tokens are unique"
    );

    assert_eq!(
        store.open_link("tok1", t(10)).await.expect("store write"),
        LinkOpen::First {
            url: url.into(),
            message_id: Some("wamid.1".into()),
            run_id: Some(4)
        }
    );
    assert_eq!(
        store.open_link("tok1", t(20)).await.expect("store write"),
        LinkOpen::Again { url: url.into() }
    );
    drop(store);
    let store = reopen(&dir);
    assert_eq!(
        store.open_link("tok1", t(99)).await.expect("store write"),
        LinkOpen::Again { url: url.into() },
        "the first open survives a restart"
    );
    assert_eq!(
        store.open_link("tok1", t(100)).await.expect("store write"),
        LinkOpen::Expired { at: t(100) }
    );
    assert_eq!(
        store.open_link("tok2", t(101)).await.expect("store write"),
        LinkOpen::Expired { at: t(100) },
        "an expired link says when it expired"
    );
    assert_eq!(
        store.open_link("nope", t(0)).await.expect("store write"),
        LinkOpen::Unknown
    );
    // An expired first open did not count as one.
    let opened: Option<i64> = store
        .read(|c| {
            c.query_row(
                "SELECT opened_at FROM links WHERE token = 'tok2'",
                [],
                |r| r.get(0),
            )
        })
        .expect("plain SQL");
    assert_eq!(opened, None);
}

// ----- runs, contacts, counters -----

fn run(id: u64, due: Option<i64>) -> RunRecord {
    RunRecord {
        id,
        workflow: "booking".into(),
        version: "v1".into(),
        contact: format!("c{id}"),
        data: format!(r#"{{"node":{id}}}"#),
        due_at: due.map(t),
        waiting_on: None,
    }
}

#[tokio::test]
async fn runs_are_found_by_deadline() {
    let (dir, store) = fresh();
    for r in [
        run(1, Some(30)),
        run(2, Some(10)),
        run(3, None),
        run(4, Some(10)),
        run(5, Some(60)),
    ] {
        store.save_run(r).await.expect("store write");
    }
    let ids = |runs: Vec<RunRecord>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.due_before(t(30), 100).expect("store read")),
        [2, 4, 1],
        "inclusive, by deadline then id"
    );
    assert_eq!(ids(store.due_before(t(30), 2).expect("store read")), [2, 4]);
    assert_eq!(
        ids(store.due_before(t(9), 100).expect("store read")),
        Vec::<u64>::new()
    );

    // Saving again replaces; deleting ends the run.
    store.save_run(run(5, Some(1))).await.expect("store write");
    store.save_run(run(2, None)).await.expect("store write");
    assert!(store.delete_run(4).await.expect("store write"));
    assert!(!store.delete_run(4).await.expect("store write"));
    assert_eq!(
        ids(store.due_before(t(30), 100).expect("store read")),
        [5, 1]
    );

    drop(store);
    let store = reopen(&dir);
    let all = store.load_runs().expect("store read");
    assert_eq!(ids(all.clone()), [1, 2, 3, 5]);
    assert_eq!(all[3], run(5, Some(1)), "every field survives");

    // Ids beyond SQLite's signed integers are refused, not wrapped.
    assert!(store.save_run(run(u64::MAX, None)).await.is_err());
    assert!(store.save_run(run(i64::MAX as u64, None)).await.is_ok());
}

#[tokio::test]
async fn contacts_and_counters_survive_a_restart() {
    let (dir, store) = fresh();
    let mut ana = Contact::new("+15551230000");
    ana.phone = Some("+15551230000".into());
    ana.fields.insert("first_name".into(), "Ana".into());
    ana.tags.insert("vip".into());
    ana.last_whatsapp_inbound =
        Some(DateTime::from_timestamp_micros(1_800_000_000_123_456).expect("valid time"));
    store.save_contact(ana.clone()).await.expect("store write");
    store
        .save_contact(Contact::new("b"))
        .await
        .expect("store write");
    assert_eq!(store.next_id("run").await.expect("store write"), 1);
    assert_eq!(store.next_id("run").await.expect("store write"), 2);
    assert_eq!(store.next_id("other").await.expect("store write"), 1);

    drop(store);
    let store = reopen(&dir);
    assert_eq!(
        store.contact("+15551230000").expect("store read"),
        Some(ana.clone())
    );
    assert_eq!(store.contact("zed").expect("store read"), None);
    let all = store.contacts().expect("store read");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], ana);
    assert_eq!(store.next_id("run").await.expect("store write"), 3);

    // A changed contact replaces the old one.
    let mut ana2 = ana.clone();
    ana2.tags.clear();
    store.save_contact(ana2.clone()).await.expect("store write");
    assert_eq!(store.contact(&ana.id).expect("store read"), Some(ana2));

    store
        .write(|tx| store::meta::set(tx, "owner", "x"))
        .await
        .expect("store write");
    assert_eq!(
        store
            .read(|c| store::meta::get(c, "owner"))
            .expect("store read"),
        Some("x".to_owned())
    );
}

// ----- what one processing step loads -----

/// The service loads, per step, only the runs of the contacts an event
/// names, of the messages a status or click names, and of the deadlines
/// due; a run set aside is never loaded until it is brought back.
#[tokio::test]
async fn a_step_loads_runs_by_contact_message_and_deadline() {
    let (_dir, store) = fresh();
    let mut waiting = run(1, Some(30));
    waiting.waiting_on = Some("wamid.1".into());
    let mut second = run(2, None);
    second.contact = "c1".into();
    for r in [
        waiting,
        second,
        run(3, Some(10)),
        run(4, Some(50)),
        run(5, None),
    ] {
        store.save_run(r).await.expect("store write");
    }
    let ids = |runs: Vec<RunRecord>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let of = |contacts: &[&str]| {
        let contacts: Vec<String> = contacts.iter().map(|c| c.to_string()).collect();
        ids(store
            .read(|c| store::runs::of_contacts(c, &contacts))
            .expect("store read"))
    };
    assert_eq!(of(&["c1"]), [1, 2], "every run of the contact");
    assert_eq!(of(&["c3", "c5", "nobody"]), [3, 5]);
    assert_eq!(of(&[]), Vec::<u64>::new());
    let waiting_on = |ids: &[&str]| {
        let ids: Vec<String> = ids.iter().map(|c| c.to_string()).collect();
        store
            .read(|c| store::runs::contacts_waiting_on(c, &ids))
            .expect("store read")
    };
    assert_eq!(waiting_on(&["wamid.1", "wamid.unknown"]), ["c1"]);
    let due = |at: i64, max: usize| {
        store
            .read(|c| store::runs::contacts_due(c, t(at), max))
            .expect("store read")
    };
    assert_eq!(due(30, 10), ["c3", "c1"], "by deadline, inclusive");
    assert_eq!(due(30, 1), ["c3"]);
    assert_eq!(
        store.read(store::runs::next_due).expect("store read"),
        Some(t(10))
    );
    assert_eq!(store.read(store::runs::counts).expect("store read"), (5, 3));

    // Set aside: not loaded by contact, message or deadline, not counted.
    store
        .write(|tx| {
            store::runs::strand(tx, 3, "workflow `w` is not loaded")?;
            store::runs::strand(tx, 1, "version v9 of workflow `w` is not loaded")
        })
        .await
        .expect("store write");
    assert_eq!(of(&["c1", "c3"]), [2]);
    assert!(waiting_on(&["wamid.1"]).is_empty());
    assert_eq!(due(100, 10), ["c4"]);
    assert_eq!(
        store.read(store::runs::next_due).expect("store read"),
        Some(t(50))
    );
    assert_eq!(store.read(store::runs::counts).expect("store read"), (3, 1));
    // Brought back at the next start.
    let back = store
        .write(|tx| store::runs::unstrand_all(tx))
        .await
        .expect("store write");
    assert_eq!(back, 2);
    assert_eq!(of(&["c1", "c3"]), [1, 2, 3]);
}

#[tokio::test]
async fn contacts_load_by_id_in_one_statement() {
    let (_dir, store) = fresh();
    let mut ana = Contact::new("ana");
    ana.tags.insert("vip".into());
    let ben = Contact::new("ben");
    for c in [ana.clone(), ben.clone()] {
        store
            .write(move |tx| store::contacts::save(tx, &c))
            .await
            .expect("store write");
    }
    let ids: Vec<String> = ["ben", "ana", "carl"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut found = store
        .read(|c| store::contacts::load_many(c, &ids))
        .expect("store read");
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found, [ana, ben]);
}

/// Every version runs started on is kept: saved at start, ensured by the
/// commits of its runs, and loaded back by name and version.
#[tokio::test]
async fn program_versions_are_kept_by_name_and_version() {
    let (_dir, store) = fresh();
    store
        .write(|tx| {
            store::programs::save(tx, "w", "v1", r#"{"one":1}"#, t(0))?;
            store::programs::ensure(tx, "w", "v1", r#"{"changed":true}"#, t(5))?;
            store::programs::ensure(tx, "w", "v2", r#"{"two":2}"#, t(5))
        })
        .await
        .expect("store write");
    let load = |v: &str| {
        store
            .read(|c| store::programs::load(c, "w", v))
            .expect("store read")
    };
    assert_eq!(
        load("v1").as_deref(),
        Some(r#"{"one":1}"#),
        "ensure keeps what is saved"
    );
    assert_eq!(load("v2").as_deref(), Some(r#"{"two":2}"#));
    assert_eq!(load("v3"), None);
}
