//! End-to-end tests of `kflowc diff`: the real binary on versions of the
//! seed workflow.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kflowc");

fn seed() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/booking_cta.kflow"),
    )
    .expect("the seed example")
}

fn diff(old: &str, new: &str) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("old.kflow"), old).expect("written");
    std::fs::write(dir.path().join("new.kflow"), new).expect("written");
    Command::new(BIN)
        .args(["diff", "old.kflow", "new.kflow"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("kflowc runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[test]
fn an_unchanged_place_exits_0() {
    let new = seed().replace("Book now", "Book a visit");
    let output = diff(&seed(), &new);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("old.kflow -> new.kflow: 1 waiting state\n"),
        "{text}"
    );
    assert!(
        text.contains("kept      node 1    waits on a CTA"),
        "{text}"
    );
    assert!(text.ends_with("0 stranded, 0 moved: every waiting run resumes where it should\n"));
}

#[test]
fn a_renumbered_wait_is_moved_and_exits_1() {
    let new = seed().replacen(
        "on reply whatsapp <",
        "on reply whatsapp <\n  tag \"new\"",
        1,
    );
    let output = diff(&seed(), &new);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("moved     node 1"), "{text}");
    assert!(
        text.contains("NEW has it as node 2; runs waiting here resume at node 1, which is `check_window` in NEW"),
        "{text}"
    );
}

#[test]
fn a_removed_cta_is_stranded() {
    let old = seed();
    let start = old.find("    cta \"Booking link\"").expect("the CTA");
    let end = old.find("  > else <").expect("the else");
    let mut new = old.clone();
    new.replace_range(start..end, "    whatsapp \"Call us to book.\"\n");
    let output = diff(&old, &new);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("stranded  node 1"),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).contains("1 stranded, 0 moved"));
}

#[test]
fn a_file_with_errors_is_not_compared() {
    let output = diff(&seed(), "on reply whatsapp < send \"x\" >\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("kflow::syntax::unexpected"));
}
