//! `kflowc simulate` and `kflowc test` on the real binary: a reviewed
//! timeline snapshot for every scenario in `examples/` and `tests/simulate/`,
//! the JSON document, and the exit codes of passing, failing and malformed
//! scenarios.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kflowc");

/// `kflowc ARGS` in the crate root, so paths print as `examples/...`.
fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("kflowc runs")
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

/// `dir/NAME` for a file found by `insta::glob!`, relative to the crate root.
fn relative(dir: &str, path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a UTF-8 file name");
    format!("{dir}/{name}")
}

fn scenarios_in(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .expect("the directory exists")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| relative(dir, &p))
        .collect();
    names.sort();
    names
}

#[test]
fn every_example_scenario_has_a_reviewed_timeline() {
    insta::glob!("../examples", "*.toml", |path| {
        let scenario = relative("examples", path);
        let output = run(&["simulate", "--scenario", &scenario]);
        assert_eq!(code(&output), 0, "{scenario}: {}", stderr(&output));
        assert_eq!(stderr(&output), "", "{scenario}");
        insta::assert_snapshot!("timeline", stdout(&output));
    });
}

#[test]
fn fixture_timelines() {
    for name in ["no_phone", "still_waiting", "failing"] {
        // Snapshots `fixture_NAME`.
        let scenario = format!("tests/simulate/{name}.toml");
        let output = run(&["simulate", "--scenario", &scenario]);
        assert_eq!(code(&output), 0, "{scenario}: {}", stderr(&output));
        insta::assert_snapshot!(format!("fixture_{name}"), stdout(&output));
    }
}

#[test]
fn every_example_scenario_passes() {
    let output = run(&["test", "examples/"]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let expected: Vec<String> = scenarios_in("examples")
        .iter()
        .map(|s| format!("PASS {s}"))
        .chain([format!(
            "scenarios: {} passed, 0 failed",
            scenarios_in("examples").len()
        )])
        .collect();
    assert_eq!(stdout(&output).lines().collect::<Vec<_>>(), expected);
    assert_eq!(stderr(&output), "");
}

#[test]
fn each_seed_feature_has_a_scenario() {
    let names = scenarios_in("examples");
    for wanted in [
        "examples/booking_cta.opened.toml",
        "examples/booking_cta.delivery_failed.toml",
        "examples/booking_cta.provider_refused.toml",
        "examples/booking_cta.timeout.toml",
        "examples/window_closed_template.window_closed.toml",
        "examples/url_variables.encoded.toml",
    ] {
        assert!(names.iter().any(|n| n == wanted), "{wanted} is missing");
    }
}

#[test]
fn a_failing_expectation_exits_1_with_a_diff() {
    let output = run(&[
        "test",
        "examples/booking_cta.opened.toml",
        "tests/simulate/failing.toml",
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn a_malformed_scenario_exits_2_naming_file_and_key() {
    for command in ["test", "simulate"] {
        let args: &[&str] = if command == "test" {
            &["test", "tests/simulate/malformed.toml"]
        } else {
            &["simulate", "--scenario", "tests/simulate/malformed.toml"]
        };
        let output = run(args);
        assert_eq!(code(&output), 2, "{command}");
        assert!(!stdout(&output).contains("PASS"), "{command}");
        insta::assert_snapshot!(format!("malformed_{command}"), stderr(&output));
    }
}

#[test]
fn a_malformed_scenario_among_others_still_exits_2() {
    let output = run(&[
        "test",
        "tests/simulate/malformed.toml",
        "tests/simulate/failing.toml",
        "examples/booking_cta.opened.toml",
    ]);
    assert_eq!(code(&output), 2);
    let out = stdout(&output);
    assert!(out.contains("FAIL tests/simulate/failing.toml"), "{out}");
    assert!(
        out.contains("PASS examples/booking_cta.opened.toml"),
        "{out}"
    );
    assert!(out.ends_with("scenarios: 1 passed, 1 failed\n"), "{out}");
    assert!(stderr(&output).contains("1 scenario could not be run"));
}

#[test]
fn a_workflow_with_errors_is_reported_as_check_reports_it() {
    let output = run(&[
        "simulate",
        "--scenario",
        "tests/simulate/broken_workflow.toml",
    ]);
    assert_eq!(code(&output), 1);
    let out = stdout(&output);
    assert!(out.contains("kflow::syntax::unexpected"), "{out}");
    assert!(out.contains("tests/cli/syntax_error.kflow:8:31"), "{out}");
    assert_eq!(
        stderr(&output),
        "error: tests/cli/syntax_error.kflow has errors; nothing was simulated\n"
    );

    let output = run(&["test", "tests/simulate/broken_workflow.toml"]);
    assert_eq!(code(&output), 1);
    assert!(
        stdout(&output).starts_with(
            "FAIL tests/simulate/broken_workflow.toml\n  the workflow tests/cli/syntax_error.kflow has errors:\n"
        ),
        "{}",
        stdout(&output)
    );

    let output = run(&[
        "simulate",
        "--format",
        "json",
        "--scenario",
        "tests/simulate/broken_workflow.toml",
    ]);
    assert_eq!(code(&output), 1);
    let report: Value = serde_json::from_slice(&output.stdout).expect("a check JSON report");
    assert_eq!(report["files"][0]["path"], "tests/cli/syntax_error.kflow");
}

#[test]
fn json_is_one_document_with_the_timeline_and_sends() {
    let output = run(&[
        "simulate",
        "--scenario",
        "examples/url_variables.encoded.toml",
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let doc: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["scenario"], "examples/url_variables.encoded.toml");
    assert_eq!(doc["workflow"]["file"], "examples/url_variables.kflow");
    assert_eq!(doc["workflow"]["name"], "Personal booking link");
    assert_eq!(doc["start"], "2026-03-02T09:00:00Z");
    assert_eq!(doc["end_offset"], "+3m");
    assert_eq!(
        doc["sends"][0]["outbound"]["message"]["url"],
        "https://www.example.com/book/s%C3%A3o%20paulo%2Fcentro?name=Jo%C3%A3o%20S%C3%A1%20%26%20Filhos&calendar=dr%20lee%26co"
    );
    assert_eq!(doc["sends"][0]["result"]["message_id"], "msg-1");
    let actions: Vec<&str> = doc["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["action"].as_str().expect("a string"))
        .collect();
    assert_eq!(actions, ["cta", "tag opened-personal-link"]);
    assert_eq!(doc["path"], serde_json::json!(["window_open", "opened"]));
    assert_eq!(doc["costs"]["sends"][0]["billing"], "free_service");
    assert_eq!(doc["costs"]["whatsapp_free"], 1);
    assert_eq!(
        doc["costs"]["whatsapp_billed"],
        serde_json::json!({"marketing": 0, "utility": 0})
    );
    let timeline = doc["timeline"].as_array().expect("a timeline");
    assert_eq!(timeline[0]["source"], "scenario");
    assert_eq!(timeline[0]["event"]["what"], "reply");
    let opened = timeline
        .iter()
        .find(|e| e["event"]["what"] == "link_opened")
        .expect("the link-opened event");
    assert_eq!(opened["event"]["message"], "last");
    assert_eq!(opened["event"]["message_id"], "msg-1");
    assert_eq!(opened["offset_seconds"], 180);
    assert!(
        timeline
            .iter()
            .any(|e| e["source"] == "engine" && e["trace"]["kind"]["what"] == "ended")
    );
    assert_eq!(doc["waiting"], 0);
}

#[test]
fn the_file_on_the_command_line_overrides_the_scenarios_workflow() {
    let output = run(&[
        "simulate",
        "examples/card.kflow",
        "--scenario",
        "examples/booking_cta.opened.toml",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("workflow  \"card\" (examples/card.kflow)"),
        "{out}"
    );
    assert!(out.contains("body    \"Pick a slot\""), "{out}");
}

#[test]
fn usage_problems_exit_2() {
    for (args, message) in [
        (
            &["simulate", "--scenario", "tests/simulate/missing.toml"][..],
            "error: tests/simulate/missing.toml: cannot read the scenario",
        ),
        (
            &[
                "simulate",
                "nope.kflow",
                "--scenario",
                "examples/booking_cta.opened.toml",
            ][..],
            "error: cannot read nope.kflow",
        ),
        (
            &["test", "tests/cli"][..],
            "error: no scenarios with an [expect] table found in tests/cli",
        ),
        (
            &["test", "tests/nowhere"][..],
            "error: cannot read tests/nowhere",
        ),
    ] {
        let output = run(args);
        assert_eq!(code(&output), 2, "{args:?}");
        assert!(
            stderr(&output).starts_with(message),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

/// A utility template sent a day after the reply is billed; the SMS of a
/// fallback is billed by its segments.
#[test]
fn simulate_json_bills_what_was_sent_when_it_was_sent() {
    let cost = |scenario: &str| {
        let output = run(&["simulate", "--scenario", scenario, "--format", "json"]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let doc: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
        doc["costs"].clone()
    };
    let closed = cost("examples/window_closed_template.window_closed.toml");
    let billings: Vec<&str> = closed["sends"]
        .as_array()
        .expect("sends")
        .iter()
        .map(|s| s["billing"].as_str().expect("a billing"))
        .collect();
    assert_eq!(billings, ["free_service", "utility"]);
    assert_eq!(closed["whatsapp_billed"]["utility"], 1);
    let reopened = cost("examples/window_closed_template.reopened.toml");
    assert_eq!(reopened["whatsapp_billed"]["utility"], 0, "{reopened:#}");
    let sms = cost("examples/booking_cta.timeout.toml");
    assert_eq!(sms["sms_segments"], 1, "{sms:#}");
}
