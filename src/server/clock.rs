//! The service's clock: the wall clock, optionally sped up for tests and
//! demonstrations (`time_scale = 60` makes a 30-minute CTA timeout pass in 30
//! seconds). Workflow time and link expiry both follow it.

use std::time::Instant;

use chrono::{DateTime, Utc};

/// Wall time scaled by a constant factor from the moment it was made.
#[derive(Clone, Debug)]
pub struct ServiceClock {
    origin_wall: DateTime<Utc>,
    origin: Instant,
    scale: f64,
}

impl ServiceClock {
    /// A clock running `scale` times faster than the wall clock (1.0 = real).
    pub fn new(scale: f64) -> ServiceClock {
        ServiceClock {
            origin_wall: Utc::now(),
            origin: Instant::now(),
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
        }
    }

    /// The current service time.
    pub fn now(&self) -> DateTime<Utc> {
        if self.scale == 1.0 {
            return Utc::now();
        }
        let real = self.origin.elapsed().as_secs_f64() * self.scale;
        self.origin_wall + chrono::Duration::microseconds((real * 1e6) as i64)
    }

    /// How long to sleep in real time until service time `t`.
    pub fn real_until(&self, t: DateTime<Utc>) -> std::time::Duration {
        let ahead = (t - self.now())
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0) as f64;
        std::time::Duration::from_secs_f64(ahead / 1e6 / self.scale)
    }
}
