//! Small checks on single values the reader needs: phone numbers, email
//! addresses, identifiers, typo suggestions, TOML type names and tidy
//! display paths. Private to the reader, so each can be replaced in one
//! place.

use std::path::{Path, PathBuf};

/// ` (did you mean `x`?)` when one of `options` is close to `word`.
pub(super) fn suggest(word: &str, options: &[&str]) -> String {
    options
        .iter()
        .map(|o| (strsim::jaro_winkler(word, o), o))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| format!(" (did you mean `{o}`?)"))
        .unwrap_or_default()
}

/// How an error names the type of a TOML value.
pub(super) fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "a number",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "true or false",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

/// A field or custom value name: lowercase letters, digits and `_`, not
/// starting with a digit.
pub(super) fn is_ident(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `+` and 7 to 15 digits, the first not 0.
pub(super) fn is_e164(phone: &str) -> bool {
    phone.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Something `@` a domain with a dot, without spaces.
pub(super) fn is_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
    })
}

/// `dir/../flows/a.kflow` as `flows/a.kflow`: `..` after a named directory
/// cancels it, so reports show the path a person would write. Only the text
/// changes; a symlinked directory could make the two differ, which is rare
/// enough for a display path (the file is opened by the tidied path too).
pub(super) fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            Component::ParentDir if matches!(out.last(), Some(Component::RootDir)) => {}
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}
