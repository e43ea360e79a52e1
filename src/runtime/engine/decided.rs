//! How recent CTAs ended, so a late event about one can say why it changed
//! nothing: "already opened 25m ago", "its timeout passed 5m ago",
//! "delivery failed 1h ago".
//!
//! The memory is bounded: the last [`REMEMBERED`] decisions, oldest
//! forgotten first. An event about a message decided longer ago than that
//! gets the general reason, which is still true.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::duration::format as format_duration;
use crate::ir::Outcome;

/// Decisions kept. A few hundred kilobytes at most; enough that a late
/// click or status (minutes to hours after the decision) finds its own.
pub(super) const REMEMBERED: usize = 4096;

#[derive(Default)]
pub(super) struct Decided {
    by_message: HashMap<String, (Outcome, DateTime<Utc>)>,
    order: VecDeque<String>,
}

impl Decided {
    /// Notes that the CTA sent as `message_id` ended with `outcome` at `at`.
    pub(super) fn note(&mut self, message_id: &str, outcome: Outcome, at: DateTime<Utc>) {
        if self
            .by_message
            .insert(message_id.to_owned(), (outcome, at))
            .is_none()
        {
            self.order.push_back(message_id.to_owned());
        }
        while self.order.len() > REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.by_message.remove(&old);
            }
        }
    }

    /// Whether the decision about `message_id` is still remembered.
    pub(super) fn knows(&self, message_id: &str) -> bool {
        self.by_message.contains_key(message_id)
    }

    /// Why an event about `message_id` at `now` finds no run waiting on it.
    pub(super) fn reason(&self, message_id: &str, now: DateTime<Utc>) -> String {
        let Some(&(outcome, at)) = self.by_message.get(message_id) else {
            return format!(
                "no run waits on message {message_id}: it was not a waited message, or it was decided long ago"
            );
        };
        let ago = (now - at).num_seconds().max(0) as u64;
        let ago = if ago == 0 {
            "just before".to_owned()
        } else {
            format!("{} ago", format_duration(ago))
        };
        match outcome {
            Outcome::Opened => format!("its link was already opened {ago}"),
            Outcome::NotDelivered => {
                format!("its delivery had already failed {ago}, and the run took Not Delivered")
            }
            Outcome::Timeout => {
                format!("its timeout had already passed {ago}, and the run took the timeout path")
            }
            Outcome::Choice(_) => format!("the contact already chose on it {ago}"),
            other => format!("its outcome ({other:?}) was decided {ago}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
            .single()
            .expect("valid")
            + chrono::Duration::minutes(minutes)
    }

    #[test]
    fn names_what_happened_and_when() {
        let mut d = Decided::default();
        d.note("m1", Outcome::Opened, t(0));
        d.note("m2", Outcome::Timeout, t(30));
        d.note("m3", Outcome::NotDelivered, t(1));
        assert_eq!(d.reason("m1", t(5)), "its link was already opened 5m ago");
        assert!(
            d.reason("m2", t(35))
                .starts_with("its timeout had already passed 5m ago")
        );
        assert!(
            d.reason("m3", t(61))
                .starts_with("its delivery had already failed 1h ago")
        );
        assert!(
            d.reason("m4", t(0))
                .starts_with("no run waits on message m4")
        );
    }

    #[test]
    fn forgets_the_oldest_beyond_its_bound() {
        let mut d = Decided::default();
        for i in 0..REMEMBERED + 10 {
            d.note(&format!("m{i}"), Outcome::Opened, t(0));
        }
        assert_eq!(d.by_message.len(), REMEMBERED);
        assert!(d.reason("m0", t(1)).starts_with("no run waits"));
        assert!(
            d.reason(&format!("m{}", REMEMBERED + 9), t(1))
                .starts_with("its link")
        );
    }
}
