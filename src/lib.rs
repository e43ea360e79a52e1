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
pub mod duration;
pub mod ir;
pub mod lower;
pub mod platform;
#[cfg(feature = "serve")]
pub mod providers;
pub mod report;
pub mod runtime;
pub mod scenario;
#[cfg(feature = "serve")]
pub mod server;
pub mod source;
#[cfg(feature = "serve")]
pub mod store;
pub mod syntax;

pub use diag::{Code, Diagnostic, Severity};
pub use source::{SourceFile, Span};

pub use check::{Checked, check_source};

/// Checks a file and lowers it to IR; a file with errors is refused with all
/// its diagnostics (warnings alone do not refuse it).
pub fn compile(source: &SourceFile) -> Result<ir::Program, Vec<Diagnostic>> {
    let checked = check_source(source);
    match checked.clean() {
        Some(clean) => lower::lower(clean, source.name()).map_err(|d| vec![d]),
        None => Err(checked.diagnostics),
    }
}
