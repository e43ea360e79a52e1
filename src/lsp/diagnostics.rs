//! kflow's diagnostics as the protocol's: the primary span as the range (in
//! UTF-16 units), the stable code as `code`, a link to the code's section of
//! the language reference, secondary labels as related information and the
//! help line in the message, as `kflowc check` shows them.

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag, Location,
    NumberOrString, Uri,
};

use super::documents::Document;
use crate::diag::{Code, Diagnostic, Severity};

/// Where the language reference is, for `codeDescription.href`.
#[derive(Clone, Debug, Default)]
pub struct DocsLink {
    /// The URL of `docs/language.md` (or of its rendered page); a code's
    /// section is this with `#` and the heading's anchor.
    base: Option<String>,
}

impl DocsLink {
    /// Links to `base`, the URL of the language reference.
    pub fn new(base: impl Into<String>) -> DocsLink {
        DocsLink {
            base: Some(base.into()),
        }
    }

    /// No links.
    pub fn none() -> DocsLink {
        DocsLink { base: None }
    }

    /// The URL of a code's section: the heading `` ### `kflow::a::b` ``
    /// has the anchor GitHub and editors' Markdown previews give it
    /// (punctuation dropped): `kflowab`.
    pub fn href(&self, code: Code) -> Option<Uri> {
        let base = self.base.as_deref()?;
        let anchor: String = code
            .as_str()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        format!("{base}#{anchor}").parse().ok()
    }
}

/// The message a diagnostic shows: kflow's message, then its help line.
pub fn message(diagnostic: &Diagnostic) -> String {
    match &diagnostic.help {
        Some(help) => format!("{}\nhelp: {help}", diagnostic.message),
        None => diagnostic.message.clone(),
    }
}

/// One diagnostic of `document` (opened as `uri`) in the protocol's terms.
pub fn convert(
    diagnostic: &Diagnostic,
    document: &Document,
    uri: &Uri,
    docs: &DocsLink,
) -> lsp_types::Diagnostic {
    let text = document.text();
    let lines = document.lines();
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .labels
        .iter()
        .skip(1)
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), lines.range(text, label.span)),
            message: label.text.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range: lines.range(text, diagnostic.primary_span()),
        severity: Some(match diagnostic.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.as_str().to_owned())),
        code_description: docs
            .href(diagnostic.code)
            .map(|href| CodeDescription { href }),
        source: Some("kflow".to_owned()),
        message: message(diagnostic),
        related_information: (!related.is_empty()).then_some(related),
        // Editors grey out code that never runs.
        tags: (diagnostic.code == Code::FlowUnreachable).then(|| vec![DiagnosticTag::UNNECESSARY]),
        data: None,
    }
}

/// Every diagnostic of a document, in source order.
pub fn all(document: &Document, uri: &Uri, docs: &DocsLink) -> Vec<lsp_types::Diagnostic> {
    document
        .checked()
        .diagnostics
        .iter()
        .map(|d| convert(d, document, uri, docs))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_the_headings() {
        let docs = DocsLink::new("file:///kflow/docs/language.md");
        assert_eq!(
            docs.href(Code::CtaBodyLength).expect("present").as_str(),
            "file:///kflow/docs/language.md#kflowctabody_length"
        );
        assert!(DocsLink::none().href(Code::CtaBodyLength).is_none());
    }
}
