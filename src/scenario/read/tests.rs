//! The reader's unit tests: what reads, the defaults, and the message for
//! each kind of bad input.

use std::path::PathBuf;

use super::expect::check_action;
use super::*;
use crate::scenario::model::{EventKind, ExpectedAction, MessageRef};

fn read(text: &str) -> Result<Scenario, String> {
    parse(Path::new("dir/s.toml"), text).map_err(|e| e.to_string())
}

const MINIMAL: &str = "[[events]]\nat = \"0s\"\nreply = \"whatsapp\"\n";

#[test]
fn a_full_scenario_reads() {
    let scenario = read(
        r#"
workflow = "flow.kflow"
start = 2026-03-02T10:00:00+01:00
until = "3d"
[contact]
id = "ana"
phone = "+15551230000"
email = "ana@example.com"
first_name = "Ana"
tags = ["vip"]
last_whatsapp_inbound = "-25h"
[custom_values]
agent_calendar = "dr-lee"
[provider]
fail = { cta = "131047" }
[[events]]
at = "0s"
reply = "whatsapp"
[[events]]
at = "+12m"
link_opened = "last"
[[events]]
at = "1h"
delivery_failed = "msg-2"
reason = "blocked"
[expect]
actions = ["cta failed", "+12m tag clicked", "template booking_reopen"]
path = ["window_open", "not_delivered"]
missing = ["contact.first_name"]
waiting = 0
"#,
    )
    .expect("valid");
    assert_eq!(scenario.workflow, Some(PathBuf::from("dir/flow.kflow")));
    assert_eq!(scenario.start.to_rfc3339(), "2026-03-02T09:00:00+00:00");
    assert_eq!(scenario.until, Some(3 * 86_400));
    assert_eq!(
        scenario.contact.last_whatsapp_inbound,
        Some(scenario.start - chrono::Duration::hours(25))
    );
    assert_eq!(scenario.contact.fields["first_name"], "Ana");
    assert_eq!(scenario.failures["cta"], "131047");
    assert_eq!(scenario.events.len(), 3);
    assert_eq!(
        scenario.events[2].what,
        EventKind::DeliveryFailed(MessageRef::Id("msg-2".into()), "blocked".into())
    );
    let expect = scenario.expect.expect("has expectations");
    let actions = expect.actions.expect("actions");
    assert_eq!(
        actions[1],
        ExpectedAction {
            at: Some(720),
            action: "tag clicked".into()
        }
    );
}

#[test]
fn a_minimal_scenario_has_defaults() {
    let scenario = read(MINIMAL).expect("valid");
    assert_eq!(scenario.contact.id, "contact");
    assert_eq!(scenario.start.to_rfc3339(), "2026-03-02T09:00:00+00:00");
    assert!(scenario.workflow.is_none() && scenario.expect.is_none());
}

/// Each bad input, and a part of the message it must give.
#[test]
fn bad_scenarios_are_explained() {
    let cases: &[(&str, &str)] = &[
        ("bogus = 1\n", "dir/s.toml:1:1: unknown field `bogus`"),
        ("", "has no [[events]]"),
        (
            "[[events]]\nat = \"12x\"\nreply = \"sms\"\n",
            "dir/s.toml:2:6: `at`: `12x` is not a duration",
        ),
        (
            "[[events]]\nat = \"5\"\nreply = \"sms\"\n",
            "`5` is not a duration",
        ),
        (
            "[[events]]\nat = 5\nreply = \"sms\"\n",
            "invalid type: integer `5`, expected a string",
        ),
        (
            "[[events]]\nat = \"0s\"\nreply = \"whatsap\"\n",
            "`whatsap` is not a channel (did you mean `whatsapp`?)",
        ),
        ("[[events]]\nat = \"0s\"\n", "exactly one of"),
        (
            "[[events]]\nat = \"0s\"\nreply = \"sms\"\nlink_opened = \"last\"\n",
            "(found reply, link_opened)",
        ),
        (
            "[[events]]\nat = \"1m\"\nreply = \"sms\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
            "in time order",
        ),
        (
            "[[events]]\nat = \"0s\"\nlink_opened = \"first\"\n",
            "\"last\"",
        ),
        (
            "[[events]]\nat = \"0s\"\nreply = \"sms\"\nreason = \"x\"\n",
            "only with `delivery_failed`",
        ),
        (
            "start = \"2026-03-02T09:00:00\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
            "not a timestamp with a time zone",
        ),
        (
            "start = \"tomorrow\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
            "dir/s.toml:1:9:",
        ),
        (
            "until = \"1m\"\n[[events]]\nat = \"2m\"\nreply = \"sms\"\n",
            "comes before the last event",
        ),
        (
            "[contact]\nphone = \"5551230000\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
            "not an E.164 number",
        ),
        (
            "[contact]\nage = 42\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
            "`contact.age` must be a string",
        ),
        (
            "[contact]\nFirst = \"x\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
            "is not a field name",
        ),
        (
            "[contact]\nlast_whatsapp_inbound = \"yesterday\"\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
            "last_whatsapp_inbound",
        ),
        (
            "[provider]\nfail = { ctaa = \"131047\" }\n[[events]]\nat = \"0s\"\nreply = \"sms\"\n",
            "(did you mean `cta`?)",
        ),
        ("[provider]\nfails = {}\n", "unknown field `fails`"),
        (&format!("{MINIMAL}[expect]\n"), "`[expect]` is empty"),
        (
            &format!("{MINIMAL}[expect]\nactions = [\"tagg x\"]\n"),
            "(did you mean `tag`?)",
        ),
        (
            &format!("{MINIMAL}[expect]\nactions = [\"cta sent\"]\n"),
            "only `failed` or `not sent`",
        ),
        (
            &format!("{MINIMAL}[expect]\nactions = [\"template\"]\n"),
            "needs the template's name",
        ),
        (
            &format!("{MINIMAL}[expect]\nactions = [\"+1x cta\"]\n"),
            "`1x` is not a duration",
        ),
        (
            &format!("{MINIMAL}[expect]\npath = [\"open\"]\n"),
            "`open` is not an outcome (did you mean `opened`?)",
        ),
        (
            &format!("{MINIMAL}[expect]\nmissing = [\"{{{{contact.x}}}}\"]\n"),
            "is not a variable",
        ),
        (
            &format!("{MINIMAL}[expect]\nsent_at = []\n"),
            "unknown field `sent_at`",
        ),
        ("[[events]\n", "dir/s.toml:1:"),
    ];
    for (text, wanted) in cases {
        match read(text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(message) => assert!(
                message.contains(wanted),
                "for\n{text}\nwanted {wanted:?} in:\n{message}"
            ),
        }
    }
}

#[test]
fn errors_show_the_line() {
    let message = read("[[events]]\nat = \"12x\"\nreply = \"sms\"\n").expect_err("an error");
    assert!(
        message.ends_with("  |\n2 | at = \"12x\"\n  |      ^^^^^"),
        "{message}"
    );
}

#[test]
fn workflow_paths_are_tidied() {
    for (given, tidied) in [
        ("tests/simulate/../../examples/a.kflow", "examples/a.kflow"),
        ("./a.kflow", "a.kflow"),
        ("../a.kflow", "../a.kflow"),
        ("x/../../a.kflow", "../a.kflow"),
        ("/a/../../b.kflow", "/b.kflow"),
    ] {
        assert_eq!(tidy(Path::new(given)), PathBuf::from(tidied), "{given}");
    }
}

#[test]
fn actions_are_checked() {
    for ok in [
        "cta",
        "cta failed",
        "sms not sent",
        "template x_y",
        "template x not sent",
        "tag a b",
        "untag vip",
    ] {
        assert_eq!(check_action(ok), Ok(()), "{ok}");
    }
    for bad in ["", "tag", "send", "email sent", "template a b"] {
        assert!(check_action(bad).is_err(), "{bad}");
    }
}
