//! Durable enqueue throughput of the store (`kflow::store`) against a file
//! on disk, with 1, 8, 64 and 512 concurrent writers.
//!
//! Each writer is a task that enqueues events one after another, awaiting
//! each (as a webhook handler does before it answers 200), so with one
//! writer every event waits for its own fsync, and with many the writer
//! thread groups them into shared commits. The database is in WAL mode with
//! `synchronous=FULL`, in `target/tmp` (the real disk, not a tmpfs).
//!
//! `cargo bench --bench store` prints criterion's `store/enqueue/<writers>`
//! with its throughput in events per second, then (to stderr) for each
//! writer count how many events shared one commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kflow::store::{Enqueued, Store, WriterStats};

/// Events each writer enqueues per measured iteration.
const PER_WRITER: usize = 100;

/// A WhatsApp status notification of typical size (about 600 bytes).
const PAYLOAD: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","status":"delivered","timestamp":"1750263773","recipient_id":"16505551234","conversation":{"id":"6ceb9d929c2d4d1b5b5e2a7c1e8d9f00","origin":{"type":"marketing"}},"pricing":{"billable":true,"pricing_model":"PMP","category":"marketing"}}]},"field":"messages"}]}]}"#;

fn enqueue(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let store = Store::open(dir.path().join("bench.db")).expect("open store");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let next_key = Arc::new(AtomicU64::new(0));
    let mut summary = Vec::new();

    let mut group = c.benchmark_group("store/enqueue");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    for writers in [1, 8, 64, 512] {
        let events = writers * PER_WRITER;
        group.throughput(Throughput::Elements(events as u64));
        let before = store.stats();
        group.bench_function(BenchmarkId::from_parameter(writers), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    runtime.block_on(run_writers(&store, &next_key, writers));
                }
                start.elapsed()
            });
        });
        summary.push((writers, before, store.stats()));
    }
    group.finish();

    for (writers, before, after) in summary {
        let WriterStats { commits, jobs, .. } = after;
        let (commits, jobs) = (commits - before.commits, jobs - before.jobs);
        eprintln!(
            "store/enqueue/{writers}: {jobs} events in {commits} commits = {:.1} events per \
             commit (largest batch so far {})",
            jobs as f64 / commits.max(1) as f64,
            after.largest_batch
        );
    }
}

/// `writers` tasks, each enqueuing [`PER_WRITER`] new events in turn.
async fn run_writers(store: &Store, next_key: &Arc<AtomicU64>, writers: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..writers {
        let store = store.clone();
        let next_key = Arc::clone(next_key);
        tasks.spawn(async move {
            for _ in 0..PER_WRITER {
                let key = format!("wamid.{}", next_key.fetch_add(1, Ordering::Relaxed));
                let done = store.enqueue(key, "whatsapp", PAYLOAD, Utc::now()).await;
                assert!(matches!(done, Ok(Enqueued::New(_))), "{done:?}");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("writer task");
    }
}

criterion_group!(benches, enqueue);
criterion_main!(benches);
