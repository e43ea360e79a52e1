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

pub use crate::report::docs::DocsLink;

/// The `codeDescription.href` of a code: its section of the reference.
fn href(docs: &DocsLink, code: Code) -> Option<Uri> {
    docs.url(code)?.parse().ok()
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
        code_description: href(docs, diagnostic.code).map(|href| CodeDescription { href }),
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
    fn links_parse_as_uris() {
        let docs = DocsLink::new("file:///kflow/docs/language.md");
        assert_eq!(
            href(&docs, Code::CtaBodyLength).expect("present").as_str(),
            "file:///kflow/docs/language.md#kflowctabody_length"
        );
        assert!(href(&DocsLink::none(), Code::CtaBodyLength).is_none());
    }
}
