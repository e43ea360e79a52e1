//! The timer queue: every waiting run's deadline, first due first out.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Timer {
    pub(super) due_micros: i64,
    pub(super) seq: u64,
    pub(super) run: u64,
    pub(super) generation: u32,
}

/// Most wait lengths given their own lane in [`Timers`].
pub(super) const TIMER_LANES: usize = 32;

/// The timer queue: what is due first comes out first (ties in the order the
/// timers were set).
///
/// Most timers are set "now + the wait's length", and now does not go back,
/// so the timers of one length are set in due order. Each length gets a lane,
/// a FIFO queue, and a timer joins the back of its lane in O(1) when it is
/// not earlier than the lane's last one; anything else (a clock that stepped
/// back, restored timers, more lengths than lanes) goes to a binary heap. The
/// first timer is the earliest of the lanes' fronts and the heap's top. With
/// a million timers waiting this replaces a pop that walks twenty levels of a
/// 32 MB heap with a read from the front of a queue.
#[derive(Default)]
pub(super) struct Timers {
    lanes: Vec<(u64, VecDeque<Reverse<Timer>>)>,
    heap: BinaryHeap<Reverse<Timer>>,
}

impl Timers {
    /// Adds a timer with no lane.
    pub(super) fn push(&mut self, timer: Reverse<Timer>) {
        self.heap.push(timer);
    }

    /// Adds a timer set for `seconds` from now.
    pub(super) fn push_after(&mut self, seconds: u64, timer: Timer) {
        let lane = match self.lanes.iter().position(|(s, _)| *s == seconds) {
            Some(i) => Some(i),
            None if self.lanes.len() < TIMER_LANES => {
                self.lanes.push((seconds, VecDeque::new()));
                Some(self.lanes.len() - 1)
            }
            None => None,
        };
        match lane.map(|i| &mut self.lanes[i].1) {
            Some(queue) if queue.back().is_none_or(|Reverse(last)| *last <= timer) => {
                queue.push_back(Reverse(timer));
            }
            _ => self.heap.push(Reverse(timer)),
        }
    }

    /// Where the first timer is: `Some(lane)` or `None` for the heap.
    pub(super) fn first(&self) -> Option<Option<usize>> {
        let mut best = self.heap.peek().map(|t| (t, None));
        for (i, (_, queue)) in self.lanes.iter().enumerate() {
            if let Some(t) = queue.front()
                && best.is_none_or(|(b, _)| t > b)
            {
                best = Some((t, Some(i)));
            }
        }
        best.map(|(_, at)| at)
    }

    /// The first timer.
    pub(super) fn peek(&self) -> Option<&Reverse<Timer>> {
        match self.first()? {
            Some(i) => self.lanes[i].1.front(),
            None => self.heap.peek(),
        }
    }

    /// Removes the first timer.
    pub(super) fn pop(&mut self) -> Option<Reverse<Timer>> {
        match self.first()? {
            Some(i) => self.lanes[i].1.pop_front(),
            None => self.heap.pop(),
        }
    }

    /// Keeps only the timers `keep` says are live, in their order.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Timer) -> bool) {
        for (_, queue) in &mut self.lanes {
            queue.retain(|Reverse(t)| keep(t));
        }
        self.heap.retain(|Reverse(t)| keep(t));
    }

    pub(super) fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(|(_, q)| q.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Timers come out in (due, seq) order however they went in: in
        /// order within a lane, out of order (a clock stepping back), with
        /// more lengths than lanes, or with no lane at all.
        #[test]
        fn timers_come_out_in_order(
            pushes in prop::collection::vec((0u64..40, -5i64..5, any::<bool>()), 0..300),
            pops in prop::collection::vec(any::<bool>(), 0..300),
        ) {
            let mut timers = Timers::default();
            let mut model = std::collections::BTreeSet::new();
            let mut now = 0i64;
            for (i, ((seconds, step, lane), pop)) in
                pushes.iter().zip(pops.iter().chain(std::iter::repeat(&false))).enumerate()
            {
                now += step;
                let timer = Timer {
                    due_micros: now + *seconds as i64 * 1_000_000,
                    seq: i as u64,
                    run: i as u64,
                    generation: 0,
                };
                if *lane {
                    timers.push_after(*seconds, timer);
                } else {
                    timers.push(Reverse(timer));
                }
                model.insert(timer);
                prop_assert_eq!(timers.len(), model.len());
                prop_assert_eq!(timers.peek().map(|t| t.0), model.first().copied());
                if *pop {
                    prop_assert_eq!(timers.pop().map(|t| t.0), model.pop_first());
                }
            }
            while let Some(first) = model.pop_first() {
                prop_assert_eq!(timers.pop().map(|t| t.0), Some(first));
            }
            prop_assert!(timers.pop().is_none());
        }

    }
}
