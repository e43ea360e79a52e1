//! `[expect]`: what `kflowc test` and [`Simulation::check`] compare, and
//! the forms an expected action may take.
//!
//! [`Simulation::check`]: crate::scenario::Simulation::check

use toml::Spanned;

use super::values::{is_ident, suggest};
use super::{RawExpect, Reader, ScenarioError};
use crate::scenario::model::{Expect, ExpectedAction, OUTCOMES};

impl Reader<'_> {
    pub(super) fn expect(&self, raw: Spanned<RawExpect>) -> Result<Expect, ScenarioError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let actions = match raw.actions {
            Some(items) => Some(
                items
                    .iter()
                    .map(|item| self.expected_action(item))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let path = match raw.path {
            Some(items) => {
                let mut path = Vec::new();
                for item in items {
                    let name = item.get_ref().as_str();
                    let chose = name.strip_prefix("chose:").is_some_and(|id| !id.is_empty());
                    if !chose && name != "goal" && !OUTCOMES.iter().any(|(n, _)| *n == name) {
                        let mut names: Vec<&str> = OUTCOMES.iter().map(|(n, _)| *n).collect();
                        names.push("goal");
                        return self.error(
                            item.span(),
                            format!(
                                "`path`: `{name}` is not an outcome{}; outcomes are {}, and `chose:ID` for a button or row",
                                suggest(name, &names),
                                names.join(", ")
                            ),
                        );
                    }
                    path.push(item.into_inner());
                }
                Some(path)
            }
            None => None,
        };
        let missing = match raw.missing {
            Some(items) => {
                let mut vars = Vec::new();
                for item in items {
                    let name = item.get_ref();
                    let valid = name.split_once('.').is_some_and(|(scope, key)| {
                        matches!(scope, "contact" | "custom_values") && is_ident(key)
                    });
                    if !valid {
                        return self.error(
                            item.span(),
                            format!("`missing`: `{name}` is not a variable; write it as in the workflow without braces, such as \"contact.first_name\""),
                        );
                    }
                    vars.push(item.into_inner());
                }
                Some(vars)
            }
            None => None,
        };
        let waiting = match raw.waiting {
            Some(w) if *w.get_ref() < 0 => {
                return self.error(w.span(), "`waiting` is a number of runs, 0 or more");
            }
            Some(w) => Some(w.into_inner() as u64),
            None => None,
        };
        let expect = Expect {
            actions,
            path,
            urls: raw.urls,
            contains: raw.contains.unwrap_or_default(),
            missing,
            waiting,
        };
        let empty = expect.actions.is_none()
            && expect.path.is_none()
            && expect.urls.is_none()
            && expect.contains.is_empty()
            && expect.missing.is_none()
            && expect.waiting.is_none();
        if empty {
            return self.error(
                span,
                "`[expect]` is empty; give at least one of `actions`, `path`, `urls`, `contains`, `missing` or `waiting`",
            );
        }
        Ok(expect)
    }

    /// `[+OFFSET ]ACTION`, where ACTION is one the timeline writes: `cta`,
    /// `template NAME`, `sms failed`, `email not sent`, `tag X`, `untag X`.
    pub(super) fn expected_action(
        &self,
        item: &Spanned<String>,
    ) -> Result<ExpectedAction, ScenarioError> {
        let text = item.get_ref().trim();
        let (at, action) = match text.strip_prefix('+') {
            Some(rest) => {
                let (offset, action) = rest.split_once(' ').unwrap_or((rest, ""));
                let seconds = crate::duration::parse(offset).or_else(|problem| {
                    self.error(
                        item.span(),
                        format!("`actions`: {problem}; an action may start with its time after the start, such as \"+12m tag clicked\""),
                    )
                })?;
                (Some(seconds), action.trim())
            }
            None => (None, text),
        };
        let action = action.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Err(problem) = check_action(&action) {
            return self.error(item.span(), format!("`actions`: {problem}"));
        }
        Ok(ExpectedAction { at, action })
    }
}

/// Whether `action` is one a timeline can show.
pub(super) fn check_action(action: &str) -> Result<(), String> {
    const FORMS: &str = "actions are `cta`, `buttons`, `list`, `whatsapp`, `template NAME`, `sms`, `email` (each optionally followed by `failed` or `not sent`), `tag NAME` and `untag NAME`";
    let (kind, rest) = action.split_once(' ').unwrap_or((action, ""));
    match kind {
        "tag" | "untag" if rest.is_empty() => {
            Err(format!("`{kind}` needs the tag, such as `{kind} vip`"))
        }
        "tag" | "untag" => Ok(()),
        "template" => {
            let rest = rest
                .strip_suffix(" failed")
                .or_else(|| rest.strip_suffix(" not sent"))
                .unwrap_or(rest);
            if rest.is_empty() || rest.contains(' ') {
                Err(format!(
                    "`{action}`: `template` needs the template's name, such as `template booking_reopen`"
                ))
            } else {
                Ok(())
            }
        }
        "cta" | "buttons" | "list" | "whatsapp" | "sms" | "email" => match rest {
            "" | "failed" | "not sent" => Ok(()),
            _ => Err(format!(
                "`{action}`: after `{kind}` only `failed` or `not sent` may follow; {FORMS}"
            )),
        },
        "" => Err(format!("an action is empty; {FORMS}")),
        _ => {
            const WORDS: [&str; 9] = [
                "cta", "buttons", "list", "whatsapp", "template", "sms", "email", "tag", "untag",
            ];
            Err(format!(
                "`{kind}` is not an action{}; {FORMS}",
                suggest(kind, &WORDS)
            ))
        }
    }
}
