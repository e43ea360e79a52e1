//! The pipeline runs one way: each module of the library may use only the
//! modules below it. This test reads every source file under `src/` and
//! fails, naming the file and line, when a module reaches up or sideways:
//! the runtime into the parser or checker, the IR into anything but spans,
//! the library into the binary, SQL outside the store, or the library
//! printing. The layering is checked, not hoped for.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Each library module and the modules it may use directly. A module not
/// listed here fails the test, so a new module has to say where it stands.
const LAYERS: &[(&str, &[&str])] = &[
    // Neutral units, below everything.
    ("source", &[]),
    ("duration", &[]),
    // Splitting work over cores, for large files.
    ("parallel", &[]),
    // The platform's rules: below the checker and the runtime alike.
    ("platform", &["duration"]),
    ("diag", &["source"]),
    // Source text -> AST -> diagnostics.
    ("syntax", &["source", "diag", "duration", "parallel"]),
    (
        "check",
        &[
            "source", "diag", "duration", "platform", "syntax", "parallel",
        ],
    ),
    ("report", &["source", "diag"]),
    // The formatter prints the syntax tree again.
    ("format", &["source", "diag", "syntax"]),
    // The IR depends on nothing but spans; lowering is the one bridge from
    // the checked AST to it.
    ("ir", &["source"]),
    ("lower", &["source", "diag", "syntax", "check", "ir"]),
    // Graphs are drawn from the IR.
    ("graph", &["source", "duration", "ir"]),
    // The runtime runs IR: it never sees source syntax or the checker.
    ("runtime", &["source", "duration", "platform", "ir"]),
    // Scenarios compile a file and run it on the runtime.
    (
        "scenario",
        &[
            "source", "diag", "duration", "platform", "syntax", "check", "lower", "ir", "runtime",
            "report",
        ],
    ),
    // The Language Server reads documents as the checker does, and reports
    // diagnostics with the links the other reports use.
    (
        "lsp",
        &[
            "source", "diag", "duration", "platform", "syntax", "check", "format", "report",
        ],
    ),
    // The service's parts, above the runtime.
    ("providers", &["source", "platform", "ir", "runtime"]),
    ("store", &["source", "ir", "runtime"]),
    (
        "server",
        &[
            "source",
            "diag",
            "duration",
            "platform",
            "syntax",
            "check",
            "lower",
            "ir",
            "runtime",
            "report",
            "providers",
            "store",
        ],
    ),
];

/// Names the crate root re-exports, and the module each one comes from.
const ROOT_NAMES: &[(&str, &str)] = &[
    ("SourceFile", "source"),
    ("Span", "source"),
    ("Diagnostic", "diag"),
    ("Code", "diag"),
    ("Severity", "diag"),
    ("Checked", "check"),
    ("check_source", "check"),
    ("costs", "check"),
    ("compile", "lower"),
];

/// External crates only one module may use, and that module.
const OWNED_CRATES: &[(&str, &str)] = &[
    ("rusqlite", "store"),
    ("tokio_postgres", "store"),
    ("deadpool_postgres", "store"),
    ("reqwest", "providers"),
    ("governor", "providers"),
];

struct Source {
    path: PathBuf,
    /// The top-level module the file belongs to (`runtime` for
    /// `src/runtime/engine/step.rs`), or `None` for `src/lib.rs`.
    module: Option<String>,
    /// Each line with comments removed, numbered from 1.
    lines: Vec<(usize, String)>,
}

fn library_sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|p| !p.starts_with(src.join("bin")))
        .map(|path| {
            let relative = path.strip_prefix(&src).expect("under src/");
            let first = relative
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .unwrap_or_default();
            let module = match first {
                "lib.rs" => None,
                other => Some(other.trim_end_matches(".rs").to_owned()),
            };
            let text = fs::read_to_string(&path).expect("readable source");
            // Unit tests may use the whole crate: a file's test module (from
            // its first top-level `#[cfg(test)]` on) and files of tests
            // (`tests.rs`) are not part of its layer.
            let is_tests = path.file_name().is_some_and(|n| n == "tests.rs");
            let lines = text
                .lines()
                .take_while(|line| !is_tests && *line != "#[cfg(test)]")
                .enumerate()
                .map(|(i, line)| (i + 1, code_of(line).to_owned()))
                .collect();
            Source {
                path: relative.to_path_buf(),
                module,
                lines,
            }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a line: without a `//` comment (doc comments included). A
/// `//` inside a string literal (a URL) is kept: the cut is made only at a
/// `//` with an even number of quotes before it.
fn code_of(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut quotes = 0;
    for i in 0..bytes.len() {
        match bytes[i] {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => quotes += 1,
            b'/' if quotes % 2 == 0 && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Every module a line names through `crate::`, including each name of a
/// grouped `use crate::{a::x, b}`.
fn crate_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
            rest = &group[end..];
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
            rest = after;
        }
    }
    out
}

/// The module a `crate::NAME` path lands in.
fn home(name: &str) -> &str {
    ROOT_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(name, |(_, m)| m)
}

#[test]
fn every_library_module_uses_only_the_layers_below_it() {
    let layers: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut problems = Vec::new();
    for source in library_sources() {
        let Some(module) = &source.module else {
            continue;
        };
        let Some(allowed) = layers.get(module.as_str()) else {
            problems.push(format!(
                "src/{}: module `{module}` has no place in LAYERS (tests/layers.rs); add it with what it may use",
                source.path.display()
            ));
            continue;
        };
        for (n, line) in &source.lines {
            for name in crate_paths(line) {
                let target = home(&name);
                if target != module && !allowed.contains(&target) {
                    problems.push(format!(
                        "src/{}:{n}: `{module}` uses `crate::{name}` ({target}), which is not below it",
                        source.path.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn crates_with_an_owner_are_used_only_by_it() {
    let mut problems = Vec::new();
    for source in library_sources() {
        for (krate, owner) in OWNED_CRATES {
            if source.module.as_deref() == Some(*owner) {
                continue;
            }
            for (n, line) in &source.lines {
                if line.contains(&format!("{krate}::")) {
                    problems.push(format!(
                        "src/{}:{n}: uses `{krate}`, which only `{owner}` may use",
                        source.path.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_library_never_prints_and_never_reaches_into_the_binary() {
    let mut problems = Vec::new();
    for source in library_sources() {
        for (n, line) in &source.lines {
            for mac in ["println!", "eprintln!", "print!", "eprint!", "dbg!"] {
                if names_macro(line, mac) {
                    problems.push(format!(
                        "src/{}:{n}: `{mac}` in the library; return the text or log with `tracing`",
                        source.path.display()
                    ));
                }
            }
            if line.contains("#[path") || line.contains("kflowc::") {
                problems.push(format!(
                    "src/{}:{n}: the library reaches into the binary",
                    source.path.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Whether `line` invokes `mac` itself (`print!` is not found in `eprint!`).
fn names_macro(line: &str, mac: &str) -> bool {
    line.match_indices(mac).any(|(at, _)| {
        !line[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn the_reader_sees_paths_and_skips_comments() {
    assert_eq!(
        crate_paths("use crate::ir::{Op, Outcome}; let x = crate::syntax::parse(s);"),
        ["ir", "syntax"]
    );
    assert_eq!(
        crate_paths("use crate::{diag::Code, source::Span};"),
        ["diag", "source"]
    );
    assert_eq!(code_of("let a = 1; // crate::check"), "let a = 1; ");
    assert_eq!(code_of("/// see [`crate::lower`]"), "");
    assert_eq!(
        code_of(r#"let u = "https://x.example/"; // crate::check"#),
        r#"let u = "https://x.example/"; "#
    );
    assert_eq!(home("compile"), "lower");
    assert!(names_macro("eprintln!(\"x\")", "eprintln!"));
    assert!(!names_macro("eprintln!(\"x\")", "println!"));
}
