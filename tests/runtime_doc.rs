//! The embedding example in `docs/runtime.md` is the doctest in the module
//! docs of `kflow::runtime`, which `cargo test --doc` compiles and runs; this
//! test keeps the two copies the same, so the page cannot drift from the API.
//! Likewise the scenario example (the page's one ```rust,scenario block) is
//! the doctest in the module docs of `kflow::scenario`.

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of the one fenced block opened by exactly "```rust".
fn markdown_example(markdown: &str) -> Vec<String> {
    // Other Rust blocks on the page are ```rust,ignore (or the scenario
    // example's ```rust,scenario), so exactly one is plain ```rust.
    fenced_block(markdown, "```rust")
}

/// The lines of the "```rust" block in the `//!` docs of a source file.
fn doctest_example(source: &str) -> Vec<String> {
    let docs: Vec<&str> = source
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let start = docs
        .iter()
        .position(|l| *l == "```rust")
        .expect("src/runtime/mod.rs has a ```rust example in its module docs");
    docs[start + 1..]
        .iter()
        .take_while(|l| **l != "```")
        .map(|l| (*l).to_owned())
        .collect()
}

#[test]
fn the_documented_example_is_the_doctest() {
    let doc = markdown_example(&read("docs/runtime.md"));
    let doctest = doctest_example(&read("src/runtime/mod.rs"));
    assert!(doc.len() > 50, "the example is a whole program");
    assert_same(&doc, &doctest, "src/runtime/mod.rs", "example");
}

/// The lines of the one fenced block opened by exactly `opener`.
fn fenced_block(markdown: &str, opener: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if line == opener {
            blocks.push(
                lines
                    .by_ref()
                    .take_while(|l| *l != "```")
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            );
        }
    }
    assert_eq!(
        blocks.len(),
        1,
        "docs/runtime.md must have exactly one {opener} block"
    );
    blocks.remove(0)
}

#[test]
fn the_documented_scenario_example_is_the_doctest() {
    let doc = fenced_block(&read("docs/runtime.md"), "```rust,scenario");
    let doctest = doctest_example(&read("src/scenario/mod.rs"));
    assert!(doc.len() > 30, "the example is a whole test");
    assert_same(&doc, &doctest, "src/scenario/mod.rs", "scenario example");
}

/// Fails, naming the first line that differs, unless the page's copy of an
/// example is the doctest's.
fn assert_same(doc: &[String], doctest: &[String], source: &str, what: &str) {
    if doc != doctest {
        let first = doc
            .iter()
            .zip(doctest)
            .position(|(a, b)| a != b)
            .unwrap_or(doc.len().min(doctest.len()));
        panic!(
            "docs/runtime.md and the module docs of {source} differ at line {} of the {what}:\n  doc:     {:?}\n  doctest: {:?}",
            first + 1,
            doc.get(first),
            doctest.get(first)
        );
    }
}
