//! Where the language reference is, for links from diagnostics (the language
//! server's code links, SARIF's `helpUri`).

use std::path::Path;

use kflow::report::docs::DocsLink;

/// The language reference of the checkout this binary was built from, when
/// it is still there; `kflowc check --docs-url` and the editor's
/// `initializationOptions` (`{"docsUrl": "..."}`) give another, such as the
/// rendered page.
pub(crate) fn default_docs() -> DocsLink {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md");
    match url::Url::from_file_path(&path) {
        Ok(url) if path.is_file() => DocsLink::new(url.as_str()),
        _ => DocsLink::none(),
    }
}

/// `--docs-url` when given, the default otherwise.
pub(crate) fn docs_link(url: Option<&str>) -> DocsLink {
    url.map_or_else(default_docs, DocsLink::new)
}
