//! The checker: every rule a `.kflow` file must follow beyond its syntax.
//!
//! Input: the AST of one file. Output: every diagnostic, in source order.
//! File-level rules (names, declarations, triggers) live here; message
//! contents in [`messages`]; the walk that follows execution (outcomes,
//! handlers, the WhatsApp window) in [`flow`].

pub mod catalogue;
pub(crate) mod claim;
mod conditions;
pub mod costs;
pub(crate) mod fields;
mod flow;
pub(crate) mod guardrails;
pub(crate) mod interactive;
pub(crate) mod messages;
mod suppress;
mod template;
mod url;
pub(crate) mod vars;
mod window;

use std::collections::HashMap;

use crate::diag::{self, Code, Diagnostic};
use crate::source::{SourceFile, Span};
use crate::syntax::ast::{self, Item};

use vars::{STANDARD_CONTACT_FIELDS, Scope, forbid_vars, is_snake_case};

/// Everything `kflowc check` learns about one file.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The syntax tree of every item that parsed.
    pub file: ast::File,
    /// Syntax and checker diagnostics together, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// What each send statement costs, in source order.
    pub costs: Vec<costs::SendCost>,
}

impl Checked {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The tree as lowering takes it, when the file has no errors
    /// (warnings allowed).
    pub fn clean(&self) -> Option<Clean<'_>> {
        (!self.has_errors()).then_some(Clean { file: &self.file })
    }
}

/// A syntax tree that checked without errors: the only input
/// [`crate::lower`] takes. Only [`Checked::clean`] makes one, so no
/// tree reaches the IR without the checker's word on it, and lowering can
/// rely on what the checker guarantees (every `await` bounded, every CTA
/// with a timeout, no duplicate handlers).
#[derive(Clone, Copy, Debug)]
pub struct Clean<'a> {
    file: &'a ast::File,
}

impl<'a> Clean<'a> {
    /// The checked tree.
    pub fn file(&self) -> &'a ast::File {
        self.file
    }
}

/// Parses and checks one file, reporting every problem at once.
pub fn check_source(source: &SourceFile) -> Checked {
    check_source_with(source, None)
}

/// [`check_source`], with the account's templates (`templates.json`) to
/// hold every `template` statement to, when known.
pub fn check_source_with(source: &SourceFile, templates: Option<&catalogue::Catalogue>) -> Checked {
    let parsed = crate::syntax::parse(source);
    let syntax_failed = parsed.diagnostics.iter().any(Diagnostic::is_error);
    let mut diagnostics = parsed.diagnostics;
    // A trigger that did not parse is missing from the AST; do not also tell
    // the author the file has none.
    let (mut checked, mut costs) = check(&parsed.file, source.text().len());
    if let Some(templates) = templates {
        catalogue::check(&parsed.file, templates, &mut checked);
    }
    costs.sort_by_key(|c| (c.span.start, c.span.end));
    diagnostics.extend(
        checked
            .into_iter()
            .filter(|d| !(syntax_failed && d.code == Code::WorkflowNoTrigger)),
    );
    diag::sort(&mut diagnostics);
    suppress::apply(source.text(), &mut diagnostics);
    Checked {
        file: parsed.file,
        diagnostics,
        costs,
    }
}

/// Checks a parsed file (of `bytes` bytes of source) and returns its
/// diagnostics in source order, and what each send costs.
pub(crate) fn check(file: &ast::File, bytes: usize) -> (Vec<Diagnostic>, Vec<costs::SendCost>) {
    let mut out = Vec::new();
    let scope = declarations(file, &mut out);
    let guardrails = guardrails::check(file, &scope, &mut out);
    // Each trigger's flow is checked on its own, so a large file's triggers
    // are checked on every core once the file-level rules below are done.
    let mut triggers: Vec<&ast::Trigger> = Vec::new();

    let mut workflow_name: Option<Span> = None;
    // The first trigger of each channel (at most one entry per channel, so
    // finding a trigger's predecessor never scans all earlier triggers).
    let mut first_triggers: Vec<(ast::Channel, Span)> = Vec::new();
    for item in &file.items {
        match item {
            Item::Workflow(name) => {
                forbid_vars(name, "a workflow name", &mut out);
                match workflow_name {
                    Some(first) => out.push(
                        Diagnostic::new(
                            Code::WorkflowDuplicate,
                            "a file names its workflow once",
                            name.span,
                            "second name",
                        )
                        .with_label(first, "first named here")
                        .with_help("keep one `workflow \"...\"` line"),
                    ),
                    None => workflow_name = Some(name.span),
                }
            }
            Item::Field(_) | Item::Quiet(_) | Item::Cap(_) | Item::Goal(_) => {}
            Item::Trigger(trigger) => {
                let first = first_triggers
                    .iter()
                    .find(|(channel, _)| *channel == trigger.channel.node)
                    .map(|&(_, head)| head);
                if let Some(first) = first {
                    out.push(
                        Diagnostic::new(
                            Code::TriggerDuplicate,
                            format!(
                                "a second `on reply {}` trigger never runs: a reply starts a run from the first trigger for its channel",
                                trigger.channel.node.as_str()
                            ),
                            trigger.head,
                            "second trigger",
                        )
                        .with_label(first, "first trigger")
                        .with_help("merge them into one trigger, or move one to its own file if two runs per reply are intended"),
                    );
                } else {
                    first_triggers.push((trigger.channel.node, trigger.head));
                }
                triggers.push(trigger);
            }
        }
    }
    let flows = crate::parallel::in_runs(&triggers, bytes, |run| {
        let mut found = Vec::new();
        let mut costs = Vec::new();
        for trigger in run {
            let mut flow = flow::Flow::new(&scope, guardrails, &mut found);
            flow.trigger(trigger.channel.node, trigger.head, &trigger.body);
            costs.append(&mut flow.costs);
        }
        (found, costs)
    });
    let mut costs = Vec::new();
    for (found, mut run_costs) in flows {
        out.extend(found);
        costs.append(&mut run_costs);
    }
    if first_triggers.is_empty() {
        out.push(
            Diagnostic::new(
                Code::WorkflowNoTrigger,
                "this file has no trigger, so nothing in it ever runs",
                workflow_name.unwrap_or_default(),
                "no `on reply` trigger in this file",
            )
            .with_help("add a trigger such as `on reply whatsapp < ... >`"),
        );
    }
    diag::sort(&mut out);
    (out, costs)
}

/// Reads the `field contact.key` declarations of the whole file.
fn declarations(file: &ast::File, out: &mut Vec<Diagnostic>) -> Scope {
    let mut scope = Scope::default();
    // Each declared path with its first declaration's span.
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for item in &file.items {
        let Item::Field(path) = item else { continue };
        let problem = match path.node.split_once('.') {
            Some(("contact", key)) if STANDARD_CONTACT_FIELDS.contains(&key) || key == "tags" => {
                Some((
                    format!("`{}` is a standard contact field", path.node),
                    "remove this declaration".to_owned(),
                ))
            }
            Some(("contact", key)) if is_snake_case(key) => {
                if let Some(&first) = seen.get(path.node.as_str()) {
                    out.push(
                        Diagnostic::new(
                            Code::FieldDeclaration,
                            format!("`{}` is declared twice", path.node),
                            path.span,
                            "declared again",
                        )
                        .with_label(first, "first declared here")
                        .with_help("remove one of the declarations"),
                    );
                    continue;
                }
                scope.declare(key);
                seen.insert(&path.node, path.span);
                None
            }
            Some(("contact", key)) => Some((
                format!("`{key}` is not a field key"),
                "custom field keys are snake_case: lowercase letters, digits and `_`".to_owned(),
            )),
            Some(("custom_values", _)) => Some((
                "custom values need no declaration".to_owned(),
                "remove this line; `{{custom_values.key}}` can be used directly".to_owned(),
            )),
            _ => Some((
                format!("`{}` is not a contact field", path.node),
                "declare custom contact fields as `field contact.key`".to_owned(),
            )),
        };
        if let Some((message, help)) = problem {
            out.push(
                Diagnostic::new(Code::FieldDeclaration, message, path.span, "not declarable")
                    .with_help(help),
            );
        }
    }
    scope
}
