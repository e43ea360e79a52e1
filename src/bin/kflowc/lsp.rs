//! `kflowc lsp`: the Language Server on stdin and stdout.

use std::io;

use kflow::lsp::{Ended, Options, serve};

use crate::Exit;
use crate::docs::default_docs;

/// Runs the server until the client says `exit` (or closes stdin).
pub(crate) fn run() -> Exit {
    let options = Options {
        docs: default_docs(),
    };
    let stdin = io::stdin();
    let stdout = io::stdout();
    match serve(stdin.lock(), stdout.lock(), options) {
        Ok(Ended::Clean) => Exit::Success,
        Ok(Ended::Unclean) => Exit::Problems,
        Err(error) => {
            eprintln!("error: kflowc lsp: {error}");
            Exit::Failure
        }
    }
}
