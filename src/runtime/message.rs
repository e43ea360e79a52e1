//! What the engine sends, fully rendered, and what a provider answers.
//!
//! These are plain data shared by the [`super::Host`] (which carries them
//! to providers) and the trace (which records them); they depend on
//! neither, so the two never import each other.

use serde::{Deserialize, Serialize};

use crate::ir::NodeId;

/// A provider's answer to a send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum SendResult {
    /// Taken for delivery; `message_id` identifies it in later events
    /// (link opened, delivery failed).
    Accepted {
        /// The provider's id for the message (a WhatsApp `wamid`, a Twilio SID).
        message_id: String,
    },
    /// Refused. For a waited CTA this takes the Not Delivered path.
    Failed {
        /// The provider's error code, when it gave one (e.g. `131047`).
        code: Option<String>,
        /// What went wrong, for the trace.
        reason: String,
    },
}

/// Which run and step a send belongs to; carried to the provider so status
/// callbacks can find their run (WhatsApp's `biz_opaque_callback_data`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepRef {
    /// The workflow's name.
    pub workflow: String,
    /// The run, unique within one engine.
    pub run: u64,
    /// The IR node sending.
    pub node: NodeId,
}

/// A message to send, fully rendered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outbound {
    /// Who sends it.
    pub step: StepRef,
    /// The contact's id.
    pub contact: String,
    /// Where it goes: a phone number for WhatsApp and SMS, an address for email.
    pub to: String,
    /// What it is.
    pub message: Message,
}

/// The rendered payload of a send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// A WhatsApp interactive `cta_url` message.
    Cta {
        /// The business number to send from, if not the default.
        from: Option<String>,
        /// The header.
        header: RenderedHeader,
        /// Body text.
        body: String,
        /// Footer text.
        footer: Option<String>,
        /// The button label (`display_text`).
        display_text: String,
        /// The personalized URL the button opens.
        url: String,
        /// How long the link stays active, in seconds from the send.
        timeout_seconds: u64,
    },
    /// A WhatsApp interactive `button` message (quick replies).
    Buttons {
        /// The business number to send from, if not the default.
        from: Option<String>,
        /// The header, if any.
        header: Option<RenderedHeader>,
        /// Body text.
        body: String,
        /// Footer text.
        footer: Option<String>,
        /// The reply buttons, 1 to 3.
        buttons: Vec<RenderedChoice>,
    },
    /// A WhatsApp interactive `list` message.
    List {
        /// The business number to send from, if not the default.
        from: Option<String>,
        /// The text header, if any.
        header: Option<String>,
        /// Body text.
        body: String,
        /// Footer text.
        footer: Option<String>,
        /// The label of the button that opens the list.
        button: String,
        /// The sections and their rows.
        sections: Vec<RenderedSection>,
    },
    /// A free-form WhatsApp text.
    Whatsapp {
        /// The text.
        body: String,
    },
    /// A WhatsApp template.
    Template {
        /// Template name.
        name: String,
        /// Language code.
        language: String,
        /// Category.
        category: String,
        /// Body parameters, rendered.
        params: Vec<String>,
        /// The header parameter, rendered, if the send fills one.
        #[serde(skip_serializing_if = "Option::is_none")]
        header: Option<RenderedHeader>,
        /// Button parameters, rendered, in index order.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        buttons: Vec<RenderedTemplateButton>,
    },
    /// An SMS.
    Sms {
        /// The text.
        body: String,
        /// Sender, if not the provider's default.
        from: Option<String>,
    },
    /// An email.
    Email {
        /// Subject.
        subject: String,
        /// Plain-text body.
        body: String,
        /// Sender, if not the provider's default.
        from: Option<String>,
    },
}

impl Message {
    /// The channel it goes out on.
    pub fn channel(&self) -> crate::ir::Channel {
        use crate::ir::Channel;
        match self {
            Message::Cta { .. }
            | Message::Buttons { .. }
            | Message::List { .. }
            | Message::Whatsapp { .. }
            | Message::Template { .. } => Channel::Whatsapp,
            Message::Sms { .. } => Channel::Sms,
            Message::Email { .. } => Channel::Email,
        }
    }

    /// A short name for traces: `cta`, `buttons`, `list`, `whatsapp`,
    /// `template`, `sms`, `email`.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Cta { .. } => "cta",
            Message::Buttons { .. } => "buttons",
            Message::List { .. } => "list",
            Message::Whatsapp { .. } => "whatsapp",
            Message::Template { .. } => "template",
            Message::Sms { .. } => "sms",
            Message::Email { .. } => "email",
        }
    }
}

/// A rendered interactive header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RenderedHeader {
    /// Text header.
    Text {
        /// The text.
        text: String,
    },
    /// Image by link.
    Image {
        /// The URL.
        link: String,
    },
    /// Video by link.
    Video {
        /// The URL.
        link: String,
    },
    /// Document by link.
    Document {
        /// The URL.
        link: String,
    },
}

/// A rendered reply button or list row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RenderedChoice {
    /// The id the reply webhook carries back.
    pub id: String,
    /// The title the contact sees.
    pub title: String,
    /// A list row's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A rendered list section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RenderedSection {
    /// The section's title, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its rows.
    pub rows: Vec<RenderedChoice>,
}

/// A template button's parameter, rendered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RenderedTemplateButton {
    /// The text a URL button's URL ends with (values percent-encoded).
    Url {
        /// The button's index in the template.
        index: u8,
        /// The suffix.
        text: String,
    },
    /// The payload a quick reply sends back when tapped.
    QuickReply {
        /// The button's index in the template.
        index: u8,
        /// The payload.
        payload: String,
    },
}
