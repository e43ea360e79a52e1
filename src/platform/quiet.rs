//! Quiet hours: times of day in a time zone, read once for the checker
//! (which names a bad zone and bounds the wait) and the engine (which holds
//! a send until they end).
//!
//! Zones are the IANA database's names (`Europe/Lisbon`), through
//! chrono-tz, so summer time is what the contact's phone says it is.
//! Quiet hours `from-to` hold from `from` (included) to `to` (excluded) in
//! local time, across midnight when `to` is earlier: `21:00-08:00` is the
//! night.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Minutes in a day.
const DAY_MINUTES: u16 = 24 * 60;

/// The most a night's clocks go back (summer time ending): the longest quiet
/// hours can last beyond their written length.
pub const CLOCK_CHANGE_SECONDS: u64 = 3600;

/// Reads `HH:MM` (hours 0 to 23, one or two digits; minutes 00 to 59, two
/// digits) as minutes after midnight.
pub fn parse_clock(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// The zone with this IANA name (exact spelling), if the database has it.
pub fn zone(name: &str) -> Option<Tz> {
    name.parse().ok()
}

/// Every zone name, for did-you-mean.
pub fn zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

/// How long quiet hours from `from` to `to` (minutes after midnight) last
/// as written, in seconds.
pub fn length_seconds(from: u16, to: u16) -> u64 {
    let minutes = (to + DAY_MINUTES - from) % DAY_MINUTES;
    u64::from(minutes) * 60
}

/// Whether local minute `m` is inside `from`..`to`.
fn inside(m: u16, from: u16, to: u16) -> bool {
    if from <= to {
        from <= m && m < to
    } else {
        m >= from || m < to
    }
}

/// When quiet hours `from`..`to` in `zone` end, if `now` is inside them;
/// `None` when a message may go out now.
pub fn held_until(now: DateTime<Utc>, from: u16, to: u16, zone: Tz) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(&zone);
    let minute = (local.hour() * 60 + local.minute()) as u16;
    if from == to || !inside(minute, from, to) {
        return None;
    }
    let end = NaiveTime::from_hms_opt(u32::from(to / 60), u32::from(to % 60), 0)?;
    // The end is today when it is still ahead, else tomorrow.
    let mut date = local.date_naive();
    if minute >= to {
        date = date.succ_opt()?;
    }
    let naive = date.and_time(end);
    // A local time skipped by summer time starting has no instant: quiet
    // hours then end when the clocks land past it.
    for gap in 0..=4 {
        let candidate = naive + Duration::minutes(30 * gap);
        if let Some(t) = zone.from_local_datetime(&candidate).earliest() {
            return Some(t.with_timezone(&Utc).max(now));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("a valid instant")
    }

    #[test]
    fn clocks_are_read_strictly() {
        assert_eq!(parse_clock("21:00"), Some(1260));
        assert_eq!(parse_clock("8:05"), Some(485));
        assert_eq!(parse_clock("00:00"), Some(0));
        for bad in ["24:00", "21:60", "21:0", "021:00", ":00", "21", "2a:00"] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
        assert_eq!(crate::duration::format_clock(485), "08:05");
    }

    #[test]
    fn lengths_wrap_midnight() {
        assert_eq!(length_seconds(21 * 60, 8 * 60), 11 * 3600);
        assert_eq!(length_seconds(13 * 60, 14 * 60), 3600);
    }

    #[test]
    fn a_night_in_lisbon() {
        let lisbon = zone("Europe/Lisbon").expect("known");
        let (from, to) = (21 * 60, 8 * 60);
        // March 2: Lisbon is on UTC.
        assert_eq!(
            held_until(utc("2026-03-02T20:59:00Z"), from, to, lisbon),
            None
        );
        assert_eq!(
            held_until(utc("2026-03-02T21:00:00Z"), from, to, lisbon),
            Some(utc("2026-03-03T08:00:00Z"))
        );
        assert_eq!(
            held_until(utc("2026-03-03T03:00:00Z"), from, to, lisbon),
            Some(utc("2026-03-03T08:00:00Z"))
        );
        assert_eq!(
            held_until(utc("2026-03-03T08:00:00Z"), from, to, lisbon),
            None
        );
        // July: Lisbon is UTC+1, so 08:00 there is 07:00 UTC.
        assert_eq!(
            held_until(utc("2026-07-01T22:00:00Z"), from, to, lisbon),
            Some(utc("2026-07-02T07:00:00Z"))
        );
    }

    #[test]
    fn a_skipped_end_lands_after_the_gap() {
        // New York skips 02:00-03:00 on 2026-03-08.
        let ny = zone("America/New_York").expect("known");
        let until = held_until(utc("2026-03-08T05:00:00Z"), 0, 2 * 60 + 30, ny);
        assert_eq!(until, Some(utc("2026-03-08T07:00:00Z")));
    }

    #[test]
    fn zone_names_are_exact() {
        assert!(zone("Europe/Lisbon").is_some());
        assert!(zone("Europe/Lisbom").is_none());
        assert!(zone_names().any(|n| n == "America/Sao_Paulo"));
    }
}
