//! `kflowc graph`: a workflow as a Mermaid or Graphviz flowchart
//! (`kflow::graph`), for reviewers and docs.
//!
//! The file is checked and compiled as `kflowc build` does (diagnostics on
//! stderr; a file with errors draws nothing), so the graph is always of a
//! workflow that would run.

use std::io;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use kflow::graph;

use crate::Exit;
use crate::build;
use crate::input;
use crate::output;

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// The .kflow file to draw; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,

    /// The graph language.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub(crate) format: GraphFormat,

    /// Write the graph to this file instead of standard output (written as
    /// `kflowc build -o` writes).
    #[arg(short, long, value_name = "OUT")]
    pub(crate) output: Option<PathBuf>,

    /// The file name reports use for standard input.
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub(crate) stdin_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    /// Mermaid `flowchart TD` (GitHub renders it in Markdown).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
}

/// Runs `kflowc graph`.
pub(crate) fn run(args: &GraphArgs) -> Exit {
    let Ok((_, file)) = input::load_one(&args.file, &args.stdin_name) else {
        return Exit::Failure;
    };
    let program = match build::compile(&file) {
        Ok(program) => program,
        Err(exit) => return exit,
    };
    let format = match args.format {
        GraphFormat::Mermaid => graph::Format::Mermaid,
        GraphFormat::Dot => graph::Format::Dot,
    };
    let text = graph::render(&program, file.text(), format);
    let written = match args.output.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => output::write_to_path(path, text.as_bytes()),
        None => output::write_stdout(text.as_bytes()),
    };
    match written {
        Ok(()) => Exit::Success,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Exit::Failure,
        Err(error) => {
            eprintln!("error: cannot write the graph: {error}");
            Exit::Failure
        }
    }
}
