//! The typed syntax tree: what the author wrote, with a byte span on every node.
//!
//! It holds no pest types and no judgement: a `cta` keeps its fields as a list
//! in source order, unknown names and duplicates included, so the checker can
//! explain each problem at its exact place.

use crate::source::{Span, Spanned};

/// One parsed `.kflow` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct File {
    /// Top-level items in source order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `workflow "Name"`.
    Workflow(Text),
    /// `field contact.key`.
    Field(Spanned<String>),
    /// `on reply CHANNEL < ... >`.
    Trigger(Trigger),
    /// `quiet 21:00-08:00 timezone ZONE [default "Zone"]`.
    Quiet(Quiet),
    /// `at most N per D`.
    Cap(Cap),
    /// `goal CONDITION`.
    Goal(Goal),
}

/// `quiet 21:00-08:00 timezone ZONE [default "Zone"]`: the hours in which
/// no message of the workflow goes out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quiet {
    /// `quiet`, for labels.
    pub head: Span,
    /// The time of day quiet hours start, as written (`21:00`).
    pub from: Spanned<String>,
    /// The time of day they end, as written (`08:00`).
    pub to: Spanned<String>,
    /// The zone the times are read in.
    pub zone: Zone,
    /// `default "Zone"`: the zone for a contact who has none.
    pub default: Option<Text>,
    /// The whole declaration.
    pub span: Span,
}

/// Where quiet hours take their time zone from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Zone {
    /// A zone name: `"Europe/Lisbon"`.
    Named(Text),
    /// A contact field holding the contact's zone: `contact.timezone`.
    Field(Spanned<String>),
}

impl Zone {
    /// Where the zone is written.
    pub fn span(&self) -> Span {
        match self {
            Zone::Named(t) => t.span,
            Zone::Field(f) => f.span,
        }
    }
}

/// `at most N per D`: a frequency cap per contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cap {
    /// `at most`, for labels.
    pub head: Span,
    /// The number of messages, as written.
    pub count: Spanned<String>,
    /// The period they are counted over.
    pub per: Duration,
    /// The whole declaration.
    pub span: Span,
}

/// `goal CONDITION`: a run ends as soon as the condition holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goal {
    /// `goal`, for labels.
    pub head: Span,
    /// The condition.
    pub cond: Cond,
    /// The whole declaration.
    pub span: Span,
}

/// A messaging channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// WhatsApp.
    Whatsapp,
    /// SMS.
    Sms,
    /// Email.
    Email,
}

impl Channel {
    /// The keyword as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

/// `on reply CHANNEL < ... >`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// The channel whose replies start a run.
    pub channel: Spanned<Channel>,
    /// `on reply CHANNEL`, for labels.
    pub head: Span,
    /// What a run does.
    pub body: Block,
}

/// Statements between `<` and `>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The statements, each with the handlers written after it.
    pub stmts: Vec<Stmt>,
    /// Handlers with no statement before them (an error, kept so their bodies
    /// are still checked).
    pub orphans: Vec<Handler>,
    /// From `<` to `>`.
    pub span: Span,
}

/// A statement and the outcome handlers that follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    /// What the statement does.
    pub kind: StmtKind,
    /// The whole statement, without its handlers.
    pub span: Span,
    /// The leading keyword, for short labels.
    pub head: Span,
    /// `on link opened`, `on not delivered`, `on timeout D` after it.
    pub handlers: Vec<Handler>,
}

/// The statements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StmtKind {
    /// `if ... else if ... else ...`.
    If(If),
    /// `cta [NAME] < fields >`.
    Cta(Interactive),
    /// `buttons [NAME] < fields >`.
    Buttons(Interactive),
    /// `list [NAME] < fields >`.
    List(Interactive),
    /// `whatsapp "text"`.
    Whatsapp(Text),
    /// `template "name" < fields >`.
    Template(Template),
    /// `sms "text"` or `sms < fields >`.
    Sms(Sms),
    /// `email < fields >`.
    Email(Fields),
    /// `wait D`.
    Wait(Duration),
    /// `await reply CHANNEL`.
    AwaitReply(Spanned<Channel>),
    /// `tag "x"`.
    Tag(Text),
    /// `untag "x"`.
    Untag(Text),
    /// `stop`.
    Stop,
}

impl StmtKind {
    /// The statement's keyword, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            StmtKind::If(_) => "if",
            StmtKind::Cta(_) => "cta",
            StmtKind::Buttons(_) => "buttons",
            StmtKind::List(_) => "list",
            StmtKind::Whatsapp(_) => "whatsapp",
            StmtKind::Template(_) => "template",
            StmtKind::Sms(_) => "sms",
            StmtKind::Email(_) => "email",
            StmtKind::Wait(_) => "wait",
            StmtKind::AwaitReply(_) => "await reply",
            StmtKind::Tag(_) => "tag",
            StmtKind::Untag(_) => "untag",
            StmtKind::Stop => "stop",
        }
    }
}

/// `if COND < ... > else if COND < ... > else < ... >`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct If {
    /// The `if` and every `else if`, in order.
    pub branches: Vec<Branch>,
    /// The final `else` block.
    pub otherwise: Option<Block>,
}

/// One conditional branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branch {
    /// The condition.
    pub cond: Cond,
    /// What runs when it holds.
    pub block: Block,
}

/// An interactive WhatsApp message, `cta`, `buttons` or `list`:
/// `KEYWORD [NAME] < fields >`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interactive {
    /// The optional internal action name.
    pub name: Option<Text>,
    /// The message fields.
    pub fields: Fields,
}

/// `template "name" < fields >`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The approved template's name.
    pub name: Text,
    /// `language`, `category`, `param`.
    pub fields: Fields,
}

/// The two forms of `sms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sms {
    /// `sms "text"`.
    Text(Text),
    /// `sms < body "..." from "..." >`.
    Fields(Fields),
}

/// `< name value ... >`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    /// The fields in source order.
    pub fields: Vec<Field>,
    /// From `<` to `>`.
    pub span: Span,
}

/// `name value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name.
    pub name: Spanned<String>,
    /// Its value.
    pub value: FieldValue,
    /// The whole field.
    pub span: Span,
}

/// A field's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// A string.
    Text(Text),
    /// A duration.
    Duration(Duration),
    /// A word, optionally followed by a string: `category utility`,
    /// `header image "https://..."`.
    Word(Spanned<String>, Option<Text>),
    /// Two or more strings: `reply "confirm" "Confirm"`, `row "m9" "9:00" "Dr Lee"`.
    Texts(Vec<Text>),
    /// Nested fields, after any number of strings: `section "Mornings" < row ... >`.
    Group(Vec<Text>, Fields),
    /// A number, a word and an optional string: a template's
    /// `button 0 url "..."`. The number is kept as written (digits).
    Indexed(Spanned<String>, Spanned<String>, Option<Text>),
}

impl FieldValue {
    /// The span of the whole value.
    pub fn span(&self) -> Span {
        match self {
            FieldValue::Text(t) => t.span,
            FieldValue::Duration(d) => d.span,
            FieldValue::Word(w, Some(t)) => w.span.to(t.span),
            FieldValue::Word(w, None) => w.span,
            FieldValue::Texts(texts) => match (texts.first(), texts.last()) {
                (Some(first), Some(last)) => first.span.to(last.span),
                _ => Span::new(0, 0),
            },
            FieldValue::Group(texts, fields) => match texts.first() {
                Some(first) => first.span.to(fields.span),
                None => fields.span,
            },
            FieldValue::Indexed(n, _, Some(t)) => n.span.to(t.span),
            FieldValue::Indexed(n, w, None) => n.span.to(w.span),
        }
    }
}

/// A length of time, in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration {
    /// Seconds.
    pub seconds: u64,
    /// Where it was written.
    pub span: Span,
    /// True when the text could not be read as a duration (already reported;
    /// `seconds` is then 0 and later checks skip it).
    pub malformed: bool,
}

/// A string literal, decoded, with its variables picked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    /// Literal runs and variables in order.
    pub parts: Vec<Part>,
    /// The literal including its quotes.
    pub span: Span,
}

impl Text {
    /// Characters (Unicode scalar values) of literal text; variables count zero.
    pub fn literal_chars(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) => s.chars().count(),
                Part::Var(_) => 0,
            })
            .sum()
    }

    /// The literal text with the variables left out: what can be counted
    /// (length, SMS segments) before send time.
    pub fn literal_text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Lit(s) => Some(s.as_str()),
                Part::Var(_) => None,
            })
            .collect()
    }

    /// The variables, in order.
    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v),
            Part::Lit(_) => None,
        })
    }

    /// The literal text when there are no variables.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(_) => return None,
            }
        }
        Some(out)
    }

    /// The literal text with each variable written back as `{{path}}`.
    pub fn display(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    out.push_str("{{");
                    out.push_str(&v.path);
                    if let Some(fallback) = &v.fallback {
                        out.push_str(" | ");
                        out.push_str(&fallback.node);
                    }
                    out.push_str("}}");
                }
            }
        }
        out
    }

    /// True when the text has no characters and no variables.
    pub fn is_empty(&self) -> bool {
        self.parts
            .iter()
            .all(|p| matches!(p, Part::Lit(s) if s.is_empty()))
    }
}

/// A piece of a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Decoded literal text.
    Lit(String),
    /// `{{namespace.key}}`.
    Var(Var),
}

/// A variable reference such as `{{contact.first_name}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var {
    /// The dotted path, without braces or spaces: `contact.first_name`.
    pub path: String,
    /// The path inside the braces.
    pub span: Span,
    /// `{{contact.first_name | there}}`: the text written when the variable
    /// has no value or an empty one, trimmed, exactly as written (no
    /// escapes); its span covers that text.
    pub fallback: Option<Spanned<String>>,
}

/// An outcome handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handler {
    /// Which outcome it handles.
    pub kind: HandlerKind,
    /// `on link opened`, `on timeout 30m`, ...
    pub head: Span,
    /// What runs on that outcome.
    pub body: Block,
}

/// The outcomes a handler can name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    /// `on link opened`.
    LinkOpened,
    /// `on not delivered`.
    NotDelivered,
    /// `on timeout D`.
    Timeout(Duration),
    /// `on reply "id"`: the contact chose the button or list row `id`.
    Choice(Text),
}

impl HandlerKind {
    /// The handler as written, without its duration.
    pub fn describe(&self) -> &'static str {
        match self {
            HandlerKind::LinkOpened => "on link opened",
            HandlerKind::NotDelivered => "on not delivered",
            HandlerKind::Timeout(_) => "on timeout",
            HandlerKind::Choice(_) => "on reply",
        }
    }
}

/// A condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `a or b or ...`.
    Or(Vec<Cond>),
    /// `a and b and ...`.
    And(Vec<Cond>),
    /// `not a` (repeated `not`s are folded).
    Not(Box<Cond>),
    /// `window.open`, `contact.tags has "vip"`, ...
    Test(Test),
}

impl Cond {
    /// The condition written back in one line, with parentheses only where
    /// they change the meaning: `contact.tags has "booked"`.
    pub fn display(&self) -> String {
        match self {
            Cond::Or(items) => items
                .iter()
                .map(Cond::display)
                .collect::<Vec<_>>()
                .join(" or "),
            Cond::And(items) => items
                .iter()
                .map(|c| match c {
                    Cond::Or(_) => format!("({})", c.display()),
                    _ => c.display(),
                })
                .collect::<Vec<_>>()
                .join(" and "),
            Cond::Not(inner) => match **inner {
                Cond::Test(_) | Cond::Not(_) => format!("not {}", inner.display()),
                _ => format!("not ({})", inner.display()),
            },
            Cond::Test(t) => match &t.compare {
                Some((op, value)) => format!(
                    "{} {} \"{}\"",
                    t.path.node,
                    op.node.as_str(),
                    value.display().replace('\\', "\\\\").replace('"', "\\\"")
                ),
                None => t.path.node.clone(),
            },
        }
    }
}

/// A single test: a path, optionally compared with a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Test {
    /// `window.open`, `contact.first_name`, ...
    pub path: Spanned<String>,
    /// The operator and the value compared with.
    pub compare: Option<(Spanned<CompareOp>, Text)>,
    /// The whole test.
    pub span: Span,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `contains` (substring).
    Contains,
    /// `has` (tag membership).
    Has,
}

impl CompareOp {
    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Contains => "contains",
            CompareOp::Has => "has",
        }
    }
}
