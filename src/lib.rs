//! kflow: a checked, textual language for WhatsApp-first customer automations.
//!
//! The pipeline runs one way: source text → [`syntax`] (typed AST with byte
//! spans) → the checker ([`check_source`]: diagnostics with stable codes) →
//! lowering ([`compile`]) → the [`ir`] → the [`runtime`], which runs it;
//! [`scenario`] runs a workflow against a scenario in virtual time and
//! compares what happened with what should, as `kflowc test` does.
//!
//! The public face is small on purpose: the entry points above, the IR, the
//! engine, the scenario runner, the report renderers, [`platform`] (the
//! WhatsApp and provider limits, for tools that show them) and, with the
//! `serve` feature, the service ([`server::serve`]) and the parts it is
//! built from (the store and the provider clients) for embedders who build
//! a service of their own. The checker's and the parser's internals are the
//! crate's own.
//!
//! ```
//! let source = kflow::SourceFile::new(
//!     "card.kflow",
//!     r#"on reply whatsapp < if window.open < cta < header text "Hi" body "Pick a slot" url "https://www.example.com/book" button "Book now" > > on timeout 30m < sms "Still want a slot?" > >"#,
//! ).unwrap();
//! let result = kflow::check_source(&source);
//! assert!(result.diagnostics.is_empty());
//! ```

mod check;
pub mod diag;
pub mod duration;
pub mod format;
pub mod graph;
pub mod ir;
mod lower;
#[cfg(feature = "lsp")]
pub mod lsp;
mod parallel;
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

pub use check::{Checked, Clean, catalogue, check_source, check_source_with, costs};

/// Checks a file and lowers it to IR; a file with errors is refused with all
/// its diagnostics (warnings alone do not refuse it).
pub fn compile(source: &SourceFile) -> Result<ir::Program, Vec<Diagnostic>> {
    let checked = check_source(source);
    match checked.clean() {
        Some(clean) => lower(clean, source.name()).map_err(|d| vec![d]),
        None => Err(checked.diagnostics),
    }
}

/// Lowers a checked file to IR. `name` is the source name, the workflow's
/// name when it declares none. Only a [`Clean`] tree is accepted; a shape the
/// checker should have refused is a `kflow::internal` diagnostic.
pub fn lower(clean: Clean<'_>, name: &str) -> Result<ir::Program, Diagnostic> {
    lower::lower(clean, name)
}
