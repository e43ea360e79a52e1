//! Every file in `examples/` is a workflow authors may copy, so each must
//! check with no diagnostics at all (no errors and no warnings) and be laid
//! out as `kflowc fmt` lays it out. The one-line card from the brief is
//! checked here too, and `examples/card.kflow` is that card, formatted.

use std::path::{Path, PathBuf};

use kflow::source::LineIndex;
use kflow::{SourceFile, check_source};

/// The one-line workflow from the project card, exactly as written there.
const CARD: &str = r#"on reply whatsapp < if window.open < cta < header text "Hi" body "Pick a slot" url "https://www.example.com/book" button "Book now" > > on timeout 30m < sms "Still want a slot?" > >"#;

/// The diagnostics of one source, one per line as `line:col severity code: message`.
fn diagnostics(name: &str, text: &str) -> Vec<String> {
    let source = SourceFile::new(name, text).expect("a small file fits a SourceFile");
    let index = LineIndex::new(text);
    check_source(&source)
        .diagnostics
        .iter()
        .map(|d| {
            let at = index.line_col(text, d.primary_span().start);
            format!(
                "{}:{}:{} {} {}: {}",
                name,
                at.line,
                at.column,
                d.severity.as_str(),
                d.code,
                d.message
            )
        })
        .collect()
}

fn example_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "kflow"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_checks_with_no_diagnostics() {
    let files = example_files();
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    for required in ["booking_cta.kflow", "card.kflow"] {
        assert!(
            names.iter().any(|n| n == required),
            "examples/{required} is missing"
        );
    }
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let name = format!(
            "examples/{}",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        let found = diagnostics(&name, &text);
        if !found.is_empty() {
            failures.push(format!("{name}:\n  {}", found.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples do not check clean:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn the_one_line_card_checks_clean() {
    let found = diagnostics("card.kflow", CARD);
    assert!(
        found.is_empty(),
        "the card's one-liner has diagnostics:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_card_example_is_the_card_formatted() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/card.kflow");
    let text = std::fs::read_to_string(&path).expect("examples/card.kflow is readable");
    let card = kflow::SourceFile::new("card.kflow", CARD).expect("a small file");
    let formatted = kflow::format::format(&card).expect("the card formats");
    assert_eq!(text, formatted, "examples/card.kflow drifted from the card");
}

#[test]
fn every_example_is_formatted() {
    let mut unformatted = Vec::new();
    for path in example_files() {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let source = kflow::SourceFile::new(path.display().to_string(), text.as_str())
            .expect("a small file");
        match kflow::format::format(&source) {
            Ok(formatted) if formatted == text => {}
            Ok(_) => unformatted.push(path.display().to_string()),
            Err(d) => panic!("{} does not format: {d:?}", path.display()),
        }
    }
    assert!(
        unformatted.is_empty(),
        "run `kflowc fmt examples/`: {unformatted:?}"
    );
}
