//! End-to-end tests of `kflowc build`: the real binary, run in the crate
//! root on the examples and on the `tests/cli/` fixtures.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use kflow::ir::{FORMAT_VERSION, Program};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kflowc");

const CARD: &str = "examples/card.kflow";
const SYNTAX_ERROR: &str = "tests/cli/syntax_error.kflow";

/// `kflowc ARGS` in the crate root with NO_COLOR set and no stdin.
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

fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
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
        .write_all(stdin.as_bytes())
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

/// A fresh scratch directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_build")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// The names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// What the library compiles the file to.
fn compiled(path: &str) -> Program {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("readable");
    let source = kflow::SourceFile::new(path, text).expect("small");
    kflow::compile(&source).expect("compiles")
}

#[test]
fn success_writes_the_ir_as_json_to_stdout() {
    let output = run(&["build", CARD]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let json: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(json["format_version"], FORMAT_VERSION);
    assert_eq!(json["source"], CARD);
    assert_eq!(json["nodes"][1]["op"]["op"], "send_cta");
    // Exactly the library's IR, pretty-printed, with a final newline.
    let program: Program = serde_json::from_slice(&output.stdout).expect("an IR");
    assert_eq!(program, compiled(CARD));
    let expected = serde_json::to_string_pretty(&program).expect("serializes") + "\n";
    assert_eq!(stdout(&output), expected);
}

#[test]
fn dash_o_writes_the_file_and_nothing_else() {
    let dir = scratch("dash_o");
    let out = dir.join("card.json");
    let output = run(&["build", CARD, "-o", out.to_str().expect("UTF-8 path")]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), "");
    let program: Program =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("an IR");
    assert_eq!(program, compiled(CARD));
    // No temporary file is left behind.
    assert_eq!(listing(&dir), ["card.json"]);
}

#[test]
fn dash_o_replaces_an_existing_file() {
    let dir = scratch("replace");
    let out = dir.join("card.json");
    std::fs::write(&out, "old").expect("written");
    let output = run(&["build", CARD, "--output", out.to_str().expect("UTF-8 path")]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = std::fs::read_to_string(&out).expect("written");
    assert!(text.starts_with('{') && text.ends_with("}\n"), "{text}");
    assert_eq!(listing(&dir), ["card.json"]);
}

#[test]
fn dash_o_dash_is_stdout() {
    let output = run(&["build", CARD, "-o", "-"]);
    assert_eq!(code(&output), 0);
    let program: Program = serde_json::from_slice(&output.stdout).expect("an IR");
    assert_eq!(program, compiled(CARD));
}

#[test]
fn errors_exit_1_print_like_check_and_write_nothing() {
    let dir = scratch("errors");
    let out = dir.join("bad.json");
    let output = run(&[
        "build",
        SYNTAX_ERROR,
        "-o",
        out.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
    // The reports are check's human reports, on stderr, then one line.
    let check = run(&["check", SYNTAX_ERROR]);
    assert_eq!(
        stderr(&output),
        format!(
            "{}error: {SYNTAX_ERROR} not built: 1 error\n",
            stdout(&check)
        )
    );
}

#[test]
fn errors_leave_an_existing_output_alone() {
    let dir = scratch("keep");
    let out = dir.join("bad.json");
    std::fs::write(&out, "previous build").expect("written");
    let output = run(&[
        "build",
        SYNTAX_ERROR,
        "-o",
        out.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(code(&output), 1);
    assert_eq!(
        std::fs::read_to_string(&out).expect("still there"),
        "previous build"
    );
}

#[test]
fn errors_on_stdout_build_print_nothing_on_stdout() {
    let output = run(&["build", SYNTAX_ERROR]);
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).contains("kflow::syntax::unexpected"));
}

#[test]
fn warnings_are_printed_but_do_not_fail_the_build() {
    // An http:// link is accepted with a warning (kflow::cta::insecure_url).
    let source = r#"on reply whatsapp < if window.open < cta < header text "Hi" body "Pick a slot" url "http://www.example.com/book" button "Book now" timeout 1h > > >"#;
    let output = run_with_stdin(&["build", "-", "--stdin-name", "warn.kflow"], source);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("kflow::cta::insecure_url"), "{err}");
    assert!(err.ends_with("warn.kflow: 1 warning\n"), "{err}");
    let json: Value = serde_json::from_slice(&output.stdout).expect("stdout is only the IR");
    assert_eq!(json["format_version"], FORMAT_VERSION);
}

#[test]
fn stdin_is_read_with_dash_and_named_by_stdin_name() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(CARD))
        .expect("readable");
    let output = run_with_stdin(&["build", "-", "--stdin-name", "flows/card.kflow"], &text);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["source"], "flows/card.kflow");
    assert_eq!(json["workflow"], "card");

    let output = run_with_stdin(&["build", "-"], &text);
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["source"], "<stdin>");
}

#[test]
fn a_missing_file_exits_2() {
    let dir = scratch("missing");
    let out = dir.join("out.json");
    let output = run(&[
        "build",
        "tests/cli/no_such_file.kflow",
        "-o",
        out.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(code(&output), 2);
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(
        err.starts_with("error: cannot read tests/cli/no_such_file.kflow: "),
        "{err}"
    );
    assert!(listing(&dir).is_empty());
}

#[test]
fn a_file_that_is_not_utf8_exits_2() {
    let dir = scratch("not_utf8");
    let input = dir.join("latin1.kflow");
    std::fs::write(&input, b"on reply sms < sms \"ol\xe1\" >").expect("written");
    let output = run(&["build", input.to_str().expect("UTF-8 path")]);
    assert_eq!(code(&output), 2);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("is not valid UTF-8: first invalid byte at offset 22"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unwritable_output_exits_2_and_leaves_nothing_behind() {
    let dir = scratch("unwritable");
    let out = dir.join("no_such_dir").join("out.json");
    let output = run(&["build", CARD, "-o", out.to_str().expect("UTF-8 path")]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).starts_with("error: cannot write "),
        "{}",
        stderr(&output)
    );
    assert!(listing(&dir).is_empty());

    // A directory in the way: the rename fails, the temporary file goes.
    let blocked = dir.join("blocked.json");
    std::fs::create_dir(&blocked).expect("created");
    std::fs::write(blocked.join("keep"), "x").expect("written");
    let output = run(&["build", CARD, "-o", blocked.to_str().expect("UTF-8 path")]);
    assert_eq!(code(&output), 2);
    assert_eq!(listing(&dir), ["blocked.json"]);
}

#[test]
fn the_source_file_is_never_overwritten() {
    let dir = scratch("overwrite");
    let input = dir.join("card.kflow");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(CARD), &input).expect("copied");
    let before = std::fs::read(&input).expect("readable");
    let path = input.to_str().expect("UTF-8 path");
    let output = run(&["build", path, "-o", path]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("refusing"), "{}", stderr(&output));
    assert_eq!(std::fs::read(&input).expect("readable"), before);
}

#[test]
fn build_needs_exactly_one_file() {
    assert_eq!(code(&run(&["build"])), 2);
    assert_eq!(code(&run(&["build", CARD, CARD])), 2);
}

#[test]
fn every_example_builds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut built = 0;
    for entry in std::fs::read_dir(&dir).expect("examples") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "kflow") {
            continue;
        }
        let name = format!(
            "examples/{}",
            path.file_name().expect("a name").to_string_lossy()
        );
        let output = run(&["build", &name]);
        assert_eq!(code(&output), 0, "{name}: {}", stderr(&output));
        let program: Program = serde_json::from_slice(&output.stdout).expect("an IR");
        assert_eq!(program, compiled(&name), "{name}");
        built += 1;
    }
    assert!(built > 0);
}

/// `-o` paths that are not plain files: standard output, devices, FIFOs and
/// symbolic links (issue 9: renaming over `/dev/stdout` replaced it).
///
/// The tests that name `/dev/stdout` and `/dev/null` themselves first run the
/// binary on a scratch link to the same device: a binary that still renames
/// over its output path then replaces only that link, and the test fails
/// before the real device is touched. Should the device still be replaced (it
/// can only be as root), the test puts it back before failing.
#[cfg(unix)]
mod output_paths {
    use super::*;
    use std::fs::{self, File, OpenOptions};
    use std::io::Read as _;
    use std::os::unix::fs::{FileTypeExt as _, symlink};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    /// How long a FIFO test waits for either end before it fails.
    const PATIENCE: Duration = Duration::from_secs(20);

    /// The exact text `kflowc build CARD` writes.
    fn card_json() -> String {
        serde_json::to_string_pretty(&compiled(CARD)).expect("serializes") + "\n"
    }

    fn utf8(path: &Path) -> &str {
        path.to_str().expect("UTF-8 path")
    }

    fn is_symlink(path: &Path) -> bool {
        fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
    }

    /// Runs `kflowc build CARD -o <a scratch link to device>` and checks
    /// that the link survived: the canary for the tests that write the device
    /// itself.
    fn canary(name: &str, device: &str) -> Output {
        let dir = scratch(name);
        let link = dir.join("link");
        symlink(device, &link).expect("symlink");
        let output = run(&["build", CARD, "-o", utf8(&link)]);
        assert!(
            is_symlink(&link),
            "kflowc replaced a link to {device} with a file; not trying {device} itself"
        );
        assert_eq!(listing(&dir), ["link"], "a temporary file was left behind");
        output
    }

    #[test]
    fn dev_stdout_is_standard_output() {
        // Through a link to it (the path a shell script might pass on)...
        let output = canary("dev_stdout", "/dev/stdout");
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert_eq!(stdout(&output), card_json());

        // ...and by its own name.
        let before = fs::symlink_metadata("/dev/stdout").expect("/dev/stdout exists");
        let output = run(&["build", CARD, "-o", "/dev/stdout"]);
        let after = fs::symlink_metadata("/dev/stdout").expect("/dev/stdout exists");
        if before.file_type().is_symlink() && after.file_type().is_file() {
            let _ = fs::remove_file("/dev/stdout");
            let _ = symlink("/proc/self/fd/1", "/dev/stdout");
            panic!("kflowc replaced /dev/stdout with a regular file (now restored)");
        }
        assert_eq!(after.file_type(), before.file_type());
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert_eq!(stdout(&output), card_json());
        assert_eq!(stderr(&output), "");
    }

    #[test]
    fn dev_stdout_appends_where_the_shell_said() {
        // `kflowc build CARD -o /dev/stdout >> log`: opening /dev/stdout anew
        // would start at offset 0 and overwrite "previous"; replacing it
        // atomically would drop it.
        let dir = scratch("append");
        let log = dir.join("log");
        fs::write(&log, "previous\n").expect("written");
        let link = dir.join("stdout");
        symlink("/dev/stdout", &link).expect("symlink");
        let appending = OpenOptions::new().append(true).open(&log).expect("opened");
        let output = kflowc(&["build", CARD, "-o", utf8(&link)])
            .stdout(appending)
            .output()
            .expect("kflowc runs");
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert!(is_symlink(&link));
        assert_eq!(
            fs::read_to_string(&log).expect("readable"),
            format!("previous\n{}", card_json())
        );
        assert_eq!(listing(&dir), ["log", "stdout"]);
    }

    #[test]
    fn dev_null_stays_a_device() {
        let output = canary("dev_null", "/dev/null");
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert_eq!(stdout(&output), "");

        let output = run(&["build", CARD, "-o", "/dev/null"]);
        let after = fs::symlink_metadata("/dev/null").expect("/dev/null exists");
        if after.file_type().is_file() {
            let _ = fs::remove_file("/dev/null");
            let _ = Command::new("mknod")
                .args(["-m", "666", "/dev/null", "c", "1", "3"])
                .status();
            panic!("kflowc replaced /dev/null with a regular file (restore attempted)");
        }
        assert!(after.file_type().is_char_device());
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert_eq!(stdout(&output), "");
        assert_eq!(stderr(&output), "");
    }

    #[test]
    fn a_fifo_is_written_not_replaced() {
        let dir = scratch("fifo");
        let fifo = dir.join("out.fifo");
        let made = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());

        // The reader: opening a FIFO waits for a writer, so it gets a thread.
        let (sender, received) = mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let read = File::open(&path).and_then(|mut f| f.read_to_string(&mut text));
            let _ = sender.send(read.map(|_| text));
        });
        let mut child = kflowc(&["build", CARD, "-o", utf8(&fifo)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kflowc runs");

        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("waitable") {
                break status;
            }
            if start.elapsed() > PATIENCE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("kflowc did not finish writing the FIFO in {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let output = child.wait_with_output().expect("kflowc finished");
        assert_eq!(status.code(), Some(0), "{}", stderr(&output));
        assert_eq!(stdout(&output), "");
        let text = received
            .recv_timeout(PATIENCE)
            .expect("the reader finished")
            .expect("the FIFO was readable");
        assert_eq!(text, card_json());
        let kind = fs::symlink_metadata(&fifo)
            .expect("still there")
            .file_type();
        assert!(kind.is_fifo(), "{kind:?}");
        assert_eq!(listing(&dir), ["out.fifo"]);
    }

    #[test]
    fn a_link_to_a_file_keeps_pointing_at_the_new_content() {
        let dir = scratch("link");
        let real_dir = dir.join("real");
        let link_dir = dir.join("links");
        fs::create_dir_all(&real_dir).expect("created");
        fs::create_dir_all(&link_dir).expect("created");
        fs::write(real_dir.join("card.json"), "old").expect("written");
        let link = link_dir.join("card.json");
        symlink("../real/card.json", &link).expect("symlink");

        let output = run(&["build", CARD, "-o", utf8(&link)]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert_eq!(stdout(&output), "");
        assert!(is_symlink(&link), "the link was replaced");
        assert_eq!(
            fs::read_link(&link).expect("a link"),
            Path::new("../real/card.json")
        );
        assert_eq!(
            fs::read_to_string(real_dir.join("card.json")).expect("readable"),
            card_json()
        );
        // The temporary file was made (and renamed) next to the real file.
        assert_eq!(listing(&real_dir), ["card.json"]);
        assert_eq!(listing(&link_dir), ["card.json"]);
    }

    #[test]
    fn a_link_to_nothing_gets_its_file_created() {
        let dir = scratch("dangling");
        let link = dir.join("card.json");
        symlink("built.json", &link).expect("symlink");
        let output = run(&["build", CARD, "-o", utf8(&link)]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert!(is_symlink(&link), "the link was replaced");
        assert_eq!(
            fs::read_to_string(dir.join("built.json")).expect("created"),
            card_json()
        );
        assert_eq!(listing(&dir), ["built.json", "card.json"]);
    }

    #[test]
    fn a_directory_is_refused_untouched() {
        let dir = scratch("directory");
        let out = dir.join("out");
        fs::create_dir(&out).expect("created");
        let output = run(&["build", CARD, "-o", utf8(&out)]);
        assert_eq!(code(&output), 2);
        assert!(
            stderr(&output).starts_with("error: cannot write "),
            "{}",
            stderr(&output)
        );
        assert!(listing(&out).is_empty());
        assert_eq!(listing(&dir), ["out"]);
    }
}
