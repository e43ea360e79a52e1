//! `kflowc`: the kflow compiler's command line.
//!
//! Each subcommand lives in its own module and returns an [`Exit`] status;
//! `main` only parses arguments, sets process-wide limits and dispatches.

mod args;
mod build;
mod check;
mod diff;
mod docs;
mod fmt;
mod graph;
mod human_out;
mod input;
mod list_codes;
mod lsp;
mod output;
mod serve;
mod simulate;
mod test_cmd;

use std::num::NonZeroUsize;
use std::process::ExitCode;

use clap::Parser as _;

use args::{Cli, Command};

/// Small, short-lived allocations dominate parsing and checking; mimalloc
/// serves them several times faster than glibc's malloc (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How a command ended; the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Exit {
    /// Nothing to complain about.
    Success = 0,
    /// The input has problems (errors, or warnings under `--deny-warnings`).
    Problems = 1,
    /// A usage or I/O problem: kflowc could not do what was asked.
    Failure = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// pest's budget of rule calls per parse: far above what any real file needs,
/// low enough that pathological backtracking ends with an error, not a hang.
const PEST_CALL_LIMIT: usize = 100_000_000;

fn main() -> ExitCode {
    pest::set_call_limit(NonZeroUsize::new(PEST_CALL_LIMIT));
    let cli = Cli::parse();
    let exit = match &cli.command {
        Command::Check(args) => check::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Build(args) => build::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Test(args) => test_cmd::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Lsp => lsp::run(),
    };
    exit.into()
}
