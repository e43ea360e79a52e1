//! Every limit the checker enforces, tested on both sides of its boundary:
//! the largest accepted value passes clean and the next one is refused with
//! the right code. Lengths use multi-byte characters where it matters, to
//! prove they count characters, not bytes.

use kflow::{Code, SourceFile};

fn codes(text: &str) -> Vec<Code> {
    let source = SourceFile::new("boundary.kflow", text).expect("small source");
    kflow::check_source(&source)
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect()
}

fn assert_clean(text: &str) {
    let found = codes(text);
    assert!(
        found.is_empty(),
        "expected no diagnostics, got {found:?} for:\n{text}"
    );
}

fn assert_refused(text: &str, code: Code) {
    let found = codes(text);
    assert!(
        found.contains(&code),
        "expected {code}, got {found:?} for:\n{text}"
    );
}

/// A CTA inside a fresh WhatsApp window with one field replaced.
fn cta(header: &str, body: &str, footer: Option<&str>, button: &str, timeout: &str) -> String {
    let footer = footer
        .map(|f| format!("footer \"{f}\" "))
        .unwrap_or_default();
    format!(
        "on reply whatsapp < cta < header text \"{header}\" body \"{body}\" {footer}url \"https://www.example.com/book\" button \"{button}\" timeout {timeout} > >"
    )
}

#[test]
fn cta_body_is_at_most_1024_characters() {
    assert_clean(&cta("Hi", &"é".repeat(1024), None, "Book", "30m"));
    assert_refused(
        &cta("Hi", &"é".repeat(1025), None, "Book", "30m"),
        Code::CtaBodyLength,
    );
}

#[test]
fn variables_do_not_count_towards_static_lengths() {
    let body = format!("{}{{{{contact.first_name}}}}", "a".repeat(1024));
    assert_clean(&cta("Hi", &body, None, "Book", "30m"));
}

#[test]
fn cta_footer_is_at_most_60_characters() {
    assert_clean(&cta("Hi", "Body", Some(&"ü".repeat(60)), "Book", "30m"));
    assert_refused(
        &cta("Hi", "Body", Some(&"ü".repeat(61)), "Book", "30m"),
        Code::CtaFooterLength,
    );
}

#[test]
fn cta_button_is_at_most_20_characters() {
    assert_clean(&cta("Hi", "Body", None, &"日".repeat(20), "30m"));
    assert_refused(
        &cta("Hi", "Body", None, &"日".repeat(21), "30m"),
        Code::CtaButtonLength,
    );
}

#[test]
fn cta_header_text_is_at_most_60_characters() {
    assert_clean(&cta(&"h".repeat(60), "Body", None, "Book", "30m"));
    assert_refused(
        &cta(&"h".repeat(61), "Body", None, "Book", "30m"),
        Code::CtaHeaderLength,
    );
}

#[test]
fn empty_required_texts_are_refused() {
    assert_refused(&cta("Hi", "", None, "Book", "30m"), Code::CtaEmptyField);
    assert_refused(&cta("Hi", "Body", None, "", "30m"), Code::CtaEmptyField);
}

#[test]
fn cta_timeout_field_is_between_5_minutes_and_2_days() {
    assert_clean(&cta("Hi", "Body", None, "Book", "5m"));
    assert_clean(&cta("Hi", "Body", None, "Book", "2d"));
    assert_refused(
        &cta("Hi", "Body", None, "Book", "4m59s"),
        Code::CtaTimeoutRange,
    );
    assert_refused(
        &cta("Hi", "Body", None, "Book", "2d1s"),
        Code::CtaTimeoutRange,
    );
}

#[test]
fn cta_timeout_handler_is_between_5_minutes_and_2_days() {
    let with = |t: &str| {
        format!(
            "on reply whatsapp < cta < header text \"Hi\" body \"B\" url \"https://a.example/\" button \"Go\" > on timeout {t} < tag \"late\" > >"
        )
    };
    assert_clean(&with("5m"));
    assert_clean(&with("2d"));
    assert_refused(&with("4m59s"), Code::CtaTimeoutRange);
    assert_refused(&with("2d1s"), Code::CtaTimeoutRange);
}

#[test]
fn whatsapp_text_is_at_most_4096_characters() {
    let with = |n: usize| format!("on reply whatsapp < whatsapp \"{}\" >", "ж".repeat(n));
    assert_clean(&with(4096));
    assert_refused(&with(4097), Code::WhatsappBodyLength);
}

#[test]
fn sms_body_is_at_most_1600_characters_and_warns_past_one_segment() {
    let with = |n: usize| format!("on reply sms < sms \"{}\" >", "a".repeat(n));
    assert_clean(&with(160));
    assert_eq!(codes(&with(161)), vec![Code::SmsSegments]);
    assert_refused(&with(1601), Code::SmsBodyLength);
    let ucs2 = |n: usize| format!("on reply sms < sms \"{}\" >", "ç".repeat(n));
    assert_clean(&ucs2(70));
    assert_eq!(codes(&ucs2(71)), vec![Code::SmsSegments]);
}

#[test]
fn template_names_are_at_most_512_characters() {
    let with = |n: usize| {
        format!(
            "on reply sms < template \"{}\" < language \"en_US\" category utility > >",
            "t".repeat(n)
        )
    };
    assert_clean(&with(512));
    assert_refused(&with(513), Code::TemplateName);
}

#[test]
fn window_stays_open_until_24_hours_after_the_reply() {
    let after = |wait: &str| {
        format!(
            "on reply whatsapp < wait {wait} cta < header text \"Hi\" body \"B\" url \"https://a.example/\" button \"Go\" timeout 30m > >"
        )
    };
    assert_clean(&after("23h59m59s"));
    assert_refused(&after("1d"), Code::WindowClosed);
}

#[test]
fn a_waited_cta_spends_its_timeout() {
    // 23h30m + a 30m CTA wait = 24h: the follow-up message may meet a closed window.
    let text = |first_wait: &str| {
        format!(
            "on reply whatsapp < wait {first_wait} cta < header text \"Hi\" body \"B\" url \"https://a.example/\" button \"Go\" > on timeout 30m < tag \"t\" > whatsapp \"follow-up\" >"
        )
    };
    assert_clean(&text("23h29m59s"));
    assert_refused(&text("23h30m"), Code::WindowClosed);
}

#[test]
fn a_window_check_proves_only_the_present() {
    let body = "cta < header text \"Hi\" body \"B\" url \"https://a.example/\" button \"Go\" timeout 30m >";
    assert_clean(&format!("on reply sms < if window.open < {body} > >"));
    assert_refused(
        &format!("on reply sms < if window.open < wait 1s {body} > >"),
        Code::WindowClosed,
    );
    assert_refused(&format!("on reply sms < {body} >"), Code::WindowClosed);
}

#[test]
fn a_completed_await_reply_whatsapp_reopens_the_window() {
    let text = "on reply whatsapp < wait 1d template \"hello\" < language \"en\" category utility > await reply whatsapp on timeout 1d < stop > whatsapp \"Thanks for replying\" >";
    assert_clean(text);
    let sms = text.replace("await reply whatsapp", "await reply sms");
    assert_refused(&sms, Code::WindowClosed);
}

#[test]
fn templates_need_no_window() {
    assert_clean(
        "on reply email < wait 3d template \"booking_reopen\" < language \"en_US\" category marketing > >",
    );
}

#[test]
fn nesting_is_capped_at_100() {
    let nest = |n: usize| format!("on reply sms {}{}", "< ".repeat(n), "> ".repeat(n));
    // The trigger's own block counts: 100 levels in all are accepted.
    assert!(!codes(&nest(100)).contains(&Code::SyntaxTooDeep));
    assert_refused(&nest(101), Code::SyntaxTooDeep);
}

#[test]
fn durations_are_at_most_a_year() {
    assert_clean("on reply sms < wait 365d tag \"x\" >");
    assert_refused("on reply sms < wait 366d tag \"x\" >", Code::SyntaxDuration);
    assert_refused("on reply sms < wait 0s tag \"x\" >", Code::WaitZero);
}

/// A template with one field list `fields` and handlers `handlers`.
fn template(fields: &str, handlers: &str) -> String {
    format!(
        "on reply whatsapp < template \"visit_reminder\" < language \"en_US\" category utility {fields} > {handlers} >"
    )
}

#[test]
fn template_buttons_are_indexed_0_to_9() {
    assert_clean(&template("button 9 url \"visits/{{contact.id}}\"", ""));
    assert_clean(&template("button 0 url \"visits/{{contact.id}}\"", ""));
    assert_refused(
        &template("button 10 url \"visits/{{contact.id}}\"", ""),
        Code::TemplateButtonIndex,
    );
}

#[test]
fn template_payloads_are_at_most_256_characters() {
    let handled = |p: &str| format!("on reply \"{p}\" < stop > on timeout 1d < stop >");
    let ok = "p".repeat(256);
    assert_clean(&template(
        &format!("button 1 reply \"{ok}\""),
        &handled(&ok),
    ));
    let long = "p".repeat(257);
    assert_refused(
        &template(&format!("button 1 reply \"{long}\""), &handled(&long)),
        Code::TemplateButtonPayload,
    );
}

#[test]
fn template_header_text_is_at_most_60_characters() {
    assert_clean(&template(
        &format!("header text \"{}\"", "é".repeat(60)),
        "",
    ));
    assert_refused(
        &template(&format!("header text \"{}\"", "é".repeat(61)), ""),
        Code::TemplateHeader,
    );
}

#[test]
fn a_waited_template_times_out_within_5_minutes_to_2_days() {
    let replies = "button 1 reply \"yes\"";
    assert_clean(&template(
        replies,
        "on reply \"yes\" < stop > on timeout 5m < stop >",
    ));
    assert_clean(&template(
        replies,
        "on reply \"yes\" < stop > on timeout 2d < stop >",
    ));
    assert_refused(
        &template(
            replies,
            "on reply \"yes\" < stop > on timeout 4m59s < stop >",
        ),
        Code::InteractiveTimeoutRange,
    );
    assert_refused(
        &template(
            replies,
            "on reply \"yes\" < stop > on timeout 2d1s < stop >",
        ),
        Code::InteractiveTimeoutRange,
    );
    assert_refused(
        &template(replies, "on reply \"yes\" < stop >"),
        Code::TemplateMissingField,
    );
}

fn guarded(line: &str) -> String {
    format!("{line}\non reply sms < sms \"Thanks\" >")
}

#[test]
fn a_cap_allows_1_to_100_messages_over_a_positive_period() {
    assert_clean(&guarded("at most 1 per 1s"));
    assert_clean(&guarded("at most 100 per 365d"));
    assert_refused(&guarded("at most 0 per 1d"), Code::CapValue);
    assert_refused(&guarded("at most 101 per 1d"), Code::CapValue);
    assert_refused(&guarded("at most 1 per 0s"), Code::CapValue);
}

#[test]
fn quiet_hours_are_times_of_day() {
    assert_clean(&guarded("quiet 23:59-00:00 timezone \"UTC\""));
    assert_clean(&guarded("quiet 0:00-7:30 timezone \"Europe/Lisbon\""));
    assert_refused(
        &guarded("quiet 24:00-08:00 timezone \"UTC\""),
        Code::QuietHours,
    );
    assert_refused(
        &guarded("quiet 21:60-08:00 timezone \"UTC\""),
        Code::QuietHours,
    );
    assert_refused(
        &guarded("quiet 08:00-08:00 timezone \"UTC\""),
        Code::QuietHours,
    );
}

#[test]
fn quiet_hours_spend_their_length_plus_an_hour_before_a_session_message() {
    // 11 hours of quiet plus an hour of clock change: 12 of the 24 hours.
    let quiet = "quiet 21:00-08:00 timezone \"Europe/Lisbon\"\n";
    assert_clean(&format!(
        "{quiet}on reply whatsapp < wait 11h59m59s whatsapp \"Still there?\" >"
    ));
    assert_refused(
        &format!("{quiet}on reply whatsapp < wait 12h whatsapp \"Still there?\" >"),
        Code::WindowClosed,
    );
    // Right after a send the run is past quiet hours: a second message
    // spends nothing more; after any wait it may be inside them again.
    assert_clean(&format!(
        "{quiet}on reply whatsapp < sms \"One\" whatsapp \"Two\" >"
    ));
    assert_refused(
        &format!("{quiet}on reply whatsapp < sms \"One\" wait 1s whatsapp \"Two\" >"),
        Code::WindowClosed,
    );
}
