//! "Did you mean ...?": one suggester for every misspelling kflow reports,
//! in `.kflow` files and scenario files alike, so the same typo gets the same
//! answer wherever it is made.

/// The candidate closest to `word`, if one is close enough to be a typo:
/// at most one edit (insertion, deletion, substitution or swap of two
/// neighbours) per three characters of `word`, and at least one. Ties go to
/// the shorter candidate, then to the first given.
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
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, c)| (d, c.len()))
        .map(|(_, c)| c)
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
}
