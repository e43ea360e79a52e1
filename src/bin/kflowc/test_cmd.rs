//! `kflowc test`: run every scenario that says what should happen, and
//! compare.
//!
//! Scenarios are `*.toml` files with an `[expect]` table; other TOML files
//! met while walking a directory (`Cargo.toml`, ...) are skipped. Each
//! scenario runs its own `workflow` as `kflowc simulate` would, and passes
//! when every expectation it gives holds.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use clap::Args;

use crate::Exit;
use crate::scenario::{self, Expect, ExpectedAction, offset_label};
use crate::simulate::{self, Action, Simulation, Unprepared};

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
    let scenario = match scenario::parse(path, &text) {
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
    let simulation = simulate::simulate(&scenario, prepared);
    let problems = compare(&expect, &simulation);
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

/// Every expectation that does not hold, each as an indented block.
fn compare(expect: &Expect, simulation: &Simulation) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(error) = simulation.load_error() {
        problems.push(format!("  the engine refused the workflow: {error}\n"));
    }
    if let Some(expected) = &expect.actions {
        let actual = simulation.actions();
        if let Some(diff) = diff(
            expected,
            &actual,
            |e: &ExpectedAction, a: &Action| e.action == a.action && e.at.is_none_or(|t| t == a.at),
            |e| match e.at {
                Some(at) => format!("{} {}", offset_label(at), e.action),
                None => e.action.clone(),
            },
            |a| format!("{} {}", offset_label(a.at), a.action),
        ) {
            problems.push(format!("  actions differ (- expected, + actual):\n{diff}"));
        }
    }
    if let Some(expected) = &expect.path {
        let actual = simulation.path();
        if let Some(diff) = diff(expected, &actual, |e, a| e == a, Clone::clone, Clone::clone) {
            problems.push(format!("  path differs (- expected, + actual):\n{diff}"));
        }
    }
    if let Some(expected) = &expect.urls {
        let actual = simulation.urls();
        if let Some(diff) = diff(expected, &actual, |e, a| e == a, Clone::clone, Clone::clone) {
            problems.push(format!("  urls differ (- expected, + actual):\n{diff}"));
        }
    }
    if !expect.contains.is_empty() {
        let texts = simulation.texts();
        for wanted in &expect.contains {
            if !texts.iter().any(|t| t.contains(wanted.as_str())) {
                problems.push(format!("  contains: no message sent contains {wanted:?}\n"));
            }
        }
    }
    if let Some(expected) = &expect.missing {
        let actual = simulation.missing();
        if let Some(diff) = diff(expected, &actual, |e, a| e == a, Clone::clone, Clone::clone) {
            problems.push(format!(
                "  missing values differ (- expected, + actual):\n{diff}"
            ));
        }
    }
    if let Some(expected) = expect.waiting {
        let actual = simulation.waiting() as u64;
        if expected != actual {
            problems.push(format!(
                "  waiting: expected {expected} {} still waiting at the end, found {actual}\n",
                if expected == 1 { "run" } else { "runs" }
            ));
        }
    }
    problems
}

/// A line diff of two lists (longest common subsequence), or `None` when
/// they match: kept lines are indented, expected-only lines marked `-`,
/// actual-only lines `+`. An empty list shows as `(none)`.
fn diff<E, A>(
    expected: &[E],
    actual: &[A],
    same: impl Fn(&E, &A) -> bool,
    show_expected: impl Fn(&E) -> String,
    show_actual: impl Fn(&A) -> String,
) -> Option<String> {
    let (n, m) = (expected.len(), actual.len());
    // lcs[i][j]: the longest common subsequence of expected[i..] and actual[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if same(&expected[i], &actual[j]) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    if lcs[0][0] == n && n == m {
        return None;
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && same(&expected[i], &actual[j]) {
            out.push_str(&format!("      {}\n", show_actual(&actual[j])));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("    - {}\n", show_expected(&expected[i])));
            i += 1;
        } else {
            out.push_str(&format!("    + {}\n", show_actual(&actual[j])));
            j += 1;
        }
    }
    if n == 0 {
        out.insert_str(0, "    - (none)\n");
    }
    if m == 0 {
        out.push_str("    + (none)\n");
    }
    Some(out)
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

#[cfg(test)]
mod tests {
    use super::diff;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn show(expected: &[&str], actual: &[&str]) -> Option<String> {
        diff(
            &strings(expected),
            &strings(actual),
            |e, a| e == a,
            Clone::clone,
            Clone::clone,
        )
    }

    #[test]
    fn equal_lists_have_no_diff() {
        assert_eq!(show(&["a", "b"], &["a", "b"]), None);
        assert_eq!(show(&[], &[]), None);
    }

    #[test]
    fn diffs_mark_each_side() {
        assert_eq!(
            show(&["cta", "tag x"], &["cta", "tag y", "sms"]).as_deref(),
            Some("      cta\n    - tag x\n    + tag y\n    + sms\n")
        );
        assert_eq!(
            show(&["cta"], &[]).as_deref(),
            Some("    - cta\n    + (none)\n")
        );
        assert_eq!(
            show(&[], &["cta"]).as_deref(),
            Some("    - (none)\n    + cta\n")
        );
    }
}
