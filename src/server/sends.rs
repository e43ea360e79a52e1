//! The sends of one processing step, made at once.
//!
//! The engine decides every step of a run in order but, with deferred sends
//! ([`Engine::defer_sends`]), leaves the provider calls to the service. A
//! step collects the sends decided while it handles its events and fires
//! its timers, and makes up to [`IN_FLIGHT`] of them at once, each still
//! begun in the ledger before its provider call and completed after (see
//! `host.rs`). Their answers go back to the engine in the order the sends
//! were decided, not the order they came in, so a step redone after a crash
//! decides exactly as the first attempt did. A run whose send completes may
//! decide another send: that is the next round. A contact's next event waits
//! until its sends are complete, so each run's own steps keep their order.

use futures_util::StreamExt as _;

use super::host::ServeHost;
use crate::runtime::{Engine, Host as _};

/// The most sends in flight at once. WhatsApp's per-number rate limit
/// applies on top (the provider's token bucket waits; it never fails).
pub(super) const IN_FLIGHT: usize = 256;

/// Makes every pending send, round after round, until the engine decides
/// no more. Returns how many sends were made.
pub(super) async fn drain(engine: &mut Engine<ServeHost>) -> usize {
    let mut made = 0;
    loop {
        let pending = engine.take_pending_sends();
        if pending.is_empty() {
            return made;
        }
        made += pending.len();
        let results: Vec<_> = {
            let host = engine.host();
            // Built first: a closure inside the stream would make the
            // processor's future lose `Send` (a higher-ranked lifetime).
            let calls: Vec<_> = pending.iter().map(|p| host.send(&p.outbound)).collect();
            futures_util::stream::iter(calls)
                .buffered(IN_FLIGHT)
                .collect()
                .await
        };
        for (send, result) in pending.into_iter().zip(results) {
            engine.complete_send(send, result).await;
        }
    }
}
