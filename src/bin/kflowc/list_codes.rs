//! `kflowc check --list-codes`: every diagnostic code kflow has, for
//! authors writing `# kflow-ignore` comments and for tools that map codes.

use std::io::{self, Write as _};

use kflow::Code;
use serde::Serialize;

use crate::args::Format;

/// The JSON document (`--format json`).
#[derive(Serialize)]
struct Listing {
    /// Changes only when a field is removed or changes meaning.
    version: u32,
    codes: Vec<Entry>,
}

#[derive(Serialize)]
struct Entry {
    code: &'static str,
    severity: &'static str,
    summary: &'static str,
    /// The code's section of the language reference, when its URL is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    docs: Option<String>,
}

/// Writes the list: one line per code (code, severity, summary), one JSON
/// document, or, with `--format sarif`, a SARIF log with every rule and no
/// results (the catalogue a dashboard can import).
pub(crate) fn write(format: Format, docs_url: Option<&str>, out: impl io::Write) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    let docs = crate::docs::docs_link(docs_url);
    match format {
        Format::Sarif => kflow::report::sarif::write(&[], &docs, &mut out)?,
        Format::Json => {
            let listing = Listing {
                version: 1,
                codes: Code::ALL
                    .iter()
                    .map(|&code| Entry {
                        code: code.as_str(),
                        severity: code.severity().as_str(),
                        summary: code.summary(),
                        docs: docs.url(code),
                    })
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut out, &listing)?;
            out.write_all(b"\n")?;
        }
        Format::Human | Format::Github => {
            let width = Code::ALL
                .iter()
                .map(|c| c.as_str().len())
                .max()
                .unwrap_or(0);
            for &code in Code::ALL {
                writeln!(
                    out,
                    "{:width$}  {:7}  {}",
                    code.as_str(),
                    code.severity().as_str(),
                    code.summary()
                )?;
            }
        }
    }
    out.flush()
}
