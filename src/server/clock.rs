//! The service's clock: the wall clock, optionally sped up for tests and
//! demonstrations (`time_scale = 60` makes a 30-minute CTA timeout pass in 30
//! seconds). Workflow time and link expiry both follow it.
//!
//! A sped-up clock counts from an origin stored in the database on first
//! start, so service time carries on across restarts instead of falling back
//! to the wall clock's reading at each start.

use chrono::{DateTime, Utc};

/// Wall time scaled by a constant factor from a fixed origin.
#[derive(Clone, Debug)]
pub(super) struct ServiceClock {
    origin: DateTime<Utc>,
    scale: f64,
}

impl ServiceClock {
    /// A clock running `scale` times faster than the wall clock (1.0 = real)
    /// from `origin`, the moment service time and wall time agreed.
    pub(super) fn new(scale: f64, origin: DateTime<Utc>) -> ServiceClock {
        ServiceClock {
            origin,
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
        }
    }

    /// The current service time.
    pub(super) fn now(&self) -> DateTime<Utc> {
        let wall = Utc::now();
        if self.scale == 1.0 {
            return wall;
        }
        let real = (wall - self.origin).num_microseconds().unwrap_or(i64::MAX) as f64;
        self.origin + chrono::Duration::microseconds((real * self.scale) as i64)
    }

    /// How much service time passes in `real` wall-clock time.
    pub(super) fn span(&self, real: std::time::Duration) -> chrono::Duration {
        chrono::Duration::microseconds((real.as_micros() as f64 * self.scale) as i64)
    }

    /// The wall-clock seconds a service-time span takes.
    pub(super) fn real_seconds(&self, span: chrono::Duration) -> f64 {
        span.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6 / self.scale
    }

    /// How long to sleep in real time until service time `t`.
    pub(super) fn real_until(&self, t: DateTime<Utc>) -> std::time::Duration {
        let ahead = (t - self.now())
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0) as f64;
        std::time::Duration::from_secs_f64(ahead / 1e6 / self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaled_clock_counts_from_its_stored_origin() {
        let origin = Utc::now() - chrono::Duration::seconds(10);
        let clock = ServiceClock::new(60.0, origin);
        let elapsed = clock.now() - origin;
        // Ten real seconds at 60x are at least ten minutes of service time.
        assert!(elapsed >= chrono::Duration::minutes(10), "{elapsed}");
        assert!(elapsed < chrono::Duration::hours(1), "{elapsed}");
    }
}
