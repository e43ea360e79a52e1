//! Durations as kflow writes them: `30m`, `1h30m`, `2d`.
//!
//! One home for the unit, below every stage: the parser reads durations in
//! `.kflow` files, the checker and the runtime's tools print them in
//! messages, and scenario files use the same notation. Keeping reading and
//! writing together keeps the two from drifting (`format` always gives text
//! that `parse` reads back). A time of day (`21:00`, quiet hours) is
//! written here too.

/// The longest duration the language allows: a year.
pub const MAX_SECONDS: u64 = 365 * 86_400;

/// The units, largest first: a duration names each at most once, in this order.
const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// Seconds in a duration written as in kflow source (`30m`, `1h30m`, `2d`):
/// whole numbers each followed by a unit `d`, `h`, `m` or `s`, units from
/// largest to smallest and each at most once, up to [`MAX_SECONDS`]. The
/// error says what is wrong, quoting the text (shortened when pathological).
///
/// ```
/// assert_eq!(kflow::duration::parse("1h30m"), Ok(5400));
/// assert!(kflow::duration::parse("90").is_err());
/// assert!(kflow::duration::parse("30m1h").is_err());
/// ```
pub fn parse(text: &str) -> Result<u64, String> {
    let bytes = text.as_bytes();
    let shaped = bytes.first().is_some_and(u8::is_ascii_digit)
        && bytes.last().is_some_and(|b| b"dhms".contains(b))
        && !bytes
            .windows(2)
            .any(|w| !w[0].is_ascii_digit() && !w[1].is_ascii_digit());
    if !shaped {
        return Err(format!("`{}` is not a duration", shown(text)));
    }
    parse_shaped(text)
}

/// Reads a duration whose shape (digits, then a unit, repeated) is already
/// known, as the grammar guarantees for a duration token.
pub(crate) fn parse_shaped(text: &str) -> Result<u64, String> {
    let shown = shown(text);
    let mut total: u64 = 0;
    let mut last_rank = usize::MAX;
    let mut digits_start = 0;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() {
            continue;
        }
        let Some(rank) = UNITS.iter().position(|&(u, _)| u == c) else {
            return Err(format!("`{shown}` is not a duration"));
        };
        // Rank 0 is the largest unit; each unit must be smaller than the last.
        if last_rank != usize::MAX && rank <= last_rank {
            return Err(format!(
                "`{shown}` repeats a unit or puts a smaller unit before a larger one"
            ));
        }
        last_rank = rank;
        let amount: u64 = text[digits_start..i]
            .parse()
            .map_err(|_| format!("`{shown}` is too long to be a duration"))?;
        total = amount
            .checked_mul(UNITS[rank].1)
            .and_then(|s| total.checked_add(s))
            .filter(|&s| s <= MAX_SECONDS)
            .ok_or_else(|| format!("`{shown}` is longer than a year"))?;
        digits_start = i + c.len_utf8();
    }
    Ok(total)
}

/// Messages quote the token; a pathological one is shown shortened.
fn shown(text: &str) -> String {
    if text.chars().count() > 24 {
        format!("{}…", text.chars().take(24).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// Formats seconds the way kflow durations are written: `1d2h`, `30m`, `0s`.
///
/// ```
/// assert_eq!(kflow::duration::format(5400), "1h30m");
/// ```
pub fn format(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut rest = seconds;
    for (unit, size) in UNITS {
        if rest >= size {
            out.push_str(&(rest / size).to_string());
            out.push(unit);
            rest %= size;
        }
    }
    out
}

/// A time of day, `minutes` after midnight, as kflow writes it: `21:00`
/// (quiet hours in the checker's messages, the graph and traces).
pub fn format_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Formats a signed number of seconds; negative amounts read as "0s".
pub fn format_signed(seconds: i64) -> String {
    format(seconds.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit_once_largest_first() {
        assert_eq!(parse("0s"), Ok(0));
        assert_eq!(parse("30m"), Ok(1800));
        assert_eq!(parse("1h30m"), Ok(5400));
        assert_eq!(parse("1d12h"), Ok(129_600));
        assert_eq!(parse("2d"), Ok(172_800));
        assert_eq!(parse("365d"), Ok(MAX_SECONDS));
        for bad in [
            "", "30", "90", "m", "1x", "1h 30m", "-1h", "1hm", "h1", "1.5h", " 1h", "1w",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse("366d").is_err());
        assert!(parse("30m1h").is_err());
        assert!(parse("1h1h").is_err());
        assert!(parse("99999999999999999999999s").is_err());
    }

    #[test]
    fn formats_durations_canonically() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(90), "1m30s");
        assert_eq!(format(86_400 + 3_600), "1d1h");
        assert_eq!(format(2 * 86_400), "2d");
        assert_eq!(format_signed(-5), "0s");
    }

    #[test]
    fn formatting_reads_back() {
        for seconds in [0, 1, 59, 60, 61, 3_599, 3_600, 86_399, 86_400, MAX_SECONDS] {
            assert_eq!(parse(&format(seconds)), Ok(seconds));
        }
    }
}
