//! End-to-end tests of `kflowc fmt`: the real binary on scratch copies.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kflowc");

/// The README's card on one line, and how `kflowc fmt` lays it out.
const ONE_LINE: &str = r#"on reply whatsapp < if window.open < cta < header text "Hi" body "Pick a slot" url "https://www.example.com/book" button "Book now" > > on timeout 30m < sms "Still want a slot?" > >"#;
const LAID_OUT: &str = r#"on reply whatsapp <
  if window.open <
    cta <
      header text "Hi"
      body "Pick a slot"
      url "https://www.example.com/book"
      button "Book now"
    >
  >
  on timeout 30m < sms "Still want a slot?" >
>
"#;

fn kflowc(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

fn run(dir: &Path, args: &[&str]) -> Output {
    kflowc(dir, args).output().expect("kflowc runs")
}

fn run_with_stdin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = kflowc(dir, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kflowc runs");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("kflowc finishes")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_fmt")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("readable")
}

#[test]
fn fmt_rewrites_files_and_leaves_formatted_ones_alone() {
    let dir = scratch("rewrite");
    std::fs::create_dir(dir.join("flows")).expect("subdirectory");
    std::fs::write(dir.join("flows/card.kflow"), ONE_LINE).expect("written");
    std::fs::write(dir.join("flows/done.kflow"), LAID_OUT).expect("written");
    let before = std::fs::metadata(dir.join("flows/done.kflow"))
        .and_then(|m| m.modified())
        .expect("mtime");

    let output = run(&dir, &["fmt", "flows"]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert_eq!(read(&dir.join("flows/card.kflow")), LAID_OUT);
    assert_eq!(
        text(&output.stderr),
        "1 file reformatted, 1 file already formatted\n"
    );
    assert!(output.stdout.is_empty());
    let after = std::fs::metadata(dir.join("flows/done.kflow"))
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(before, after, "an already formatted file was rewritten");

    let again = run(&dir, &["fmt", "flows"]);
    assert_eq!(code(&again), 0);
    assert_eq!(
        text(&again.stderr),
        "0 files reformatted, 2 files already formatted\n"
    );
}

#[test]
fn check_prints_a_diff_and_changes_nothing() {
    let dir = scratch("check");
    std::fs::write(dir.join("card.kflow"), ONE_LINE).expect("written");
    let output = run(&dir, &["fmt", "--check", "card.kflow"]);
    assert_eq!(code(&output), 1);
    let diff = text(&output.stdout);
    assert!(
        diff.starts_with("--- card.kflow\n+++ card.kflow (formatted)\n"),
        "{diff}"
    );
    assert!(diff.contains(&format!("-{ONE_LINE}\n")), "{diff}");
    assert!(diff.contains("+      button \"Book now\"\n"), "{diff}");
    assert_eq!(
        read(&dir.join("card.kflow")),
        ONE_LINE,
        "--check wrote the file"
    );
    assert_eq!(
        text(&output.stderr),
        "1 file would be reformatted, 0 files already formatted\n"
    );

    std::fs::write(dir.join("card.kflow"), LAID_OUT).expect("written");
    let clean = run(&dir, &["fmt", "--check", "card.kflow"]);
    assert_eq!(code(&clean), 0);
    assert!(clean.stdout.is_empty());
}

#[test]
fn standard_input_goes_to_standard_output() {
    let dir = scratch("stdin");
    let output = run_with_stdin(&dir, &["fmt", "-"], ONE_LINE);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), LAID_OUT);
    assert!(output.stderr.is_empty(), "{}", text(&output.stderr));

    let check = run_with_stdin(&dir, &["fmt", "--check", "-"], ONE_LINE);
    assert_eq!(code(&check), 1);
    assert!(text(&check.stdout).starts_with("--- <stdin>\n"));
}

#[test]
fn a_file_with_syntax_errors_is_left_alone() {
    let dir = scratch("syntax");
    let broken = "on reply whatsapp < whatsapp \"Hello >\n";
    std::fs::write(dir.join("broken.kflow"), broken).expect("written");
    std::fs::write(dir.join("card.kflow"), ONE_LINE).expect("written");
    let output = run(&dir, &["fmt", "broken.kflow", "card.kflow"]);
    assert_eq!(code(&output), 1);
    assert_eq!(read(&dir.join("broken.kflow")), broken);
    // The other file is still formatted.
    assert_eq!(read(&dir.join("card.kflow")), LAID_OUT);
    let err = text(&output.stderr);
    assert!(err.contains("kflow::syntax::unterminated_string"), "{err}");
    assert!(
        err.ends_with(
            "1 file reformatted, 0 files already formatted, 1 file with syntax errors left alone\n"
        ),
        "{err}"
    );
}

#[test]
fn unreadable_inputs_exit_2_and_the_rest_is_formatted() {
    let dir = scratch("missing");
    std::fs::write(dir.join("card.kflow"), ONE_LINE).expect("written");
    std::fs::write(dir.join("latin1.kflow"), b"tag \"caf\xe9\"").expect("written");
    let output = run(
        &dir,
        &["fmt", "nowhere.kflow", "latin1.kflow", "card.kflow"],
    );
    assert_eq!(code(&output), 2);
    let err = text(&output.stderr);
    assert!(err.contains("cannot read nowhere.kflow"), "{err}");
    assert!(err.contains("latin1.kflow is not valid UTF-8"), "{err}");
    assert_eq!(read(&dir.join("card.kflow")), LAID_OUT);
}

#[cfg(unix)]
#[test]
fn a_rewritten_file_keeps_its_permissions_and_links_stay_links() {
    use std::os::unix::fs::{PermissionsExt as _, symlink};
    let dir = scratch("permissions");
    let path = dir.join("card.kflow");
    std::fs::write(&path, ONE_LINE).expect("written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    symlink("card.kflow", dir.join("link.kflow")).expect("symlink");
    let output = run(&dir, &["fmt", "link.kflow"]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert_eq!(read(&path), LAID_OUT);
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    assert!(
        std::fs::symlink_metadata(dir.join("link.kflow"))
            .expect("metadata")
            .file_type()
            .is_symlink()
    );
}

#[test]
fn the_examples_are_formatted() {
    let output = run(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["fmt", "--check", "examples/"],
    );
    assert_eq!(code(&output), 0, "{}", text(&output.stdout));
}
