//! Human reports as `kflowc` prints them: options chosen for the stream they
//! go to, and diagnostics written one at a time. `check` prints them on
//! stdout; `build` prints them on stderr, since its stdout carries the IR.

use std::io::{self, IsTerminal as _, Write};

use kflow::SourceFile;
use kflow::diag::Diagnostic;
use kflow::report::human::{HumanOptions, Renderer};

/// The width of human reports when the stream is not a terminal (or its
/// width is unknown), so piped and captured output is the same everywhere.
const DEFAULT_WIDTH: usize = 100;

/// A standard stream human reports can go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Writes human reports, separating each from the one before by a blank line.
pub(crate) struct HumanReports {
    options: HumanOptions,
    /// Whether a report has been written, to separate the next one.
    wrote_any: bool,
}

impl HumanReports {
    /// Reports for `stream`: in colour when it is a terminal and `NO_COLOR`
    /// is unset or empty, as wide as the terminal (else [`DEFAULT_WIDTH`]).
    pub(crate) fn for_stream(stream: Stream) -> HumanReports {
        let (terminal, size) = match stream {
            Stream::Stdout => (
                io::stdout().is_terminal(),
                terminal_size::terminal_size_of(io::stdout()),
            ),
            Stream::Stderr => (
                io::stderr().is_terminal(),
                terminal_size::terminal_size_of(io::stderr()),
            ),
        };
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let width = if terminal {
            size.map(|(w, _)| usize::from(w.0))
                .filter(|&w| w > 0)
                .unwrap_or(DEFAULT_WIDTH)
        } else {
            DEFAULT_WIDTH
        };
        HumanReports {
            options: HumanOptions {
                color: terminal && !no_color,
                width,
                unicode: true,
            },
            wrote_any: false,
        }
    }

    /// Writes the report of each of `file`'s diagnostics to `out` in order,
    /// a batch at a time: reports of a long one-line file repeat that line,
    /// and need not pile up. Drawing a report (miette's layout, wrapping)
    /// costs far more than writing it, so a batch is drawn on every core,
    /// each thread taking a contiguous run, and written in source order.
    pub(crate) fn write_file(
        &mut self,
        out: &mut impl Write,
        file: &SourceFile,
        diagnostics: &[Diagnostic],
    ) -> io::Result<()> {
        let renderer = Renderer::new(file, self.options);
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS);
        for batch in diagnostics.chunks(BATCH) {
            for report in draw(&renderer, batch, threads) {
                if self.wrote_any {
                    out.write_all(b"\n")?;
                }
                out.write_all(report.as_bytes())?;
                self.wrote_any = true;
            }
        }
        out.flush()
    }
}

/// Diagnostics drawn together before their reports are written.
const BATCH: usize = 512;

/// Threads drawing one batch; more only contend for the output.
const MAX_THREADS: usize = 8;

/// Batches smaller than this are drawn on the calling thread: starting a
/// thread costs more than drawing a few reports.
const MIN_PARALLEL: usize = 32;

/// The reports of `batch`, in order, drawn on up to `threads` threads.
fn draw(renderer: &Renderer<'_>, batch: &[Diagnostic], threads: usize) -> Vec<String> {
    if threads <= 1 || batch.len() < MIN_PARALLEL {
        return batch.iter().map(|d| renderer.render(d)).collect();
    }
    let per_thread = batch.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut parts = batch.chunks(per_thread);
        let first = parts.next().unwrap_or_default();
        let handles: Vec<_> = parts
            .map(|part| {
                scope.spawn(move || part.iter().map(|d| renderer.render(d)).collect::<Vec<_>>())
            })
            .collect();
        let mut reports: Vec<String> = first.iter().map(|d| renderer.render(d)).collect();
        for handle in handles {
            match handle.join() {
                Ok(part) => reports.extend(part),
                // A drawing thread panicked: the panic is a bug, and
                // resuming it reports it as the single-threaded path would.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        reports
    })
}
