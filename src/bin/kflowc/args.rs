//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The kflow compiler.
#[derive(Debug, Parser)]
#[command(name = "kflowc", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check .kflow files and report every problem.
    ///
    /// Exits with 0 when there are no errors, 1 when there are (or warnings,
    /// with --deny-warnings), and 2 when a file cannot be read or the
    /// arguments are wrong.
    Check(CheckArgs),

    /// Rewrite .kflow files in the one canonical layout, comments kept.
    ///
    /// Exits with 0 when every file is formatted (or now is), 1 when a file
    /// has syntax errors (it is left alone) or, with --check, when a file
    /// would change, and 2 when a file cannot be read or written.
    Fmt(crate::fmt::FmtArgs),

    /// Check one .kflow file and compile it to its IR, written as JSON.
    ///
    /// Diagnostics are printed as `check` prints them, on stderr; warnings
    /// do not stop the build. Exits with 0 when the IR was written, 1 when
    /// the file has errors (nothing is written), and 2 when the file cannot
    /// be read, the IR cannot be written, or the arguments are wrong.
    Build(BuildArgs),

    /// Draw a workflow as a flowchart (Mermaid or Graphviz DOT): one node
    /// per step, edges labelled with outcomes.
    ///
    /// Exits with 0 when the graph was written, 1 when the file has errors,
    /// and 2 when it cannot be read or the graph cannot be written.
    Graph(crate::graph::GraphArgs),

    /// Say which waiting states of OLD a deploy of NEW would strand or move:
    /// runs resume by node id, so a step removed or renumbered under them
    /// resumes them at the wrong place.
    ///
    /// Exits with 0 when every waiting state keeps its place, 1 when one is
    /// stranded or moved (or a file has errors), and 2 when a file cannot be
    /// read.
    Diff(crate::diff::DiffArgs),

    /// Run a workflow against a scenario in virtual time and print a
    /// timeline of what it did and when, with the rendered messages.
    ///
    /// Exits with 0 when the scenario ran, 1 when the workflow has errors,
    /// and 2 when the scenario or the workflow cannot be read.
    Simulate(crate::simulate::SimulateArgs),

    /// Run every scenario that has an [expect] table and report PASS or FAIL
    /// for each.
    ///
    /// Exits with 0 when every scenario passes, 1 when any fails, and 2 when
    /// a scenario cannot be read or none is found.
    Test(crate::test_cmd::TestArgs),

    /// Run the workflows as a service: WhatsApp, SMS and email webhooks in,
    /// provider calls out, runs kept in SQLite (see docs/serve.md).
    ///
    /// Exits with 0 after a clean shutdown (SIGINT or SIGTERM), 1 when a
    /// workflow has errors, and 2 when the service cannot start.
    Serve(crate::serve::ServeArgs),

    /// Run the Language Server on stdin and stdout, for editors:
    /// diagnostics as `check` reports them, hover with message lengths,
    /// completion, go to definition and quick fixes.
    ///
    /// Exits with 0 after the client's `shutdown` and `exit`, 1 when the
    /// client exits without `shutdown` or closes stdin, and 2 when the
    /// connection breaks.
    Lsp,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Files or directories to check. Directories are searched recursively
    /// for *.kflow files (symlinked directories are not followed); `-` reads
    /// standard input.
    #[arg(value_name = "PATH", required_unless_present = "list_codes")]
    pub(crate) paths: Vec<PathBuf>,

    /// How to report diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,

    /// After the report, list every send of each file with what it costs:
    /// free inside the WhatsApp window, billed templates by category, SMS
    /// segments, email (human format only).
    #[arg(long)]
    pub(crate) costs: bool,

    /// List every diagnostic code with its severity and meaning, and exit
    /// (as JSON with `--format json`).
    #[arg(long, conflicts_with_all = ["paths", "deny_warnings"])]
    pub(crate) list_codes: bool,

    /// The URL of the language reference (docs/language.md, or its rendered
    /// page), which SARIF rules link each code's section of. Defaults to
    /// the reference in the checkout kflowc was built from, when it exists.
    #[arg(long, value_name = "URL")]
    pub(crate) docs_url: Option<String>,

    /// Fail (exit 1) on warnings as well as errors.
    #[arg(long)]
    pub(crate) deny_warnings: bool,

    /// The account's templates: the Graph API's `message_templates`
    /// answer, saved as JSON. Without it, a `templates.json` next to a file
    /// is used for that file, when there is one.
    #[arg(long, value_name = "FILE")]
    pub(crate) templates: Option<PathBuf>,

    /// The file name reports use for standard input.
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub(crate) stdin_name: String,
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The .kflow file to compile; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,

    /// Write the IR to this file instead of standard output (`-` is standard
    /// output). A regular file (or a new name) is replaced atomically: written
    /// next to it under a temporary name, then renamed; a link to one
    /// replaces its target. Anything else (a FIFO, `/dev/stdout`, a device)
    /// is written in place.
    #[arg(short, long, value_name = "OUT.json")]
    pub(crate) output: Option<PathBuf>,

    /// The file name reports and the IR's `source` use for standard input.
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub(crate) stdin_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Graphical reports on stdout, a summary on stderr.
    Human,
    /// One JSON document on stdout (schema: kflow::report::json).
    Json,
    /// GitHub Actions workflow commands (annotations) on stdout.
    Github,
    /// One SARIF 2.1.0 log on stdout, for code-scanning dashboards.
    Sarif,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn arguments_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
