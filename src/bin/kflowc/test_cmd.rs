//! `kflowc test`: run every scenario that says what should happen, and
//! compare.
//!
//! Scenarios are `*.toml` files with an `[expect]` table; other TOML files
//! met while walking a directory (`Cargo.toml`, ...) are skipped. Each
//! scenario runs its own `workflow` as `kflowc simulate` would, and passes
//! when every expectation it gives holds. Running and comparing are the
//! library's (`kflow::scenario`); this module finds the files and prints.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use clap::Args;

use kflow::scenario::{self, Scenario};

use crate::Exit;
use crate::simulate::{self, Unprepared};

/// `kflowc test` arguments.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Scenario files, or directories searched recursively for `*.toml`
    /// scenarios with an [expect] table (symlinked directories are not
    /// followed).
    #[arg(value_name = "PATH", required = true)]
    pub(crate) paths: Vec<PathBuf>,
}

/// Runs `kflowc test`.
pub(crate) fn run(args: &TestArgs) -> Exit {
    let (files, listing_errors) = collect(&args.paths);
    for error in &listing_errors {
        eprintln!("error: {error}");
    }
    let unreadable = listing_errors.len();
    let mut broken = 0usize;
    let mut passed = 0usize;
    let mut failed = 0usize;
    let mut out = io::stdout().lock();
    for (path, named) in files {
        let verdict = test_one(&path, named);
        let text = match verdict {
            Verdict::Skipped => continue,
            Verdict::Broken(message) => {
                eprintln!("error: {message}");
                broken += 1;
                continue;
            }
            Verdict::Pass => {
                passed += 1;
                format!("PASS {}\n", path.display())
            }
            Verdict::Fail(report) => {
                failed += 1;
                format!("FAIL {}\n{report}", path.display())
            }
        };
        if let Err(error) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            return simulate::write_failed(&error);
        }
    }
    if passed + failed + broken + unreadable == 0 {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "error: no scenarios with an [expect] table found in {}",
            paths.join(", ")
        );
        return Exit::Failure;
    }
    let mut summary = format!("scenarios: {passed} passed, {failed} failed");
    if unreadable > 0 {
        eprintln!(
            "{unreadable} {} could not be read",
            if unreadable == 1 { "path" } else { "paths" }
        );
    }
    if broken > 0 {
        eprintln!(
            "{broken} {} could not be run",
            if broken == 1 { "scenario" } else { "scenarios" }
        );
    }
    summary.push('\n');
    if let Err(error) = out.write_all(summary.as_bytes()).and_then(|()| out.flush()) {
        return simulate::write_failed(&error);
    }
    if broken + unreadable > 0 {
        Exit::Failure
    } else if failed > 0 {
        Exit::Problems
    } else {
        Exit::Success
    }
}

enum Verdict {
    /// Not a scenario with expectations.
    Skipped,
    /// The scenario or its workflow cannot be used; the message says why.
    Broken(String),
    Pass,
    /// What differs, indented, one problem after another.
    Fail(String),
}

fn test_one(path: &Path, named: bool) -> Verdict {
    let text = match fs::read(path).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => return Verdict::Broken(format!("{}: not valid UTF-8", path.display())),
        Err(error) => return Verdict::Broken(format!("cannot read {}: {error}", path.display())),
    };
    match scenario::has_expect(path, &text) {
        Err(error) => return Verdict::Broken(error.to_string()),
        Ok(false) => {
            if named {
                eprintln!(
                    "note: {} has no [expect] table, so there is nothing to test; `kflowc simulate` shows what it does",
                    path.display()
                );
            }
            return Verdict::Skipped;
        }
        Ok(true) => {}
    }
    let scenario = match Scenario::from_toml(path, &text) {
        Ok(scenario) => scenario,
        Err(error) => return Verdict::Broken(error.to_string()),
    };
    let Some(expect) = scenario.expect.clone() else {
        return Verdict::Skipped;
    };
    let prepared = match simulate::prepare(&scenario, None) {
        Ok(prepared) => prepared,
        Err(Unprepared::Failure(message)) => return Verdict::Broken(message),
        Err(Unprepared::Errors(file, diagnostics)) => {
            let report = simulate::human_diagnostics(&file, &diagnostics);
            return Verdict::Fail(format!(
                "  the workflow {} has errors:\n{}",
                file.name(),
                indent(&report, "    ")
            ));
        }
    };
    let simulation = scenario::run(&scenario, prepared);
    let problems = simulation.check(&expect);
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(problems.concat())
    }
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_owned()
            } else {
                format!("{by}{l}\n")
            }
        })
        .collect()
}

/// Why a path could not be searched.
struct ListingError(String);

impl std::fmt::Display for ListingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The files to test, each with whether it was named on the command line:
/// directories are replaced by the `*.toml` files under them, depth first in
/// file-name order. A file found twice is tested once.
fn collect(paths: &[PathBuf]) -> (Vec<(PathBuf, bool)>, Vec<ListingError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut files, &mut errors),
            Ok(_) => files.push((path.clone(), true)),
            Err(error) => errors.push(ListingError(format!(
                "cannot read {}: {error}",
                path.display()
            ))),
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|(path, _)| seen.insert(path.clone()));
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<(PathBuf, bool)>, errors: &mut Vec<ListingError>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            errors.push(ListingError(format!(
                "cannot read directory {}: {error}",
                dir.display()
            )));
            return;
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        match entry.and_then(|e| Ok((e.file_name(), e.path(), e.file_type()?))) {
            Ok(entry) => found.push(entry),
            Err(error) => errors.push(ListingError(format!(
                "cannot read directory {}: {error}",
                dir.display()
            ))),
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, path, file_type) in found {
        if file_type.is_dir() {
            walk(&path, files, errors);
        } else if path.extension() == Some(OsStr::new("toml"))
            && (file_type.is_file() || (file_type.is_symlink() && !path.is_dir()))
        {
            files.push((path, false));
        }
    }
}
