//! The IR `kflowc build` writes, pinned and checked.
//!
//! - Every `examples/*.kflow` has a reviewed snapshot of its IR, as the
//!   pretty JSON `kflowc build` prints (`tests/snapshots/ir__*.snap`; each
//!   snapshot's description is the example's source, to review them side by
//!   side).
//! - The JSON of every example loads back (serde) into an equal program and
//!   serializes to the same text again.
//! - Structural rules the runtime relies on hold for every example, checked
//!   here rather than only by eye in the snapshots: ids are indexes, edges
//!   and triggers point at nodes, each node has exactly one edge per outcome
//!   its op can produce, spans point at the statement, and `Engine::load`
//!   accepts the program.
//! - A tampered IR is refused by `Engine::load` with the right `LoadError`.
//! - The worked example in `docs/ir.md` is what the compiler writes.
//! - Lowering regressions: handlers claim only what the language says they
//!   claim, and node ids follow the source.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kflow::SourceFile;
use kflow::ir::{self, FORMAT_VERSION, NodeId, Op, Outcome, Program};
use kflow::runtime::{Engine, LoadError, SimHost, VirtualClock};

/// The examples, sorted by file name.
fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "kflow"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no examples found");
    files
}

/// The example's source text and its name as `kflowc build` run from the
/// crate root would give it (`examples/NAME.kflow`), so snapshots do not
/// depend on where the crate is checked out.
fn read_example(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file_name = path
        .file_name()
        .expect("an example has a file name")
        .to_string_lossy();
    (format!("examples/{file_name}"), text)
}

fn compile_named(name: &str, text: &str) -> Program {
    let source = SourceFile::new(name, text).expect("a small file fits a SourceFile");
    match kflow::compile(&source) {
        Ok(program) => program,
        Err(diagnostics) => panic!("{name} does not compile: {diagnostics:#?}"),
    }
}

fn compile_example(path: &Path) -> (Program, String) {
    let (name, text) = read_example(path);
    (compile_named(&name, &text), text)
}

/// The JSON exactly as `kflowc build` writes it (without the final newline).
fn pretty(program: &Program) -> String {
    serde_json::to_string_pretty(program).expect("a program serializes")
}

fn engine() -> Engine<SimHost> {
    Engine::new(SimHost::new(VirtualClock::new(
        chrono::DateTime::UNIX_EPOCH,
    )))
}

/// `Op::as_str` and `Outcome::as_str` are the names the IR's JSON uses.
#[test]
fn op_and_outcome_names_are_the_json_ones() {
    for path in examples() {
        let (program, _) = compile_example(&path);
        for node in &program.nodes {
            let json = serde_json::to_value(&node.op).expect("serializes");
            assert_eq!(json["op"], node.op.as_str());
            for edge in &node.edges {
                let json = serde_json::to_value(edge.on).expect("serializes");
                match edge.on {
                    // The one outcome with data: `{"choice": N}`.
                    Outcome::Choice(n) => assert_eq!(json[edge.on.as_str()], n),
                    _ => assert_eq!(json, edge.on.as_str()),
                }
            }
        }
    }
    for outcome in [
        Outcome::Done,
        Outcome::Opened,
        Outcome::NotDelivered,
        Outcome::Timeout,
        Outcome::Replied,
        Outcome::WindowOpen,
        Outcome::WindowClosed,
        Outcome::True,
        Outcome::False,
    ] {
        assert_eq!(
            serde_json::to_value(outcome).expect("serializes"),
            outcome.as_str()
        );
    }
}

#[test]
fn ir_of_every_example() {
    insta::glob!("../examples", "*.kflow", |path| {
        let (program, text) = compile_example(path);
        insta::with_settings!({
            description => text.trim_end(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(pretty(&program));
        });
    });
}

#[test]
fn every_example_round_trips_through_json() {
    for path in examples() {
        let (program, _) = compile_example(&path);
        let json = pretty(&program);
        let back: Program = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{}: the IR does not load back: {e}", path.display()));
        assert_eq!(back, program, "{}: changed by a round trip", path.display());
        assert_eq!(
            pretty(&back),
            json,
            "{}: serializes differently after a round trip",
            path.display()
        );
        // The compact form carries the same program.
        let compact = serde_json::to_string(&program).expect("a program serializes");
        let back: Program = serde_json::from_str(&compact).expect("compact JSON loads back");
        assert_eq!(back, program, "{}: compact round trip", path.display());
    }
}

#[test]
fn the_same_source_always_gives_the_same_ir() {
    for path in examples() {
        let (first, _) = compile_example(&path);
        let (second, _) = compile_example(&path);
        assert_eq!(pretty(&first), pretty(&second), "{}", path.display());
    }
}

/// The outcomes `op` can produce, each of which must have exactly one edge.
fn outcomes(op: &Op) -> BTreeSet<Outcome> {
    use Outcome::*;
    if let Op::SendButtons { waits: true, .. }
    | Op::SendList { waits: true, .. }
    | Op::SendTemplate { waits: true, .. } = op
    {
        let ids = op.choice_ids().unwrap_or_default();
        let mut set: BTreeSet<Outcome> = (0..ids.len()).map(|i| Choice(i as u8)).collect();
        set.extend([NotDelivered, Timeout]);
        return set;
    }
    let list: &[Outcome] = match op {
        Op::CheckWindow => &[WindowOpen, WindowClosed],
        Op::Branch { .. } => &[True, False],
        Op::SendCta { waits: true, .. } => &[Opened, NotDelivered, Timeout],
        Op::AwaitReply { .. } => &[Replied, Timeout],
        Op::End => &[],
        Op::SendCta { waits: false, .. }
        | Op::SendButtons { .. }
        | Op::SendList { .. }
        | Op::SendWhatsapp { .. }
        | Op::SendTemplate { .. }
        | Op::SendSms { .. }
        | Op::SendEmail { .. }
        | Op::Wait { .. }
        | Op::Tag { .. }
        | Op::Untag { .. } => &[Done],
    };
    list.iter().copied().collect()
}

/// The words the source text of a node's span starts with: the statement
/// keyword, `if` for a test, `<` (the trigger's block) or `stop` for an end.
fn span_starts(op: &Op) -> &'static [&'static str] {
    match op {
        Op::CheckWindow | Op::Branch { .. } => &["if"],
        Op::SendCta { .. } => &["cta"],
        Op::SendButtons { .. } => &["buttons"],
        Op::SendList { .. } => &["list"],
        Op::SendWhatsapp { .. } => &["whatsapp"],
        Op::SendTemplate { .. } => &["template"],
        Op::SendSms { .. } => &["sms"],
        Op::SendEmail { .. } => &["email"],
        Op::Wait { .. } => &["wait"],
        Op::AwaitReply { .. } => &["await"],
        Op::Tag { .. } => &["tag"],
        Op::Untag { .. } => &["untag"],
        Op::End => &["<", "stop"],
    }
}

/// Every rule the engine and the docs promise about a compiled program.
fn assert_well_formed(name: &str, program: &Program, text: &str) {
    assert_eq!(program.format_version, FORMAT_VERSION, "{name}");
    assert!(!program.triggers.is_empty(), "{name}: no trigger");
    let n = program.nodes.len();
    for (i, node) in program.nodes.iter().enumerate() {
        assert_eq!(node.id, NodeId(i as u32), "{name}: node {i} has another id");
        for edge in &node.edges {
            assert!(
                (edge.to.0 as usize) < n,
                "{name}: node {i} has an edge to missing node {}",
                edge.to.0
            );
            assert_ne!(edge.to, node.id, "{name}: node {i} loops to itself");
        }
        let labels: Vec<Outcome> = node.edges.iter().map(|e| e.on).collect();
        let mut sorted = labels.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            labels, sorted,
            "{name}: node {i}'s edges are not sorted by outcome, or repeat one"
        );
        assert_eq!(
            labels.iter().copied().collect::<BTreeSet<_>>(),
            outcomes(&node.op),
            "{name}: node {i} ({:?}) needs one edge per outcome it can produce",
            node.op
        );
        let span = node.span;
        assert!(
            span.start <= span.end && span.end as usize <= text.len(),
            "{name}: node {i}'s span {span:?} is outside the source"
        );
        let spanned = &text[span.start as usize..span.end as usize];
        assert!(
            span_starts(&node.op).iter().any(|w| spanned.starts_with(w)),
            "{name}: node {i} ({:?}) has span {span:?}, which reads {spanned:?}",
            node.op
        );
    }
    let mut reachable = vec![false; n];
    let mut stack = Vec::new();
    for trigger in &program.triggers {
        assert!(
            (trigger.entry.0 as usize) < n,
            "{name}: a trigger starts at missing node {}",
            trigger.entry.0
        );
        let head = &text[trigger.span.start as usize..trigger.span.end as usize];
        assert_eq!(
            head,
            format!("on reply {}", trigger.channel.as_str()),
            "{name}: trigger span"
        );
        stack.push(trigger.entry);
    }
    while let Some(id) = stack.pop() {
        let seen = &mut reachable[id.0 as usize];
        if !*seen {
            *seen = true;
            stack.extend(program.nodes[id.0 as usize].edges.iter().map(|e| e.to));
        }
    }
    // Examples have no diagnostics, so no unreachable statements either. A
    // trigger's own `end` is unreachable when its body always ends in `stop`.
    for (i, seen) in reachable.iter().enumerate() {
        assert!(
            *seen || program.nodes[i].op == Op::End,
            "{name}: node {i} cannot be reached from a trigger"
        );
    }
}

#[test]
fn every_example_is_well_formed_and_loads_into_the_engine() {
    for path in examples() {
        let (program, text) = compile_example(&path);
        let name = path.display().to_string();
        assert_well_formed(&name, &program, &text);
        // The engine loads what `kflowc build` writes, after a trip through JSON.
        let loaded: Program = serde_json::from_str(&pretty(&program)).expect("loads back");
        assert_eq!(engine().load(loaded), Ok(()), "{name}");
    }
}

/// The card from the brief, formatted, as `docs/ir.md` walks through it.
const CARD: &str = include_str!("../examples/card.kflow");

fn card() -> Program {
    compile_named("card.kflow", CARD)
}

#[test]
fn the_card_lowers_to_the_graph_docs_ir_md_describes() {
    let program = card();
    assert_well_formed("card.kflow", &program, CARD);
    assert_eq!(program.workflow, "card");
    let ops: Vec<&str> = program
        .nodes
        .iter()
        .map(|n| match &n.op {
            Op::CheckWindow => "check_window",
            Op::SendCta { .. } => "send_cta",
            Op::SendSms { .. } => "send_sms",
            Op::End => "end",
            other => panic!("unexpected op {other:?}"),
        })
        .collect();
    assert_eq!(ops, ["check_window", "send_cta", "send_sms", "end"]);
    let edges = |i: usize| -> Vec<(Outcome, u32)> {
        program.nodes[i]
            .edges
            .iter()
            .map(|e| (e.on, e.to.0))
            .collect()
    };
    assert_eq!(
        edges(0),
        [(Outcome::WindowOpen, 1), (Outcome::WindowClosed, 3)]
    );
    assert_eq!(
        edges(1),
        [
            (Outcome::Opened, 3),
            (Outcome::NotDelivered, 3),
            (Outcome::Timeout, 2)
        ]
    );
    assert_eq!(edges(2), [(Outcome::Done, 3)]);
    assert!(edges(3).is_empty());
    let Op::SendCta {
        message,
        timeout_seconds,
        waits,
    } = &program.nodes[1].op
    else {
        panic!("node 1 is the cta");
    };
    assert_eq!((*timeout_seconds, *waits), (1800, true));
    assert_eq!(
        message.header,
        ir::Header::Text {
            text: ir::Text::literal("Hi")
        }
    );
    assert_eq!(message.display_text, ir::Text::literal("Book now"));
    assert_eq!(
        message.url,
        ir::Text::literal("https://www.example.com/book")
    );
}

/// The first JSON block after `marker` in `docs/ir.md`.
fn json_block_after(marker: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ir.md");
    let doc = std::fs::read_to_string(&path).expect("docs/ir.md is readable");
    let at = doc
        .find(marker)
        .unwrap_or_else(|| panic!("docs/ir.md has no {marker:?}"));
    let rest = &doc[at..];
    let start = rest.find("```json\n").expect("a JSON block follows") + "```json\n".len();
    let len = rest[start..].find("\n```").expect("the block ends");
    rest[start..start + len].to_owned()
}

#[test]
fn docs_ir_md_shows_what_kflowc_build_writes_for_the_card() {
    let documented = json_block_after("`kflowc build card.kflow` prints:");
    assert_eq!(
        documented,
        pretty(&card()),
        "docs/ir.md's worked example is out of date"
    );
}

#[test]
fn the_engine_refuses_another_format_version() {
    for version in [0, FORMAT_VERSION + 1, u32::MAX] {
        let mut program = card();
        program.format_version = version;
        assert_eq!(
            engine().load(program),
            Err(LoadError::Version { found: version })
        );
    }
}

#[test]
fn the_engine_refuses_a_version_it_reads_from_json() {
    let json = pretty(&card()).replacen(
        &format!("\"format_version\": {FORMAT_VERSION}"),
        "\"format_version\": 999",
        1,
    );
    let program: Program = serde_json::from_str(&json).expect("still valid JSON");
    let error = engine().load(program).expect_err("refused");
    assert_eq!(error, LoadError::Version { found: 999 });
    assert!(
        error.to_string().contains("rebuild the workflow"),
        "{error}"
    );
}

fn malformed(program: Program) -> String {
    match engine().load(program) {
        Err(LoadError::Malformed { reason }) => reason,
        other => panic!("expected LoadError::Malformed, got {other:?}"),
    }
}

#[test]
fn the_engine_refuses_an_edge_to_a_missing_node() {
    let mut program = card();
    program.nodes[1].edges[2].to = NodeId(42);
    assert_eq!(
        malformed(program),
        "node 1 has an edge to node 42, which does not exist"
    );
}

#[test]
fn the_engine_refuses_a_trigger_to_a_missing_node() {
    let mut program = card();
    program.triggers[0].entry = NodeId(4);
    assert_eq!(
        malformed(program),
        "a trigger starts at node 4, which does not exist"
    );
}

#[test]
fn the_engine_refuses_ids_that_are_not_indexes() {
    let mut program = card();
    program.nodes.swap(1, 2);
    assert_eq!(malformed(program), "node at index 1 has id 2");
}

#[test]
fn json_with_an_unknown_op_or_outcome_does_not_load() {
    let json = pretty(&card());
    let unknown_op = json.replacen("\"send_sms\"", "\"send_fax\"", 1);
    assert!(serde_json::from_str::<Program>(&unknown_op).is_err());
    let unknown_outcome = json.replacen("\"timeout\"", "\"bounced\"", 1);
    assert!(serde_json::from_str::<Program>(&unknown_outcome).is_err());
}

/// `(op, [(outcome, to)])` for each node, for compact assertions.
fn graph(program: &Program) -> Vec<(String, Vec<(Outcome, u32)>)> {
    program
        .nodes
        .iter()
        .map(|n| {
            let label = match &n.op {
                Op::SendCta { message, .. } => {
                    format!("cta {}", message.name.as_deref().unwrap_or("-"))
                }
                Op::SendSms { body, .. } => format!("sms {}", display(body)),
                Op::Tag { tag } => format!("tag {tag}"),
                Op::Branch { .. } => "branch".to_owned(),
                Op::CheckWindow => "check_window".to_owned(),
                Op::AwaitReply { .. } => "await".to_owned(),
                Op::End => "end".to_owned(),
                other => format!("{other:?}"),
            };
            (label, n.edges.iter().map(|e| (e.on, e.to.0)).collect())
        })
        .collect()
}

fn display(text: &ir::Text) -> String {
    text.0
        .iter()
        .map(|p| match p {
            ir::Part::Text(s) => s.clone(),
            ir::Part::Var(v) => format!("{{{{{v}}}}}"),
            ir::Part::VarOr { var, or } => format!("{{{{{var} | {or}}}}}"),
        })
        .collect()
}

fn node<'a>(graph: &'a [(String, Vec<(Outcome, u32)>)], label: &str) -> &'a [(Outcome, u32)] {
    &graph
        .iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no node {label} in {graph:#?}"))
        .1
}

/// A `cta` with its own handlers finishes as done: outcomes its handlers
/// leave alone go on after them, and are not caught by the handlers of an
/// enclosing `if` (docs/language.md, section 5, rules 2 and 5).
#[test]
fn handlers_further_out_do_not_catch_a_statement_with_its_own_handlers() {
    let text = r#"on reply whatsapp <
  if contact.city == "Lisbon" <
    cta "A" < header text "A" body "a" url "https://e.com/a" button "A" >
  > else <
    cta "C" < header text "C" body "c" url "https://e.com/c" button "C" >
    on timeout 1h <
      cta "B" < header text "B" body "b" url "https://e.com/b" button "B" timeout 1h >
      on not delivered < sms "b failed" >
    >
  >
  on link opened < tag "z" >
  on timeout 2h < sms "a timed out" >
>
"#;
    let program = compile_named("nested.kflow", text);
    assert_well_formed("nested.kflow", &program, text);
    let g = graph(&program);
    let end = program.nodes.len() as u32 - 1;
    let id = |label: &str| g.iter().position(|(l, _)| l == label).expect("node") as u32;
    // A is claimed by the `if`'s handlers.
    assert_eq!(
        node(&g, "cta A"),
        [
            (Outcome::Opened, id("tag z")),
            (Outcome::NotDelivered, end),
            (Outcome::Timeout, id("sms a timed out")),
        ]
    );
    // C is claimed by its own `on timeout`; its opened goes on (to the end).
    assert_eq!(
        node(&g, "cta C"),
        [
            (Outcome::Opened, end),
            (Outcome::NotDelivered, end),
            (Outcome::Timeout, id("cta B")),
        ]
    );
    // B, inside C's handler, is never claimed by the `if`'s handlers.
    assert_eq!(
        node(&g, "cta B"),
        [
            (Outcome::Opened, end),
            (Outcome::NotDelivered, id("sms b failed")),
            (Outcome::Timeout, end),
        ]
    );
}

/// Handler bodies get their ids in the order the handlers are written, not
/// in the order of the outcomes.
#[test]
fn node_ids_follow_the_source_when_handlers_are_written_out_of_order() {
    let program = compile_named(
        "order.kflow",
        r#"on reply whatsapp <
  cta < header text "C" body "c" url "https://e.com/c" button "C" >
  on timeout 1h < sms "first" >
  on not delivered < sms "second" >
  on link opened < sms "third" >
>
"#,
    );
    let g = graph(&program);
    let labels: Vec<&str> = g.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        ["cta -", "sms first", "sms second", "sms third", "end"]
    );
    assert_eq!(
        node(&g, "cta -"),
        [
            (Outcome::Opened, 3),
            (Outcome::NotDelivered, 2),
            (Outcome::Timeout, 1),
        ]
    );
    let starts: Vec<u32> = program.nodes[..4].iter().map(|n| n.span.start).collect();
    assert!(starts.is_sorted(), "{starts:?}");
}

/// docs/ir.md's waited template is what `examples/visit_reminder.kflow`
/// compiles to.
#[test]
fn docs_ir_md_shows_the_waited_template_of_the_visit_reminder() {
    let documented = json_block_after("A template with quick replies, waited on:");
    let documented: Op = serde_json::from_str(&documented).expect("the documented op reads");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/visit_reminder.kflow");
    let (program, _) = compile_example(&path);
    let compiled = program
        .nodes
        .iter()
        .map(|n| &n.op)
        .find(|op| matches!(op, Op::SendTemplate { .. }))
        .expect("the example sends a template");
    assert_eq!(&documented, compiled);
}
