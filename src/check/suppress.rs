//! Suppression comments: `# kflow-ignore: CODE[, CODE...] reason`.
//!
//! A directive on a line of its own silences the named warnings on the next
//! line that holds code (blank and comment-only lines between are skipped);
//! one after code silences them on its own line. A diagnostic is "on" the
//! line where its primary label starts. Only warnings can be silenced: an
//! error always stands, and naming one is itself reported. Every directive
//! must earn its place: one that silences nothing, names a code kflow does
//! not have or gives no reason is reported, so ignores do not outlive the
//! problems they were written for.
//!
//! This runs last in [`super::check_source`], over the diagnostics of the
//! parser and every checker, so it is the one place that knows about
//! suppression; the diagnostics it adds cannot themselves be silenced.

use std::collections::HashMap;

use crate::diag::{Code, Diagnostic, Severity};
use crate::platform::suggest::did_you_mean;
use crate::source::{LineIndex, Span};
use crate::syntax::comments::{Comment, comments};

/// The word that makes a comment a directive.
const DIRECTIVE: &str = "kflow-ignore";

/// One parsed `# kflow-ignore: ...` comment.
struct Directive {
    /// The whole comment, `#` to the end of the line.
    comment: Span,
    /// The named codes with their spans, as written.
    codes: Vec<(Span, String)>,
    /// Whether any text follows the codes.
    has_reason: bool,
    /// The 0-based line whose diagnostics it silences.
    target_line: usize,
}

/// Removes the warnings that directives in `text` silence from
/// `diagnostics`, and adds a diagnostic for every directive that is
/// malformed, names an unknown code or an error, silences nothing or gives
/// no reason. `diagnostics` stays in source order.
pub(crate) fn apply(text: &str, diagnostics: &mut Vec<Diagnostic>) {
    // Most files have no directive: a substring search costs far less than
    // listing every comment of a large file.
    if memchr::memmem::find(text.as_bytes(), DIRECTIVE.as_bytes()).is_none() {
        return;
    }
    let lines = LineIndex::new(text);
    let mut added = Vec::new();
    let mut directives = Vec::new();
    for comment in comments(text) {
        let Some(body) = directive_body(text, comment) else {
            continue;
        };
        match parse(text, comment, body, &lines) {
            Ok(directive) => directives.push(directive),
            Err(problem) => added.push(problem),
        }
    }
    if directives.is_empty() && added.is_empty() {
        return;
    }
    // Every silenceable warning by its line and code, so each directive
    // finds its own in one lookup whatever the number of diagnostics.
    let mut warnings: HashMap<(usize, Code), Vec<usize>> = HashMap::new();
    for (i, d) in diagnostics.iter().enumerate() {
        if d.severity == Severity::Warning && !is_suppression(d.code) {
            let line = lines.line_of(d.primary_span().start);
            warnings.entry((line, d.code)).or_default().push(i);
        }
    }
    let mut silenced = vec![false; diagnostics.len()];
    for directive in &directives {
        silence(directive, &warnings, &mut silenced, &mut added);
    }
    let mut index = 0;
    diagnostics.retain(|_| {
        index += 1;
        !silenced[index - 1]
    });
    diagnostics.append(&mut added);
    crate::diag::sort(diagnostics);
}

/// The text after `#` of a comment that starts with `kflow-ignore` (after
/// optional spaces), from the word on; `None` for any other comment.
fn directive_body(text: &str, comment: Comment) -> Option<(u32, &str)> {
    let raw = text.get(comment.span.range())?.strip_prefix('#')?;
    let trimmed = raw.trim_start();
    let offset = comment.span.start + 1 + (raw.len() - trimmed.len()) as u32;
    let rest = trimmed.strip_prefix(DIRECTIVE)?;
    // `kflow-ignored` or `kflow-ignore_x` is some other word.
    if rest
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    Some((offset, trimmed))
}

fn parse(
    text: &str,
    comment: Comment,
    (offset, body): (u32, &str),
    lines: &LineIndex,
) -> Result<Directive, Diagnostic> {
    let word_end = offset + DIRECTIVE.len() as u32;
    let after_word = &body[DIRECTIVE.len()..];
    let Some(list) = after_word.trim_start().strip_prefix(':') else {
        return Err(Diagnostic::new(
            Code::SuppressMalformed,
            "`kflow-ignore` needs a `:` and the codes it silences",
            Span::new(offset, word_end),
            "no `:` after this",
        )
        .with_help("write `# kflow-ignore: kflow::area::name the reason`"));
    };
    let mut at = offset + (body.len() - list.len()) as u32;
    let mut rest = list;
    let mut codes = Vec::new();
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t', ',']);
        at += (rest.len() - trimmed.len()) as u32;
        rest = trimmed;
        if !rest.starts_with("kflow::") {
            break;
        }
        let len = rest.find([' ', '\t', ',']).unwrap_or(rest.len());
        codes.push((Span::new(at, at + len as u32), rest[..len].to_owned()));
        at += len as u32;
        rest = &rest[len..];
    }
    if codes.is_empty() {
        return Err(Diagnostic::new(
            Code::SuppressMalformed,
            "this `kflow-ignore` names no code",
            Span::new(offset, comment.span.end),
            "no `kflow::...` code after the `:`",
        )
        .with_help("name the warning's code first: `# kflow-ignore: kflow::sms::segments the reason` (`kflowc check --list-codes` lists them)"));
    }
    let line = lines.line_of(comment.span.start);
    let target_line = if comment.own_line {
        next_code_line(text, lines, line)
    } else {
        line
    };
    Ok(Directive {
        comment: comment.span,
        codes,
        has_reason: !rest.trim().is_empty(),
        target_line,
    })
}

/// The first line after `line` that holds something other than blanks and
/// a comment; `line + 1` at the end of the file (where nothing is).
fn next_code_line(text: &str, lines: &LineIndex, line: usize) -> usize {
    let mut next = line + 1;
    while let Some(start) = lines.line_start(next) {
        let end = lines
            .line_start(next + 1)
            .map_or(text.len(), |s| s as usize);
        let content = text.get(start as usize..end).unwrap_or_default().trim();
        if !content.is_empty() && !content.starts_with('#') {
            return next;
        }
        next += 1;
    }
    line + 1
}

/// Applies one directive: marks the diagnostics it silences, and pushes
/// onto `added` what is wrong with it.
fn silence(
    directive: &Directive,
    warnings: &HashMap<(usize, Code), Vec<usize>>,
    silenced: &mut [bool],
    added: &mut Vec<Diagnostic>,
) {
    let mut unused = Vec::new();
    for (span, name) in &directive.codes {
        let Some(code) = Code::from_name(name) else {
            added.push(unknown(*span, name));
            continue;
        };
        if code.severity() == Severity::Error {
            added.push(
                Diagnostic::new(
                    Code::SuppressError,
                    format!("`{code}` is an error, and errors cannot be silenced"),
                    *span,
                    "an error",
                )
                .with_help(format!(
                    "fix what `{code}` reports and remove this code from the comment; only warnings can be ignored"
                )),
            );
            continue;
        }
        match warnings.get(&(directive.target_line, code)) {
            Some(found) => found.iter().for_each(|&i| silenced[i] = true),
            None => unused.push((*span, code)),
        }
    }
    // With one code, the fix removes the whole comment; with several, which
    // text to cut is the author's call.
    let lone = directive.codes.len() == 1;
    for (span, code) in unused {
        let d = Diagnostic::new(
            Code::SuppressUnused,
            format!("no `{code}` warning here to silence"),
            span,
            "silences nothing",
        )
        .with_help(
            "remove the code (the warning it was for is gone), or move the comment to the line the warning is on",
        );
        added.push(if lone {
            d.with_fix(directive.comment, "")
        } else {
            d
        });
    }
    if !directive.has_reason {
        added.push(
            Diagnostic::new(
                Code::SuppressNoReason,
                "this `kflow-ignore` gives no reason",
                directive.comment,
                "no reason after the codes",
            )
            .with_help(format!(
                "after the codes, say why the warning is fine here: `# kflow-ignore: {} the reason`",
                directive.codes.iter().map(|(_, name)| name.as_str()).collect::<Vec<_>>().join(", ")
            )),
        );
    }
}

fn unknown(span: Span, name: &str) -> Diagnostic {
    let names = Code::ALL.iter().map(|c| c.as_str());
    let d = Diagnostic::new(
        Code::SuppressUnknown,
        format!("kflow has no code `{name}`"),
        span,
        "unknown code",
    );
    match did_you_mean(name, names) {
        Some(near) => d
            .with_help(format!("did you mean `{near}`?"))
            .with_fix(span, near),
        None => d.with_help("`kflowc check --list-codes` lists every code"),
    }
}

/// The codes this module reports, which no directive silences.
fn is_suppression(code: Code) -> bool {
    matches!(
        code,
        Code::SuppressMalformed
            | Code::SuppressUnknown
            | Code::SuppressError
            | Code::SuppressUnused
            | Code::SuppressNoReason
    )
}

#[cfg(test)]
mod tests;
