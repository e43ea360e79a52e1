//! Loading a program: checked once, so a hand-edited or corrupt IR can never
//! make the engine index out of range or wait past what the language allows,
//! and what can be decided about its messages once is decided here.

use std::sync::Arc;

use super::send::static_url_ok;
use crate::ir::{Channel, FORMAT_VERSION, Header, Op, Program};
use crate::platform::limits::WAIT_MAX_SECONDS;

/// Why a program cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Written by another IR version.
    Version {
        /// The program's version.
        found: u32,
    },
    /// A node id or edge points outside the program.
    Malformed {
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Version { found } => write!(
                f,
                "IR format version {found} cannot be run by this engine (it runs version {FORMAT_VERSION}); rebuild the workflow"
            ),
            LoadError::Malformed { reason } => write!(f, "malformed IR: {reason}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// A loaded workflow version and what could be decided about it once, at
/// load.
pub(super) struct Loaded {
    pub(super) program: Arc<Program>,
    /// The embedder's name for this version of the program (the service
    /// uses a hash of its IR); runs record it, so a run resumes on the
    /// version it started on.
    pub(super) version: String,
    /// The workflow it is a version of: an index into the engine's
    /// families, one per workflow name.
    pub(super) family: u32,
    /// Per node: whether a CTA's header link and URL are absolute http(s)
    /// URLs whatever their variables hold (see [`static_url_ok`]), so the
    /// send can skip parsing them.
    pub(super) urls_ok: Vec<[bool; 2]>,
    /// Per node: the channel of the trigger whose steps it is (the first
    /// trigger to reach it), so a restored run knows which trigger started
    /// it; `None` for a node no trigger reaches.
    pub(super) trigger_of: Vec<Option<Channel>>,
}

impl Loaded {
    pub(super) fn new(program: Program, version: String, family: u32) -> Loaded {
        let urls_ok = program
            .nodes
            .iter()
            .map(|node| match &node.op {
                Op::SendCta { message, .. } => {
                    let header = match &message.header {
                        Header::Text { .. } => false,
                        Header::Image { link }
                        | Header::Video { link }
                        | Header::Document { link } => static_url_ok(link),
                    };
                    [header, static_url_ok(&message.url)]
                }
                _ => [false, false],
            })
            .collect();
        let trigger_of = triggers_of_nodes(&program);
        Loaded {
            program: Arc::new(program),
            version,
            family,
            urls_ok,
            trigger_of,
        }
    }
}

/// For each node, the channel of the first trigger that reaches it.
fn triggers_of_nodes(program: &Program) -> Vec<Option<Channel>> {
    let mut of = vec![None; program.nodes.len()];
    for trigger in &program.triggers {
        let mut stack = vec![trigger.entry];
        while let Some(id) = stack.pop() {
            let Some(slot) = of.get_mut(id.0 as usize) else {
                continue;
            };
            if slot.is_some() {
                continue;
            }
            *slot = Some(trigger.channel);
            if let Some(node) = program.node(id) {
                stack.extend(node.edges.iter().map(|e| e.to));
            }
        }
    }
    of
}

impl std::ops::Deref for Loaded {
    type Target = Program;

    fn deref(&self) -> &Program {
        &self.program
    }
}

/// Checks ids, edges and triggers so that a hand-edited or corrupt IR cannot
/// make the engine index out of range.
pub(super) fn validate(program: &Program) -> Result<(), LoadError> {
    if program.format_version != FORMAT_VERSION {
        return Err(LoadError::Version {
            found: program.format_version,
        });
    }
    let n = program.nodes.len() as u32;
    let malformed = |reason: String| Err(LoadError::Malformed { reason });
    for (i, node) in program.nodes.iter().enumerate() {
        if node.id.0 as usize != i {
            return malformed(format!("node at index {i} has id {}", node.id.0));
        }
        let waits = match &node.op {
            Op::Wait { seconds } => *seconds,
            op => op.timeout_seconds().unwrap_or(0),
        };
        if waits > WAIT_MAX_SECONDS {
            return malformed(format!(
                "node {i} waits {waits} seconds; kflow waits at most a year"
            ));
        }
        if let Some(edge) = node.edges.iter().find(|e| e.to.0 >= n) {
            return malformed(format!(
                "node {i} has an edge to node {}, which does not exist",
                edge.to.0
            ));
        }
    }
    if let Some(quiet) = &program.guardrails.quiet {
        if crate::platform::quiet::zone(&quiet.zone).is_none() {
            return malformed(format!(
                "quiet hours name the unknown time zone `{}`",
                quiet.zone
            ));
        }
        if quiet.from >= 24 * 60 || quiet.to >= 24 * 60 {
            return malformed("quiet hours outside a day".to_owned());
        }
    }
    if let Some(t) = program.triggers.iter().find(|t| t.entry.0 >= n) {
        return malformed(format!(
            "a trigger starts at node {}, which does not exist",
            t.entry.0
        ));
    }
    Ok(())
}
