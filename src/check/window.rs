//! What the checker knows about the WhatsApp customer service window at one
//! point of a run, and how waiting, checks and replies change it.
//!
//! The analysis is a lower bound on the time left: `on reply whatsapp` opens
//! the window with 24 hours left; `if window.open` proves it open only at the
//! moment of the check; every wait, and every CTA that waits for its outcome,
//! spends time; a completed `await reply whatsapp` reopens it, and so does
//! the contact's choice of a button or list row. Under quiet hours a send
//! the run may reach inside them waits until they end, which spends time
//! too. A session message is accepted only where the time left is still
//! positive.

use crate::diag::{Code, Diagnostic};
use crate::source::Span;

use crate::duration::format as format_duration;
use crate::platform::limits::WINDOW_SECONDS;

/// How much of the window is known to be left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Left {
    /// At least this many seconds (the window is open while positive).
    Seconds(i64),
    /// Nothing is known: it may be closed.
    Unknown,
    /// A check said it is closed.
    Closed,
}

/// Why time was spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spent {
    /// A wait or a waited message.
    Waiting,
    /// Quiet hours held sends (the span is the `quiet` declaration).
    Quiet,
}

/// What established the current knowledge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// `on reply whatsapp`.
    Reply(Span),
    /// A trigger on another channel, which says nothing about WhatsApp.
    OtherTrigger(Span, &'static str),
    /// `if window.open` / `window.closed`.
    Check(Span),
    /// A completed `await reply whatsapp`.
    Await(Span),
    /// The contact's choice of a button or list row: a WhatsApp reply.
    Choice(Span),
}

/// Labels kept for the statements that spent time; more are summed, not shown.
const MAX_SPENT_LABELS: usize = 6;

/// The window at one point of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    left: Left,
    anchor: Anchor,
    /// Time spent since the anchor, at most.
    elapsed: u64,
    /// The statements that spent it, with how much each.
    spent: Vec<(Span, u64, Spent)>,
    /// Whether the run may be inside quiet hours here: at its start and
    /// after a reply (the contact writes at any hour), and after time
    /// passed; not right after a send, which quiet hours already let go.
    maybe_quiet: bool,
}

impl Window {
    /// Just after a WhatsApp reply: 24 hours left.
    pub(crate) fn opened(anchor: Anchor) -> Window {
        Window {
            left: Left::Seconds(WINDOW_SECONDS),
            anchor,
            elapsed: 0,
            spent: Vec::new(),
            maybe_quiet: true,
        }
    }

    /// At the start of a run on another channel.
    pub(crate) fn unknown(anchor: Anchor) -> Window {
        Window {
            left: Left::Unknown,
            anchor,
            elapsed: 0,
            spent: Vec::new(),
            maybe_quiet: true,
        }
    }

    /// In a branch where a check proved the window open: open now, with an
    /// unknown time left (modelled as one second, the smallest wait).
    pub(crate) fn proven_open(self, check: Span) -> Window {
        match self.left {
            Left::Seconds(s) if s >= 1 => self,
            _ => Window {
                left: Left::Seconds(1),
                anchor: Anchor::Check(check),
                elapsed: 0,
                spent: Vec::new(),
                maybe_quiet: self.maybe_quiet,
            },
        }
    }

    /// In a branch where a check proved the window closed.
    pub(crate) fn proven_closed(check: Span) -> Window {
        Window {
            left: Left::Closed,
            anchor: Anchor::Check(check),
            elapsed: 0,
            spent: Vec::new(),
            maybe_quiet: true,
        }
    }

    /// After `at` spent up to `seconds`.
    pub(crate) fn spend(self, seconds: u64, at: Span) -> Window {
        self.spend_as(seconds, at, Spent::Waiting)
    }

    fn spend_as(mut self, seconds: u64, at: Span, why: Spent) -> Window {
        if seconds == 0 {
            return self;
        }
        if let Left::Seconds(s) = self.left {
            self.left = Left::Seconds(s.saturating_sub(seconds as i64));
        }
        self.elapsed = self.elapsed.saturating_add(seconds);
        self.maybe_quiet = true;
        let known = self
            .spent
            .iter()
            .position(|(s, _, w)| *s == at && *w == why);
        match known {
            Some(i) => self.spent[i].1 = self.spent[i].1.saturating_add(seconds),
            None if self.spent.len() < MAX_SPENT_LABELS => self.spent.push((at, seconds, why)),
            None => {}
        }
        self
    }

    /// Just before a send, under quiet hours that may hold it up to
    /// `seconds` (declared at `quiet`): the hold is spent when the run may
    /// be inside them; after the send it is not.
    pub(crate) fn hold(self, seconds: u64, quiet: Span) -> Window {
        let mut held = if self.maybe_quiet {
            self.spend_as(seconds, quiet, Spent::Quiet)
        } else {
            self
        };
        held.maybe_quiet = false;
        held
    }

    /// True when the window is known to be open here.
    pub(crate) fn is_open(&self) -> bool {
        matches!(self.left, Left::Seconds(s) if s > 0)
    }

    fn rank(&self) -> (u8, i64) {
        match self.left {
            Left::Closed => (0, 0),
            Left::Unknown => (1, 0),
            Left::Seconds(s) => (2, s),
        }
    }

    /// Where two paths meet: the worse of the two.
    pub(crate) fn join(self, other: Window) -> Window {
        let maybe_quiet = self.maybe_quiet || other.maybe_quiet;
        let mut worse = if other.rank() < self.rank() {
            other
        } else {
            self
        };
        worse.maybe_quiet = maybe_quiet;
        worse
    }

    /// Reports a session message sent at `at` (its keyword) when the window
    /// may be closed. `what` names the message ("a `cta`").
    pub(crate) fn require_open(&self, at: Span, what: &str) -> Option<Diagnostic> {
        let help = "send a `template` instead (templates need no window), or send from inside `if window.open < ... >` with no wait before the message";
        let d = match (self.left, self.anchor) {
            (Left::Seconds(s), _) if s > 0 => return None,
            (Left::Closed, anchor) => {
                let check = anchor_span(anchor);
                Diagnostic::new(
                    Code::WindowClosed,
                    format!("{what} is sent where the 24-hour window is closed"),
                    at,
                    "session message on a closed-window path",
                )
                .with_label(check, "this check finds the window closed on this path")
            }
            (Left::Unknown, Anchor::OtherTrigger(trigger, channel)) => Diagnostic::new(
                Code::WindowClosed,
                format!("{what} is sent where nothing proves the 24-hour window open"),
                at,
                "the window may be closed here",
            )
            .with_label(
                trigger,
                format!("a reply on {channel} does not open the WhatsApp window"),
            ),
            (Left::Unknown, anchor) => Diagnostic::new(
                Code::WindowClosed,
                format!("{what} is sent where nothing proves the 24-hour window open"),
                at,
                "the window may be closed here",
            )
            .with_label(anchor_span(anchor), "the last thing known about the window"),
            (Left::Seconds(_), anchor) => {
                let (text, message) = match anchor {
                    Anchor::Reply(_) | Anchor::Await(_) | Anchor::Choice(_) => (
                        "the reply opens the window for 24h".to_owned(),
                        format!(
                            "{what} may be sent after the 24-hour window closed: up to {} may have passed since the reply",
                            format_duration(self.elapsed)
                        ),
                    ),
                    Anchor::Check(_) => (
                        "this check proves the window open only at this moment".to_owned(),
                        format!(
                            "{what} may be sent after the window closed: up to {} may have passed since the check",
                            format_duration(self.elapsed)
                        ),
                    ),
                    Anchor::OtherTrigger(..) => (
                        "".to_owned(),
                        format!("{what} may be sent after the window closed"),
                    ),
                };
                let mut d = Diagnostic::new(
                    Code::WindowClosed,
                    message,
                    at,
                    "the window may be closed here",
                )
                .with_label(anchor_span(anchor), text);
                for (span, seconds, why) in &self.spent {
                    let label = match why {
                        Spent::Waiting => format!("spends up to {}", format_duration(*seconds)),
                        Spent::Quiet => format!(
                            "quiet hours may hold sends up to {} on this path",
                            format_duration(*seconds)
                        ),
                    };
                    d = d.with_label(*span, label);
                }
                d
            }
        };
        let quiet = self.spent.iter().any(|(_, _, why)| *why == Spent::Quiet);
        Some(d.with_help(if quiet {
            "send a `template` instead (templates need no window): quiet hours may hold this message, so the window may have closed by the time it goes out"
        } else {
            help
        }))
    }
}

fn anchor_span(anchor: Anchor) -> Span {
    match anchor {
        Anchor::Reply(s)
        | Anchor::OtherTrigger(s, _)
        | Anchor::Check(s)
        | Anchor::Await(s)
        | Anchor::Choice(s) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Span = Span { start: 0, end: 1 };

    #[test]
    fn a_day_of_waiting_closes_the_window() {
        let w = Window::opened(Anchor::Reply(S));
        assert!(w.clone().spend(86_399, S).require_open(S, "x").is_none());
        assert!(w.spend(86_400, S).require_open(S, "x").is_some());
    }

    #[test]
    fn a_check_proves_only_the_present() {
        let w = Window::unknown(Anchor::OtherTrigger(S, "SMS")).proven_open(S);
        assert!(w.require_open(S, "x").is_none());
        assert!(w.spend(1, S).require_open(S, "x").is_some());
    }

    #[test]
    fn quiet_hours_hold_the_first_send_after_time_passed() {
        let q = Span { start: 5, end: 6 };
        let w = Window::opened(Anchor::Reply(S)).hold(13 * 3600, q);
        assert_eq!(w.left, Left::Seconds(11 * 3600));
        // Right after a send the run is past quiet hours: no second hold.
        let w = w.hold(13 * 3600, q);
        assert_eq!(w.left, Left::Seconds(11 * 3600));
        // After a wait it may be inside them again.
        let w = w.spend(3600, S).hold(13 * 3600, q);
        assert!(w.require_open(S, "x").is_some());
    }

    #[test]
    fn join_keeps_the_worse_path() {
        let fresh = Window::opened(Anchor::Reply(S));
        let late = fresh.clone().spend(3600, S);
        assert_eq!(fresh.clone().join(late.clone()), late);
        assert_eq!(fresh.join(Window::proven_closed(S)).left, Left::Closed);
    }
}
