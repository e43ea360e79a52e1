//! Small helpers on single values the reader needs: identifiers, typo
//! suggestions, TOML type names and tidy display paths. Phone numbers and
//! email addresses follow [`crate::platform::address`], as everywhere else.

use std::path::{Path, PathBuf};

use crate::platform::suggest::did_you_mean;

/// ` (did you mean `x`?)` when one of `options` is close to `word`, by the
/// suggester every kflow message uses.
pub(super) fn suggest(word: &str, options: &[&str]) -> String {
    did_you_mean(word, options.iter().copied())
        .map(|o| format!(" (did you mean `{o}`?)"))
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
