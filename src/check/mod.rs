//! The checker.
use crate::diag::Diagnostic;
use crate::syntax::ast;

/// Checks a parsed file.
pub fn check(_file: &ast::File) -> Vec<Diagnostic> {
    Vec::new()
}
