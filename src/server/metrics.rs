//! Counters for operators, served at `/metrics` in Prometheus' text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// The service's counters and gauges.
#[derive(Debug, Default)]
pub(super) struct Metrics {
    /// Webhook requests accepted (signature valid, body understood, stored).
    pub webhooks_accepted: AtomicU64,
    /// Webhook requests refused (bad signature, bad body, too large).
    pub webhooks_rejected: AtomicU64,
    /// Inbox events the engine has processed.
    pub events_processed: AtomicU64,
    /// Duplicate notifications ignored.
    pub duplicates: AtomicU64,
    /// Provider sends accepted.
    pub sends_accepted: AtomicU64,
    /// Provider sends failed.
    pub sends_failed: AtomicU64,
    /// Messages never handed to a provider: a send-time rule failed (no
    /// phone number or email address, the window closed, a text too long).
    pub sends_not_made: AtomicU64,
    /// Tracking links opened (first opens).
    pub links_opened: AtomicU64,
    /// Runs in progress (gauge).
    pub runs_active: AtomicU64,
    /// Runs started.
    pub runs_started: AtomicU64,
    /// Runs waiting with a deadline (gauge).
    pub timers: AtomicU64,
    /// Inbox events waiting (gauge).
    pub inbox_pending: AtomicU64,
    /// Rows deleted past their retention (`[retention]`).
    pub rows_pruned: AtomicU64,
    /// How late deadlines were handled.
    pub timer_lateness: Histogram,
}

/// The upper bounds, in seconds, of [`Histogram`]'s buckets.
const BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// A Prometheus histogram of durations in seconds, lock-free.
#[derive(Debug, Default)]
pub(super) struct Histogram {
    /// Observations at or below each bound (not cumulative; summed when
    /// rendered).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    pub(super) fn observe(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut below = 0;
        for (bound, n) in BUCKETS.iter().zip(&self.buckets) {
            below += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {below}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

impl Metrics {
    /// Adds one to a counter.
    pub(super) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Renders every metric.
    pub(super) fn render(&self) -> String {
        let mut out = String::new();
        let rows: [(&str, &str, &str, &AtomicU64); 13] = [
            (
                "kflow_webhooks_accepted_total",
                "counter",
                "Webhook requests stored",
                &self.webhooks_accepted,
            ),
            (
                "kflow_webhooks_rejected_total",
                "counter",
                "Webhook requests refused",
                &self.webhooks_rejected,
            ),
            (
                "kflow_events_processed_total",
                "counter",
                "Inbox events processed by the engine",
                &self.events_processed,
            ),
            (
                "kflow_duplicate_events_total",
                "counter",
                "Duplicate notifications ignored",
                &self.duplicates,
            ),
            (
                "kflow_sends_accepted_total",
                "counter",
                "Provider sends accepted",
                &self.sends_accepted,
            ),
            (
                "kflow_sends_failed_total",
                "counter",
                "Provider sends failed",
                &self.sends_failed,
            ),
            (
                "kflow_sends_not_made_total",
                "counter",
                "Messages never sent: a send-time rule failed (no phone or email, window closed, too long)",
                &self.sends_not_made,
            ),
            (
                "kflow_links_opened_total",
                "counter",
                "Tracking links opened for the first time",
                &self.links_opened,
            ),
            (
                "kflow_runs_started_total",
                "counter",
                "Runs started",
                &self.runs_started,
            ),
            (
                "kflow_runs_active",
                "gauge",
                "Runs in progress",
                &self.runs_active,
            ),
            (
                "kflow_timers",
                "gauge",
                "Runs waiting with a deadline",
                &self.timers,
            ),
            (
                "kflow_inbox_pending",
                "gauge",
                "Inbox events waiting for the engine",
                &self.inbox_pending,
            ),
            (
                "kflow_rows_pruned_total",
                "counter",
                "Stored rows deleted past their retention",
                &self.rows_pruned,
            ),
        ];
        for (name, kind, help, value) in rows {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        self.timer_lateness.render(
            &mut out,
            "kflow_timer_lateness_seconds",
            "How late each deadline was handled: from the deadline to the moment the engine had decided its run's next step (wall-clock seconds)",
        );
        out
    }

    /// Renders the store writer's counters: commits against jobs is the
    /// group-commit factor (every webhook and every processor write is a job;
    /// every commit is one fsync).
    pub(super) fn render_store(stats: &crate::store::WriterStats) -> String {
        let mut out = String::new();
        let rows = [
            (
                "kflow_store_commits_total",
                "counter",
                "Store transactions committed (one fsync each)",
                stats.commits,
            ),
            (
                "kflow_store_failed_commits_total",
                "counter",
                "Store batches whose commit failed",
                stats.failed_commits,
            ),
            (
                "kflow_store_jobs_total",
                "counter",
                "Store write jobs run (webhooks, sends, processor steps)",
                stats.jobs,
            ),
            (
                "kflow_store_largest_batch",
                "gauge",
                "Most write jobs one commit has held",
                stats.largest_batch,
            ),
        ];
        for (name, kind, help, value) in rows {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}

#[cfg(test)]
mod histogram_tests {
    use super::*;

    #[test]
    fn a_histogram_renders_cumulative_buckets_a_sum_and_a_count() {
        let h = Histogram::default();
        for s in [0.0005, 0.003, 0.003, 0.2, 100.0] {
            h.observe(s);
        }
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "help");
        let line = |bound: &str| {
            out.lines()
                .find(|l| l.starts_with(&format!("x_seconds_bucket{{le=\"{bound}\"}} ")))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
        };
        assert_eq!(line("0.001"), Some(1));
        assert_eq!(line("0.0025"), Some(1));
        assert_eq!(line("0.005"), Some(3));
        assert_eq!(line("0.25"), Some(4));
        assert_eq!(line("60"), Some(4), "100 s is beyond every bound");
        assert_eq!(line("+Inf"), Some(5));
        assert!(out.contains("x_seconds_count 5"), "{out}");
        assert!(out.contains("x_seconds_sum 100.2065"), "{out}");
        assert!(out.starts_with("# HELP x_seconds help\n# TYPE x_seconds histogram\n"));
    }
}
