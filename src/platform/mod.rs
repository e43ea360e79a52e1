//! The platform's rules, each written once: WhatsApp and provider limits,
//! what a phone number, an email address and a link must look like, and how
//! a misspelt word finds the one meant.
//!
//! This module sits below both the checker and the runtime and imports from
//! neither: the checker enforces these rules on source text, the runtime on
//! what renders at send time, the service and the scenario reader on what
//! arrives from outside. When the platform changes, it changes here.
//! The facts come from `shared/reference/whatsapp.md`; each constant cites
//! its section.

pub mod address;
pub mod limits;
pub mod quiet;
pub mod sms;
pub mod suggest;
pub mod template;
pub mod url;
