//! Reading the `< name value ... >` fields of a message against a table of
//! the fields that kind of message has: unknown names (with did-you-mean),
//! values of the wrong shape, duplicates and missing required fields.

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{Field, FieldValue, Fields, Text};

use crate::platform::suggest::did_you_mean;

/// The value a field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A string.
    Text,
    /// A duration.
    Duration,
    /// A bare word (`category utility`).
    Word,
    /// A word then a string (`header image "https://..."`).
    WordText,
    /// An id and a title: `reply "confirm" "Confirm"`.
    Choice,
    /// An id, a title and an optional description: `row "m9" "9:00" "Dr Lee"`.
    Row,
    /// An optional title, then nested fields: `section "Mornings" < row ... >`.
    Section,
    /// An index, a word and a string: a template's `button 0 url "..."`.
    Indexed,
}

impl Shape {
    fn example(self, name: &str) -> String {
        match self {
            Shape::Text => format!("`{name} \"...\"`"),
            Shape::Duration => format!("a duration: `{name} 30m`"),
            Shape::Word => format!("a word: `{name} utility`"),
            Shape::WordText => format!("a kind and a string: `{name} text \"...\"`"),
            Shape::Choice => format!("an id and a title: `{name} \"confirm\" \"Confirm\"`"),
            Shape::Row => format!(
                "an id, a title and an optional description: `{name} \"m9\" \"9:00\" \"Dr Lee\"`"
            ),
            Shape::Section => format!("a title and its rows: `{name} \"Mornings\" < row ... >`"),
            Shape::Indexed => format!(
                "an index, a kind and a value: `{name} 0 url \"...\"` or `{name} 1 reply \"confirm\"`"
            ),
        }
    }

    fn accepts(self, value: &FieldValue) -> bool {
        matches!(
            (self, value),
            (Shape::Text, FieldValue::Text(_))
                | (Shape::Duration, FieldValue::Duration(_))
                | (Shape::Word, FieldValue::Word(_, None))
                | (Shape::WordText, FieldValue::Word(_, Some(_)))
        ) || match (self, value) {
            (Shape::Choice, FieldValue::Texts(t)) => t.len() == 2,
            (Shape::Row, FieldValue::Texts(t)) => t.len() <= 3,
            (Shape::Section, FieldValue::Group(titles, _)) => titles.len() <= 1,
            (Shape::Indexed, FieldValue::Indexed(..)) => true,
            _ => false,
        }
    }
}

/// One field a message kind has.
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) shape: Shape,
    pub(crate) required: bool,
    /// May be given more than once (template `param`).
    pub(crate) repeats: bool,
    /// Shown in the help when the field is missing.
    pub(crate) hint: &'static str,
}

/// What a message kind is called and which codes it reports with.
pub(crate) struct Kind {
    pub(crate) keyword: &'static str,
    pub(crate) duplicate: Code,
    pub(crate) missing: Code,
    pub(crate) specs: &'static [Spec],
    /// Fields of other message kinds that authors write here by mistake,
    /// with the help that explains why this kind has none.
    pub(crate) foreign: &'static [(&'static str, &'static str)],
}

/// The fields of one message that passed the table, by name.
pub(crate) struct Found<'a> {
    fields: Vec<(&'static str, &'a Field)>,
}

impl<'a> Found<'a> {
    /// The first well-shaped field with this name.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Field> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// The field's string, when it is a plain text field.
    pub(crate) fn text(&self, name: &str) -> Option<&'a Text> {
        match &self.get(name)?.value {
            FieldValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// All well-shaped fields with this name, in order.
    pub(crate) fn all(&self, name: &'a str) -> impl Iterator<Item = &'a Field> + '_ {
        self.fields
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, f)| *f)
    }
}

/// Reads `fields` against `kind`, reporting every problem. `head` is the
/// statement's keyword, labelled when required fields are missing.
/// `missing_ok` names required fields supplied some other way (a CTA's
/// timeout from an `on timeout` handler).
pub(crate) fn read<'a>(
    fields: &'a Fields,
    kind: &Kind,
    head: Span,
    missing_ok: &[&str],
    out: &mut Vec<Diagnostic>,
) -> Found<'a> {
    let mut found: Vec<(&'static str, &'a Field)> = Vec::new();
    // Names written at all, even with a bad value: those are not "missing".
    let mut written: Vec<&'static str> = Vec::new();
    for field in &fields.fields {
        let name = field.name.node.as_str();
        let Some(spec) = kind.specs.iter().find(|s| s.name == name) else {
            let names = kind.specs.iter().map(|s| s.name);
            let foreign = kind.foreign.iter().find(|(n, _)| *n == name);
            let suggestion = match foreign {
                Some(_) => None,
                None => did_you_mean(name, names.clone()),
            };
            let help = match (foreign, suggestion) {
                (Some((_, why)), _) => (*why).to_owned(),
                (None, Some(s)) => format!("did you mean `{s}`?"),
                (None, None) => format!(
                    "a `{}` has the fields {}",
                    kind.keyword,
                    names
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let diagnostic = Diagnostic::new(
                Code::FieldUnknown,
                format!("`{}` has no field `{name}`", kind.keyword),
                field.name.span,
                "unknown field",
            )
            .with_help(help);
            out.push(match suggestion {
                Some(s) => diagnostic.with_fix(field.name.span, s),
                None => diagnostic,
            });
            continue;
        };
        written.push(spec.name);
        let header_shorthand = spec.name == "header" && header_like(&field.value);
        if !(spec.shape.accepts(&field.value) || header_shorthand) {
            out.push(
                Diagnostic::new(
                    Code::FieldValue,
                    format!("`{name}` takes {}", spec.shape.example(name)),
                    field.value.span(),
                    "wrong kind of value",
                )
                .with_help(format!("write {}", spec.shape.example(name))),
            );
            continue;
        }
        if !spec.repeats
            && let Some((_, first)) = found.iter().find(|(n, _)| *n == spec.name)
        {
            let message = if kind.keyword == "cta" && name == "button" {
                "a WhatsApp CTA message carries exactly one button".to_owned()
            } else {
                format!("`{name}` is given twice in this `{}`", kind.keyword)
            };
            out.push(
                Diagnostic::new(kind.duplicate, message, field.span, "given again here")
                    .with_label(first.span, "first given here")
                    .with_help(if kind.keyword == "cta" && name == "button" {
                        "keep one `button`; to offer several choices, send separate messages"
                            .to_owned()
                    } else {
                        format!("keep one `{name}`")
                    }),
            );
            continue;
        }
        found.push((spec.name, field));
    }
    let missing: Vec<&Spec> = kind
        .specs
        .iter()
        .filter(|s| s.required && !missing_ok.contains(&s.name) && !written.contains(&s.name))
        .collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|s| format!("`{}`", s.name)).collect();
        let list = join_with(&names, "or");
        let help = missing
            .iter()
            .map(|s| s.hint)
            .collect::<Vec<_>>()
            .join("; ");
        out.push(
            Diagnostic::new(
                kind.missing,
                format!("this `{}` has no {list}", kind.keyword),
                head,
                format!("missing {}", join_with(&names, "and")),
            )
            .with_help(format!("add {help}")),
        );
    }
    Found { fields: found }
}

/// `header "Hi"` (a string without a kind) is reported as a header problem,
/// not a shape problem.
fn header_like(value: &FieldValue) -> bool {
    matches!(value, FieldValue::Text(_) | FieldValue::Word(_, None))
}

/// `a`, `a and b`, `a, b and c` (or with `or`).
pub(crate) fn join_with(items: &[String], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}
