//! The examples in `docs/language.md` are checked, so the reference cannot
//! drift from the checker.
//!
//! Rules for the document (the test enforces each one):
//!
//! - Every fenced block tagged `kflow` is a whole file and is checked.
//! - A block whose first line is `# expect: kflow::area::name` must make the
//!   checker emit that code (other diagnostics may come with it).
//! - A block without that line must check with no diagnostics at all.
//! - The section "Diagnostics" has one `### `code`` heading per code in
//!   [`kflow::Code::ALL`], in the same order.
//! - Every code has at least one `# expect:` example somewhere in the
//!   document. A code that cannot be triggered on purpose is exempt only when
//!   its section carries the marker `<!-- docs-test: untriggerable -->` and it
//!   is listed in [`UNTRIGGERABLE`] (today only `kflow::internal`, which
//!   reports bugs in kflow itself).

use std::collections::BTreeSet;
use std::path::Path;

use kflow::{Code, SourceFile, check_source_with};

/// Codes the document may mark untriggerable instead of giving an example.
const UNTRIGGERABLE: &[Code] = &[Code::Internal];

/// The marker that exempts a code's section from needing an example.
const UNTRIGGERABLE_MARKER: &str = "<!-- docs-test: untriggerable -->";

const EXPECT_PREFIX: &str = "# expect:";

/// One fenced `kflow` block.
struct Block {
    /// 1-based line of the opening fence in the document.
    line: usize,
    /// The code named by its `# expect:` line, if it has one.
    expect: Option<String>,
    /// The block's text, as a file.
    text: String,
    /// The account's templates, from the last ```` ```json templates ````
    /// block of the same section, if there is one.
    templates: Option<String>,
}

/// What the test reads from the document.
struct Doc {
    blocks: Vec<Block>,
    /// The codes of `### `kflow::...`` headings, in order.
    headings: Vec<String>,
    /// Codes whose section carries the untriggerable marker.
    marked_untriggerable: Vec<String>,
}

fn heading_code(line: &str) -> Option<String> {
    let rest = line.strip_prefix("### ")?.trim();
    let code = rest.strip_prefix('`')?.strip_suffix('`')?;
    code.starts_with("kflow::").then(|| code.to_owned())
}

fn read_doc(markdown: &str) -> Doc {
    let mut doc = Doc {
        blocks: Vec::new(),
        headings: Vec::new(),
        marked_untriggerable: Vec::new(),
    };
    // (fence line, info string, lines so far) while inside a fenced block.
    let mut open: Option<(usize, &str, Vec<&str>)> = None;
    // A `json templates` block: the catalogue of the section's examples.
    let mut templates: Option<String> = None;
    for (i, line) in markdown.lines().enumerate() {
        let number = i + 1;
        match open.take() {
            Some((_, "json templates", lines)) if line.trim() == "```" => {
                templates = Some(lines.join("\n"));
            }
            Some((start, info, lines)) if line.trim() == "```" => {
                if info == "kflow" {
                    let expect = lines
                        .first()
                        .and_then(|first| first.trim().strip_prefix(EXPECT_PREFIX))
                        .map(|code| code.trim().to_owned());
                    let mut text = lines.join("\n");
                    text.push('\n');
                    doc.blocks.push(Block {
                        line: start,
                        expect,
                        text,
                        templates: templates.clone(),
                    });
                }
            }
            Some((start, info, mut lines)) => {
                lines.push(line);
                open = Some((start, info, lines));
            }
            None => {
                if let Some(info) = line.trim_start().strip_prefix("```") {
                    open = Some((number, info.trim(), Vec::new()));
                } else if line.starts_with('#') {
                    // A catalogue holds for its own section only.
                    templates = None;
                    if let Some(code) = heading_code(line) {
                        doc.headings.push(code);
                    }
                } else if line.trim() == UNTRIGGERABLE_MARKER {
                    let section = doc.headings.last().cloned().unwrap_or_default();
                    doc.marked_untriggerable.push(section);
                }
            }
        }
    }
    if let Some((start, _, _)) = open {
        panic!("docs/language.md:{start}: this fenced block is never closed");
    }
    doc
}

fn load() -> Doc {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md");
    let markdown = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    read_doc(&markdown)
}

fn all_names() -> Vec<&'static str> {
    Code::ALL.iter().map(|c| c.as_str()).collect()
}

/// The diagnostics of one block, as `code (severity): message` lines.
fn check(text: &str, templates: Option<&str>) -> Vec<(String, String)> {
    let source = SourceFile::new("doc.kflow", text).expect("a doc example fits a SourceFile");
    let templates = templates.map(|json| {
        kflow::catalogue::Catalogue::from_graph_json(json).expect("a ```json templates block reads")
    });
    check_source_with(&source, templates.as_ref())
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.code.as_str().to_owned(),
                format!("{} ({}): {}", d.code, d.severity.as_str(), d.message),
            )
        })
        .collect()
}

#[test]
fn every_kflow_block_checks_as_it_says() {
    let doc = load();
    assert!(
        !doc.blocks.is_empty(),
        "docs/language.md has no ```kflow blocks"
    );
    let names = all_names();
    let mut failures = Vec::new();
    for block in &doc.blocks {
        let found = check(&block.text, block.templates.as_deref());
        let shown = || {
            found
                .iter()
                .map(|(_, line)| format!("    {line}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        match &block.expect {
            Some(code) if !names.contains(&code.as_str()) => failures.push(format!(
                "docs/language.md:{}: `# expect: {code}` names no diagnostic code",
                block.line
            )),
            Some(code) => {
                if !found.iter().any(|(c, _)| c == code) {
                    failures.push(format!(
                        "docs/language.md:{}: expected {code}, the checker said:\n{}",
                        block.line,
                        if found.is_empty() {
                            "    nothing".to_owned()
                        } else {
                            shown()
                        }
                    ));
                }
            }
            None => {
                if !found.is_empty() {
                    failures.push(format!(
                        "docs/language.md:{}: a block without `# expect:` must check clean, the checker said:\n{}",
                        block.line,
                        shown()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} ```kflow blocks in docs/language.md are wrong:\n{}",
        failures.len(),
        doc.blocks.len(),
        failures.join("\n")
    );
}

#[test]
fn the_diagnostics_section_lists_every_code_in_order() {
    let doc = load();
    let names = all_names();
    let headings: Vec<&str> = doc.headings.iter().map(String::as_str).collect();
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !headings.contains(n))
        .collect();
    let unknown: Vec<&str> = headings
        .iter()
        .copied()
        .filter(|h| !names.contains(h))
        .collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/language.md needs one `### `code`` heading per kflow::Code::ALL entry\n  \
         codes without a heading: {missing:?}\n  headings that are no code: {unknown:?}"
    );
    if let Some(i) = (0..names.len()).find(|&i| headings.get(i) != names.get(i)) {
        panic!(
            "docs/language.md lists the codes out of order (or one twice): heading {} is `{}`, \
             kflow::Code::ALL has `{}` there",
            i + 1,
            headings.get(i).copied().unwrap_or("(none)"),
            names[i]
        );
    }
    assert_eq!(headings.len(), names.len(), "a code has two headings");
}

#[test]
fn every_code_has_an_example() {
    let doc = load();
    let covered: BTreeSet<&str> = doc
        .blocks
        .iter()
        .filter_map(|b| b.expect.as_deref())
        .collect();
    let allowed: Vec<&str> = UNTRIGGERABLE.iter().map(|c| c.as_str()).collect();
    let mut failures = Vec::new();
    for marked in &doc.marked_untriggerable {
        if !allowed.contains(&marked.as_str()) {
            failures.push(format!(
                "`{marked}` is marked untriggerable, but only {allowed:?} may be; give it an example"
            ));
        }
    }
    for code in Code::ALL {
        let name = code.as_str();
        let exempt = allowed.contains(&name) && doc.marked_untriggerable.iter().any(|m| m == name);
        if !(covered.contains(name) || exempt) {
            failures.push(format!(
                "`{name}` has no ```kflow example starting with `# expect: {name}`"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "docs/language.md:\n{}",
        failures.join("\n")
    );
}

/// Every `kflow` block in every document under `docs/` that parses is laid
/// out as `kflowc fmt` lays it out (blocks showing a syntax error cannot be
/// formatted and are skipped), so the documents teach the canonical layout.
#[test]
fn every_kflow_block_in_the_docs_is_formatted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut documents: Vec<_> = std::fs::read_dir(&dir)
        .expect("docs/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    documents.sort();
    let mut unformatted = Vec::new();
    let mut formatted_blocks = 0;
    for path in &documents {
        let markdown = std::fs::read_to_string(path).expect("a readable document");
        for block in read_doc(&markdown).blocks {
            let source = SourceFile::new("block.kflow", block.text.as_str()).expect("small");
            if let Ok(out) = kflow::format::format(&source) {
                formatted_blocks += 1;
                if out != block.text {
                    unformatted.push(format!("{}:{}", path.display(), block.line));
                }
            }
        }
    }
    assert!(
        formatted_blocks > 100,
        "only {formatted_blocks} blocks found"
    );
    assert!(
        unformatted.is_empty(),
        "blocks not laid out as `kflowc fmt` would: {unformatted:?}"
    );
}
