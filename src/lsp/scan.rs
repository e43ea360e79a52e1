//! What kind of place the cursor is in, read from the text alone: a comment,
//! a string (and whether a `{{` is open in it), or code in a block of
//! statements or of message fields.
//!
//! Completion runs on text being typed, which often does not parse, so this
//! reads only what the splitter reads (comments, strings, `<` and `>`): a
//! `#` outside a string starts a comment to the end of the line, a string
//! runs to its unescaped closing quote, and a block's kind is the word
//! before its `<`.

use crate::syntax::comments::string_end;

/// Where a block's contents are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// Outside any block: items.
    Top,
    /// A trigger's body, a branch, a handler: statements.
    Statements,
    /// The fields of the message this keyword starts (`cta`, `sms`, ...).
    Fields(&'static str),
}

/// The place at an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place<'a> {
    /// In a comment.
    Comment,
    /// In a string. `var` is the variable being written after an open
    /// `{{`: where its path starts and what is typed of it.
    String { var: Option<(usize, &'a str)> },
    /// In code.
    Code {
        /// The block the cursor is in.
        block: Block,
        /// Where the word being typed starts (the cursor when none is).
        word_start: usize,
        /// The word before it, if any.
        previous: Option<&'a str>,
    },
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

/// The place at `offset` in `text` (clamped to the text).
pub(crate) fn place(text: &str, offset: usize) -> Place<'_> {
    let bytes = text.as_bytes();
    let offset = offset.min(bytes.len());
    let mut stack: Vec<Block> = Vec::new();
    let mut last_word: Option<&str> = None;
    let mut i = 0;
    while i < offset {
        match bytes[i] {
            b'#' => {
                let end = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |p| i + p);
                if offset <= end {
                    return Place::Comment;
                }
                i = end;
            }
            b'"' => {
                let (end, closed) = string_end(bytes, i);
                // Inside from after the opening quote up to the closing one
                // (to the end of the text when there is none).
                if offset < end || (!closed && offset <= end) {
                    let typed = text.get(i + 1..offset).unwrap_or("");
                    return Place::String {
                        var: open_var(typed, i + 1),
                    };
                }
                i = end;
            }
            b'<' => {
                stack.push(match (stack.last(), last_word) {
                    // A block inside a message's fields is a list's section.
                    (Some(Block::Fields(_)), _) => Block::Fields("section"),
                    (_, Some(k @ ("cta" | "buttons" | "list" | "template" | "sms" | "email"))) => {
                        Block::Fields(static_keyword(k))
                    }
                    _ => Block::Statements,
                });
                last_word = None;
                i += 1;
            }
            b'>' => {
                stack.pop();
                last_word = None;
                i += 1;
            }
            b if is_word_byte(b) => {
                let start = i;
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                if i >= offset {
                    // The cursor is in (or at the end of) this word.
                    return Place::Code {
                        block: stack.last().copied().unwrap_or(Block::Top),
                        word_start: start,
                        previous: last_word,
                    };
                }
                last_word = text.get(start..i);
            }
            _ => i += 1,
        }
    }
    Place::Code {
        block: stack.last().copied().unwrap_or(Block::Top),
        word_start: offset,
        previous: last_word,
    }
}

fn static_keyword(k: &str) -> &'static str {
    match k {
        "cta" => "cta",
        "buttons" => "buttons",
        "list" => "list",
        "template" => "template",
        "sms" => "sms",
        _ => "email",
    }
}

/// The variable path being typed at the end of `typed` (a string's text up
/// to the cursor, starting at byte `base`), when a `{{` is open.
fn open_var(typed: &str, base: usize) -> Option<(usize, &str)> {
    let open = typed.rfind("{{")?;
    let after = &typed[open + 2..];
    if after.contains("}}") {
        return None;
    }
    let path = after.trim_start();
    path.bytes()
        .all(is_word_byte)
        .then(|| (base + typed.len() - path.len(), path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Place<'_> {
        let offset = text.find('|').expect("a cursor");
        // The cursor marker is removed by the caller's slicing: read the
        // text before it only.
        place(&text[..offset], offset)
    }

    #[test]
    fn strings_comments_and_blocks() {
        assert_eq!(at("# a comment |"), Place::Comment);
        assert_eq!(
            at("on reply sms < sms \"Hi {{ contact.fi|"),
            Place::String {
                var: Some((26, "contact.fi"))
            }
        );
        assert_eq!(at("tag \"{{contact.x}} |"), Place::String { var: None });
        assert!(matches!(
            at("on reply whatsapp < cta < bo|"),
            Place::Code {
                block: Block::Fields("cta"),
                word_start: 26,
                previous: None
            }
        ));
        assert!(matches!(
            at("on reply whatsapp < cta < body \"a # b\" > |"),
            Place::Code {
                block: Block::Statements,
                ..
            }
        ));
        assert!(matches!(
            at("|"),
            Place::Code {
                block: Block::Top,
                ..
            }
        ));
    }
}
