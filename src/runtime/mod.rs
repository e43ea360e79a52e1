//! The runtime: an async interpreter for compiled workflows.
//!
//! Embed it by implementing [`Host`] (sends, tags, the clock, the trace),
//! loading [`crate::ir::Program`]s into an [`Engine`], upserting
//! [`Contact`]s, and handing it [`Event`]s. Waiting runs are data in the
//! engine, not tasks; the embedder drives time, either by calling
//! [`Engine::fire_due`] when [`Engine::next_due`] comes on the wall clock, or
//! by jumping a [`VirtualClock`] with [`Engine::advance`]. `docs/runtime.md`
//! describes the run model and the guarantees.
//!
//! # Example
//!
//! A host that keeps what it is asked to send, the seed workflow, two
//! contacts: one opens the link, the other lets it time out. The same code is
//! section 11 of `docs/runtime.md` (a test keeps the two copies equal).
//!
//! ```rust
//! use std::cell::RefCell;
//! use std::future::{Future, ready};
//!
//! use chrono::{DateTime, Duration, TimeZone, Utc};
//! use kflow::ir::Channel;
//! use kflow::runtime::{Contact, Engine, Event, Host, Message, Outbound, SendResult, VirtualClock};
//!
//! /// The embedder's side: a real host would call the WhatsApp Cloud API, an
//! /// SMS and an email provider here. This one keeps what it was asked to send.
//! struct MyHost {
//!     clock: VirtualClock,
//!     outbox: RefCell<Vec<Outbound>>,
//! }
//!
//! impl Host for MyHost {
//!     fn now(&self) -> DateTime<Utc> {
//!         self.clock.now()
//!     }
//!
//!     fn send(&self, message: &Outbound) -> impl Future<Output = SendResult> + Send {
//!         let mut outbox = self.outbox.borrow_mut();
//!         outbox.push(message.clone());
//!         // The provider's id for the message; events about it quote it.
//!         ready(SendResult::Accepted {
//!             message_id: format!("wamid.{}", outbox.len()),
//!         })
//!     }
//!
//!     fn set_tag(&self, contact: &str, tag: &str, present: bool) -> impl Future<Output = ()> + Send {
//!         println!("{contact}: tag {tag} -> {present}");
//!         ready(())
//!     }
//! }
//!
//! const SEED: &str = r#"
//! workflow "WhatsApp booking CTA"
//! on reply whatsapp <
//!   if window.open <
//!     cta "Booking link" <
//!       header image "https://cdn.example.com/booking.png"
//!       body "Hi {{contact.first_name}}, pick a time that suits you."
//!       url "https://www.example.com/?name={{contact.name}}&calendar={{custom_values.agent_calendar}}"
//!       button "Book now"
//!     >
//!     on link opened < tag "clicked-booking" >
//!     on not delivered < email < subject "Your booking link" body "Book here: https://www.example.com/" > >
//!     on timeout 30m < sms "Still want a slot? Reply YES." >
//!   > else <
//!     template "booking_reopen" < language "en_US" category utility >
//!   >
//! >
//! "#;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Compile once; load the IR into an engine (it is checked again on load).
//!     let source = kflow::SourceFile::new("booking_cta.kflow", SEED)?;
//!     let program = kflow::compile(&source).map_err(|d| format!("{} diagnostics", d.len()))?;
//!     let t0 = Utc
//!         .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
//!         .single()
//!         .ok_or("time")?;
//!     let clock = VirtualClock::new(t0);
//!     let mut engine = Engine::new(MyHost {
//!         clock: clock.clone(),
//!         outbox: RefCell::new(Vec::new()),
//!     });
//!     engine.load(program)?;
//!     engine.set_custom_value("agent_calendar", "dr lee&co");
//!     let people = [
//!         ("ana", "+15551230001", "Ana", "Silva"),
//!         ("ben", "+15551230002", "Ben", "Okafor"),
//!     ];
//!     for (id, phone, first, last) in people {
//!         let mut contact = Contact::new(id);
//!         contact.phone = Some(phone.into());
//!         contact.email = Some(format!("{id}@example.com"));
//!         contact.fields.insert("first_name".into(), first.into());
//!         contact.fields.insert("last_name".into(), last.into());
//!         engine.upsert_contact(contact);
//!     }
//!
//!     // Any executor will do; a current-thread tokio runtime is enough.
//!     let rt = tokio::runtime::Builder::new_current_thread().build()?;
//!     rt.block_on(async {
//!         // Both contacts write on WhatsApp: two runs start, each sends its
//!         // CTA and waits (as data in the engine, not as a task).
//!         for id in ["ana", "ben"] {
//!             let reply = Event::Reply {
//!                 contact: id.into(),
//!                 channel: Channel::Whatsapp,
//!             };
//!             engine.handle(reply).await;
//!         }
//!         assert_eq!(engine.stats().active, 2);
//!         assert_eq!(engine.next_due(), Some(t0 + Duration::minutes(30)));
//!
//!         // Twelve minutes later Ana opens her link: her run tags her and ends.
//!         clock.advance(Duration::minutes(12));
//!         engine
//!             .handle(Event::LinkOpened {
//!                 message_id: "wamid.1".into(),
//!             })
//!             .await;
//!
//!         // Ben never opens his: at 30 minutes his run takes the timeout path.
//!         // (With the wall clock, call `fire_due` when `next_due` comes.)
//!         engine.advance(&clock, t0 + Duration::hours(1)).await;
//!     });
//!
//!     let outbox = engine.host().outbox.borrow();
//!     let kinds: Vec<(&str, &str)> = outbox
//!         .iter()
//!         .map(|o| (o.contact.as_str(), o.message.kind()))
//!         .collect();
//!     assert_eq!(kinds, [("ana", "cta"), ("ben", "cta"), ("ben", "sms")]);
//!     // Variables in a URL are percent-encoded; `contact.name` joins first
//!     // and last name when the contact has no `name` field.
//!     let Message::Cta {
//!         url,
//!         timeout_seconds,
//!         ..
//!     } = &outbox[0].message
//!     else {
//!         return Err("not a CTA".into());
//!     };
//!     assert_eq!(
//!         url,
//!         "https://www.example.com/?name=Ana%20Silva&calendar=dr%20lee%26co"
//!     );
//!     assert_eq!(*timeout_seconds, 1800); // the link expires with the wait
//!     assert!(
//!         engine
//!             .contact("ana")
//!             .is_some_and(|c| c.tags.contains("clicked-booking"))
//!     );
//!     assert_eq!(engine.stats().active, 0);
//!     Ok(())
//! }
//! ```

mod clock;
mod contact;
mod engine;
mod host;
mod message;
mod render;
mod sim;
mod trace;

pub use clock::{VirtualClock, WallClock};
pub use contact::{Contact, Fields, WINDOW};
pub use engine::{
    Changes, Engine, Event, LoadError, PendingSend, RestoreProblem, RunRecord, Stats, Wait,
};
pub use host::Host;
pub use message::{
    Message, Outbound, RenderedChoice, RenderedHeader, RenderedSection, RenderedTemplateButton,
    SendResult, StepRef,
};
pub use sim::{Sent, SimHost, TagChange};
pub use trace::{TraceEvent, TraceKind};
