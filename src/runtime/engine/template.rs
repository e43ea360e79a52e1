//! Rendering a template send: its body, header and button parameters for
//! one contact, refused before the provider sees it when WhatsApp would
//! refuse it (an empty parameter is error 131008).

use super::Engine;
use super::send::{header_ok, render_header};
use crate::ir::{self, Op, TemplateButton};
use crate::runtime::host::Host;
use crate::runtime::message::{Message, Outbound, RenderedHeader, RenderedTemplateButton};

/// The fallback advice every empty-parameter refusal ends with.
const GIVE_A_FALLBACK: &str = "give its variables a fallback (`{{contact.first_name | there}}`)";

impl<H: Host> Engine<H> {
    /// Renders a `send_template` node for the contact at `contact_ix`.
    pub(super) fn render_template(
        &self,
        run_id: u64,
        node: &ir::Node,
        contact_ix: usize,
    ) -> Result<Outbound, String> {
        let Op::SendTemplate {
            name,
            language,
            category,
            params,
            header,
            buttons,
            ..
        } = &node.op
        else {
            return Err("not a template".into());
        };
        let mut missing = Vec::new();
        let values = self.values(contact_ix);
        let params: Vec<String> = params
            .iter()
            .map(|p| values.text(p, &mut missing))
            .collect();
        let header = header
            .as_ref()
            .map(|h| render_header(&values, h, &mut missing));
        let buttons: Vec<RenderedTemplateButton> = buttons
            .iter()
            .map(|b| match b {
                TemplateButton::Url { index, text } => RenderedTemplateButton::Url {
                    index: *index,
                    text: values.url(text, &mut missing),
                },
                TemplateButton::QuickReply { index, payload } => {
                    RenderedTemplateButton::QuickReply {
                        index: *index,
                        payload: payload.clone(),
                    }
                }
            })
            .collect();
        self.report_missing(run_id, node, missing);
        if let Some(n) = params.iter().position(|p| p.trim().is_empty()) {
            return Err(format!(
                "template parameter {} renders empty, which WhatsApp refuses; {GIVE_A_FALLBACK}",
                n + 1
            ));
        }
        match &header {
            Some(RenderedHeader::Text { text }) if text.trim().is_empty() => {
                return Err(format!(
                    "the template's header parameter renders empty, which WhatsApp refuses; {GIVE_A_FALLBACK}"
                ));
            }
            Some(header) => header_ok(header)?,
            None => {}
        }
        for b in &buttons {
            if let RenderedTemplateButton::Url { index, text } = b
                && text.is_empty()
            {
                return Err(format!(
                    "the suffix of URL button {index} renders empty, which WhatsApp refuses; {GIVE_A_FALLBACK}"
                ));
            }
        }
        let Some(to) = self.contacts[contact_ix].phone.clone() else {
            return Err("the contact has no phone number".into());
        };
        let message = Message::Template {
            name: name.clone(),
            language: language.clone(),
            category: category.clone(),
            params,
            header,
            buttons,
        };
        Ok(self.outbound(run_id, node, to, message))
    }
}
