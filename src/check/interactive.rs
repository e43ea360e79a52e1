//! `buttons` and `list`: the interactive messages a contact answers by
//! choosing. Their field tables, the checks on what they offer (how many
//! buttons, rows and sections, lengths, unique ids and titles), and the ids
//! the flow checker matches `on reply "id"` handlers against.

use std::collections::HashMap;

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{Duration, Field, FieldValue, Fields, Interactive, Text};

use super::fields::{self, Kind, Shape, Spec};
use super::messages::{self, CTA_OR_BUTTONS, Codes, HEADER_KINDS, length};
use super::vars::{Scope, forbid_vars};
use crate::platform::limits::*;

const fn spec(name: &'static str, shape: Shape, required: bool, hint: &'static str) -> Spec {
    Spec {
        name,
        shape,
        required,
        repeats: false,
        hint,
    }
}

const TIMEOUT_HINT: &str =
    "`timeout 1d` (5m to 2d), or an `on timeout 1d < ... >` handler after it";

pub(crate) const BUTTONS: Kind = Kind {
    keyword: "buttons",
    duplicate: Code::InteractiveDuplicateField,
    missing: Code::InteractiveMissingField,
    specs: &[
        spec("from", Shape::Text, false, "`from \"+15550100001\"`"),
        spec(
            "header",
            Shape::WordText,
            false,
            "`header text \"...\"` (or `image`, `video`, `document` with a URL)",
        ),
        spec(
            "body",
            Shape::Text,
            true,
            "`body \"...\"`, the message text (up to 1024 characters)",
        ),
        spec("footer", Shape::Text, false, "`footer \"...\"`"),
        Spec {
            name: "reply",
            shape: Shape::Choice,
            required: true,
            repeats: true,
            hint: "`reply \"confirm\" \"Confirm\"`, a button's id and title (one to three buttons)",
        },
        spec("timeout", Shape::Duration, false, TIMEOUT_HINT),
    ],
    foreign: &[("url", CTA_OR_BUTTONS), ("button", CTA_OR_BUTTONS)],
};

pub(crate) const LIST: Kind = Kind {
    keyword: "list",
    duplicate: Code::InteractiveDuplicateField,
    missing: Code::InteractiveMissingField,
    specs: &[
        spec("from", Shape::Text, false, "`from \"+15550100001\"`"),
        spec("header", Shape::WordText, false, "`header text \"...\"`"),
        spec(
            "body",
            Shape::Text,
            true,
            "`body \"...\"`, the message text (up to 4096 characters)",
        ),
        spec("footer", Shape::Text, false, "`footer \"...\"`"),
        spec(
            "button",
            Shape::Text,
            true,
            "`button \"Choose\"`, the label of the button that opens the list",
        ),
        Spec {
            name: "section",
            shape: Shape::Section,
            required: true,
            repeats: true,
            hint: "`section \"Mornings\" < row \"m9\" \"9:00\" >`",
        },
        spec("timeout", Shape::Duration, false, TIMEOUT_HINT),
    ],
    foreign: &[
        (
            "row",
            "a list's rows go inside a section: `section \"Mornings\" < row \"m9\" \"9:00\" >`",
        ),
        (
            "reply",
            "a list's choices are its rows (`section < row \"m9\" \"9:00\" >`); reply buttons are a `buttons` message",
        ),
        ("url", CTA_OR_BUTTONS),
    ],
};

pub(crate) const SECTION: Kind = Kind {
    keyword: "section",
    duplicate: Code::InteractiveDuplicateField,
    missing: Code::InteractiveMissingField,
    specs: &[Spec {
        name: "row",
        shape: Shape::Row,
        required: false,
        repeats: true,
        hint: "`row \"m9\" \"9:00\" \"Dr Lee\"`",
    }],
    foreign: &[],
};

const CODES: Codes = Codes {
    empty: Code::InteractiveEmptyField,
    header_kind: Code::InteractiveHeaderKind,
    header_length: Code::InteractiveHeaderLength,
    timeout_range: Code::InteractiveTimeoutRange,
    from_number: Code::InteractiveFromNumber,
};

/// What the flow checker needs to know about a `buttons` or `list`.
pub(crate) struct ChoicesInfo {
    /// The `timeout` field, when given.
    pub(crate) timeout_field: Option<Duration>,
    /// The literal ids a contact can choose, where each is written, in order.
    pub(crate) choices: Vec<(String, Span)>,
}

/// Checks a `buttons` message.
pub(crate) fn buttons(
    message: &Interactive,
    head: Span,
    handler_timeout: Option<Duration>,
    scope: &Scope,
    out: &mut Vec<Diagnostic>,
) -> ChoicesInfo {
    let found = common(message, &BUTTONS, head, HEADER_KINDS, scope, out);
    if let Some(body) = found.text("body") {
        length(
            body,
            BUTTONS_BODY_MAX,
            Code::InteractiveBodyLength,
            CODES.empty,
            "body",
            out,
        );
    }
    let replies: Vec<&Field> = found.all("reply").collect();
    if let Some(extra) = replies.get(BUTTONS_MAX) {
        let last = replies.last().map_or(extra.span, |f| f.span);
        out.push(
            Diagnostic::new(
                Code::ButtonsCount,
                format!(
                    "this `buttons` message has {} reply buttons; WhatsApp allows at most {BUTTONS_MAX}",
                    replies.len()
                ),
                extra.span.to(last),
                "beyond the third button",
            )
            .with_help(format!(
                "keep at most {BUTTONS_MAX} `reply` buttons; for up to {LIST_ROWS_MAX} choices send a `list`"
            )),
        );
    }
    let mut ids = Ids::new(BUTTON_ID_MAX, Code::ButtonsId, "reply button");
    let mut titles: HashMap<String, Span> = HashMap::new();
    for reply in &replies {
        let FieldValue::Texts(texts) = &reply.value else {
            continue;
        };
        let [id, title] = texts.as_slice() else {
            continue;
        };
        ids.check(id, out);
        scope.check_text(title, out);
        length(
            title,
            BUTTON_TITLE_MAX,
            Code::ButtonsTitleLength,
            CODES.empty,
            "button title",
            out,
        );
        if let Some(literal) = title.as_literal()
            && !literal.is_empty()
        {
            if let Some(&first) = titles.get(&literal) {
                out.push(
                    Diagnostic::new(
                        Code::ButtonsDuplicateTitle,
                        format!("two buttons of this message are titled `{literal}`"),
                        title.span,
                        "same title again",
                    )
                    .with_label(first, "first titled here")
                    .with_help("give each button its own title: WhatsApp refuses a message whose buttons share one (error 131009), and the contact could not tell them apart"),
                );
            } else {
                titles.insert(literal, title.span);
            }
        }
    }
    ChoicesInfo {
        timeout_field: messages::timeout_field(
            &found,
            "buttons",
            Code::InteractiveDuplicateField,
            handler_timeout,
            &CODES,
            out,
        ),
        choices: ids.seen,
    }
}

/// Checks a `list` message.
pub(crate) fn list(
    message: &Interactive,
    head: Span,
    handler_timeout: Option<Duration>,
    scope: &Scope,
    out: &mut Vec<Diagnostic>,
) -> ChoicesInfo {
    let found = common(message, &LIST, head, &["text"], scope, out);
    if let Some(body) = found.text("body") {
        length(
            body,
            LIST_BODY_MAX,
            Code::InteractiveBodyLength,
            CODES.empty,
            "body",
            out,
        );
    }
    if let Some(button) = found.text("button") {
        scope.check_text(button, out);
        length(
            button,
            LIST_BUTTON_MAX,
            Code::ListButtonLength,
            CODES.empty,
            "list button label",
            out,
        );
    }
    let sections: Vec<(Option<&Text>, &Fields, Span)> = found
        .all("section")
        .filter_map(|f| match &f.value {
            FieldValue::Group(titles, fields) => Some((titles.first(), fields, f.name.span)),
            _ => None,
        })
        .collect();
    if let Some(extra) = sections.get(LIST_SECTIONS_MAX) {
        out.push(
            Diagnostic::new(
                Code::ListSections,
                format!(
                    "this list has {} sections; WhatsApp allows at most {LIST_SECTIONS_MAX}",
                    sections.len()
                ),
                extra.2,
                "beyond the tenth section",
            )
            .with_help(format!(
                "merge sections: a list has 1 to {LIST_SECTIONS_MAX} sections"
            )),
        );
    }
    let several = sections.len() > 1;
    let mut ids = Ids::new(LIST_ROW_ID_MAX, Code::ListId, "row");
    let mut rows = 0usize;
    let mut first_extra: Option<Span> = None;
    for (title, fields, name_span) in &sections {
        match title {
            Some(title) => {
                scope.check_text(title, out);
                length(
                    title,
                    LIST_SECTION_TITLE_MAX,
                    Code::ListSectionTitle,
                    CODES.empty,
                    "section title",
                    out,
                );
            }
            None if several => out.push(
                Diagnostic::new(
                    Code::ListSectionTitle,
                    "this section has no title, and the list has several sections",
                    *name_span,
                    "untitled section",
                )
                .with_help("give every section a title when a list has more than one: `section \"Mornings\" < ... >`"),
            ),
            None => {}
        }
        let section = fields::read(fields, &SECTION, *name_span, &[], out);
        let mut in_section = 0;
        for row in section.all("row") {
            let FieldValue::Texts(texts) = &row.value else {
                continue;
            };
            in_section += 1;
            rows += 1;
            if rows == LIST_ROWS_MAX + 1 {
                first_extra = Some(row.span);
            }
            let (id, title, description) = match texts.as_slice() {
                [id, title] => (id, title, None),
                [id, title, description] => (id, title, Some(description)),
                _ => continue,
            };
            ids.check(id, out);
            scope.check_text(title, out);
            length(
                title,
                LIST_ROW_TITLE_MAX,
                Code::ListTitleLength,
                CODES.empty,
                "row title",
                out,
            );
            if let Some(description) = description {
                scope.check_text(description, out);
                length(
                    description,
                    LIST_ROW_DESCRIPTION_MAX,
                    Code::ListDescriptionLength,
                    CODES.empty,
                    "row description",
                    out,
                );
            }
        }
        if in_section == 0 {
            out.push(
                Diagnostic::new(
                    Code::ListRows,
                    "this section has no rows",
                    *name_span,
                    "empty section",
                )
                .with_help("add a row (`row \"m9\" \"9:00\"`), or remove the section"),
            );
        }
    }
    if let Some(extra) = first_extra {
        out.push(
            Diagnostic::new(
                Code::ListRows,
                format!(
                    "this list has {rows} rows; WhatsApp allows at most {LIST_ROWS_MAX} across all its sections"
                ),
                extra,
                "the eleventh row",
            )
            .with_help(format!(
                "keep at most {LIST_ROWS_MAX} rows in all, or split the choice into two lists"
            )),
        );
    }
    ChoicesInfo {
        timeout_field: messages::timeout_field(
            &found,
            "list",
            Code::InteractiveDuplicateField,
            handler_timeout,
            &CODES,
            out,
        ),
        choices: ids.seen,
    }
}

/// The fields `buttons` and `list` share: name, from, header, body, footer.
fn common<'a>(
    message: &'a Interactive,
    kind: &Kind,
    head: Span,
    header_kinds: &[&str],
    scope: &Scope,
    out: &mut Vec<Diagnostic>,
) -> fields::Found<'a> {
    if let Some(name) = &message.name {
        forbid_vars(name, "an action name", out);
    }
    let found = fields::read(&message.fields, kind, head, &[], out);
    if let Some(from) = found.text("from") {
        messages::from_number(from, &CODES, out);
    }
    if let Some(header) = found.get("header") {
        messages::check_header(&header.value, header_kinds, &CODES, scope, out);
    }
    if let Some(body) = found.text("body") {
        scope.check_text(body, out);
    }
    if let Some(footer) = found.text("footer") {
        scope.check_text(footer, out);
        length(
            footer,
            CTA_FOOTER_MAX,
            Code::InteractiveFooterLength,
            CODES.empty,
            "footer",
            out,
        );
    }
    found
}

/// The ids of one message's choices: literal, not empty, not too long and
/// not repeated.
struct Ids {
    max: usize,
    code: Code,
    what: &'static str,
    seen: Vec<(String, Span)>,
}

impl Ids {
    fn new(max: usize, code: Code, what: &'static str) -> Ids {
        Ids {
            max,
            code,
            what,
            seen: Vec::new(),
        }
    }

    fn check(&mut self, id: &Text, out: &mut Vec<Diagnostic>) {
        forbid_vars(id, "an id", out);
        let Some(literal) = id.as_literal() else {
            return;
        };
        let n = literal.chars().count();
        if literal.is_empty() {
            out.push(
                Diagnostic::new(
                    CODES.empty,
                    format!("this {}'s id is empty", self.what),
                    id.span,
                    "empty id",
                )
                .with_help("write an id the reply will carry back, like `\"confirm\"`"),
            );
            return;
        }
        if n > self.max {
            out.push(
                Diagnostic::new(
                    self.code,
                    format!(
                        "this {}'s id is {n} characters; WhatsApp allows at most {}",
                        self.what, self.max
                    ),
                    id.span,
                    format!("{n} characters"),
                )
                .with_help(
                    "use a short id such as `\"confirm\"`: it only has to tell the choices apart",
                ),
            );
        }
        if let Some((_, first)) = self.seen.iter().find(|(s, _)| *s == literal) {
            out.push(
                Diagnostic::new(
                    self.code,
                    format!("the id `{literal}` is given to two choices of this message"),
                    id.span,
                    "same id again",
                )
                .with_label(*first, "first given here")
                .with_help("give each choice its own id, so the reply says which one was chosen"),
            );
            return;
        }
        self.seen.push((literal, id.span));
    }
}
