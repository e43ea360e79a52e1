//! `kflowc fmt`: rewrite files in the canonical layout (`kflow::format`).
//!
//! - `kflowc fmt PATH...` rewrites each file that would change (regular files
//!   are replaced atomically and keep their permissions, see
//!   [`output`](crate::output)); files already formatted are not touched, so
//!   their modification times stay as they were.
//! - `kflowc fmt -` reads standard input and writes the result on standard
//!   output, for editors.
//! - `--check` writes nothing: it prints a unified diff on stdout for each
//!   file that would change and exits 1 if any would.
//!
//! A file with syntax errors is left alone and its errors are drawn on
//! stderr as `kflowc check` draws them.

use std::io::{self, Write as _};

use clap::Args;
use kflow::SourceFile;
use similar::TextDiff;

use crate::Exit;
use crate::human_out::{HumanReports, Stream};
use crate::input::{self, Input};
use crate::output;

#[derive(Debug, Args)]
pub(crate) struct FmtArgs {
    /// Files or directories to format (directories are searched recursively
    /// for *.kflow files); `-` formats standard input onto standard output.
    #[arg(value_name = "PATH", required = true)]
    pub(crate) paths: Vec<std::path::PathBuf>,

    /// Change nothing: print a diff of what would change and exit 1 if
    /// anything would.
    #[arg(long)]
    pub(crate) check: bool,

    /// The file name reports use for standard input.
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub(crate) stdin_name: String,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Unchanged,
    /// Rewritten, or (with `--check`) would be.
    Changed,
    /// Not formatted: syntax errors, shown on stderr.
    Refused,
    /// Could not be read or written.
    Failed,
}

/// Runs `kflowc fmt`.
pub(crate) fn run(args: &FmtArgs) -> Exit {
    let (inputs, listing_errors) = input::collect(&args.paths);
    let mut outcomes = Vec::new();
    for error in &listing_errors {
        eprintln!("error: {error}");
        outcomes.push(Outcome::Failed);
    }
    let mut reports = HumanReports::for_stream(Stream::Stderr);
    for input in &inputs {
        let outcome = match input::load(input, &args.stdin_name) {
            Ok(file) => one(args, input, &file, &mut reports),
            Err(error) => {
                eprintln!("error: {error}");
                Outcome::Failed
            }
        };
        outcomes.push(outcome);
    }
    if inputs.is_empty() && listing_errors.is_empty() {
        eprintln!("warning: no .kflow files found");
    }
    let count = |o: Outcome| outcomes.iter().filter(|&&x| x == o).count();
    let (changed, refused, failed) = (
        count(Outcome::Changed),
        count(Outcome::Refused),
        count(Outcome::Failed),
    );
    if !inputs.contains(&Input::Stdin) {
        let verb = if args.check {
            "would be reformatted"
        } else {
            "reformatted"
        };
        let mut summary = format!("{} {verb}", files(changed));
        summary.push_str(&format!(
            ", {} already formatted",
            files(count(Outcome::Unchanged))
        ));
        if refused > 0 {
            summary.push_str(&format!(
                ", {} with syntax errors left alone",
                files(refused)
            ));
        }
        if failed > 0 {
            summary.push_str(&format!(", {} could not be read or written", files(failed)));
        }
        eprintln!("{summary}");
    }
    if failed > 0 {
        Exit::Failure
    } else if refused > 0 || (args.check && changed > 0) {
        Exit::Problems
    } else {
        Exit::Success
    }
}

fn one(args: &FmtArgs, input: &Input, file: &SourceFile, reports: &mut HumanReports) -> Outcome {
    let formatted = match kflow::format::format(file) {
        Ok(text) => text,
        Err(diagnostics) => {
            // Drawing failed only if stderr is gone; the outcome says enough.
            let _ = reports.write_file(&mut io::stderr().lock(), file, &diagnostics);
            return Outcome::Refused;
        }
    };
    let changed = formatted != file.text();
    let written = match input {
        Input::Stdin if !args.check => output::write_stdout(formatted.as_bytes()),
        _ if args.check && changed => print_diff(file, &formatted),
        Input::File(path) if changed && !args.check => {
            output::write_to_path(path, formatted.as_bytes())
        }
        _ => Ok(()),
    };
    match written {
        Ok(()) if changed => Outcome::Changed,
        Ok(()) => Outcome::Unchanged,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Outcome::Failed,
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", file.name());
            Outcome::Failed
        }
    }
}

/// How long one file's diff may search for the smallest one.
const DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);

/// A unified diff from the file to its formatted text, on stdout.
fn print_diff(file: &SourceFile, formatted: &str) -> io::Result<()> {
    // Patience rather than Myers: Myers costs (lines x differences), which
    // for a large file laid out anew (128,000 changed lines in 10 MB) took
    // seconds; patience anchors on the lines both sides have once and
    // diffs only between them, and a formatter's changes are local.
    // A file laid out completely anew (one line becoming thousands) can
    // still cost patience seconds: past the deadline similar settles for a
    // coarser diff, which is as correct a patch, only less minimal.
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .deadline(std::time::Instant::now() + DIFF_DEADLINE)
        .diff_lines(file.text(), formatted);
    let name = file.name();
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (formatted)"))
        .to_string();
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn files(n: usize) -> String {
    format!("{n} {}", if n == 1 { "file" } else { "files" })
}
