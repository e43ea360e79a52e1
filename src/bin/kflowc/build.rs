//! `kflowc build`: check one file, compile it, write its IR as JSON.
//!
//! Diagnostics are drawn as `kflowc check` draws human reports, but on stderr:
//! stdout carries the IR. A file with errors is not compiled and nothing is
//! written (an existing output file is left as it was); warnings are shown
//! and do not stop the build. The JSON is `kflow::ir::Program` as serde
//! writes it, pretty-printed (`docs/ir.md`). How `-o PATH` is written
//! depends on what PATH is (a regular file atomically, a FIFO or device such
//! as `/dev/stdout` in place): see [`output`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use kflow::diag::Diagnostic;
use kflow::report::Counts;
use kflow::{SourceFile, ir};

use crate::Exit;
use crate::args::BuildArgs;
use crate::human_out::{HumanReports, Stream};
use crate::input::{self, Input};
use crate::output;

/// Runs `kflowc build`.
pub(crate) fn run(args: &BuildArgs) -> Exit {
    let Ok((input, file)) = input::load_one(&args.file, &args.stdin_name) else {
        return Exit::Failure;
    };
    let output = match Destination::of(args.output.as_deref(), &input) {
        Ok(output) => output,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Failure;
        }
    };
    let program = match compile(&file) {
        Ok(program) => program,
        Err(exit) => return exit,
    };
    let mut json = match serde_json::to_string_pretty(&program) {
        Ok(json) => json,
        Err(error) => {
            eprintln!("error: cannot serialize the IR of {}: {error}", file.name());
            return Exit::Failure;
        }
    };
    json.push('\n');
    match output.write(json.as_bytes()) {
        Ok(()) => Exit::Success,
        // A closed pipe (`kflowc build x.kflow | head`) is the reader's
        // choice, not news.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Exit::Failure,
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", output.name());
            Exit::Failure
        }
    }
}

/// Checks and lowers `file`, printing its diagnostics on stderr. A file with
/// errors (or one the compiler cannot lower) gives [`Exit::Problems`].
pub(crate) fn compile(file: &SourceFile) -> Result<ir::Program, Exit> {
    let checked = kflow::check_source(file);
    let counts = Counts::of(&checked.diagnostics);
    print_diagnostics(file, &checked.diagnostics)?;
    let Some(clean) = checked.clean() else {
        eprintln!("error: {} not built: {}", file.name(), tally(counts));
        return Err(Exit::Problems);
    };
    if counts.warnings > 0 {
        eprintln!("{}: {}", file.name(), tally(counts));
    }
    kflow::lower(clean, file.name()).map_err(|internal| {
        match print_diagnostics(file, std::slice::from_ref(&internal)) {
            Ok(()) => {
                eprintln!("error: {} not built: an internal error", file.name());
                Exit::Problems
            }
            Err(exit) => exit,
        }
    })
}

/// Draws `diagnostics` on stderr as `kflowc check` draws human reports.
fn print_diagnostics(file: &SourceFile, diagnostics: &[Diagnostic]) -> Result<(), Exit> {
    if diagnostics.is_empty() {
        return Ok(());
    }
    let mut reports = HumanReports::for_stream(Stream::Stderr);
    reports
        .write_file(&mut io::stderr().lock(), file, diagnostics)
        .map_err(|_| Exit::Failure)
}

/// `2 errors, 1 warning`.
fn tally(counts: Counts) -> String {
    let mut parts = Vec::new();
    if counts.errors > 0 {
        parts.push(plural(counts.errors, "error", "errors"));
    }
    if counts.warnings > 0 {
        parts.push(plural(counts.warnings, "warning", "warnings"));
    }
    parts.join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Where the IR goes.
#[derive(Debug)]
enum Destination {
    /// Standard output (no `-o`, or `-o -`).
    Stdout,
    /// A path: a regular file is replaced atomically, a FIFO or a device is
    /// written in place ([`output`] says which and why).
    File(PathBuf),
}

impl Destination {
    /// The destination for `-o PATH`; refuses to overwrite the source file
    /// being built.
    fn of(output: Option<&Path>, input: &Input) -> Result<Destination, String> {
        let Some(path) = output.filter(|p| p.as_os_str() != "-") else {
            return Ok(Destination::Stdout);
        };
        if let Input::File(source) = input
            && let (Ok(a), Ok(b)) = (fs::canonicalize(source), fs::canonicalize(path))
            && a == b
        {
            return Err(format!(
                "refusing to write the IR over its source file {}",
                input::display_name(path)
            ));
        }
        Ok(Destination::File(path.to_owned()))
    }

    fn name(&self) -> String {
        match self {
            Destination::Stdout => "standard output".to_owned(),
            Destination::File(path) => input::display_name(path),
        }
    }

    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Destination::Stdout => output::write_stdout(bytes),
            Destination::File(path) => output::write_to_path(path, bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies() {
        let counts = |errors, warnings| Counts { errors, warnings };
        assert_eq!(tally(counts(2, 1)), "2 errors, 1 warning");
        assert_eq!(tally(counts(1, 0)), "1 error");
        assert_eq!(tally(counts(0, 3)), "3 warnings");
    }

    #[test]
    fn dash_means_stdout() {
        let input = Input::File(PathBuf::from("x.kflow"));
        assert!(matches!(
            Destination::of(Some(Path::new("-")), &input),
            Ok(Destination::Stdout)
        ));
        assert!(matches!(
            Destination::of(None, &input),
            Ok(Destination::Stdout)
        ));
    }
}
