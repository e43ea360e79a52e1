//! WhatsApp message templates: what a language code looks like (§3).

/// Whether `s` is a template language code: a two- or three-letter
/// lowercase language, optionally `_` and a two-letter uppercase region
/// (`en`, `en_US`, `fil`, `zh_HK`).
pub fn is_language_code(s: &str) -> bool {
    let (lang, region) = match s.split_once('_') {
        Some((l, r)) => (l, Some(r)),
        None => (s, None),
    };
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes() {
        assert!(is_language_code("en"));
        assert!(is_language_code("en_US"));
        assert!(is_language_code("fil"));
        assert!(!is_language_code("EN_us"));
        assert!(!is_language_code("english"));
    }
}
