//! Diagnostics: what kflow tells an author, as plain data.
//!
//! A [`Diagnostic`] has a stable [`Code`], a severity, a message, labels on
//! exact spans (the first one primary) and a help line that says what to write
//! instead. The library only builds them; renderers (the CLI's human, JSON and
//! GitHub formats) decide how they look. [`Report`] adapts one diagnostic and
//! its source to [`miette::Diagnostic`] for the graphical renderer.

use std::fmt;

use serde::Serialize;

use crate::source::{SourceFile, Span};

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal, $severity:ident;)*) => {
        /// Every diagnostic kflow can emit. The string form (`kflow::area::name`)
        /// is stable: a code is never renamed or reused for another meaning.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Code {
            /// All codes, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable name, such as `kflow::cta::body_length`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// What the code means, in one sentence: its doc comment here,
            /// which `--list-codes` and SARIF rules show.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => concat!($($doc),*).trim_ascii(),)*
                }
            }

            /// The severity this code is reported with.
            pub fn severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)*
                }
            }
        }
    };
}

codes! {
    /// The parser met something it did not expect.
    SyntaxUnexpected = "kflow::syntax::unexpected", Error;
    /// A string has no closing quote.
    SyntaxUnterminatedString = "kflow::syntax::unterminated_string", Error;
    /// A `<` has no matching `>`.
    SyntaxUnclosedBlock = "kflow::syntax::unclosed_block", Error;
    /// A `>` or `)` closes nothing.
    SyntaxUnmatchedClose = "kflow::syntax::unmatched_close", Error;
    /// Blocks or parentheses nest deeper than kflow allows.
    SyntaxTooDeep = "kflow::syntax::too_deep", Error;
    /// An unknown escape sequence in a string.
    SyntaxEscape = "kflow::syntax::escape", Error;
    /// A control character (such as NUL) in the source.
    SyntaxControlCharacter = "kflow::syntax::control_character", Error;
    /// A duration with repeated or out-of-order units, or too large.
    SyntaxDuration = "kflow::syntax::duration", Error;
    /// A `{{` without its `}}`, or braces around something that is not a name.
    VarMalformed = "kflow::var::malformed", Error;
    /// A variable kflow does not know.
    VarUnknown = "kflow::var::unknown", Error;
    /// A variable where only literal text is allowed.
    VarNotAllowed = "kflow::var::not_allowed", Error;
    /// A template parameter or URL variable without a fallback, which may
    /// render empty.
    VarNoFallback = "kflow::var::no_fallback", Warning;
    /// A second `workflow` name in one file.
    WorkflowDuplicate = "kflow::workflow::duplicate", Error;
    /// A file with no trigger never runs.
    WorkflowNoTrigger = "kflow::workflow::no_trigger", Warning;
    /// A `field` declaration that is not a new custom contact field.
    FieldDeclaration = "kflow::field::declaration", Error;
    /// Two triggers on the same channel in one file; the second never runs.
    TriggerDuplicate = "kflow::trigger::duplicate", Error;
    /// A field name that this kind of message does not have.
    FieldUnknown = "kflow::field::unknown", Error;
    /// A field given the wrong kind of value.
    FieldValue = "kflow::field::value", Error;
    /// A CTA body over 1024 characters.
    CtaBodyLength = "kflow::cta::body_length", Error;
    /// A CTA footer over 60 characters.
    CtaFooterLength = "kflow::cta::footer_length", Error;
    /// A CTA button label over 20 characters.
    CtaButtonLength = "kflow::cta::button_length", Error;
    /// A CTA text header over 60 characters.
    CtaHeaderLength = "kflow::cta::header_length", Error;
    /// A required CTA field is absent.
    CtaMissingField = "kflow::cta::missing_field", Error;
    /// A CTA field given twice.
    CtaDuplicateField = "kflow::cta::duplicate_field", Error;
    /// A CTA text (header, body, footer or button) is empty.
    CtaEmptyField = "kflow::cta::empty_field", Error;
    /// A CTA timeout outside 5 minutes to 2 days.
    CtaTimeoutRange = "kflow::cta::timeout_range", Error;
    /// A CTA or media header URL that is not an absolute http(s) URL.
    CtaUrl = "kflow::cta::url", Error;
    /// A plain `http` URL in a CTA.
    CtaInsecureUrl = "kflow::cta::insecure_url", Warning;
    /// A header kind other than text, image, video or document.
    CtaHeaderKind = "kflow::cta::header_kind", Error;
    /// A sending number that is not E.164.
    CtaFromNumber = "kflow::cta::from_number", Error;
    /// A required field of a `buttons` or `list` message is absent, or a
    /// waited one has no timeout.
    InteractiveMissingField = "kflow::interactive::missing_field", Error;
    /// A `buttons` or `list` field given twice.
    InteractiveDuplicateField = "kflow::interactive::duplicate_field", Error;
    /// A `buttons` or `list` text (header, body, footer, title, id) is empty.
    InteractiveEmptyField = "kflow::interactive::empty_field", Error;
    /// A `buttons` body over 1024 characters or a `list` body over 4096.
    InteractiveBodyLength = "kflow::interactive::body_length", Error;
    /// A `buttons` or `list` text header over 60 characters.
    InteractiveHeaderLength = "kflow::interactive::header_length", Error;
    /// A `buttons` or `list` footer over 60 characters.
    InteractiveFooterLength = "kflow::interactive::footer_length", Error;
    /// A header kind the message cannot carry (a list's header is text only).
    InteractiveHeaderKind = "kflow::interactive::header_kind", Error;
    /// A `buttons` or `list` timeout outside 5 minutes to 2 days.
    InteractiveTimeoutRange = "kflow::interactive::timeout_range", Error;
    /// A `buttons` or `list` sending number that is not E.164.
    InteractiveFromNumber = "kflow::interactive::from_number", Error;
    /// A `buttons` message with no reply button, or more than three.
    ButtonsCount = "kflow::buttons::count", Error;
    /// A reply button title over 20 characters.
    ButtonsTitleLength = "kflow::buttons::title_length", Error;
    /// A reply button id that is over 256 characters or given to two buttons.
    ButtonsId = "kflow::buttons::id", Error;
    /// Two reply buttons of one message with the same title.
    ButtonsDuplicateTitle = "kflow::buttons::duplicate_title", Error;
    /// A list's button label over 20 characters.
    ListButtonLength = "kflow::list::button_length", Error;
    /// A list with no section, or more than ten.
    ListSections = "kflow::list::sections", Error;
    /// A list with no row, or more than ten rows across its sections.
    ListRows = "kflow::list::rows", Error;
    /// A section title over 24 characters, or missing where the list has
    /// several sections.
    ListSectionTitle = "kflow::list::section_title", Error;
    /// A list row title over 24 characters.
    ListTitleLength = "kflow::list::title_length", Error;
    /// A list row description over 72 characters.
    ListDescriptionLength = "kflow::list::description_length", Error;
    /// A list row id that is over 200 characters or given to two rows.
    ListId = "kflow::list::id", Error;
    /// A free-form WhatsApp text that is empty or over 4096 characters.
    WhatsappBodyLength = "kflow::whatsapp::body_length", Error;
    /// A required template field is absent.
    TemplateMissingField = "kflow::template::missing_field", Error;
    /// A template field given twice.
    TemplateDuplicateField = "kflow::template::duplicate_field", Error;
    /// A template name WhatsApp cannot have.
    TemplateName = "kflow::template::name", Error;
    /// A template language that is not a WhatsApp language code.
    TemplateLanguage = "kflow::template::language", Error;
    /// A template category other than marketing or utility.
    TemplateCategory = "kflow::template::category", Error;
    /// A marketing template where the window is open: billed, where a
    /// session message would be free.
    TemplatePaidInWindow = "kflow::template::paid_in_window", Warning;
    /// A template the account's templates.json does not have.
    TemplateUnknown = "kflow::template::unknown", Error;
    /// A template the account has, but not in the language named.
    TemplateNotInLanguage = "kflow::template::not_in_language", Error;
    /// A template whose category differs from the account's.
    TemplateCategoryMismatch = "kflow::template::category_mismatch", Error;
    /// A template send whose parameters do not match its body's placeholders.
    TemplateParams = "kflow::template::params", Error;
    /// A template the account has but WhatsApp has not approved.
    TemplateNotApproved = "kflow::template::not_approved", Warning;
    /// A template `header` of an unknown kind, or a header text that is
    /// empty or over 60 characters.
    TemplateHeader = "kflow::template::header", Error;
    /// A template `button` index outside 0 to 9, or given twice.
    TemplateButtonIndex = "kflow::template::button_index", Error;
    /// A template `button` that is neither `url` nor `reply`, or has no value.
    TemplateButtonKind = "kflow::template::button_kind", Error;
    /// A quick-reply payload that is empty, too long or given twice.
    TemplateButtonPayload = "kflow::template::button_payload", Error;
    /// A URL button's suffix that is empty, a whole URL, or holds whitespace.
    TemplateButtonUrl = "kflow::template::button_url", Error;
    /// A template send whose header does not fill the template's header.
    TemplateHeaderParams = "kflow::template::header_params", Error;
    /// A template send whose buttons do not fill the template's buttons.
    TemplateButtonParams = "kflow::template::button_params", Error;
    /// An SMS body that is empty or over 1600 characters.
    SmsBodyLength = "kflow::sms::body_length", Error;
    /// An SMS body long enough to be billed as several segments.
    SmsSegments = "kflow::sms::segments", Warning;
    /// A required SMS field is absent.
    SmsMissingField = "kflow::sms::missing_field", Error;
    /// An SMS field given twice.
    SmsDuplicateField = "kflow::sms::duplicate_field", Error;
    /// An SMS sender that is neither an E.164 number nor an alphanumeric ID.
    SmsFrom = "kflow::sms::from", Error;
    /// A required email field is absent or empty.
    EmailMissingField = "kflow::email::missing_field", Error;
    /// An email field given twice.
    EmailDuplicateField = "kflow::email::duplicate_field", Error;
    /// An email `from` that is not an address.
    EmailFrom = "kflow::email::from", Error;
    /// An empty tag name.
    TagEmpty = "kflow::tag::empty", Error;
    /// A `wait` of zero time.
    WaitZero = "kflow::wait::zero", Error;
    /// An `await reply` with no `on timeout` to bound it.
    AwaitMissingTimeout = "kflow::await::missing_timeout", Error;
    /// A condition kflow cannot evaluate.
    ConditionUnknown = "kflow::condition::unknown", Error;
    /// A comparison operator that does not fit its field.
    ConditionOperator = "kflow::condition::operator", Error;
    /// A WhatsApp session message where the 24-hour window may be closed.
    WindowClosed = "kflow::window::closed", Error;
    /// A handler whose outcome the statement before can never produce.
    HandlerUnreachable = "kflow::handler::unreachable", Error;
    /// Two handlers for the same outcome of one statement.
    HandlerDuplicate = "kflow::handler::duplicate", Error;
    /// A handler with no statement before it.
    HandlerOrphan = "kflow::handler::orphan", Error;
    /// An `on reply "id"` naming no button or row of the message it follows.
    ReplyUnknown = "kflow::reply::unknown", Error;
    /// A waited button or list row with no `on reply` handler.
    ReplyUnhandled = "kflow::reply::unhandled", Warning;
    /// Quiet hours whose times are not times of day, or that start when
    /// they end.
    QuietHours = "kflow::quiet::hours", Error;
    /// A time zone kflow does not know, or a zone field that is not a
    /// contact field.
    QuietTimezone = "kflow::quiet::timezone", Error;
    /// Quiet hours read from a contact field without a `default` zone.
    QuietNoDefault = "kflow::quiet::no_default", Warning;
    /// A frequency cap of no messages, more than 100, or over no time.
    CapValue = "kflow::cap::value", Error;
    /// A second `quiet`, `at most` or `goal` in one file.
    GuardrailDuplicate = "kflow::guardrail::duplicate", Error;
    /// Statements after `stop` never run.
    FlowUnreachable = "kflow::flow::unreachable", Warning;
    /// A `# kflow-ignore` comment that does not say which codes it silences.
    SuppressMalformed = "kflow::suppress::malformed", Warning;
    /// A `# kflow-ignore` comment naming a code kflow does not have.
    SuppressUnknown = "kflow::suppress::unknown", Warning;
    /// A `# kflow-ignore` comment naming an error, which cannot be silenced.
    SuppressError = "kflow::suppress::error", Warning;
    /// A `# kflow-ignore` comment with nothing to silence on its line.
    SuppressUnused = "kflow::suppress::unused", Warning;
    /// A `# kflow-ignore` comment that gives no reason.
    SuppressNoReason = "kflow::suppress::no_reason", Warning;
    /// A limit of kflow itself (not of the author's program) was hit.
    Internal = "kflow::internal", Error;
}

impl Code {
    /// The code whose stable name is `name`.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|code| code.as_str() == name)
    }

    /// The anchor of the code's section in `docs/language.md`: the heading
    /// `` ### `kflow::a::b` `` gets the one GitHub and editors' Markdown
    /// previews give it (punctuation other than `_` and `-` dropped), `kflowab`.
    pub fn doc_anchor(self) -> String {
        self.as_str()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect()
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Allowed unless `--deny-warnings`.
    Warning,
    /// The file is refused.
    Error,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A message attached to a span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// What the label points at.
    pub span: Span,
    /// Text shown at the span.
    pub text: String,
}

/// A replacement that fixes a diagnostic: the did-you-mean of a misspelt
/// name, as data, so an editor can apply it (the help line says the same in
/// words).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// The text to replace.
    pub span: Span,
    /// What to write there instead.
    pub replacement: String,
}

/// One finding about a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning (the code's).
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Spans with texts; the first is the primary one.
    pub labels: Vec<Label>,
    /// What to write instead.
    pub help: Option<String>,
    /// The replacement the help suggests, when it is one exact edit.
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// A diagnostic with the code's severity and a primary label.
    pub fn new(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: vec![Label {
                span,
                text: label.into(),
            }],
            help: None,
            fix: None,
        }
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the fix: write `replacement` over `span`.
    pub fn with_fix(mut self, span: Span, replacement: impl Into<String>) -> Diagnostic {
        self.fix = Some(Fix {
            span,
            replacement: replacement.into(),
        });
        self
    }

    /// The primary span, used to order reports.
    pub fn primary_span(&self) -> Span {
        self.labels.first().map(|l| l.span).unwrap_or_default()
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics into source order (then by code), as reports list them.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let (sa, sb) = (a.primary_span(), b.primary_span());
        (sa.start, sa.end, a.code).cmp(&(sb.start, sb.end, b.code))
    });
}

/// One diagnostic with its source, as a [`miette::Diagnostic`].
pub struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: miette::NamedSource<std::sync::Arc<str>>,
}

impl<'a> Report<'a> {
    /// Pairs a diagnostic with the file it is about.
    pub fn new(diagnostic: &'a Diagnostic, file: &SourceFile) -> Report<'a> {
        Report {
            diagnostic,
            source: miette::NamedSource::new(file.name(), file.shared_text()),
        }
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_deref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(self.diagnostic.labels.iter().enumerate().map(
            |(i, label)| {
                let text = (!label.text.is_empty()).then(|| label.text.clone());
                if i == 0 {
                    miette::LabeledSpan::new_primary_with_span(text, label.span)
                } else {
                    miette::LabeledSpan::new_with_span(text, label.span)
                }
            },
        )))
    }
}
