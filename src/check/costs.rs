//! What each send costs: WhatsApp's per-message pricing as the window
//! analysis sees it at that statement, and the providers' billing for SMS
//! and email.
//!
//! The facts (see `docs/language.md`, "Costs"): inside the customer service
//! window a service message (a `whatsapp` text or a `cta`) and a utility
//! template are free; a marketing template is always billed; outside it
//! only templates can be sent, and both categories are billed. SMS and
//! email are outside WhatsApp pricing: the SMS provider bills per segment.
//! kflow does not know of free entry points (a window opened from an ad),
//! so it never claims one.

use crate::source::Span;

use super::window::Window;

/// One send statement and what it costs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendCost {
    /// The statement's keyword.
    pub span: Span,
    /// `cta`, `whatsapp`, `template`, `sms` or `email`.
    pub kind: &'static str,
    /// How it is billed.
    pub billing: Billing,
}

/// How a send is billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Billing {
    /// A service message inside the window (a session message where the
    /// window may be closed is an error of its own): free.
    FreeService,
    /// A utility template where the window is known to be open: free.
    FreeUtility,
    /// A utility template where the window may be or is closed: billed.
    Utility,
    /// A marketing template: always billed.
    Marketing,
    /// An SMS, billed by the provider per segment; the count is of its
    /// literal text (variables add to it at send time), as
    /// `kflow::sms::segments` counts it.
    Sms {
        /// Segments of the literal text, at least 1.
        segments: usize,
    },
    /// An email, outside WhatsApp pricing.
    Email,
}

impl Billing {
    /// True when WhatsApp bills the message.
    pub fn billable_by_whatsapp(self) -> bool {
        matches!(self, Billing::Utility | Billing::Marketing)
    }

    /// The name JSON reports give it: `free_service`, `free_utility`,
    /// `utility`, `marketing`, `sms`, `email`.
    pub fn as_str(self) -> &'static str {
        match self {
            Billing::FreeService => "free_service",
            Billing::FreeUtility => "free_utility",
            Billing::Utility => "utility",
            Billing::Marketing => "marketing",
            Billing::Sms { .. } => "sms",
            Billing::Email => "email",
        }
    }

    /// One line for people: `billed: marketing template`.
    pub fn describe(self) -> String {
        match self {
            Billing::FreeService => "free: a service message inside the window".to_owned(),
            Billing::FreeUtility => "free: a utility template inside the window".to_owned(),
            Billing::Utility => {
                "billed by WhatsApp: a utility template where the window is not known to be open"
                    .to_owned()
            }
            Billing::Marketing => "billed by WhatsApp: a marketing template".to_owned(),
            Billing::Sms { segments } => format!(
                "billed by the SMS provider: {segments} segment{} (more if variables make it longer)",
                if segments == 1 { "" } else { "s" }
            ),
            Billing::Email => "outside WhatsApp pricing: billed by the email provider".to_owned(),
        }
    }
}

/// A template's cost, by its category, where the window is as `window`
/// says.
pub(crate) fn template(marketing: bool, window: &Window) -> Billing {
    if marketing {
        Billing::Marketing
    } else if window.is_open() {
        Billing::FreeUtility
    } else {
        Billing::Utility
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;

    fn costs(text: &str) -> (Vec<(&'static str, Billing)>, Vec<Code>) {
        let checked = crate::check_source(&crate::SourceFile::new("t.kflow", text).expect("small"));
        (
            checked.costs.iter().map(|c| (c.kind, c.billing)).collect(),
            checked.diagnostics.iter().map(|d| d.code).collect(),
        )
    }

    #[test]
    fn the_window_decides_what_a_utility_template_costs() {
        let (found, codes) = costs(
            r#"on reply whatsapp <
  template "t" < language "en" category utility >
  wait 2d
  template "t" < language "en" category utility >
  if window.open < whatsapp "hi" > else < template "t" < language "en" category utility > >
>
"#,
        );
        assert_eq!(
            found,
            [
                ("template", Billing::FreeUtility),
                ("template", Billing::Utility),
                ("whatsapp", Billing::FreeService),
                ("template", Billing::Utility),
            ]
        );
        assert_eq!(codes, []);
    }

    #[test]
    fn a_marketing_template_in_the_window_is_billed_and_reported() {
        let (found, codes) = costs(
            "on reply whatsapp < template \"promo\" < language \"en\" category marketing > >\n",
        );
        assert_eq!(found, [("template", Billing::Marketing)]);
        assert_eq!(codes, [Code::TemplatePaidInWindow]);
        // Where the window may be closed, the template is the only way.
        let (found, codes) =
            costs("on reply sms < template \"promo\" < language \"en\" category marketing > >\n");
        assert_eq!(found, [("template", Billing::Marketing)]);
        assert_eq!(codes, []);
    }

    #[test]
    fn sms_counts_segments_of_its_literal_text_and_email_is_outside() {
        let long = "a".repeat(200);
        let (found, _) = costs(&format!(
            "on reply sms < sms \"{long}\" sms < body \"hi {{{{contact.first_name}}}}\" > email < subject \"s\" body \"b\" > >\n"
        ));
        assert_eq!(
            found,
            [
                ("sms", Billing::Sms { segments: 2 }),
                ("sms", Billing::Sms { segments: 1 }),
                ("email", Billing::Email),
            ]
        );
    }

    #[test]
    fn a_statement_met_on_two_paths_keeps_the_dearer_reading() {
        // The template after the `if` is reached with the window proven open
        // (through the branch) and unknown (around it): it may be billed.
        let (found, _) = costs(
            r#"on reply sms <
  if window.open < whatsapp "hi" >
  template "t" < language "en" category utility >
>
"#,
        );
        assert_eq!(
            found,
            [
                ("whatsapp", Billing::FreeService),
                ("template", Billing::Utility)
            ]
        );
    }
}
