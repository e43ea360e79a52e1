//! Scenarios: test a workflow the way `kflowc test` does, from Rust.
//!
//! A scenario is one contact, the account's custom values and a timeline of
//! events (replies, link opens, delivery reports) to run a workflow against
//! in virtual time, and optionally what should happen (`[expect]`). The
//! driver ([`run`]) runs the engine on a simulated host and clock and
//! returns a [`Simulation`]: the timeline, the sends, the tag changes and
//! the queries expectations are about. [`Simulation::check`] compares it
//! with an [`Expect`] and words each difference as `kflowc test` prints it.
//!
//! ```rust
//! use std::path::Path;
//!
//! use kflow::SourceFile;
//! use kflow::scenario::{self, Scenario, Workflow};
//!
//! // The embedder's flow, as it ships.
//! let flow = SourceFile::new(
//!     "flows/booking.kflow",
//!     r#"on reply whatsapp < if window.open < cta < header text "Hi {{contact.first_name}}" body "Pick a slot" url "https://www.example.com/book" button "Book now" > on link opened < tag "clicked-booking" > on timeout 30m < sms "Still want a slot?" > > >"#,
//! )
//! .expect("a small file");
//! let workflow = Workflow::compile(flow).expect("the flow has no errors");
//!
//! // What should happen when Ana replies and opens the link 12 minutes later.
//! let scenario = Scenario::from_toml(
//!     Path::new("tests/booking.opened.toml"),
//!     r#"
//! [contact]
//! id = "ana"
//! phone = "+15551230000"
//! first_name = "Ana"
//!
//! [[events]]
//! at = "0s"
//! reply = "whatsapp"
//!
//! [[events]]
//! at = "12m"
//! link_opened = "last"
//!
//! [expect]
//! actions = ["cta", "+12m tag clicked-booking"]
//! path = ["window_open", "opened"]
//! "#,
//! )
//! .expect("a valid scenario");
//!
//! let simulation = scenario::run(&scenario, workflow);
//! let expect = scenario.expect.as_ref().expect("the scenario has [expect]");
//! assert_eq!(simulation.check(expect), Vec::<String>::new());
//!
//! // The same questions, asked directly.
//! let actions: Vec<String> = simulation.actions().into_iter().map(|a| a.action).collect();
//! assert_eq!(actions, ["cta", "tag clicked-booking"]);
//!
//! // A wrong expectation is a difference, worded as `kflowc test` words it.
//! let mut wrong = expect.clone();
//! wrong.waiting = Some(1);
//! assert_eq!(
//!     simulation.check(&wrong),
//!     ["  waiting: expected 1 run still waiting at the end, found 0\n"]
//! );
//! ```
//!
//! # Features
//!
//! Only reading scenario files needs the `scenario` cargo feature (it pulls
//! in the TOML parser): [`Scenario::from_toml`], [`Scenario::load`],
//! [`has_expect`] and [`ScenarioError`]. The model, the driver and the
//! comparison are plain Rust on the runtime's public API, so they are always
//! there: an embedder that builds its scenarios in code (from
//! [`Scenario::new`] and public fields) needs no TOML at all. The `cli`
//! feature includes `scenario`.
//!
//! The library never prints: errors are values whose `Display` is the whole
//! message, and differences are strings.
//!
//! # Files
//!
//! - `model.rs`: the scenario and its expectations as data.
//! - `read/`: the strict TOML reader (feature `scenario`), one part of the
//!   file per submodule.
//! - `run.rs`: the driver, on `block_on.rs`'s single-thread executor.
//! - `simulation.rs`: the result and its queries.
//! - `expect.rs`: comparing a result with the expectations.

mod block_on;
mod expect;
mod model;
#[cfg(feature = "scenario")]
mod read;
mod run;
mod simulation;

pub use model::{
    EventKind, Expect, ExpectedAction, KINDS, MessageRef, Scenario, ScenarioEvent, offset_label,
    outcome_name,
};
#[cfg(feature = "scenario")]
pub use read::{ScenarioError, has_expect};
pub use run::{RUN_ON_LIMIT, Workflow, provider_reason, run};
pub use simulation::{Action, SentCost, Simulation, TimelineEntry};
