//! "Did you mean ...?": one suggester for every misspelling kflow reports,
//! in `.kflow` files and scenario files alike, so the same typo gets the same
//! answer wherever it is made.

/// The candidate closest to `word`, if one is close enough to be a typo:
/// at most one edit (insertion, deletion, substitution or swap of two
/// neighbours) per three characters of `word`, and at least one. Ties go to
/// the shorter candidate, then to the first given. Failing that, a word of
/// three or more characters that begins a candidate (`open` for `opened`)
/// is taken as that candidate cut short.
///
/// Damerau-Levenshtein rather than a similarity score: a swapped pair
/// (`frist`) costs one edit, and the limit grows with the word, so short
/// words are not matched to anything at all.
///
/// ```
/// use kflow::platform::suggest::did_you_mean;
/// assert_eq!(did_you_mean("frist_name", ["first_name", "last_name"]), Some("first_name"));
/// assert_eq!(did_you_mean("zzzzzz", ["first_name"]), None);
/// ```
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let length = word.chars().count();
    let limit = (length / 3).max(1);
    let mut nearest: Option<(usize, &str)> = None;
    let mut shortest_extension: Option<&str> = None;
    for candidate in candidates {
        let distance = strsim::damerau_levenshtein(word, candidate);
        if distance <= limit
            && nearest.is_none_or(|(d, c)| (distance, candidate.len()) < (d, c.len()))
        {
            nearest = Some((distance, candidate));
        }
        if length >= 3
            && candidate.starts_with(word)
            && shortest_extension.is_none_or(|c| candidate.len() < c.len())
        {
            shortest_extension = Some(candidate);
        }
    }
    nearest.map(|(_, c)| c).or(shortest_extension)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn short_words_need_a_close_match() {
        assert_eq!(did_you_mean("sms", ["sms", "email"]), Some("sms"));
        assert_eq!(did_you_mean("smss", ["sms", "email"]), Some("sms"));
        assert_eq!(did_you_mean("fax", ["sms", "email"]), None);
        assert_eq!(did_you_mean("", ["sms"]), None);
    }

    #[test]
    fn a_word_cut_short_finds_its_candidate() {
        assert_eq!(
            did_you_mean("open", ["opened", "not_delivered"]),
            Some("opened")
        );
        assert_eq!(did_you_mean("op", ["opened"]), None);
        assert_eq!(
            did_you_mean("deliv", ["delivered", "delivery_failed"]),
            Some("delivered")
        );
    }
}
