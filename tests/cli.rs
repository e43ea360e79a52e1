//! End-to-end tests of `kflowc check`: the real binary on fixtures in
//! `tests/cli/`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kflowc");

/// `kflowc ARGS` in the crate root, so fixture paths print as
/// `tests/cli/...` everywhere; NO_COLOR is set unless a test overrides it.
fn kflowc(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

fn run(args: &[&str]) -> Output {
    kflowc(args).output().expect("kflowc runs")
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = kflowc(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kflowc runs");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin)
        .expect("stdin written");
    child.wait_with_output().expect("kflowc finishes")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

/// The `path` of every file in a JSON report.
fn json_paths(report: &Value) -> Vec<String> {
    report["files"]
        .as_array()
        .expect("files is an array")
        .iter()
        .map(|f| f["path"].as_str().expect("path is a string").to_owned())
        .collect()
}

/// A fresh scratch directory for files that should not be committed.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

const SYNTAX_ERROR: &str = "tests/cli/syntax_error.kflow";

#[test]
fn clean_file_exits_0() {
    let output = run(&["check", "tests/cli/clean.kflow"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), "checked 1 file: no problems\n");
}

#[test]
fn syntax_error_exits_1() {
    let output = run(&["check", SYNTAX_ERROR]);
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).contains("kflow::syntax::unexpected"));
    assert_eq!(stderr(&output), "checked 1 file: 1 error\n");
}

#[test]
fn human_output_snapshot() {
    let output = run(&["check", SYNTAX_ERROR]);
    assert_eq!(code(&output), 1);
    insta::assert_snapshot!("human_syntax_error", stdout(&output));
}

#[test]
fn human_output_has_no_escape_codes_with_no_color() {
    let output = run(&["check", SYNTAX_ERROR, "tests/cli/clean.kflow"]);
    assert!(!output.stdout.contains(&0x1b), "{}", stdout(&output));
    assert!(!output.stderr.contains(&0x1b), "{}", stderr(&output));
}

#[test]
fn human_header_column_counts_characters() {
    // `bogus` follows `olá`, whose `á` is two bytes: character column 31.
    let output = run(&["check", SYNTAX_ERROR]);
    assert!(
        stdout(&output).contains("[tests/cli/syntax_error.kflow:8:31]"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn directory_recursion_finds_nested_kflow_files_only() {
    let output = run(&["check", "--format", "json", "tests/cli/tree"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(
        json_paths(&report),
        [
            "tests/cli/tree/a.kflow",
            "tests/cli/tree/nested/b.kflow",
            "tests/cli/tree/nested/deeper/c.kflow",
            "tests/cli/tree/z.kflow",
        ]
    );
    assert_eq!(report["summary"]["files"], 4);
}

#[test]
fn paths_keep_command_line_order_and_duplicates_are_checked_once() {
    let output = run(&[
        "check",
        "--format",
        "json",
        "tests/cli/tree/z.kflow",
        "tests/cli/tree",
        "tests/cli/clean.kflow",
    ]);
    assert_eq!(
        json_paths(&json(&output)),
        [
            "tests/cli/tree/z.kflow",
            "tests/cli/tree/a.kflow",
            "tests/cli/tree/nested/b.kflow",
            "tests/cli/tree/nested/deeper/c.kflow",
            "tests/cli/clean.kflow",
        ]
    );
}

#[cfg(unix)]
#[test]
fn symlinked_directories_are_not_followed() {
    let dir = scratch("symlinks");
    std::fs::create_dir(dir.join("real")).expect("mkdir");
    std::fs::write(dir.join("real/x.kflow"), "on reply sms < sms \"Hi\" >\n").expect("write");
    std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).expect("symlink");
    std::os::unix::fs::symlink(dir.join("real/x.kflow"), dir.join("y.kflow")).expect("symlink");
    let dir_arg = dir.to_str().expect("UTF-8 temp path");
    let output = run(&["check", "--format", "json", dir_arg]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        json_paths(&json(&output)),
        [
            format!("{dir_arg}/real/x.kflow"),
            format!("{dir_arg}/y.kflow")
        ]
    );
}

#[test]
fn stdin_with_stdin_name() {
    let source =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(SYNTAX_ERROR)).expect("fixture");
    let output = run_with_stdin(
        &[
            "check",
            "--format",
            "json",
            "--stdin-name",
            "flows/in.kflow",
            "-",
        ],
        &source,
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(json_paths(&report), ["flows/in.kflow"]);
    assert_eq!(report["diagnostics"][0]["file"], "flows/in.kflow");

    let output = run_with_stdin(&["check", "-"], &source);
    assert_eq!(code(&output), 1);
    assert!(
        stdout(&output).contains("[<stdin>:8:31]"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn json_report() {
    let output = run(&[
        "check",
        "--format",
        "json",
        SYNTAX_ERROR,
        "tests/cli/clean.kflow",
    ]);
    assert_eq!(code(&output), 1);
    assert_eq!(stderr(&output), "", "json runs print no summary");
    let report = json(&output);
    assert_eq!(report["version"], 1);
    assert_eq!(json_paths(&report), [SYNTAX_ERROR, "tests/cli/clean.kflow"]);
    assert_eq!(report["files"][0]["errors"], 1);
    assert_eq!(report["files"][0]["warnings"], 0);
    assert_eq!(report["files"][1]["errors"], 0);
    assert_eq!(
        report["summary"],
        serde_json::json!({"files": 2, "errors": 1, "warnings": 0})
    );

    let diagnostics = report["diagnostics"]
        .as_array()
        .expect("diagnostics is an array");
    assert_eq!(diagnostics.len(), 1);
    let d = &diagnostics[0];
    assert_eq!(d["file"], SYNTAX_ERROR);
    assert_eq!(d["code"], "kflow::syntax::unexpected");
    assert_eq!(d["severity"], "error");
    assert!(d["message"].as_str().expect("message").contains("`bogus`"));
    assert!(d["help"].is_string());
    let label = &d["labels"][0];
    assert_eq!(label["primary"], true);
    // Line 8 starts at byte 124. `bogus` is 30 characters but 31 bytes into
    // it (after the two-byte `á`): column 31, offset 124 + 31.
    assert_eq!(
        label["start"],
        serde_json::json!({"line": 8, "column": 31, "offset": 155})
    );
    assert_eq!(
        label["end"],
        serde_json::json!({"line": 8, "column": 36, "offset": 160})
    );
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SYNTAX_ERROR))
        .expect("fixture");
    assert_eq!(&text[155..160], "bogus");
}

#[test]
fn json_report_of_clean_files() {
    let output = run(&["check", "--format", "json", "tests/cli/clean.kflow"]);
    assert_eq!(code(&output), 0);
    let report = json(&output);
    assert_eq!(report["diagnostics"], serde_json::json!([]));
    assert_eq!(
        report["summary"],
        serde_json::json!({"files": 1, "errors": 0, "warnings": 0})
    );
}

#[test]
fn github_report() {
    let output = run(&[
        "check",
        "--format",
        "github",
        SYNTAX_ERROR,
        "tests/cli/clean.kflow",
    ]);
    assert_eq!(code(&output), 1);
    assert_eq!(
        stdout(&output),
        "::error file=tests/cli/syntax_error.kflow,line=8,col=31,endLine=8,endColumn=36,\
         title=kflow%3A%3Asyntax%3A%3Aunexpected::expected a statement (`cta`, `whatsapp`, \
         `template`, `sms`, `email`, `if`, `wait`, `await`, `tag`, `untag`, `stop`), `>` or `on`, \
         found `bogus` — help: see docs/language.md for the statements kflow knows\n"
    );
}

#[test]
fn invalid_utf8_exits_2_and_names_the_file() {
    let dir = scratch("utf8");
    let bad = dir.join("bad.kflow");
    std::fs::write(&bad, b"workflow \"caf\xe9\"\n").expect("write");
    let bad = bad.to_str().expect("UTF-8 temp path");
    // Other files are still checked, and I/O problems win over errors.
    let output = run(&["check", bad, SYNTAX_ERROR]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(err.contains(bad), "{err}");
    assert!(err.contains("not valid UTF-8"), "{err}");
    assert!(err.contains("offset 13"), "{err}");
    assert!(stdout(&output).contains("kflow::syntax::unexpected"));
    assert!(
        err.contains("checked 1 file: 1 error; 1 path could not be read"),
        "{err}"
    );
}

#[test]
fn invalid_utf8_on_stdin_exits_2() {
    let output = run_with_stdin(&["check", "--stdin-name", "piped.kflow", "-"], b"\xff");
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("piped.kflow is not valid UTF-8"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn missing_file_exits_2() {
    let output = run(&[
        "check",
        "tests/cli/does_not_exist.kflow",
        "tests/cli/clean.kflow",
    ]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(err.contains("tests/cli/does_not_exist.kflow"), "{err}");
    assert!(
        err.contains("checked 1 file; 1 path could not be read"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(code(&run(&["check"])), 2);
    assert_eq!(
        code(&run(&["check", "--format", "xml", "tests/cli/clean.kflow"])),
        2
    );
    assert_eq!(code(&run(&["frobnicate"])), 2);
}

#[test]
fn warnings_exit_0_without_deny_warnings() {
    let output = run(&["check", "tests/cli/no_trigger.kflow"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
}

#[test]
fn deny_warnings_turns_a_warning_into_exit_1() {
    let output = run(&["check", "--format", "json", "tests/cli/no_trigger.kflow"]);
    let report = json(&output);
    assert_eq!(
        report["diagnostics"][0]["code"],
        "kflow::workflow::no_trigger"
    );
    assert_eq!(report["diagnostics"][0]["severity"], "warning");
    assert_eq!(report["summary"]["warnings"], 1);
    assert_eq!(code(&output), 0);

    let output = run(&["check", "--deny-warnings", "tests/cli/no_trigger.kflow"]);
    assert_eq!(code(&output), 1);
    assert_eq!(stderr(&output), "checked 1 file: 1 warning\n");
}

#[test]
fn empty_directory_warns() {
    let dir = scratch("empty");
    let output = run(&["check", dir.to_str().expect("UTF-8 temp path")]);
    assert_eq!(code(&output), 0);
    assert!(
        stderr(&output).contains("no .kflow files found"),
        "{}",
        stderr(&output)
    );
}

#[cfg(unix)]
#[test]
fn broken_symlinks_found_in_a_directory_are_reported() {
    let dir = scratch("broken_symlink");
    std::os::unix::fs::symlink(dir.join("missing.kflow"), dir.join("gone.kflow")).expect("symlink");
    let dir_arg = dir.to_str().expect("UTF-8 temp path");
    let output = run(&["check", dir_arg]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("gone.kflow"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn list_codes_names_every_code_once() {
    let output = run(&["check", "--list-codes"]);
    assert_eq!(code(&output), 0);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), kflow::Code::ALL.len());
    for (line, code) in lines.iter().zip(kflow::Code::ALL) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], code.as_str());
        assert_eq!(fields[1], code.severity().as_str());
        assert!(line.ends_with(code.summary()), "{line}");
    }

    let listing = json(&run(&["check", "--list-codes", "--format", "json"]));
    assert_eq!(listing["version"], 1);
    let codes = listing["codes"].as_array().expect("codes");
    assert_eq!(codes.len(), kflow::Code::ALL.len());
    let body = &codes[kflow::Code::CtaBodyLength as usize];
    assert_eq!(body["code"], "kflow::cta::body_length");
    assert_eq!(body["severity"], "error");
    assert_eq!(body["summary"], "A CTA body over 1024 characters.");
}

#[test]
fn list_codes_takes_no_paths() {
    let output = run(&["check", "--list-codes", "examples"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("cannot be used with"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn costs_list_every_send_with_its_price() {
    let output = run(&["check", "--costs", "examples/booking_cta.kflow"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("costs of examples/booking_cta.kflow:"))
        .collect();
    assert_eq!(table.len(), 6, "{text}");
    assert!(table[1].contains(":9:5") && table[1].contains("cta") && table[1].contains("free"));
    assert!(table[4].contains("template") && table[4].contains("billed by WhatsApp"));
    assert_eq!(table[5].trim(), "4 sends, 1 billed by WhatsApp");

    let refused = run(&["check", "--costs", "--format", "json", "examples"]);
    assert_eq!(code(&refused), 2);
    assert!(stderr(&refused).contains("--costs"));
}

/// The codes of a JSON report.
fn json_codes(report: &Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics is an array")
        .iter()
        .map(|d| d["code"].as_str().expect("a code").to_owned())
        .collect()
}

#[test]
fn templates_json_beside_a_file_or_named_holds_its_templates() {
    let dir = scratch("templates");
    let file = dir.join("reminder.kflow");
    std::fs::write(
        &file,
        "on reply sms < template \"appointment_remainder\" < language \"en_US\" category utility > >\n",
    )
    .expect("write");
    let path = file.to_str().expect("UTF-8 path");
    let catalogue =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/template_unknown.templates.json");
    // Without a catalogue the template is not looked up.
    let alone = run(&["check", "--format", "json", path]);
    assert_eq!(code(&alone), 0, "{}", stderr(&alone));
    // Beside the file, it is found by itself.
    std::fs::copy(&catalogue, dir.join("templates.json")).expect("copy");
    let beside = run(&["check", "--format", "json", path]);
    assert_eq!(code(&beside), 1);
    assert_eq!(json_codes(&json(&beside)), ["kflow::template::unknown"]);
    // Named, it wins; one that does not read is an error that says why.
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"data\": 3}").expect("write");
    let named = run(&[
        "check",
        "--templates",
        broken.to_str().expect("UTF-8"),
        path,
    ]);
    assert_eq!(code(&named), 2, "{}", stderr(&named));
    assert!(
        stderr(&named).contains("broken.json: not a Graph API message_templates answer"),
        "{}",
        stderr(&named)
    );
}
