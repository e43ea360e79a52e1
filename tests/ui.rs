//! One small program per diagnostic code under `tests/ui/`, named after the
//! code it must produce (`cta_body_length.kflow` -> `kflow::cta::body_length`;
//! a suffix such as `_else` marks another case of the same code). Each file
//! must emit its code, and its rendered report is pinned by an insta snapshot.
//! A `STEM.templates.json` beside a file is the account's template catalogue
//! it is checked against (the `kflow::template::*` codes that need one).

use std::path::Path;

use kflow::{Code, SourceFile};

/// The code a file name promises: the longest code whose `area_name` form
/// starts the file stem.
fn expected_code(stem: &str) -> Option<Code> {
    Code::ALL
        .iter()
        .copied()
        .filter(|c| {
            let flat = c.as_str().trim_start_matches("kflow::").replace("::", "_");
            stem == flat || stem.starts_with(&format!("{flat}_"))
        })
        .max_by_key(|c| c.as_str().len())
}

#[test]
fn every_ui_file_emits_its_code_and_matches_its_snapshot() {
    insta::glob!("ui/*.kflow", |path: &Path| {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let code = expected_code(stem)
            .unwrap_or_else(|| panic!("{stem}: no diagnostic code matches this file name"));
        let bytes = std::fs::read(path).expect("read ui file");
        let text = String::from_utf8(bytes).expect("ui files are UTF-8");
        let name = format!("tests/ui/{stem}.kflow");
        let source = SourceFile::new(name, text).expect("small file");
        // A file may come with the account's templates beside it.
        let templates = std::fs::read_to_string(path.with_extension("templates.json"))
            .ok()
            .map(|json| kflow::catalogue::Catalogue::from_graph_json(&json).expect("a catalogue"));
        let checked = kflow::check_source_with(&source, templates.as_ref());
        let codes: Vec<&str> = checked
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        assert!(
            codes.contains(&code.as_str()),
            "{stem}: expected {code}, got {codes:?}"
        );
        insta::assert_snapshot!(kflow::report::human::render_plain(
            &checked.diagnostics,
            &source
        ));
    });
}

#[test]
fn every_code_has_a_ui_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let stems: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/ui exists")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.path()
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_owned)
        })
        .collect();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|&&c| c != Code::Internal)
        .filter(|&&c| !stems.iter().any(|s| expected_code(s) == Some(c)))
        .map(|c| c.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a tests/ui file: {missing:?}"
    );
}
