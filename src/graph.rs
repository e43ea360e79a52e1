//! `kflowc graph`: a workflow's IR drawn as a flowchart, for reviewers.
//!
//! One node per IR step, labelled with its kind, its name or the text that
//! identifies it, and its source line; one edge per outcome the step can
//! take, labelled as the workflow builders label their branches (Open /
//! Closed, Link Opened, Not Delivered, Timeout 30m, Replied, True / False).
//! Outcomes with no edge end the run and are not drawn. Each trigger is a
//! rounded node pointing at its entry step. A workflow's guardrails (quiet
//! hours, a cap, a goal) hold for every step, so they are one note beside
//! the flow, connected to nothing.
//!
//! Drawn from the IR rather than the syntax tree, so the picture shows what
//! runs: handlers already attached to the step whose outcome they handle, and
//! the "goes on after the handlers" edges made explicit.
//!
//! Two formats: Mermaid (`flowchart TD`, rendered by GitHub in Markdown) and
//! Graphviz DOT (`dot -Tsvg`). Both are plain strings; labels are escaped
//! for each format, so no text in a workflow can break out of its label.

use std::fmt::Write as _;

use crate::duration;
use crate::ir::{self, Cond, Header, Node, Op, Outcome, Program};
use crate::source::LineIndex;

/// Which graph language to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Mermaid `flowchart TD`.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// Texts longer than this (in characters) are cut with `…` in labels.
const MAX_LABEL_TEXT: usize = 40;

/// The shape a step is drawn with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Decision,
    Step,
    Wait,
    End,
}

/// Draws `program`; `source` is the text its spans point into (for line
/// numbers in labels).
pub fn render(program: &Program, source: &str, format: Format) -> String {
    let lines = LineIndex::new(source);
    let line = |node: &Node| lines.line_of(node.span.start) + 1;
    match format {
        Format::Mermaid => mermaid(program, &line),
        Format::Dot => dot(program, &line),
    }
}

fn mermaid(program: &Program, line: &dyn Fn(&Node) -> usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "---\ntitle: {}\n---",
        mermaid_escape(&program.workflow)
    );
    out.push_str("flowchart TD\n");
    let guardrails = guardrail_lines(&program.guardrails);
    if !guardrails.is_empty() {
        let label = guardrails
            .iter()
            .map(|l| mermaid_escape(l))
            .collect::<Vec<_>>()
            .join("<br/>");
        let _ = writeln!(out, "    g>\"{label}\"]");
    }
    for (i, trigger) in program.triggers.iter().enumerate() {
        let label = format!("on reply {}", trigger.channel.as_str());
        let _ = writeln!(out, "    t{i}([\"{}\"])", mermaid_escape(&label));
    }
    for node in &program.nodes {
        let (shape, lines) = describe(node, line(node));
        let label = lines
            .iter()
            .map(|l| mermaid_escape(l))
            .collect::<Vec<_>>()
            .join("<br/>");
        let (open, close) = match shape {
            Shape::Decision => ("{", "}"),
            Shape::Step => ("[", "]"),
            Shape::Wait => ("[/", "/]"),
            Shape::End => ("([", "])"),
        };
        let _ = writeln!(out, "    n{}{open}\"{label}\"{close}", node.id.0);
    }
    for (i, trigger) in program.triggers.iter().enumerate() {
        let _ = writeln!(out, "    t{i} --> n{}", trigger.entry.0);
    }
    for node in &program.nodes {
        for edge in &node.edges {
            match outcome_label(node, edge.on) {
                Some(label) => {
                    let _ = writeln!(
                        out,
                        "    n{} -->|\"{}\"| n{}",
                        node.id.0,
                        mermaid_escape(&label),
                        edge.to.0
                    );
                }
                None => {
                    let _ = writeln!(out, "    n{} --> n{}", node.id.0, edge.to.0);
                }
            }
        }
    }
    out
}

fn dot(program: &Program, line: &dyn Fn(&Node) -> usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_escape(&program.workflow));
    out.push_str("    rankdir=TB;\n");
    out.push_str("    node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    out.push_str("    edge [fontname=\"Helvetica\", fontsize=10];\n");
    let guardrails = guardrail_lines(&program.guardrails);
    if !guardrails.is_empty() {
        let label = guardrails
            .iter()
            .map(|l| dot_escape(l))
            .collect::<Vec<_>>()
            .join("\\n");
        let _ = writeln!(out, "    g [label=\"{label}\", shape=note, style=\"\"];");
    }
    for (i, trigger) in program.triggers.iter().enumerate() {
        let label = format!("on reply {}", trigger.channel.as_str());
        let _ = writeln!(
            out,
            "    t{i} [label=\"{}\", shape=oval, style=filled, fillcolor=\"#dcfce7\"];",
            dot_escape(&label)
        );
    }
    for node in &program.nodes {
        let (shape, lines) = describe(node, line(node));
        let label = lines
            .iter()
            .map(|l| dot_escape(l))
            .collect::<Vec<_>>()
            .join("\\n");
        let attrs = match shape {
            Shape::Decision => ", shape=diamond, style=\"\"",
            Shape::Step => "",
            Shape::Wait => ", shape=parallelogram, style=\"\"",
            Shape::End => ", shape=oval, style=filled, fillcolor=\"#e5e7eb\"",
        };
        let _ = writeln!(out, "    n{} [label=\"{label}\"{attrs}];", node.id.0);
    }
    for (i, trigger) in program.triggers.iter().enumerate() {
        let _ = writeln!(out, "    t{i} -> n{};", trigger.entry.0);
    }
    for node in &program.nodes {
        for edge in &node.edges {
            match outcome_label(node, edge.on) {
                Some(label) => {
                    let _ = writeln!(
                        out,
                        "    n{} -> n{} [label=\"{}\"];",
                        node.id.0,
                        edge.to.0,
                        dot_escape(&label)
                    );
                }
                None => {
                    let _ = writeln!(out, "    n{} -> n{};", node.id.0, edge.to.0);
                }
            }
        }
    }
    out.push_str("}\n");
    out
}

/// The guardrails, one line each, as the source writes them.
fn guardrail_lines(guardrails: &ir::Guardrails) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(q) = &guardrails.quiet {
        let clock = duration::format_clock;
        let zone = match &q.field {
            Some(field) => format!("contact.{field}, default {}", q.zone),
            None => q.zone.clone(),
        };
        lines.push(format!("quiet {}-{} ({zone})", clock(q.from), clock(q.to)));
    }
    if let Some(c) = guardrails.cap {
        lines.push(format!(
            "at most {} per {}",
            c.count,
            duration::format(c.seconds)
        ));
    }
    if let Some(g) = &guardrails.goal {
        lines.push(format!("goal {}", g.text));
    }
    lines
}

/// A step's shape and the lines of its label.
fn describe(node: &Node, line: usize) -> (Shape, Vec<String>) {
    let at = format!("line {line}");
    let (shape, mut lines) = match &node.op {
        Op::CheckWindow => (Shape::Decision, vec!["window open?".to_owned()]),
        Op::Branch { cond } => (Shape::Decision, vec![format!("if {}", condition(cond))]),
        Op::SendCta {
            message,
            timeout_seconds,
            waits,
        } => {
            let mut lines = vec![match &message.name {
                Some(name) => format!("cta {}", quoted(name)),
                None => "cta".to_owned(),
            }];
            lines.push(format!("button {}", quoted(&text(&message.display_text))));
            if let Header::Text { text: header } = &message.header {
                lines.push(format!("header {}", quoted(&text(header))));
            }
            if *waits {
                lines.push(format!(
                    "waits up to {}",
                    duration::format(*timeout_seconds)
                ));
            }
            (Shape::Step, lines)
        }
        Op::SendButtons {
            message,
            timeout_seconds,
            waits,
        } => {
            let mut lines = vec![match &message.name {
                Some(name) => format!("buttons {}", quoted(name)),
                None => "buttons".to_owned(),
            }];
            if let Some(Header::Text { text: header }) = &message.header {
                lines.push(format!("header {}", quoted(&text(header))));
            }
            lines.push(quoted(&text(&message.body)));
            if *waits {
                lines.push(format!(
                    "waits up to {}",
                    duration::format(*timeout_seconds)
                ));
            }
            (Shape::Step, lines)
        }
        Op::SendList {
            message,
            timeout_seconds,
            waits,
        } => {
            let mut lines = vec![match &message.name {
                Some(name) => format!("list {}", quoted(name)),
                None => "list".to_owned(),
            }];
            lines.push(format!("button {}", quoted(&text(&message.button))));
            if *waits {
                lines.push(format!(
                    "waits up to {}",
                    duration::format(*timeout_seconds)
                ));
            }
            (Shape::Step, lines)
        }
        Op::SendWhatsapp { text: body } => (
            Shape::Step,
            vec!["whatsapp".to_owned(), quoted(&text(body))],
        ),
        Op::SendTemplate {
            name,
            language,
            category,
            timeout_seconds,
            waits,
            ..
        } => {
            let mut lines = vec![
                format!("template {}", quoted(name)),
                format!("{language}, {category}"),
            ];
            if *waits {
                lines.push(format!(
                    "waits up to {}",
                    duration::format(*timeout_seconds)
                ));
            }
            (Shape::Step, lines)
        }
        Op::SendSms { body, .. } => (Shape::Step, vec!["sms".to_owned(), quoted(&text(body))]),
        Op::SendEmail { subject, .. } => (
            Shape::Step,
            vec!["email".to_owned(), quoted(&text(subject))],
        ),
        Op::Wait { seconds } => (
            Shape::Wait,
            vec![format!("wait {}", duration::format(*seconds))],
        ),
        Op::AwaitReply {
            channel,
            timeout_seconds,
        } => (
            Shape::Wait,
            vec![
                format!("await reply {}", channel.as_str()),
                format!("up to {}", duration::format(*timeout_seconds)),
            ],
        ),
        Op::Tag { tag } => (Shape::Step, vec![format!("tag {}", quoted(tag))]),
        Op::Untag { tag } => (Shape::Step, vec![format!("untag {}", quoted(tag))]),
        Op::End => return (Shape::End, vec!["end".to_owned()]),
    };
    lines.push(at);
    (shape, lines)
}

/// An edge's label as the builders name the branch; `None` for `done`.
fn outcome_label(node: &Node, outcome: Outcome) -> Option<String> {
    Some(match outcome {
        Outcome::Done => return None,
        Outcome::Opened => "Link Opened".to_owned(),
        Outcome::NotDelivered => "Not Delivered".to_owned(),
        Outcome::Timeout => match node.op.timeout_seconds() {
            Some(seconds) => format!("Timeout {}", duration::format(seconds)),
            None => "Timeout".to_owned(),
        },
        Outcome::Replied => "Replied".to_owned(),
        Outcome::WindowOpen => "Open".to_owned(),
        Outcome::WindowClosed => "Closed".to_owned(),
        Outcome::True => "True".to_owned(),
        Outcome::False => "False".to_owned(),
        Outcome::Choice(i) => choice_label(&node.op, i),
    })
}

/// A choice edge's label: the chosen button's or row's title, as the
/// contact sees it.
fn choice_label(op: &Op, index: u8) -> String {
    let chosen = match op {
        Op::SendButtons { message, .. } => message.buttons.get(index as usize),
        Op::SendList { message, .. } => message.rows().nth(index as usize),
        _ => None,
    };
    if let Some(choice) = chosen {
        return format!("Chose {}", quoted(&text(&choice.title)));
    }
    // A template's quick reply shows a title from the template, which kflow
    // does not know: its payload names it.
    let payload = op
        .choice_ids()
        .and_then(|ids| ids.get(index as usize).map(|id| (*id).to_owned()));
    match payload {
        Some(payload) => format!("Tapped {}", quoted(&payload)),
        None => format!("Choice {index}"),
    }
}

/// A condition as the source would write it.
fn condition(cond: &Cond) -> String {
    let group = |c: &Cond| match c {
        Cond::All { .. } | Cond::Any { .. } => format!("({})", condition(c)),
        _ => condition(c),
    };
    match cond {
        Cond::All { of } => of.iter().map(group).collect::<Vec<_>>().join(" and "),
        Cond::Any { of } => of.iter().map(group).collect::<Vec<_>>().join(" or "),
        Cond::Not { cond } => format!("not {}", group(cond)),
        Cond::WindowOpen => "window.open".to_owned(),
        Cond::HasTag { tag } => format!("contact.tags has {}", quoted(&text(tag))),
        Cond::Compare { var, cmp, value } => {
            let op = match cmp {
                ir::Compare::Eq => "==",
                ir::Compare::Ne => "!=",
                ir::Compare::Contains => "contains",
            };
            format!("{var} {op} {}", quoted(&text(value)))
        }
    }
}

/// A text with its variables written back as `{{path}}`.
fn text(t: &ir::Text) -> String {
    let mut out = String::new();
    for part in &t.0 {
        match part {
            ir::Part::Text(s) => out.push_str(s),
            ir::Part::Var(v) => {
                out.push_str("{{");
                out.push_str(v);
                out.push_str("}}");
            }
            ir::Part::VarOr { var, or } => {
                out.push_str("{{");
                out.push_str(var);
                out.push_str(" | ");
                out.push_str(or);
                out.push_str("}}");
            }
        }
    }
    out
}

/// `"text"`, cut to [`MAX_LABEL_TEXT`] characters, on one line.
fn quoted(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut chars = one_line.chars();
    let mut cut: String = chars.by_ref().take(MAX_LABEL_TEXT).collect();
    if chars.next().is_some() {
        cut.push('…');
    }
    format!("\"{cut}\"")
}

/// Mermaid label text: its entity codes for what would end or confuse a
/// quoted label.
fn mermaid_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A DOT double-quoted string's contents.
fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_break_out() {
        assert_eq!(
            mermaid_escape(r#"a"b<c>|#&"#),
            "a#quot;b#lt;c#gt;#124;#35;#amp;"
        );
        assert_eq!(dot_escape("a\"b\\c\nd"), "a\\\"b\\\\c d");
    }

    #[test]
    fn long_texts_are_cut() {
        let long = "x".repeat(50);
        let q = quoted(&long);
        assert_eq!(q.chars().count(), MAX_LABEL_TEXT + 3);
        assert!(q.ends_with("…\""));
        assert_eq!(quoted("short"), "\"short\"");
    }
}
