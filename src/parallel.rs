//! Large files read on every core.
//!
//! A `.kflow` file is a list of independent top-level items, so parsing
//! them, and checking each trigger's flow, split cleanly: contiguous runs
//! of items go to scoped threads and the results come back in order, so
//! the output is exactly the serial one. Small inputs (nearly every real
//! file) stay on the calling thread, where starting threads would cost
//! more than the work; if a thread cannot be started (a platform without
//! them), its run is done on the calling thread.

use std::thread;

/// Below this many bytes of input the work stays on one thread: a thread
/// costs tens of microseconds, which a file this small takes to check whole.
pub(crate) const MIN_PARALLEL_BYTES: usize = 256 * 1024;

/// Each thread's stack: the main thread's usual 8 MiB, so a run of items
/// nested as deep as the language allows recurses as far on a worker as on
/// the calling thread (the default for spawned threads is 2 MiB).
const STACK_BYTES: usize = 8 * 1024 * 1024;

/// Threads one job uses at most.
const MAX_THREADS: usize = 8;

/// `work` applied to contiguous runs of `items`, in order. `bytes` is the
/// size of the input the items come from, which decides whether threads are
/// worth starting. `work` of the runs, concatenated, must equal `work` of
/// the whole (each item is handled on its own).
pub(crate) fn in_runs<T, R>(items: &[T], bytes: usize, work: impl Fn(&[T]) -> R + Sync) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let threads = if bytes < MIN_PARALLEL_BYTES || forced_serial() {
        1
    } else {
        thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS)
            .min(items.len())
    };
    if threads <= 1 {
        return vec![work(items)];
    }
    let per_thread = items.len().div_ceil(threads);
    let work = &work;
    thread::scope(|scope| {
        let mut runs = items.chunks(per_thread);
        let first = runs.next().unwrap_or_default();
        // Each later run on a thread of its own, or here if none starts.
        let started: Vec<Result<thread::ScopedJoinHandle<'_, R>, &[T]>> = runs
            .map(|run| {
                thread::Builder::new()
                    .stack_size(STACK_BYTES)
                    .spawn_scoped(scope, move || work(run))
                    .map_err(|_| run)
            })
            .collect();
        let mut results = Vec::with_capacity(threads);
        results.push(work(first));
        for run in started {
            results.push(match run {
                Ok(handle) => match handle.join() {
                    Ok(result) => result,
                    // A panic is a bug; resuming it reports it as the serial
                    // path would.
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(run) => work(run),
            });
        }
        results
    })
}

/// Whether a test asked for one thread (never outside tests).
#[cfg(not(test))]
fn forced_serial() -> bool {
    false
}

#[cfg(test)]
use tests::serial as forced_serial;

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// Set by a test to run everything on its own thread.
        static SERIAL: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn serial() -> bool {
        SERIAL.with(Cell::get)
    }

    /// A large file checked on every core and on one thread gives the same
    /// tree and the same diagnostics, in the same order.
    #[test]
    fn a_large_file_checks_the_same_on_every_core() {
        let mut text = String::from("workflow \"big\"\nfield contact.branch\n");
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut pieces = Vec::new();
        for entry in std::fs::read_dir(examples).expect("examples/") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "kflow") {
                let piece = std::fs::read_to_string(&path).expect("UTF-8");
                // Without its `workflow` line, so each copy adds triggers.
                pieces.push(piece.replace("workflow \"", "# workflow \""));
            }
        }
        pieces.sort();
        // Broken items between the good ones: syntax errors, unknown
        // variables, a misspelt category.
        pieces.push("on reply sms < sms \"{{contact.frist_name}}\" >\n".to_owned());
        pieces.push("on reply email < wait >\n".to_owned());
        pieces.push(
            "on reply whatsapp < template \"t\" < language \"en\" category utilty > >\n".to_owned(),
        );
        let mut i = 0;
        while text.len() < 4 * MIN_PARALLEL_BYTES {
            text.push_str(&pieces[i % pieces.len()]);
            i += 1;
        }
        let source = crate::SourceFile::new("big.kflow", text).expect("small");
        let parallel = crate::check_source(&source);
        SERIAL.with(|s| s.set(true));
        let serial = crate::check_source(&source);
        SERIAL.with(|s| s.set(false));
        assert!(
            parallel.diagnostics.len() > 1000,
            "{}",
            parallel.diagnostics.len()
        );
        assert_eq!(parallel.diagnostics, serial.diagnostics);
        assert_eq!(parallel.file, serial.file);
    }

    #[test]
    fn runs_come_back_in_order() {
        let items: Vec<u32> = (0..10_000).collect();
        let runs = in_runs(&items, MIN_PARALLEL_BYTES, |run| run.to_vec());
        assert!(!runs.is_empty());
        assert_eq!(runs.concat(), items);
    }

    #[test]
    fn small_inputs_stay_on_one_thread() {
        let items: Vec<u32> = (0..100).collect();
        let caller = thread::current().id();
        let runs = in_runs(&items, MIN_PARALLEL_BYTES - 1, |run| {
            (thread::current().id(), run.len())
        });
        assert_eq!(runs, vec![(caller, 100)]);
    }

    #[test]
    fn no_items() {
        let items: Vec<u32> = Vec::new();
        let runs = in_runs(&items, usize::MAX, |run| run.len());
        assert_eq!(runs, vec![0]);
    }
}
