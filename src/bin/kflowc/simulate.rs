//! `kflowc simulate`: run a workflow against a scenario in virtual time and
//! show what it did and when.
//!
//! Reading the scenario, the driver and the queries are the library's
//! (`kflow::scenario`); this module finds and compiles the workflow and
//! draws the result: the timeline for people and the `--format json`
//! document. Both renderers are presentation, so they stay with the command
//! line; embedders get the typed data they are drawn from ([`Simulation`]).

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;
use clap::{Args, ValueEnum};
use kflow::SourceFile;
use kflow::diag::Diagnostic;
use kflow::ir::{Op, Outcome};
use kflow::report::{FileReport, json};
use kflow::runtime::{
    Message, RenderedHeader, RenderedTemplateButton, SendResult, TraceEvent, TraceKind,
};
use kflow::scenario::{
    self, EventKind, MessageRef, RUN_ON_LIMIT, Scenario, Simulation, TimelineEntry, Workflow,
    offset_label, outcome_name, provider_reason,
};
use serde_json::{Value, json};

mod document;
mod human;

use crate::Exit;
use crate::human_out::{HumanReports, Stream};
use crate::input::{self, Input};

/// The version of the `--format json` document; bumped on incompatible change.
const JSON_VERSION: u32 = 1;

/// `kflowc simulate` arguments.
#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// The .kflow file to run; defaults to the scenario's `workflow`.
    #[arg(value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,

    /// The scenario (TOML): the contact, custom values and a timeline of
    /// events such as replies and link opens.
    #[arg(long, short, value_name = "SCENARIO.toml")]
    pub(crate) scenario: PathBuf,

    /// How to print the timeline.
    #[arg(long, value_enum, default_value_t = SimulateFormat::Human)]
    pub(crate) format: SimulateFormat,
}

/// Output formats of `kflowc simulate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SimulateFormat {
    /// A timeline for people: one line per thing that happened, with the
    /// rendered messages.
    Human,
    /// One JSON document: the timeline with the engine's trace, the sends,
    /// the actions and the outcomes taken.
    Json,
}

/// Runs `kflowc simulate`.
pub(crate) fn run(args: &SimulateArgs) -> Exit {
    let scenario = match Scenario::load(&args.scenario) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Failure;
        }
    };
    let prepared = match prepare(&scenario, args.file.as_deref()) {
        Ok(prepared) => prepared,
        Err(Unprepared::Failure(message)) => {
            eprintln!("error: {message}");
            return Exit::Failure;
        }
        Err(Unprepared::Errors(file, diagnostics)) => {
            let text = match args.format {
                SimulateFormat::Human => human_diagnostics(&file, &diagnostics),
                SimulateFormat::Json => {
                    json::render(&[FileReport::new(&file, &diagnostics)]) + "\n"
                }
            };
            if let Err(error) = write_stdout(&text) {
                return write_failed(&error);
            }
            eprintln!("error: {} has errors; nothing was simulated", file.name());
            return Exit::Problems;
        }
    };
    let simulation = scenario::run(&scenario, prepared);
    let text = match args.format {
        SimulateFormat::Human => Render { sim: &simulation }.human(),
        SimulateFormat::Json => {
            let mut text = serde_json::to_string_pretty(&Render { sim: &simulation }.json())
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            text.push('\n');
            text
        }
    };
    match write_stdout(&text) {
        Ok(()) => Exit::Success,
        Err(error) => write_failed(&error),
    }
}

fn write_stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

pub(crate) fn write_failed(error: &io::Error) -> Exit {
    if error.kind() != io::ErrorKind::BrokenPipe {
        eprintln!("error: cannot write the output: {error}");
    }
    Exit::Failure
}

/// Diagnostics drawn for stdout exactly as `kflowc check` draws them.
pub(crate) fn human_diagnostics(file: &SourceFile, diagnostics: &[Diagnostic]) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = HumanReports::for_stream(Stream::Stdout).write_file(&mut out, file, diagnostics);
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a scenario's workflow cannot run.
pub(crate) enum Unprepared {
    /// It cannot be found, read or loaded (exit 2).
    Failure(String),
    /// It has errors (exit 1).
    Errors(SourceFile, Vec<Diagnostic>),
}

/// Reads and compiles the workflow: `file` when given, else the scenario's.
pub(crate) fn prepare(scenario: &Scenario, file: Option<&Path>) -> Result<Workflow, Unprepared> {
    let Some(path) = file
        .map(Path::to_path_buf)
        .or_else(|| scenario.workflow.clone())
    else {
        return Err(Unprepared::Failure(format!(
            "{}: no workflow to run: name it on the command line (`kflowc simulate FILE --scenario ...`) or in the scenario (`workflow = \"flow.kflow\"`)",
            scenario.path.display()
        )));
    };
    let source = input::load(&Input::File(path.clone()), "<stdin>")
        .map_err(|e| Unprepared::Failure(e.to_string()))?;
    let program = kflow::compile(&source).map_err(|d| Unprepared::Errors(source.clone(), d))?;
    Ok(Workflow::new(path, source, program))
}

/// The rendered fields of a message, as (key, value) lines under its line.
type Details = Vec<(String, String)>;

/// Draws a simulation: the timeline and the JSON document.
struct Render<'a> {
    sim: &'a Simulation,
}

fn runs(n: usize) -> String {
    if n == 1 {
        "1 run".to_owned()
    } else {
        format!("{n} runs")
    }
}

fn header_text(header: &RenderedHeader) -> (&'static str, &str) {
    match header {
        RenderedHeader::Text { text } => ("text", text),
        RenderedHeader::Image { link } => ("image", link),
        RenderedHeader::Video { link } => ("video", link),
        RenderedHeader::Document { link } => ("document", link),
    }
}
