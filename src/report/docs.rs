//! Links from a diagnostic's code to its section of the language reference,
//! shared by the language server (`codeDescription.href`) and SARIF
//! (`helpUri`), so both point at the same place.

use crate::diag::Code;

/// Where the language reference is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocsLink {
    /// The URL of `docs/language.md` (or of its rendered page); a code's
    /// section is this with `#` and [`Code::doc_anchor`].
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

    /// The URL of the reference itself, if known.
    pub fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    /// The URL of a code's section, if the reference's URL is known.
    pub fn url(&self, code: Code) -> Option<String> {
        let base = self.base.as_deref()?;
        Some(format!("{base}#{}", code.doc_anchor()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_the_headings() {
        let docs = DocsLink::new("file:///kflow/docs/language.md");
        assert_eq!(
            docs.url(Code::CtaBodyLength).as_deref(),
            Some("file:///kflow/docs/language.md#kflowctabody_length")
        );
        assert_eq!(
            docs.url(Code::SuppressNoReason).as_deref(),
            Some("file:///kflow/docs/language.md#kflowsuppressno_reason")
        );
        assert!(DocsLink::none().url(Code::CtaBodyLength).is_none());
    }
}
