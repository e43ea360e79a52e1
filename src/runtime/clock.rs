//! Clocks a [`super::Host`] can read: the wall clock, or a virtual clock that
//! a simulation moves straight to the next due timer.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

/// A clock that only moves when told to; cheap to clone (clones share time).
#[derive(Clone, Debug)]
pub struct VirtualClock {
    micros: Arc<AtomicI64>,
}

impl VirtualClock {
    /// A clock reading `start`.
    pub fn new(start: DateTime<Utc>) -> VirtualClock {
        VirtualClock {
            micros: Arc::new(AtomicI64::new(start.timestamp_micros())),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.micros.load(Ordering::Acquire))
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Moves to `t`; a clock never goes backwards, so an earlier `t` is ignored.
    pub fn set(&self, t: DateTime<Utc>) {
        self.micros
            .fetch_max(t.timestamp_micros(), Ordering::AcqRel);
    }

    /// Moves forward by `d`.
    pub fn advance(&self, d: chrono::Duration) {
        self.set(self.now() + d);
    }
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct WallClock;

impl WallClock {
    /// The current UTC time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
