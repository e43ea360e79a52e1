//! `kflowc diff OLD NEW`: which waiting states of OLD a deploy of NEW would
//! strand or move (`kflow::ir::diff`), before the deploy, not after.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::PathBuf;

use clap::Args;
use kflow::ir::diff::{self, Verdict};

use crate::Exit;
use crate::build;
use crate::input;

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The version running now.
    #[arg(value_name = "OLD")]
    pub(crate) old: PathBuf,

    /// The version about to be deployed.
    #[arg(value_name = "NEW")]
    pub(crate) new: PathBuf,
}

/// Runs `kflowc diff`.
pub(crate) fn run(args: &DiffArgs) -> Exit {
    let compile = |path: &PathBuf| {
        let Ok((_, file)) = input::load_one(path, "<stdin>") else {
            return Err(Exit::Failure);
        };
        build::compile(&file).map(|program| (file.name().to_owned(), program))
    };
    let (old_name, old) = match compile(&args.old) {
        Ok(found) => found,
        Err(exit) => return exit,
    };
    let (new_name, new) = match compile(&args.new) {
        Ok(found) => found,
        Err(exit) => return exit,
    };
    let verdicts = diff::compare(&old, &new);
    let report = report(&old_name, &new_name, &verdicts);
    let mut stdout = io::stdout().lock();
    if let Err(error) = stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if error.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write the report: {error}");
        }
        return Exit::Failure;
    }
    if verdicts.iter().any(|(_, v)| v.is_problem()) {
        Exit::Problems
    } else {
        Exit::Success
    }
}

fn report(old: &str, new: &str, verdicts: &[(diff::WaitingState, Verdict)]) -> String {
    let mut out = format!(
        "{old} -> {new}: {} waiting state{}\n",
        verdicts.len(),
        if verdicts.len() == 1 { "" } else { "s" }
    );
    let (mut moved, mut stranded) = (0, 0);
    for (state, verdict) in verdicts {
        let (word, detail) = match verdict {
            Verdict::Kept => ("kept", None),
            Verdict::Moved { to, there } => {
                moved += 1;
                (
                    "moved",
                    Some(format!(
                        "NEW has it as node {}; runs waiting here resume at node {}, which is `{there}` in NEW",
                        to.0, state.node.0
                    )),
                )
            }
            Verdict::Stranded { there } => {
                stranded += 1;
                (
                    "stranded",
                    Some(format!(
                        "NEW has no such place; runs waiting here resume at node {}, which is `{there}` in NEW",
                        state.node.0
                    )),
                )
            }
        };
        let _ = writeln!(
            out,
            "  {word:8}  node {:<4} {:20} {}",
            state.node.0,
            state.kind.describe(),
            state.place
        );
        if let Some(detail) = detail {
            let _ = writeln!(out, "            {detail}");
        }
    }
    let _ = writeln!(
        out,
        "{stranded} stranded, {moved} moved{}",
        if stranded + moved > 0 {
            ": deploy when no run waits there, or keep those steps where they are"
        } else {
            ": every waiting run resumes where it should"
        }
    );
    out
}
