//! The account's approved templates, and the checks a `template` statement
//! gets when they are known.
//!
//! The catalogue is the JSON the Graph API's `message_templates` endpoint
//! returns (`GET /{WABA-ID}/message_templates`), saved as `templates.json`:
//! `{"data": [{"name", "language", "status", "category", "components": [...]}]}`.
//! Only what the checks need is read; unknown fields are ignored, since Meta
//! adds them. With it, a `template` must name a template the account has,
//! in the language it names, with the category it has (which decides what it
//! costs), and with as many `param`s as its body has `{{...}}` placeholders
//! (the Cloud API refuses a mismatch, error 132000), a `header` exactly when
//! its header has a placeholder or media, of that kind, and a `button` for
//! each URL button whose URL ends in a placeholder, each naming a button of
//! the right type. A template that is not approved is a warning: it would be
//! refused today.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::messages::article;
use crate::diag::{Code, Diagnostic};
use crate::platform::suggest::did_you_mean;
use crate::syntax::ast::{Block, FieldValue, File, Item, Stmt, StmtKind, Template};

/// The templates an account has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalogue {
    templates: Vec<CatalogueTemplate>,
}

/// One template in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueTemplate {
    /// Its name.
    pub name: String,
    /// Its language code (`en_US`).
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, ...
    pub status: String,
    /// `utility`, `marketing` or `authentication`, lower-cased.
    pub category: String,
    /// Distinct `{{...}}` placeholders in its body.
    pub body_params: usize,
    /// Its header, if it has one.
    pub header: Option<CatalogueHeader>,
    /// Its buttons, in order: a button's index is its place here.
    pub buttons: Vec<CatalogueButton>,
}

/// A template's header, as a send must fill it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogueHeader {
    /// A text header with this many distinct placeholders (0 or 1).
    Text {
        /// Distinct `{{...}}` placeholders.
        params: usize,
    },
    /// A media or location header (`image`, `video`, `document`,
    /// `location`), which every send fills.
    Media {
        /// The format, lower-cased.
        format: String,
    },
}

/// One button of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueButton {
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER`, `COPY_CODE`, ..., upper-cased.
    pub kind: String,
    /// For a `URL` button: whether its URL ends with a placeholder, which
    /// every send fills.
    pub url_param: bool,
}

#[derive(Deserialize)]
struct GraphPage {
    data: Vec<GraphTemplate>,
}

#[derive(Deserialize)]
struct GraphTemplate {
    name: String,
    language: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    components: Vec<GraphComponent>,
}

#[derive(Deserialize)]
struct GraphComponent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    buttons: Vec<GraphButton>,
}

#[derive(Deserialize)]
struct GraphButton {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: Option<String>,
}

impl Catalogue {
    /// Reads the Graph API's `message_templates` answer.
    pub fn from_graph_json(json: &str) -> Result<Catalogue, String> {
        let page: GraphPage = serde_json::from_str(json).map_err(|e| {
            format!("not a Graph API message_templates answer (`{{\"data\": [...]}}`): {e}")
        })?;
        let templates = page
            .data
            .into_iter()
            .map(|t| {
                let component = |kind: &str| {
                    t.components
                        .iter()
                        .find(|c| c.kind.eq_ignore_ascii_case(kind))
                };
                let body = component("BODY")
                    .and_then(|c| c.text.as_deref())
                    .unwrap_or("");
                let header = component("HEADER").map(|c| {
                    let format = c.format.as_deref().unwrap_or("TEXT").to_ascii_lowercase();
                    if format == "text" {
                        CatalogueHeader::Text {
                            params: placeholders(c.text.as_deref().unwrap_or("")),
                        }
                    } else {
                        CatalogueHeader::Media { format }
                    }
                });
                let buttons = component("BUTTONS")
                    .map(|c| {
                        c.buttons
                            .iter()
                            .map(|b| CatalogueButton {
                                kind: b.kind.to_ascii_uppercase(),
                                url_param: b.url.as_deref().is_some_and(|u| placeholders(u) > 0),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                CatalogueTemplate {
                    name: t.name,
                    language: t.language,
                    status: t.status.to_ascii_uppercase(),
                    category: t.category.to_ascii_lowercase(),
                    body_params: placeholders(body),
                    header,
                    buttons,
                }
            })
            .collect();
        Ok(Catalogue { templates })
    }

    /// Every template, in the order the catalogue lists them.
    pub fn templates(&self) -> &[CatalogueTemplate] {
        &self.templates
    }
}

/// Distinct `{{1}}`, `{{2}}` (or named `{{first_name}}`) placeholders.
fn placeholders(text: &str) -> usize {
    let mut seen = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            break;
        };
        let name = after[..close].trim();
        if !name.is_empty() {
            seen.insert(name.to_owned());
        }
        rest = &after[close + 2..];
    }
    seen.len()
}

/// Checks every `template` statement of `file` against `catalogue`.
pub(crate) fn check(file: &File, catalogue: &Catalogue, out: &mut Vec<Diagnostic>) {
    for item in &file.items {
        if let Item::Trigger(t) = item {
            block(&t.body, catalogue, out);
        }
    }
}

fn block(b: &Block, catalogue: &Catalogue, out: &mut Vec<Diagnostic>) {
    for s in &b.stmts {
        stmt(s, catalogue, out);
    }
    for h in &b.orphans {
        block(&h.body, catalogue, out);
    }
}

fn stmt(s: &Stmt, catalogue: &Catalogue, out: &mut Vec<Diagnostic>) {
    match &s.kind {
        StmtKind::If(i) => {
            for branch in &i.branches {
                block(&branch.block, catalogue, out);
            }
            if let Some(b) = &i.otherwise {
                block(b, catalogue, out);
            }
        }
        StmtKind::Template(t) => template(t, catalogue, out),
        _ => {}
    }
    for h in &s.handlers {
        block(&h.body, catalogue, out);
    }
}

fn template(t: &Template, catalogue: &Catalogue, out: &mut Vec<Diagnostic>) {
    // A name or language the checker already refused is not looked up.
    let Some(name) = t.name.as_literal() else {
        return;
    };
    let field = |wanted: &str| t.fields.fields.iter().find(|f| f.name.node == wanted);
    let language = field("language").and_then(|f| match &f.value {
        FieldValue::Text(text) => text.as_literal().map(|l| (l, text.span)),
        _ => None,
    });
    let versions: Vec<&CatalogueTemplate> = catalogue
        .templates
        .iter()
        .filter(|c| c.name == name)
        .collect();
    if versions.is_empty() {
        let names: BTreeSet<&str> = catalogue
            .templates
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let suggestion = did_you_mean(&name, names.iter().copied());
        let diagnostic = Diagnostic::new(
            Code::TemplateUnknown,
            format!("the account has no template named `{name}`"),
            t.name.span,
            "not in templates.json",
        )
        .with_help(match suggestion {
            Some(s) => format!("did you mean `{s}`? Names come from templates.json"),
            None => "create and approve the template in WhatsApp Manager, then download templates.json again".to_owned(),
        });
        out.push(match suggestion {
            Some(s) => diagnostic.with_fix(
                crate::source::Span::new(t.name.span.start + 1, t.name.span.end - 1),
                s,
            ),
            None => diagnostic,
        });
        return;
    }
    let Some((language, language_span)) = language else {
        return;
    };
    let Some(found) = versions.iter().find(|c| c.language == language) else {
        let languages: Vec<String> = versions
            .iter()
            .map(|c| format!("`{}`", c.language))
            .collect();
        out.push(
            Diagnostic::new(
                Code::TemplateNotInLanguage,
                format!("template `{name}` has no `{language}` version"),
                language_span,
                "no such version",
            )
            .with_label(t.name.span, format!("exists in {}", languages.join(", ")))
            .with_help(format!(
                "use one of its languages ({}), or add a version in `{language}` in WhatsApp Manager",
                languages.join(", ")
            )),
        );
        return;
    };
    if found.status != "APPROVED" && !found.status.is_empty() {
        out.push(
            Diagnostic::new(
                Code::TemplateNotApproved,
                format!(
                    "template `{name}` ({language}) is {}, so WhatsApp refuses to send it",
                    found.status.to_ascii_lowercase()
                ),
                t.name.span,
                format!("status {}", found.status),
            )
            .with_help("wait for approval, or fix and resubmit the template in WhatsApp Manager; then download templates.json again"),
        );
    }
    if let Some(category) = field("category")
        && let FieldValue::Word(word, None) = &category.value
        && !found.category.is_empty()
        && word.node != found.category
    {
        out.push(
            Diagnostic::new(
                Code::TemplateCategoryMismatch,
                format!(
                    "template `{name}` is a {} template, not {}",
                    found.category, word.node
                ),
                word.span,
                format!("the account says {}", found.category),
            )
            .with_help(format!(
                "write `category {}`: the category decides what the send costs and where it may go",
                found.category
            ))
            .with_fix(word.span, found.category.clone()),
        );
    }
    let params: Vec<&crate::syntax::ast::Field> = t
        .fields
        .fields
        .iter()
        .filter(|f| f.name.node == "param")
        .collect();
    if params.len() != found.body_params {
        let (span, label) = match (params.first(), params.last()) {
            (Some(first), Some(last)) => {
                (first.span.to(last.span), format!("{} given", params.len()))
            }
            _ => (t.name.span, "no `param`".to_owned()),
        };
        out.push(
            Diagnostic::new(
                Code::TemplateParams,
                format!(
                    "template `{name}` ({language}) takes {} body parameter{}, and this send gives {}",
                    found.body_params,
                    if found.body_params == 1 { "" } else { "s" },
                    params.len()
                ),
                span,
                label,
            )
            .with_help(format!(
                "give exactly {} `param \"...\"`, one for each `{{{{n}}}}` of its body, in order (WhatsApp refuses a mismatch, error 132000)",
                found.body_params
            )),
        );
    }
    header(t, &name, found, out);
    buttons(t, &name, found, out);
}

/// Holds a send's `header` to the template's header.
fn header(t: &Template, name: &str, found: &CatalogueTemplate, out: &mut Vec<Diagnostic>) {
    let given = t
        .fields
        .fields
        .iter()
        .find(|f| f.name.node == "header")
        .and_then(|f| match &f.value {
            FieldValue::Word(kind, Some(_)) => Some((kind.node.as_str(), f.span)),
            _ => None,
        });
    let (wanted, help) = match &found.header {
        None | Some(CatalogueHeader::Text { params: 0 }) => (
            None,
            "remove the `header`: this template's header (if any) is fixed text".to_owned(),
        ),
        Some(CatalogueHeader::Text { .. }) => (
            Some("text"),
            "fill its header's placeholder: `header text \"{{contact.first_name | there}}\"`"
                .to_owned(),
        ),
        Some(CatalogueHeader::Media { format }) if format == "location" => (
            Some("location"),
            "kflow cannot fill a location header; send a template without one".to_owned(),
        ),
        Some(CatalogueHeader::Media { format }) => (
            Some(format.as_str()),
            format!("give its {format} by link: `header {format} \"https://...\"`"),
        ),
    };
    let message = match (given, wanted) {
        (Some((kind, _)), Some(w)) if kind == w => return,
        (None, None) => return,
        (Some((kind, _)), None) => format!(
            "template `{name}` takes no header parameter, and this send gives {} {kind} header",
            article(kind)
        ),
        (Some((kind, _)), Some(w)) => format!(
            "template `{name}` has {} {w} header, and this send gives {} {kind} one",
            article(w),
            article(kind)
        ),
        (None, Some(w)) => format!(
            "template `{name}` has {} {w} header that every send must fill",
            article(w)
        ),
    };
    let (span, label) = match given {
        Some((_, span)) => (span, "not the template's header"),
        None => (t.name.span, "no `header` given"),
    };
    out.push(
        Diagnostic::new(Code::TemplateHeaderParams, message, span, label).with_help(format!(
            "{help} (WhatsApp refuses a mismatch, error 132000)"
        )),
    );
}

/// Holds a send's `button` fields to the template's buttons.
fn buttons(t: &Template, name: &str, found: &CatalogueTemplate, out: &mut Vec<Diagnostic>) {
    let given: Vec<(usize, &str, crate::source::Span)> = t
        .fields
        .fields
        .iter()
        .filter_map(|f| match &f.value {
            FieldValue::Indexed(index, kind, _) if f.name.node == "button" => {
                Some((index.node.parse().ok()?, kind.node.as_str(), f.span))
            }
            _ => None,
        })
        .collect();
    let listed = || {
        if found.buttons.is_empty() {
            "it has no buttons".to_owned()
        } else {
            let all: Vec<String> = found
                .buttons
                .iter()
                .enumerate()
                .map(|(i, b)| format!("{i}: {}", b.kind))
                .collect();
            format!("its buttons are {}", all.join(", "))
        }
    };
    for &(index, kind, span) in &given {
        let wanted = match kind {
            "url" => "URL",
            "reply" => "QUICK_REPLY",
            _ => continue,
        };
        let problem = match found.buttons.get(index) {
            None => Some(format!("template `{name}` has no button {index}")),
            Some(b) if b.kind != wanted => Some(format!(
                "button {index} of template `{name}` is a {} button, not a {wanted} one",
                b.kind
            )),
            Some(b) if kind == "url" && !b.url_param => Some(format!(
                "button {index} of template `{name}` has a fixed URL, which takes no parameter"
            )),
            Some(_) => None,
        };
        if let Some(message) = problem {
            out.push(
                Diagnostic::new(Code::TemplateButtonParams, message, span, "not the template's button")
                    .with_help(format!(
                        "{}; fill a URL button whose URL ends in a placeholder with `button N url \"...\"` and a quick reply with `button N reply \"...\"`",
                        listed()
                    )),
            );
        }
    }
    for (index, b) in found.buttons.iter().enumerate() {
        let needed = match b.kind.as_str() {
            "URL" if b.url_param => "its URL ends in a placeholder",
            "COPY_CODE" => "it is a copy-code button, which kflow cannot fill",
            _ => continue,
        };
        if given.iter().any(|&(i, _, _)| i == index) {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::TemplateButtonParams,
                format!("button {index} of template `{name}` must be filled by every send: {needed}"),
                t.name.span,
                format!("no `button {index}` given"),
            )
            .with_help(if b.kind == "URL" {
                format!("add `button {index} url \"...\"`, the text that ends its URL (WhatsApp refuses the send without it, error 132000)")
            } else {
                "send a template without a copy-code button".to_owned()
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_counted_once_each() {
        assert_eq!(placeholders("Hi {{1}}, see you at {{2}}. {{1}}!"), 2);
        assert_eq!(placeholders("Hi {{first_name}}"), 1);
        assert_eq!(placeholders("no params {{ }} {{"), 0);
    }

    #[test]
    fn the_graph_answer_is_read() {
        let c = Catalogue::from_graph_json(
            r#"{"data":[{"name":"a","language":"en_US","status":"APPROVED","category":"UTILITY","id":"1",
                "components":[{"type":"HEADER","format":"TEXT","text":"Hi"},{"type":"BODY","text":"{{1}} at {{2}}"}]}],
                "paging":{"cursors":{}}}"#,
        )
        .expect("reads");
        assert_eq!(
            c.templates(),
            [CatalogueTemplate {
                name: "a".into(),
                language: "en_US".into(),
                status: "APPROVED".into(),
                category: "utility".into(),
                body_params: 2,
                header: Some(CatalogueHeader::Text { params: 0 }),
                buttons: Vec::new(),
            }]
        );
        assert!(Catalogue::from_graph_json("[]").is_err());
    }
}
