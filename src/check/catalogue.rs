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
//! (the Cloud API refuses a mismatch, error 132000). A template that is not
//! approved is a warning: it would be refused today.

use std::collections::BTreeSet;

use serde::Deserialize;

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
                let body = t
                    .components
                    .iter()
                    .find(|c| c.kind.eq_ignore_ascii_case("BODY"))
                    .and_then(|c| c.text.as_deref())
                    .unwrap_or("");
                CatalogueTemplate {
                    name: t.name,
                    language: t.language,
                    status: t.status.to_ascii_uppercase(),
                    category: t.category.to_ascii_lowercase(),
                    body_params: placeholders(body),
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
            }]
        );
        assert!(Catalogue::from_graph_json("[]").is_err());
    }
}
