//! The open documents: their text as the editor has it, kept in step with
//! incremental edits, and each one's check, redone on every change.

use std::collections::HashMap;

use lsp_types::{TextDocumentContentChangeEvent, Uri};

use super::position::Lines;
use crate::check::{Checked, check_source};
use crate::source::SourceFile;

/// One open document and what the checker made of its current text.
#[derive(Debug)]
pub struct Document {
    version: i32,
    source: SourceFile,
    lines: Lines,
    checked: Checked,
}

impl Document {
    fn new(name: &str, version: i32, text: String) -> Option<Document> {
        let source = SourceFile::new(name, text).ok()?;
        let lines = Lines::new(source.text());
        let checked = check_source(&source);
        Some(Document {
            version,
            source,
            lines,
            checked,
        })
    }

    /// The version the editor gave with the last change.
    pub fn version(&self) -> i32 {
        self.version
    }

    /// The current text.
    pub fn text(&self) -> &str {
        self.source.text()
    }

    /// The current text as the checker reads it.
    pub fn source(&self) -> &SourceFile {
        &self.source
    }

    /// The text's line starts, for converting positions.
    pub fn lines(&self) -> &Lines {
        &self.lines
    }

    /// The syntax tree and the diagnostics of the current text.
    pub fn checked(&self) -> &Checked {
        &self.checked
    }
}

/// Every open document, by URI.
#[derive(Debug, Default)]
pub struct Documents {
    open: HashMap<Uri, Document>,
}

impl Documents {
    /// Opens (or reopens) a document with its whole text. `None` when the
    /// text is too large for kflow's spans; the document is then not open.
    pub fn open(&mut self, uri: Uri, version: i32, text: String) -> Option<&Document> {
        let document = Document::new(uri.as_str(), version, text);
        match document {
            Some(document) => Some(self.open.entry(uri).insert_entry(document).into_mut()),
            None => {
                self.open.remove(&uri);
                None
            }
        }
    }

    /// Applies the changes of one `didChange`, in order: each with a range
    /// replaces that range of the text as the changes before it left it
    /// (positions in UTF-16 units, clamped to the text); one without a range
    /// replaces the whole text. `None` for a document that is not open, or
    /// when the result would be too large (the document is left as it was).
    pub fn change(
        &mut self,
        uri: &Uri,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    ) -> Option<&Document> {
        let document = self.open.get_mut(uri)?;
        let mut text = document.text().to_owned();
        // Whether `text` has moved on from the document's line table (the
        // usual single edit reads positions from the table it has).
        let mut stale = false;
        for change in changes {
            match change.range {
                None => text = change.text,
                Some(range) => {
                    let span = if stale {
                        Lines::new(&text).span(&text, range)
                    } else {
                        document.lines.span(&text, range)
                    };
                    text.replace_range(span.range(), &change.text);
                }
            }
            stale = true;
        }
        *document = Document::new(uri.as_str(), version, text)?;
        Some(document)
    }

    /// Forgets a document; false when it was not open.
    pub fn close(&mut self, uri: &Uri) -> bool {
        self.open.remove(uri).is_some()
    }

    /// An open document.
    pub fn get(&self, uri: &Uri) -> Option<&Document> {
        self.open.get(uri)
    }
}

#[cfg(test)]
mod tests {
    use lsp_types::{Position, Range};

    use super::*;

    fn edit(start: (u32, u32), end: (u32, u32), text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range {
                start: Position {
                    line: start.0,
                    character: start.1,
                },
                end: Position {
                    line: end.0,
                    character: end.1,
                },
            }),
            range_length: None,
            text: text.to_owned(),
        }
    }

    #[test]
    fn edits_apply_in_order_in_utf16_positions() {
        let uri: Uri = "file:///a.kflow".parse().expect("present");
        let mut docs = Documents::default();
        docs.open(uri.clone(), 1, "tag \"😀x\"\nstop".to_owned());
        // Replace `x` (after a surrogate pair: column 7), then insert on the
        // next line where the first edit left it.
        let doc = docs
            .change(
                &uri,
                2,
                vec![edit((0, 7), (0, 8), "yz"), edit((1, 0), (1, 0), "# ")],
            )
            .expect("present");
        assert_eq!(doc.text(), "tag \"😀yz\"\n# stop");
        assert_eq!(doc.version(), 2);
        // Out-of-range positions clamp instead of failing.
        let doc = docs
            .change(&uri, 3, vec![edit((7, 3), (99, 0), "!")])
            .expect("present");
        assert_eq!(doc.text(), "tag \"😀yz\"\n# stop!");
        // A change without a range replaces everything.
        let whole = TextDocumentContentChangeEvent {
            range: None,
            range_length: None,
            text: "stop".to_owned(),
        };
        assert_eq!(
            docs.change(&uri, 4, vec![whole]).expect("present").text(),
            "stop"
        );
        assert!(docs.close(&uri));
        assert!(docs.change(&uri, 5, Vec::new()).is_none());
    }
}
