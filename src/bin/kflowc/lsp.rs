//! `kflowc lsp`: the Language Server on stdin and stdout.

use std::io;
use std::path::Path;

use kflow::lsp::diagnostics::DocsLink;
use kflow::lsp::{Ended, Options, serve};

use crate::Exit;

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

/// The language reference of the checkout this binary was built from, when
/// it is still there; editors can give their own (`initializationOptions`
/// `{"docsUrl": "..."}`), such as the rendered page.
fn default_docs() -> DocsLink {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md");
    match url::Url::from_file_path(&path) {
        Ok(url) if path.is_file() => DocsLink::new(url.as_str()),
        _ => DocsLink::none(),
    }
}
