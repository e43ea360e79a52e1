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

    /// Writes the report of each of `file`'s diagnostics to `out` as soon as
    /// it is drawn: reports of a long one-line file repeat that line, and
    /// need not pile up.
    pub(crate) fn write_file(
        &mut self,
        out: &mut impl Write,
        file: &SourceFile,
        diagnostics: &[Diagnostic],
    ) -> io::Result<()> {
        let renderer = Renderer::new(file, self.options);
        for diagnostic in diagnostics {
            if self.wrote_any {
                out.write_all(b"\n")?;
            }
            out.write_all(renderer.render(diagnostic).as_bytes())?;
            self.wrote_any = true;
        }
        out.flush()
    }
}
