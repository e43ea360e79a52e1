//! kflow: a checked, textual language for WhatsApp-first customer automations.
//!
//! The pipeline runs one way: source text → [`syntax`] (typed AST with byte
//! spans) → [`check`] (diagnostics with stable codes). Later stages compile
//! checked files to an IR and run them; [`scenario`] runs a workflow against
//! a scenario in virtual time and compares what happened with what should,
//! as `kflowc test` does.
//!
//! ```
//! let source = kflow::SourceFile::new(
//!     "card.kflow",
//!     r#"on reply whatsapp < if window.open < cta < header text "Hi" body "Pick a slot" url "https://www.example.com/book" button "Book now" > > on timeout 30m < sms "Still want a slot?" > >"#,
//! ).unwrap();
//! let result = kflow::check_source(&source);
//! assert!(result.diagnostics.is_empty());
//! ```

pub mod check;
pub mod diag;
pub mod ir;
pub mod lower;
pub mod providers;
pub mod report;
pub mod runtime;
pub mod scenario;
#[cfg(feature = "serve")]
pub mod server;
pub mod source;
pub mod store;
pub mod syntax;

pub use diag::{Code, Diagnostic, Severity};
pub use source::{SourceFile, Span};

/// Everything `kflowc check` learns about one file.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The syntax tree of every item that parsed.
    pub file: syntax::ast::File,
    /// Syntax and checker diagnostics together, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and checks one file, reporting every problem at once.
pub fn check_source(source: &SourceFile) -> Checked {
    let parsed = syntax::parse(source);
    let syntax_failed = parsed.diagnostics.iter().any(Diagnostic::is_error);
    let mut diagnostics = parsed.diagnostics;
    // A trigger that did not parse is missing from the AST; do not also tell
    // the author the file has none.
    diagnostics.extend(
        check::check(&parsed.file)
            .into_iter()
            .filter(|d| !(syntax_failed && d.code == Code::WorkflowNoTrigger)),
    );
    diag::sort(&mut diagnostics);
    Checked {
        file: parsed.file,
        diagnostics,
    }
}

/// Checks a file and lowers it to IR; a file with errors is refused with all
/// its diagnostics (warnings alone do not refuse it).
pub fn compile(source: &SourceFile) -> Result<ir::Program, Vec<Diagnostic>> {
    let checked = check_source(source);
    if checked.has_errors() {
        return Err(checked.diagnostics);
    }
    lower::lower(&checked.file, source.name()).map_err(|d| vec![d])
}
