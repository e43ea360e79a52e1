//! `--format sarif`: every log kflowc writes is valid against the official
//! SARIF 2.1.0 schema (`tests/schemas/sarif-schema-2.1.0.json`, from the
//! OASIS SARIF TC), has the shape GitHub code scanning reads, and says
//! what the JSON report says about the same diagnostics.

use std::path::Path;
use std::process::{Command, Stdio};

use kflow::report::docs::DocsLink;
use kflow::report::{FileReport, json, sarif};
use kflow::{Code, SourceFile, check_source};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kflowc");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `language` pattern as the published schema has it (on `run` and on
/// `toolComponent`): the stray `]` makes it an invalid ECMA-262 regular
/// expression, so a validator that checks the schema itself refuses to
/// compile it. The file is kept exactly as published; the test mends this
/// pattern in memory (kflow never writes `language`, so it decides nothing
/// here).
const BROKEN_LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
const LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$";

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/schemas/sarif-schema-2.1.0.json"))
        .expect("the schema ships with the tests");
    let mut schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    let definitions = schema["definitions"]
        .as_object_mut()
        .expect("the schema has definitions");
    let mut mended = 0;
    for definition in definitions.values_mut() {
        let pattern = definition.pointer_mut("/properties/language/pattern");
        if let Some(pattern) = pattern.filter(|p| *p == BROKEN_LANGUAGE_PATTERN) {
            *pattern = Value::from(LANGUAGE_PATTERN);
            mended += 1;
        }
    }
    assert_eq!(mended, 2, "the schema file changed");
    jsonschema::draft7::new(&schema).expect("the schema compiles")
}

fn assert_valid(log: &Value) {
    let validator = validator();
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid SARIF 2.1.0:\n{}",
        errors.join("\n")
    );
}

/// What GitHub code scanning requires of an upload beyond the schema (its
/// "SARIF support" page): a driver name, rules with ids and short
/// descriptions, and results with a rule, a message and a physical location
/// with a URI and a start line.
fn assert_github_shape(log: &Value) {
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "one run");
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "kflowc");
    let rules = driver["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), Code::ALL.len(), "one rule per code");
    for (rule, code) in rules.iter().zip(Code::ALL) {
        assert_eq!(rule["id"], code.as_str());
        assert!(
            !rule["shortDescription"]["text"]
                .as_str()
                .unwrap_or("")
                .is_empty()
        );
        // The help is the code's section of docs/language.md, which opens
        // with its severity.
        let help = rule["help"]["markdown"].as_str().unwrap_or("");
        let opening = match code.severity() {
            kflow::diag::Severity::Error => "**Error.**",
            kflow::diag::Severity::Warning => "**Warning.**",
        };
        assert!(help.starts_with(opening), "{code}: {help}");
        assert_eq!(
            rule["defaultConfiguration"]["level"],
            code.severity().as_str()
        );
    }
    for result in run["results"].as_array().expect("results") {
        let id = result["ruleId"].as_str().expect("ruleId");
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], id, "ruleIndex points at its rule");
        assert!(matches!(
            result["level"].as_str(),
            Some("error" | "warning")
        ));
        assert!(!result["message"]["text"].as_str().unwrap_or("").is_empty());
        let location = &result["locations"][0]["physicalLocation"];
        assert!(location["artifactLocation"]["uri"].is_string());
        assert!(location["region"]["startLine"].as_u64().unwrap_or(0) >= 1);
    }
}

fn kflowc(args: &[&str]) -> (Value, i32) {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("kflowc runs");
    let log = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (log, output.status.code().unwrap_or(-1))
}

#[test]
fn every_example_and_ui_file_gives_a_valid_log() {
    let (log, status) = kflowc(&[
        "check",
        "--format",
        "sarif",
        "--docs-url",
        "https://example.com/kflow/docs/language.md",
        "examples",
        "tests/ui",
    ]);
    assert_eq!(status, 1, "tests/ui has errors");
    assert_valid(&log);
    assert_github_shape(&log);
    let run = &log["runs"][0];
    let results = run["results"].as_array().expect("results");
    // The codes that need the account's templates, from the ui files that
    // come with a catalogue, checked against it.
    let catalogued: Vec<String> = std::fs::read_dir("tests/ui")
        .expect("tests/ui")
        .filter_map(|e| e.ok())
        .map(|e| e.path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".templates.json"))
        .collect();
    let mut with_templates = Vec::new();
    for catalogue in &catalogued {
        let file = catalogue.replace(".templates.json", ".kflow");
        let (log, _) = kflowc(&[
            "check",
            "--format",
            "sarif",
            "--templates",
            catalogue,
            &file,
        ]);
        assert_valid(&log);
        with_templates.extend(
            log["runs"][0]["results"]
                .as_array()
                .expect("results")
                .iter()
                .cloned(),
        );
    }
    assert!(catalogued.len() >= 5, "{catalogued:?}");
    // Every code with a ui file shows up (the ui files cover every
    // triggerable code).
    for code in Code::ALL.iter().filter(|&&c| c != Code::Internal) {
        assert!(
            results
                .iter()
                .chain(&with_templates)
                .any(|r| r["ruleId"] == code.as_str()),
            "{code} missing"
        );
    }
    // Relative paths stay relative, `/`-separated: what code scanning
    // matches against the repository.
    let uris: Vec<&str> = run["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| a["location"]["uri"].as_str().expect("uri"))
        .collect();
    assert!(uris.contains(&"examples/booking_cta.kflow"), "{uris:?}");
    assert!(
        uris.iter()
            .all(|u| !u.starts_with('/') && !u.contains('\\'))
    );
    let rule = &run["tool"]["driver"]["rules"][Code::CtaBodyLength as usize];
    assert_eq!(
        rule["helpUri"],
        "https://example.com/kflow/docs/language.md#kflowctabody_length"
    );
}

#[test]
fn a_clean_run_is_a_valid_log_without_results() {
    let (log, status) = kflowc(&["check", "--format", "sarif", "examples/card.kflow"]);
    assert_eq!(status, 0);
    assert_valid(&log);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn the_validator_refuses_what_sarif_does_not_allow() {
    let (mut log, _) = kflowc(&["check", "--format", "sarif", "tests/ui/cta_url.kflow"]);
    assert!(validator().is_valid(&log));
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator().is_valid(&log), "a level SARIF does not have");
    log["runs"][0]["results"][0]["level"] = Value::from("error");
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert!(!validator().is_valid(&log), "lines start at 1");
}

#[test]
fn the_code_list_as_sarif_is_the_rule_catalogue() {
    let (log, status) = kflowc(&["check", "--list-codes", "--format", "sarif"]);
    assert_eq!(status, 0);
    assert_valid(&log);
    assert_github_shape(&log);
}

/// The same diagnostics through the JSON report and through SARIF: the
/// same codes, levels, messages, places and related labels.
#[test]
fn sarif_says_what_the_json_report_says() {
    let text = "workflow \"a\"\nworkflow \"b\"\non reply whatsapp <\n  whatsapp \"Hi {{contact.frist_name}} ✓\"\n>\n";
    let file = SourceFile::new("flows/my flows/é.kflow", text).expect("small");
    let diagnostics = check_source(&file).diagnostics;
    assert!(diagnostics.iter().any(|d| d.labels.len() > 1));
    assert!(diagnostics.iter().any(|d| d.fix.is_some()));
    let reports = [FileReport::new(&file, &diagnostics)];
    let log: Value =
        serde_json::from_str(&sarif::to_string(&reports, &DocsLink::none())).expect("JSON");
    assert_valid(&log);
    assert_github_shape(&log);
    let document = json::Document::new(&reports);
    let run = &log["runs"][0];
    assert_eq!(
        run["artifacts"][0]["location"]["uri"],
        "flows/my%20flows/%C3%A9.kflow"
    );
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), document.diagnostics.len());
    for (result, entry) in results.iter().zip(&document.diagnostics) {
        assert_eq!(result["ruleId"], entry.code.as_str());
        assert_eq!(result["level"], entry.severity.as_str());
        let message = result["message"]["text"].as_str().expect("text");
        assert!(message.starts_with(&entry.message));
        if let Some(help) = &entry.help {
            assert!(message.ends_with(&format!("\nhelp: {help}")));
        }
        let region = &result["locations"][0]["physicalLocation"]["region"];
        let primary = &entry.labels[0];
        assert_eq!(region["startLine"], primary.start.line);
        assert_eq!(region["startColumn"], primary.start.column);
        assert_eq!(region["endLine"], primary.end.line);
        assert_eq!(region["endColumn"], primary.end.column);
        assert_eq!(region["byteOffset"], primary.start.offset);
        assert_eq!(
            region["byteLength"],
            primary.end.offset - primary.start.offset
        );
        let related = result["relatedLocations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(related.len(), entry.labels.len() - 1);
        for (location, label) in related.iter().zip(&entry.labels[1..]) {
            assert_eq!(
                location["physicalLocation"]["region"]["startLine"],
                label.start.line
            );
            assert_eq!(location["message"]["text"], label.text.as_str());
        }
    }
    // The did-you-mean travels as a SARIF fix replacing the misspelt name.
    let fixed = results
        .iter()
        .find(|r| r["ruleId"] == "kflow::var::unknown")
        .expect("the misspelt variable");
    let replacement = &fixed["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert_eq!(replacement["insertedContent"]["text"], "contact.first_name");
    let offset = replacement["deletedRegion"]["byteOffset"]
        .as_u64()
        .expect("offset") as usize;
    let length = replacement["deletedRegion"]["byteLength"]
        .as_u64()
        .expect("length") as usize;
    assert_eq!(&text[offset..offset + length], "contact.frist_name");
}

#[test]
fn columns_count_characters() {
    // `✓` is three bytes and one character: the column after it is 2 more
    // than its start, while the byte offset moves by 3.
    let text = "on reply whatsapp <\n  whatsapp \"✓ {{contact.nope}}\"\n>\n";
    let file = SourceFile::new("a.kflow", text).expect("small");
    let diagnostics = check_source(&file).diagnostics;
    let log: Value = serde_json::from_str(&sarif::to_string(
        &[FileReport::new(&file, &diagnostics)],
        &DocsLink::none(),
    ))
    .expect("JSON");
    let region = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    let offset = region["byteOffset"].as_u64().expect("offset") as usize;
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let characters = text[line_start..offset].chars().count() as u64;
    assert_eq!(region["startColumn"].as_u64(), Some(characters + 1));
    assert_eq!(log["runs"][0]["columnKind"], "unicodeCodePoints");
}
