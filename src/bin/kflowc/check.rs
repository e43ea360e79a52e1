//! `kflowc check`: parse and check files, report every diagnostic.

use std::io::{self, Write as _};

use kflow::SourceFile;
use kflow::diag::Diagnostic;
use kflow::report::docs::DocsLink;
use kflow::report::{Counts, FileReport, github, json, sarif};

use crate::Exit;
use crate::args::{CheckArgs, Format};
use crate::human_out::{HumanReports, Stream};
use crate::input;

/// Runs `kflowc check`.
pub(crate) fn run(args: &CheckArgs) -> Exit {
    if args.list_codes {
        return match crate::list_codes::write(args.format, args.docs_url.as_deref(), io::stdout()) {
            Ok(()) => Exit::Success,
            Err(error) => write_failed(&error),
        };
    }
    let (inputs, listing_errors) = input::collect(&args.paths);
    let mut failed = false;
    for error in &listing_errors {
        report_failure(error);
        failed = true;
    }
    if args.costs && args.format != Format::Human {
        eprintln!(
            "error: `--costs` prints a table for people; use it with the default `--format human`"
        );
        return Exit::Failure;
    }
    let mut catalogues = Catalogues::new(args.templates.clone());
    let mut out = Output::new(args.format, args.docs_url.as_deref());
    let mut cost_tables = String::new();
    let mut counts = Counts::default();
    let mut checked = 0usize;
    let mut unreadable = listing_errors.len();
    for input in &inputs {
        let file = match input::load(input, &args.stdin_name) {
            Ok(file) => file,
            Err(error) => {
                report_failure(&error);
                failed = true;
                unreadable += 1;
                continue;
            }
        };
        let templates = match catalogues.for_input(input) {
            Ok(t) => t,
            Err(error) => {
                eprintln!("error: {error}");
                failed = true;
                None
            }
        };
        let result = kflow::check_source_with(&file, templates.as_deref());
        let diagnostics = result.diagnostics;
        drop_tree(result.file, file.text().len());
        if args.costs {
            cost_tables.push_str(&cost_table(&file, &result.costs));
        }
        checked += 1;
        counts.add(Counts::of(&diagnostics));
        if let Err(error) = out.file(file, diagnostics) {
            return write_failed(&error);
        }
    }
    if let Err(error) = out.finish() {
        return write_failed(&error);
    }
    if !cost_tables.is_empty() {
        let mut stdout = io::stdout().lock();
        if let Err(error) = stdout
            .write_all(cost_tables.as_bytes())
            .and_then(|()| stdout.flush())
        {
            return write_failed(&error);
        }
    }
    if checked == 0 && unreadable == 0 {
        eprintln!("warning: no .kflow files found");
    }
    if args.format == Format::Human {
        eprintln!("{}", summary(checked, counts, unreadable));
    }
    if failed {
        Exit::Failure
    } else if counts.errors > 0 || (args.deny_warnings && counts.warnings > 0) {
        Exit::Problems
    } else {
        Exit::Success
    }
}

/// Files from this size on have their syntax tree freed on another thread
/// while the reports are drawn: freeing a large tree's millions of nodes
/// costs as much as a tenth of checking it.
const DROP_ELSEWHERE_BYTES: usize = 1 << 20;

/// Frees a syntax tree `check` no longer needs.
fn drop_tree(tree: kflow::syntax::ast::File, bytes: usize) {
    if bytes >= DROP_ELSEWHERE_BYTES {
        // If no thread starts, the closure and the tree in it are freed
        // here, as they would have been anyway.
        let _ = std::thread::Builder::new().spawn(move || drop(tree));
    }
}

/// The sends of one file and what each costs, one line each:
/// `  examples/a.kflow:12:5  template  billed by WhatsApp: a marketing template`.
fn cost_table(file: &SourceFile, costs: &[kflow::costs::SendCost]) -> String {
    use std::fmt::Write as _;
    let mut out = format!("\ncosts of {}:\n", file.name());
    if costs.is_empty() {
        out.push_str("  no sends\n");
        return out;
    }
    let index = kflow::source::LineIndex::new(file.text());
    let places: Vec<String> = costs
        .iter()
        .map(|c| {
            let at = index.line_col(file.text(), c.span.start);
            format!("{}:{}:{}", file.name(), at.line, at.column)
        })
        .collect();
    let width = places.iter().map(String::len).max().unwrap_or(0);
    let billed = costs
        .iter()
        .filter(|c| c.billing.billable_by_whatsapp())
        .count();
    for (cost, place) in costs.iter().zip(&places) {
        let _ = writeln!(
            out,
            "  {place:width$}  {:8}  {}",
            cost.kind,
            cost.billing.describe()
        );
    }
    let _ = writeln!(
        out,
        "  {} send{}, {billed} billed by WhatsApp",
        costs.len(),
        if costs.len() == 1 { "" } else { "s" }
    );
    out
}

fn report_failure(error: &input::InputError) {
    eprintln!("error: {error}");
}

fn write_failed(error: &io::Error) -> Exit {
    // A closed pipe (`kflowc check . | head`) is the reader's choice, not news.
    if error.kind() != io::ErrorKind::BrokenPipe {
        eprintln!("error: cannot write the report: {error}");
    }
    Exit::Failure
}

/// `checked 3 files: 2 errors, 1 warning`, `checked 1 file: no problems`,
/// `checked 0 files; 1 path could not be read`.
fn summary(checked: usize, counts: Counts, unreadable: usize) -> String {
    let mut line = format!("checked {}", plural(checked, "file", "files"));
    let mut problems = Vec::new();
    if counts.errors > 0 {
        problems.push(plural(counts.errors, "error", "errors"));
    }
    if counts.warnings > 0 {
        problems.push(plural(counts.warnings, "warning", "warnings"));
    }
    if !problems.is_empty() {
        line.push_str(": ");
        line.push_str(&problems.join(", "));
    } else if unreadable == 0 {
        line.push_str(": no problems");
    }
    if unreadable > 0 {
        line.push_str("; ");
        line.push_str(&plural(unreadable, "path", "paths"));
        line.push_str(" could not be read");
    }
    line
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Where reports go: human and GitHub reports stream file by file, the JSON
/// and SARIF documents are written once at the end.
struct Output {
    format: Format,
    stdout: io::Stdout,
    human: HumanReports,
    /// Files kept for the JSON or SARIF document.
    kept: Vec<(SourceFile, Vec<Diagnostic>)>,
    /// Where SARIF rules link to.
    docs: DocsLink,
}

impl Output {
    fn new(format: Format, docs_url: Option<&str>) -> Output {
        Output {
            format,
            stdout: io::stdout(),
            human: HumanReports::for_stream(Stream::Stdout),
            kept: Vec::new(),
            docs: match format {
                Format::Sarif => crate::docs::docs_link(docs_url),
                _ => DocsLink::none(),
            },
        }
    }

    fn file(&mut self, file: SourceFile, diagnostics: Vec<Diagnostic>) -> io::Result<()> {
        match self.format {
            Format::Human => {
                let mut out = self.stdout.lock();
                self.human.write_file(&mut out, &file, &diagnostics)
            }
            Format::Github => {
                let text = github::render_file(&FileReport::new(&file, &diagnostics));
                let mut out = self.stdout.lock();
                out.write_all(text.as_bytes())?;
                out.flush()
            }
            Format::Json | Format::Sarif => {
                self.kept.push((file, diagnostics));
                Ok(())
            }
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        if !matches!(self.format, Format::Json | Format::Sarif) {
            return Ok(());
        }
        let reports: Vec<FileReport<'_>> = self
            .kept
            .iter()
            .map(|(file, diagnostics)| FileReport::new(file, diagnostics))
            .collect();
        let mut out = self.stdout.lock();
        if self.format == Format::Sarif {
            sarif::write(&reports, &self.docs, &mut out)?;
        } else {
            json::write(&reports, &mut out)?;
        }
        out.flush()
    }
}

/// The template catalogues files are checked against: the one `--templates`
/// names, or the `templates.json` beside each file, each read once.
struct Catalogues {
    given: Option<std::path::PathBuf>,
    read: std::collections::HashMap<
        std::path::PathBuf,
        Option<std::rc::Rc<kflow::catalogue::Catalogue>>,
    >,
}

impl Catalogues {
    fn new(given: Option<std::path::PathBuf>) -> Catalogues {
        Catalogues {
            given,
            read: std::collections::HashMap::new(),
        }
    }

    /// The catalogue for `input`; an error names the file and what is wrong.
    fn for_input(
        &mut self,
        input: &input::Input,
    ) -> Result<Option<std::rc::Rc<kflow::catalogue::Catalogue>>, String> {
        let path = match (&self.given, input) {
            (Some(given), _) => given.clone(),
            (None, input::Input::File(file)) => file
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join("templates.json"),
            (None, input::Input::Stdin) => return Ok(None),
        };
        if let Some(known) = self.read.get(&path) {
            return Ok(known.clone());
        }
        let catalogue = match std::fs::read_to_string(&path) {
            Ok(text) => Some(std::rc::Rc::new(
                kflow::catalogue::Catalogue::from_graph_json(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.given.is_none() => None,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        self.read.insert(path, catalogue.clone());
        Ok(catalogue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(
            summary(
                3,
                Counts {
                    errors: 2,
                    warnings: 1
                },
                0
            ),
            "checked 3 files: 2 errors, 1 warning"
        );
        assert_eq!(
            summary(1, Counts::default(), 0),
            "checked 1 file: no problems"
        );
        assert_eq!(
            summary(
                1,
                Counts {
                    errors: 0,
                    warnings: 2
                },
                1
            ),
            "checked 1 file: 2 warnings; 1 path could not be read"
        );
        assert_eq!(
            summary(0, Counts::default(), 2),
            "checked 0 files; 2 paths could not be read"
        );
    }
}
