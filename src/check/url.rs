//! CTA and media URLs: absolute `http(s)` with a literal host.
//!
//! Variables may fill the path, query or fragment (the runtime percent-encodes
//! them), never the scheme or host: a contact's data must not decide where a
//! link goes.

use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{Part, Text};

/// Checks a URL text; `what` names it in messages ("the button's URL").
pub(crate) fn check(text: &Text, what: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut shape = String::new();
    let mut var_offsets = Vec::new();
    for part in &text.parts {
        match part {
            Part::Lit(s) => shape.push_str(s),
            Part::Var(v) => {
                var_offsets.push((shape.len(), v.span));
                // A placeholder that is valid in any path or query position.
                shape.push('x');
            }
        }
    }
    let error = |message: String, label: &str, help: &str| {
        Diagnostic::new(Code::CtaUrl, message, text.span, label.to_owned())
            .with_help(help.to_owned())
    };
    let lower = shape.to_ascii_lowercase();
    let scheme_len = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        let starts_with_var = var_offsets.first().is_some_and(|(at, _)| *at == 0);
        out.push(if starts_with_var {
            error(
                format!("{what} must start with `https://` and a host written out"),
                "starts with a variable",
                "write the scheme and host literally, like `\"https://www.example.com/{{custom_values.path}}\"`",
            )
        } else {
            error(
                format!("{what} is not an absolute http(s) URL"),
                "not an absolute URL",
                "write a full URL starting with `https://`, like `\"https://www.example.com/book\"`",
            )
        });
        return out;
    };
    if shape.chars().any(char::is_whitespace) {
        out.push(error(
            format!("{what} contains whitespace"),
            "whitespace in a URL",
            "remove the spaces, or encode them as `%20`",
        ));
        return out;
    }
    let authority_end = shape[scheme_len..]
        .find(['/', '?', '#'])
        .map_or(shape.len(), |p| scheme_len + p);
    if let Some((_, span)) = var_offsets.iter().find(|(at, _)| *at < authority_end) {
        out.push(
            Diagnostic::new(
                Code::CtaUrl,
                format!("a variable cannot choose the host of {what}"),
                *span,
                "variable in the host",
            )
            .with_label(text.span, "in this URL")
            .with_help("write the host literally; variables may fill the path and query, like `https://www.example.com/?name={{contact.name | guest}}`"),
        );
        return out;
    }
    match url::Url::parse(&shape) {
        Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
            if scheme_len == 7 {
                out.push(
                    Diagnostic::new(
                        Code::CtaInsecureUrl,
                        format!("{what} uses plain `http`"),
                        text.span,
                        "not https",
                    )
                    .with_help("use `https://`: WhatsApp users see a warning for insecure links, and providers may refuse them"),
                );
            }
        }
        Ok(_) | Err(_) => out.push(error(
            format!("{what} has no valid host"),
            "no valid host",
            "write a host after `https://`, like `https://www.example.com/book`",
        )),
    }
    out
}
