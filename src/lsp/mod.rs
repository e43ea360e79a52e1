//! `kflowc lsp`: a Language Server for `.kflow` files (feature `lsp`).
//!
//! It speaks the Language Server Protocol over any reader and writer (the
//! binary gives it stdin and stdout) and offers, for each open document:
//! diagnostics on every change, the same codes, spans and help as
//! `kflowc check`; hover with a message text's length against its WhatsApp
//! limit and a line on each keyword; completion of keywords, message fields
//! and `{{contact.*}}` / `{{custom_values.*}}` variables; go to definition
//! from a contact variable to its `field` declaration; quick fixes for the
//! checker's did-you-mean suggestions; and formatting in `kflowc fmt`'s
//! layout.
//!
//! Positions are the protocol's: 0-based lines and UTF-16 columns
//! ([`position`]). The modules each own one part: `transport` the
//! framing, `server` the lifecycle and dispatch, [`documents`] the open
//! texts and their incremental edits, [`diagnostics`] the conversion, and
//! one module per request.

mod actions;
mod completion;
mod definition;
pub mod diagnostics;
pub mod documents;
mod formatting;
mod hover;
mod keywords;
mod locate;
pub mod position;
mod scan;
mod server;
mod transport;

pub use server::{Ended, Options, serve};
