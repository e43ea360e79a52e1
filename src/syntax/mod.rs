//! Source text to the typed AST.
//!
//! Input: a [`SourceFile`]. Output: a [`Parsed`] file holding every item that
//! parsed, and a diagnostic for every item that did not. The file is first cut
//! into top-level items ([`split`]), so one broken trigger does not hide the
//! errors of the next; each item is parsed by pest and converted by
//! [`convert`], which also decodes strings and durations.

pub mod ast;
mod convert;
mod error;
mod fast;
mod grammar;
mod split;
mod text;
mod tidy;

use pest::Parser as _;

use crate::diag::{self, Diagnostic};
use crate::source::SourceFile;

pub use convert::MAX_DURATION_SECONDS;
pub use split::MAX_DEPTH;

/// Seconds in a duration written as in kflow source (`30m`, `1h30m`, `2d`):
/// whole numbers each followed by a unit `d`, `h`, `m` or `s`, units from
/// largest to smallest and each at most once, up to [`MAX_DURATION_SECONDS`].
/// For tools that read durations outside `.kflow` files, such as the
/// scenarios of `kflowc simulate`; the error says what is wrong.
///
/// ```
/// assert_eq!(kflow::syntax::parse_duration("1h30m"), Ok(5400));
/// assert!(kflow::syntax::parse_duration("90").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let bytes = text.as_bytes();
    let shaped = bytes.first().is_some_and(u8::is_ascii_digit)
        && bytes.last().is_some_and(|b| b"dhms".contains(b))
        && !bytes
            .windows(2)
            .any(|w| !w[0].is_ascii_digit() && !w[1].is_ascii_digit());
    if !shaped {
        return Err(format!("`{text}` is not a duration"));
    }
    convert::parse_duration(text)
}

/// The result of parsing one file.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Every item that parsed.
    pub file: ast::File,
    /// Syntax problems, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a whole file, reporting every broken item.
pub fn parse(source: &SourceFile) -> Parsed {
    parse_with(source, true)
}

/// [`parse`] with every item read by pest, skipping the fast path. Only for
/// tests that check the two give the same tree and diagnostics.
#[doc(hidden)]
pub fn parse_with_pest(source: &SourceFile) -> Parsed {
    parse_with(source, false)
}

fn parse_with(source: &SourceFile, fast_path: bool) -> Parsed {
    let text = source.text();
    let split = split::split(text);
    let mut diagnostics = split.diagnostics;
    let mut file = ast::File::default();
    for chunk in split.chunks.iter().filter(|c| c.parse) {
        let item_text = &text[chunk.span.range()];
        // Most items parse: the fast path reads those many times quicker
        // than pest; pest reads the rest, and explains what is wrong.
        if fast_path && let Some(item) = fast::item(item_text, chunk.span.start, &mut diagnostics) {
            file.items.extend(item);
            continue;
        }
        match grammar::KflowParser::parse(grammar::Rule::item, item_text) {
            Ok(pairs) => {
                let mut converter = convert::Converter::new(chunk.span.start, &mut diagnostics);
                match converter.item(pairs) {
                    Ok(Some(item)) => file.items.push(item),
                    Ok(None) => {}
                    Err(drift) => diagnostics.push(drift.into_diagnostic()),
                }
            }
            Err(e) => diagnostics.push(error::to_diagnostic(&e, item_text, chunk.span.start)),
        }
    }
    tidy::trim_spans(&mut file);
    diag::sort(&mut diagnostics);
    Parsed { file, diagnostics }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn public_durations_need_the_grammar_shape() {
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("1d12h"), Ok(129_600));
        for bad in ["", "30", "m", "1hm", "h1", "1.5h", " 1h", "-1h", "1w"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse_duration("30m1h").is_err());
    }
}
