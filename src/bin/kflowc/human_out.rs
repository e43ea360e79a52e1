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
    /// and need not pile up. Drawing a report costs more than writing it, so
    /// a batch is drawn on every core, each thread taking a contiguous run,
    /// while the batch before it is written (into a pipe, writing waits for
    /// the reader: a file's reports can be several times its size).
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
        // Standard streams write each line, or each report, on its own
        // (two system calls a report, most of the time on a file with
        // thousands); a batch goes out in a few large writes instead.
        let mut out = io::BufWriter::with_capacity(OUT_BUFFER, out);
        if diagnostics.len() <= BATCH {
            let parts = draw(&renderer, diagnostics, threads);
            self.write_parts(&mut out, parts)?;
            return out.flush();
        }
        std::thread::scope(|scope| {
            // One batch drawn ahead of the one being written. If writing
            // fails (a closed pipe), the receiver goes and drawing stops.
            let (drawn, batches) = std::sync::mpsc::sync_channel(1);
            let renderer = &renderer;
            scope.spawn(move || {
                for batch in diagnostics.chunks(BATCH) {
                    if drawn.send(draw(renderer, batch, threads)).is_err() {
                        break;
                    }
                }
            });
            for parts in batches {
                self.write_parts(&mut out, parts)?;
                // Shown as each batch is drawn, not at the end.
                out.flush()?;
            }
            Ok::<(), io::Error>(())
        })?;
        out.flush()
    }

    /// Writes drawn reports, each after a blank line but the first.
    fn write_parts(&mut self, out: &mut impl Write, parts: Vec<String>) -> io::Result<()> {
        for part in parts {
            if self.wrote_any {
                out.write_all(b"\n")?;
            }
            out.write_all(part.as_bytes())?;
            self.wrote_any = true;
        }
        Ok(())
    }
}

/// Bytes of reports gathered before a write.
const OUT_BUFFER: usize = 64 * 1024;

/// Diagnostics drawn together before their reports are written.
const BATCH: usize = 512;

/// Threads drawing one batch; more only contend for the output.
const MAX_THREADS: usize = 8;

/// Batches smaller than this are drawn on the calling thread: starting a
/// thread costs more than drawing a few reports.
const MIN_PARALLEL: usize = 32;

/// The reports of `batch`, in order, drawn on up to `threads` threads: one
/// string for each thread's contiguous run, its reports separated by blank
/// lines.
fn draw(renderer: &Renderer<'_>, batch: &[Diagnostic], threads: usize) -> Vec<String> {
    let run = |part: &[Diagnostic]| {
        let mut out = String::new();
        renderer.render_all(part, &mut out);
        out
    };
    if threads <= 1 || batch.len() < MIN_PARALLEL {
        return vec![run(batch)];
    }
    let per_thread = batch.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut parts = batch.chunks(per_thread);
        let first = parts.next().unwrap_or_default();
        let handles: Vec<_> = parts.map(|part| scope.spawn(move || run(part))).collect();
        let mut drawn = vec![run(first)];
        for handle in handles {
            match handle.join() {
                Ok(part) => drawn.push(part),
                // A drawing thread panicked: the panic is a bug, and
                // resuming it reports it as the single-threaded path would.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        drawn
    })
}
