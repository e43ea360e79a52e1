//! The IR: a checked workflow as a graph of operations joined by edges
//! labelled with outcomes. It is plain serde data, versioned by
//! [`FORMAT_VERSION`], and is what the runtime executes and what
//! `kflowc build` writes. `docs/ir.md` documents the JSON form.
//!
//! Node ids are indexes into [`Program::nodes`], assigned in source order, so
//! the same source always lowers to the same ids. Every node keeps the span
//! of the statement it came from, for run-time reports.

use serde::{Deserialize, Serialize};

use crate::source::Span;

pub mod diff;

/// The IR format version; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 4;

/// A compiled workflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// Always [`FORMAT_VERSION`] when written by this compiler.
    pub format_version: u32,
    /// The `workflow "..."` name, or the file name without `.kflow`.
    pub workflow: String,
    /// The source file the spans point into.
    pub source: String,
    /// Declared custom contact fields (`field contact.key`).
    pub custom_fields: Vec<String>,
    /// Quiet hours, a frequency cap and a goal, for every run.
    #[serde(default, skip_serializing_if = "Guardrails::is_none")]
    pub guardrails: Guardrails,
    /// Where runs start.
    pub triggers: Vec<Trigger>,
    /// The graph; `nodes[i].id == NodeId(i)`.
    pub nodes: Vec<Node>,
}

impl Program {
    /// The node with this id.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0 as usize)
    }
}

/// A node's index in [`Program::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

/// A messaging channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// WhatsApp.
    Whatsapp,
    /// SMS.
    Sms,
    /// Email.
    Email,
}

impl Channel {
    /// The name as written in source and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

/// `on reply CHANNEL`: a reply on `channel` starts a run at `entry`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The channel whose inbound replies start runs.
    pub channel: Channel,
    /// The first node of a run.
    pub entry: NodeId,
    /// `on reply CHANNEL` in the source.
    pub span: Span,
}

/// One operation and where each of its outcomes leads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// This node's id.
    pub id: NodeId,
    /// What it does.
    pub op: Op,
    /// Outgoing edges, one per outcome the op can produce. A run whose op
    /// produces an outcome with no edge ends.
    pub edges: Vec<Edge>,
    /// The statement it came from.
    pub span: Span,
}

impl Outcome {
    /// The name as the IR's JSON spells it: `window_open`, `not_delivered`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Opened => "opened",
            Outcome::NotDelivered => "not_delivered",
            Outcome::Timeout => "timeout",
            Outcome::Replied => "replied",
            Outcome::WindowOpen => "window_open",
            Outcome::WindowClosed => "window_closed",
            Outcome::True => "true",
            Outcome::False => "false",
            Outcome::Choice(_) => "choice",
        }
    }
}

impl Op {
    /// The operation's name as the IR's JSON spells it: `send_cta`, `wait`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Op::CheckWindow => "check_window",
            Op::Branch { .. } => "branch",
            Op::SendCta { .. } => "send_cta",
            Op::SendButtons { .. } => "send_buttons",
            Op::SendList { .. } => "send_list",
            Op::SendWhatsapp { .. } => "send_whatsapp",
            Op::SendTemplate { .. } => "send_template",
            Op::SendSms { .. } => "send_sms",
            Op::SendEmail { .. } => "send_email",
            Op::Wait { .. } => "wait",
            Op::AwaitReply { .. } => "await_reply",
            Op::Tag { .. } => "tag",
            Op::Untag { .. } => "untag",
            Op::End => "end",
        }
    }
}

impl Op {
    /// How long a node that waits for an outcome with a deadline (a CTA,
    /// a message answered by a choice, `await_reply`) waits, or would: its
    /// `timeout_seconds`. `None` for every other operation.
    pub fn timeout_seconds(&self) -> Option<u64> {
        match self {
            Op::SendCta {
                timeout_seconds, ..
            }
            | Op::SendButtons {
                timeout_seconds, ..
            }
            | Op::SendList {
                timeout_seconds, ..
            }
            | Op::SendTemplate {
                timeout_seconds, ..
            }
            | Op::AwaitReply {
                timeout_seconds, ..
            } => Some(*timeout_seconds),
            _ => None,
        }
    }

    /// Whether a send waits for its outcome (handlers claim it).
    pub fn waits(&self) -> bool {
        match self {
            Op::SendCta { waits, .. }
            | Op::SendButtons { waits, .. }
            | Op::SendList { waits, .. }
            | Op::SendTemplate { waits, .. } => *waits,
            _ => false,
        }
    }
}

impl Node {
    /// Where `outcome` leads, if anywhere.
    pub fn next(&self, outcome: Outcome) -> Option<NodeId> {
        self.edges.iter().find(|e| e.on == outcome).map(|e| e.to)
    }
}

/// An edge: when the node ends with `on`, go to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// The outcome.
    pub on: Outcome,
    /// The next node.
    pub to: NodeId,
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Finished normally (sends without waiting, tags, waits).
    Done,
    /// The contact opened a waited CTA's link before its timeout.
    Opened,
    /// A waited CTA could not be delivered (refused at send time, by the
    /// provider, or by a failed status) before its timeout.
    NotDelivered,
    /// A waited CTA or `await reply` ran out of time.
    Timeout,
    /// The awaited reply arrived.
    Replied,
    /// `check_window`: the window is open.
    WindowOpen,
    /// `check_window`: the window is closed.
    WindowClosed,
    /// `branch`: the condition held.
    True,
    /// `branch`: the condition did not hold.
    False,
    /// A waited `send_buttons`, `send_list` or `send_template`: the contact
    /// chose the button or row with this index (buttons in order; rows in
    /// order across the sections; a template's quick replies in index
    /// order). JSON: `{"choice": 0}`.
    Choice(u8),
}

/// An operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Is the contact's WhatsApp window open (last inbound WhatsApp message
    /// under 24 hours ago)? Outcomes `window_open` / `window_closed`.
    CheckWindow,
    /// Evaluate a condition. Outcomes `true` / `false`.
    Branch {
        /// The condition.
        cond: Cond,
    },
    /// Send a WhatsApp interactive `cta_url` message. When `waits`, the run
    /// waits for `opened`, `not_delivered` or `timeout`; otherwise `done`.
    SendCta {
        /// The message.
        message: CtaMessage,
        /// How long the link stays active (and the run waits, when it does).
        timeout_seconds: u64,
        /// Whether the run waits for the outcome.
        waits: bool,
    },
    /// Send a WhatsApp interactive `button` message (quick replies). When
    /// `waits`, the run waits for a `choice`, `not_delivered` or `timeout`;
    /// otherwise `done`.
    SendButtons {
        /// The message.
        message: ButtonsMessage,
        /// How long the run waits for a choice; 0 when it does not wait.
        timeout_seconds: u64,
        /// Whether the run waits for the outcome.
        waits: bool,
    },
    /// Send a WhatsApp interactive `list` message. Outcomes as for
    /// `send_buttons`, one `choice` per row.
    SendList {
        /// The message.
        message: ListMessage,
        /// How long the run waits for a choice; 0 when it does not wait.
        timeout_seconds: u64,
        /// Whether the run waits for the outcome.
        waits: bool,
    },
    /// Send a free-form WhatsApp text. Outcome `done`.
    SendWhatsapp {
        /// The text.
        text: Text,
    },
    /// Send an approved WhatsApp template. When `waits` (it has quick
    /// replies and handlers claim it), the run waits for a `choice` (one
    /// per quick reply, in index order), `not_delivered` or `timeout`, as
    /// for `send_buttons`; otherwise `done`.
    SendTemplate {
        /// Template name.
        name: String,
        /// Language code, such as `en_US`.
        language: String,
        /// `marketing` or `utility`.
        category: String,
        /// Body parameters `{{1}}`, `{{2}}`, ... in order.
        params: Vec<Text>,
        /// The header parameter: text, or media by link.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<Header>,
        /// Button parameters, in index order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        buttons: Vec<TemplateButton>,
        /// How long the run waits for a tap; 0 when it does not wait.
        #[serde(default, skip_serializing_if = "is_zero")]
        timeout_seconds: u64,
        /// Whether the run waits for the outcome.
        #[serde(default, skip_serializing_if = "is_false")]
        waits: bool,
    },
    /// Send an SMS. Outcome `done`.
    SendSms {
        /// The text.
        body: Text,
        /// Sender number or ID; the provider's default when absent.
        from: Option<String>,
    },
    /// Send an email. Outcome `done`.
    SendEmail {
        /// Subject line.
        subject: Text,
        /// Plain-text body.
        body: Text,
        /// Sender address; the provider's default when absent.
        from: Option<String>,
    },
    /// Wait. Outcome `done`.
    Wait {
        /// How long.
        seconds: u64,
    },
    /// Wait for the contact to reply on `channel`. Outcomes `replied` /
    /// `timeout`.
    AwaitReply {
        /// The channel.
        channel: Channel,
        /// How long to wait.
        timeout_seconds: u64,
    },
    /// Add a tag to the contact. Outcome `done`.
    Tag {
        /// The tag.
        tag: String,
    },
    /// Remove a tag from the contact. Outcome `done`.
    Untag {
        /// The tag.
        tag: String,
    },
    /// The run ends here.
    End,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A parameter of one of a template's buttons, shaped like the Cloud API's
/// `{"type": "button", "sub_type": ..., "index": ...}` component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplateButton {
    /// `sub_type: url`: the text the button's URL ends with (variables
    /// percent-encoded when sent).
    Url {
        /// The button's place in the template, from 0.
        index: u8,
        /// The suffix.
        text: Text,
    },
    /// `sub_type: quick_reply`: the payload a tap sends back, which the
    /// template's `choice` outcomes are numbered by.
    QuickReply {
        /// The button's place in the template, from 0.
        index: u8,
        /// The payload.
        payload: String,
    },
}

/// What every run of a workflow is held to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardrails {
    /// No message goes out in these hours; a send waits until they end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet: Option<Quiet>,
    /// At most `count` messages to a contact per `seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Cap>,
    /// A run ends as soon as this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<Goal>,
}

impl Guardrails {
    /// True when the workflow has none.
    pub fn is_none(&self) -> bool {
        self.quiet.is_none() && self.cap.is_none() && self.goal.is_none()
    }
}

/// Quiet hours, in minutes after local midnight: from `from` (included) to
/// `to` (excluded), across midnight when `to` is earlier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quiet {
    /// When they start.
    pub from: u16,
    /// When they end.
    pub to: u16,
    /// A contact field holding the contact's IANA zone (`timezone`), if the
    /// zone is read from the contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The IANA zone: everyone's, or the one for a contact whose field is
    /// missing or not a zone.
    pub zone: String,
}

/// A frequency cap per contact, over the messages of one workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    /// Messages allowed per period.
    pub count: u32,
    /// The period, sliding: the last `seconds` before a send.
    pub seconds: u64,
}

/// A goal: the condition, and how it was written, for the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    /// The condition.
    pub cond: Cond,
    /// The source text of the condition.
    pub text: String,
}

/// A WhatsApp interactive message with one URL button, shaped like the
/// Cloud API's `interactive` object (`type: cta_url`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtaMessage {
    /// The internal action name, if given.
    pub name: Option<String>,
    /// The business number to send from (E.164), or the default.
    pub from: Option<String>,
    /// `interactive.header`.
    pub header: Header,
    /// `interactive.body.text`.
    pub body: Text,
    /// `interactive.footer.text`.
    pub footer: Option<Text>,
    /// `action.parameters.display_text`.
    pub display_text: Text,
    /// `action.parameters.url`.
    pub url: Text,
}

/// A WhatsApp interactive message with quick-reply buttons, shaped like the
/// Cloud API's `interactive` object (`type: button`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonsMessage {
    /// The internal action name, if given.
    pub name: Option<String>,
    /// The business number to send from (E.164), or the default.
    pub from: Option<String>,
    /// `interactive.header`, if any.
    pub header: Option<Header>,
    /// `interactive.body.text`.
    pub body: Text,
    /// `interactive.footer.text`.
    pub footer: Option<Text>,
    /// `action.buttons`, 1 to 3.
    pub buttons: Vec<Choice>,
}

/// A WhatsApp interactive list message, shaped like the Cloud API's
/// `interactive` object (`type: list`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListMessage {
    /// The internal action name, if given.
    pub name: Option<String>,
    /// The business number to send from (E.164), or the default.
    pub from: Option<String>,
    /// `interactive.header.text` (a list's header is text only), if any.
    pub header: Option<Text>,
    /// `interactive.body.text`.
    pub body: Text,
    /// `interactive.footer.text`.
    pub footer: Option<Text>,
    /// `action.button`: the label of the button that opens the list.
    pub button: Text,
    /// `action.sections`, 1 to 10, with 1 to 10 rows in all.
    pub sections: Vec<ListSection>,
}

impl ListMessage {
    /// Every row, in order across the sections: a `choice` outcome's index
    /// counts in this order.
    pub fn rows(&self) -> impl Iterator<Item = &Choice> {
        self.sections.iter().flat_map(|s| s.rows.iter())
    }
}

/// One section of a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSection {
    /// `title`; required when the list has more than one section.
    pub title: Option<Text>,
    /// The section's rows.
    pub rows: Vec<Choice>,
}

/// One thing a contact can choose: a reply button or a list row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// `reply.id` / `row.id`: literal, echoed back in the reply webhook.
    pub id: String,
    /// `reply.title` / `row.title`.
    pub title: Text,
    /// `row.description` (list rows only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

impl Op {
    /// The ids a contact can choose, in `choice` index order, for a send
    /// that offers choices.
    pub fn choice_ids(&self) -> Option<Vec<&str>> {
        match self {
            Op::SendButtons { message, .. } => {
                Some(message.buttons.iter().map(|b| b.id.as_str()).collect())
            }
            Op::SendList { message, .. } => Some(message.rows().map(|r| r.id.as_str()).collect()),
            Op::SendTemplate { buttons, .. } => Some(
                buttons
                    .iter()
                    .filter_map(|b| match b {
                        TemplateButton::QuickReply { payload, .. } => Some(payload.as_str()),
                        TemplateButton::Url { .. } => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// `interactive.header`, with its text or link still to be rendered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Header {
    /// `{"type":"text","text":TEXT}`, as WhatsApp's text header.
    Text {
        /// The header text.
        text: Text,
    },
    /// `{"type":"image","link":TEXT}`; sent as WhatsApp's
    /// `{"type":"image","image":{"link":URL}}`.
    Image {
        /// The media URL.
        link: Text,
    },
    /// `{"type":"video","link":TEXT}`; sent as WhatsApp's
    /// `{"type":"video","video":{"link":URL}}`.
    Video {
        /// The media URL.
        link: Text,
    },
    /// `{"type":"document","link":TEXT}`; sent as WhatsApp's
    /// `{"type":"document","document":{"link":URL}}`.
    Document {
        /// The media URL.
        link: Text,
    },
}

/// Text with variables, rendered at send time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(pub Vec<Part>);

/// A piece of a [`Text`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// Literal text.
    Text(String),
    /// A variable path such as `contact.first_name`.
    Var(String),
    /// A variable with the text written when it has no value or an empty
    /// one: `{"var_or": {"var": "contact.first_name", "or": "there"}}`.
    #[serde(rename = "var_or")]
    VarOr {
        /// The variable's path.
        var: String,
        /// The fallback text, exactly as written.
        or: String,
    },
}

impl Text {
    /// A text without variables.
    pub fn literal(s: impl Into<String>) -> Text {
        Text(vec![Part::Text(s.into())])
    }
}

/// A condition, evaluated when the run reaches its `branch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "test", rename_all = "snake_case")]
pub enum Cond {
    /// All hold.
    All {
        /// The conditions.
        of: Vec<Cond>,
    },
    /// At least one holds.
    Any {
        /// The conditions.
        of: Vec<Cond>,
    },
    /// Does not hold.
    Not {
        /// The condition.
        cond: Box<Cond>,
    },
    /// The WhatsApp window is open.
    WindowOpen,
    /// The contact has the tag.
    HasTag {
        /// The tag.
        tag: Text,
    },
    /// Compare a contact field or custom value with a text.
    Compare {
        /// `contact.city` or `custom_values.key`.
        var: String,
        /// The operator.
        cmp: Compare,
        /// The value compared with.
        value: Text,
    },
}

/// Text comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains as a substring.
    Contains,
}
