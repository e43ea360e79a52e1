//! Phone numbers and email addresses, as kflow accepts them everywhere: in
//! `.kflow` literals, scenario files, the service's configuration and the
//! contacts it receives.

/// Fewest digits after the `+` of an E.164 number. The shortest numbers in
/// use are seven digits with their country code (Niue, Tokelau: `+683 4002`).
pub const E164_MIN_DIGITS: usize = 7;
/// Most digits after the `+`: E.164 allows fifteen, country code included.
pub const E164_MAX_DIGITS: usize = 15;

/// Whether `s` is an E.164 number written plainly: `+`, then 7 to 15
/// digits, the first not 0 (no country code starts with 0).
///
/// ```
/// use kflow::platform::address::is_e164;
/// assert!(is_e164("+15550100001"));
/// assert!(is_e164("+6834002"));
/// assert!(!is_e164("15550100001"));   // no `+`
/// assert!(!is_e164("+1 555 0100"));   // formatting characters
/// assert!(!is_e164("+0123456789"));   // country codes never start with 0
/// ```
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (E164_MIN_DIGITS..=E164_MAX_DIGITS).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A number as people write it (`+1 (555) 123-0000`) in plain E.164
/// (`+15551230000`), or `None` when it holds anything but digits, one
/// leading `+` and the formatting characters space, `-`, `(`, `)` and `.`,
/// or is not E.164 once they are dropped.
///
/// ```
/// use kflow::platform::address::normalize_e164;
/// assert_eq!(normalize_e164("+1 (555) 123-0000").as_deref(), Some("+15551230000"));
/// assert_eq!(normalize_e164("+1555abc"), None);
/// ```
pub fn normalize_e164(s: &str) -> Option<String> {
    let formatting_only = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'));
    if !formatting_only {
        return None;
    }
    let plain: String = s
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    is_e164(&plain).then_some(plain)
}

/// Whether `s` looks like an email address: one `@` with a non-empty local
/// part before it and a dotted domain after it, and no whitespace. Deliverability
/// is the provider's to judge; this catches what can never be an address.
///
/// ```
/// use kflow::platform::address::is_email;
/// assert!(is_email("team@example.com"));
/// assert!(!is_email("team@example"));
/// assert!(!is_email("team@@example.com"));
/// assert!(!is_email("team @example.com"));
/// ```
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_digit_counts_at_the_edges() {
        assert!(!is_e164("+123456"));
        assert!(is_e164("+1234567"));
        assert!(is_e164("+123456789012345"));
        assert!(!is_e164("+1234567890123456"));
        assert!(!is_e164("+"));
        assert!(!is_e164(""));
    }

    #[test]
    fn normalizing_keeps_the_same_rule() {
        assert_eq!(
            normalize_e164("+44 7700 900123").as_deref(),
            Some("+447700900123")
        );
        assert_eq!(normalize_e164("15551230000"), None);
        assert_eq!(normalize_e164("+0123"), None);
        assert_eq!(normalize_e164("+12345678901234567"), None);
        assert_eq!(normalize_e164("+1 234"), None);
    }

    #[test]
    fn email_shapes() {
        assert!(is_email("a@b.co"));
        assert!(!is_email("@b.co"));
        assert!(!is_email("a@.co"));
        assert!(!is_email("a@b."));
        assert!(!is_email("ab.co"));
    }
}
