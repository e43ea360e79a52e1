//! The runtime: an async interpreter for compiled workflows.
//!
//! Embed it by implementing [`Host`] (sends, tags, the clock, the trace),
//! loading [`crate::ir::Program`]s into an [`Engine`], upserting
//! [`Contact`]s, and handing it [`Event`]s. Waiting runs are data in the
//! engine, not tasks; the embedder drives time, either by calling
//! [`Engine::fire_due`] when [`Engine::next_due`] comes on the wall clock, or
//! by jumping a [`VirtualClock`] with [`Engine::advance`]. `docs/runtime.md`
//! describes the run model and the guarantees.

mod clock;
mod contact;
mod engine;
mod host;
mod render;
mod sim;
mod trace;

pub use clock::{VirtualClock, WallClock};
pub use contact::{Contact, WINDOW};
pub use engine::{Changes, Engine, Event, LoadError, RestoreProblem, RunRecord, Stats, Wait};
pub use host::{Host, Message, Outbound, RenderedHeader, SendResult, StepRef};
pub use sim::{Sent, SimHost, TagChange};
pub use trace::{TraceEvent, TraceKind};
