//! The `kflowc simulate --format json` document.

use super::*;

impl Render<'_> {
    /// The machine-readable document.
    pub(super) fn json(&self) -> Value {
        let timeline: Vec<Value> = self
            .sim
            .timeline()
            .iter()
            .map(|entry| match entry {
                TimelineEntry::Event {
                    at,
                    kind,
                    message_id,
                } => {
                    let mut event = match kind {
                        EventKind::Reply(channel) => json!({
                            "what": "reply",
                            "channel": channel.as_str(),
                            "contact": self.sim.contact().id,
                        }),
                        EventKind::LinkOpened(r) => {
                            json!({"what": "link_opened", "message": r.to_string()})
                        }
                        EventKind::DeliveryFailed(r, reason) => json!({
                            "what": "delivery_failed",
                            "message": r.to_string(),
                            "reason": reason,
                        }),
                        EventKind::Delivered(r) => {
                            json!({"what": "delivered", "message": r.to_string()})
                        }
                        EventKind::Tagged(tag) => json!({
                            "what": "tagged",
                            "tag": tag,
                            "contact": self.sim.contact().id,
                        }),
                        EventKind::Chose { id, list, answers } => json!({
                            "what": if *list { "list_reply" } else { "button_reply" },
                            "id": id,
                            "contact": self.sim.contact().id,
                            "message": answers.to_string(),
                        }),
                    };
                    if !matches!(kind, EventKind::Reply(_) | EventKind::Tagged(_)) {
                        event["message_id"] = json!(message_id);
                    }
                    json!({
                        "at": at,
                        "offset": self.sim.label(*at),
                        "offset_seconds": self.sim.offset(*at),
                        "source": "scenario",
                        "event": event,
                    })
                }
                TimelineEntry::Trace(trace) => json!({
                    "at": trace.at,
                    "offset": self.sim.label(trace.at),
                    "offset_seconds": self.sim.offset(trace.at),
                    "source": "engine",
                    "line": self.sim.line_of(trace.span),
                    "trace": trace,
                }),
            })
            .collect();
        let actions: Vec<Value> = self.sim
            .actions()
            .into_iter()
            .map(|a| json!({"offset": offset_label(a.at), "offset_seconds": a.at, "action": a.action}))
            .collect();
        let sends: Vec<Value> = self
            .sim
            .sent()
            .iter()
            .map(|s| {
                let mut value = json!(s);
                value["offset"] = json!(self.sim.label(s.at));
                value
            })
            .collect();
        let costs = self.sim.costs();
        let cost_entries: Vec<Value> = costs
            .iter()
            .map(|c| {
                let mut entry = json!({
                    "offset": offset_label(c.at),
                    "offset_seconds": c.at,
                    "message_id": c.message_id,
                    "kind": c.kind,
                    "billing": c.billing.as_str(),
                    "billed_by_whatsapp": c.billing.billable_by_whatsapp(),
                    "description": match c.billing {
                        // The simulation knows the window was closed.
                        kflow::costs::Billing::Utility => {
                            "billed by WhatsApp: a utility template sent outside the window"
                                .to_owned()
                        }
                        other => other.describe(),
                    },
                });
                if let kflow::costs::Billing::Sms { segments } = c.billing {
                    entry["segments"] = json!(segments);
                }
                entry
            })
            .collect();
        let count = |name: &str| costs.iter().filter(|c| c.billing.as_str() == name).count();
        let sms_segments: usize = costs
            .iter()
            .map(|c| match c.billing {
                kflow::costs::Billing::Sms { segments } => segments,
                _ => 0,
            })
            .sum();
        json!({
            "version": JSON_VERSION,
            "scenario": self.sim.scenario_path().display().to_string(),
            "workflow": {
                "name": self.sim.program().workflow,
                "file": self.sim.workflow_path().display().to_string(),
            },
            "contact": self.sim.contact(),
            "custom_values": self.sim.custom_values().iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            "start": self.sim.start(),
            "end": self.sim.end(),
            "end_offset": self.sim.label(self.sim.end()),
            "timeline": timeline,
            "sends": sends,
            "tags": self.sim.tags(),
            "actions": actions,
            "costs": {
                "sends": cost_entries,
                "whatsapp_billed": {
                    "marketing": count("marketing"),
                    "utility": count("utility"),
                },
                "whatsapp_free": count("free_service") + count("free_utility"),
                "sms_segments": sms_segments,
                "emails": count("email"),
            },
            "path": self.sim.path(),
            "missing": self.sim.missing(),
            "waiting": self.sim.waiting(),
            "cut_short": self.sim.cut_short(),
            "load_error": self.sim.load_error(),
        })
    }
}
