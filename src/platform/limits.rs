//! The platform's limits, in one table: the checker enforces them on what
//! authors write, the runtime again on what renders at send time.
//!
//! Each number cites its source in `shared/reference/whatsapp.md` (section and
//! source key there). Lengths count Unicode scalar values: Meta does not define
//! "characters" precisely, and code points are what authors see.

/// Interactive `cta_url` body: required, at most 1024 characters (§2.1, M-CTA).
pub const CTA_BODY_MAX: usize = 1024;
/// Interactive header text: at most 60 characters (§2.1, M-CTA).
pub const CTA_HEADER_TEXT_MAX: usize = 60;
/// Interactive footer: at most 60 characters (§2.1, M-CTA).
pub const CTA_FOOTER_MAX: usize = 60;
/// `display_text` of the URL button: at most 20 characters (§2.1, M-CTA).
pub const CTA_BUTTON_MAX: usize = 20;
/// Shortest CTA timeout Kyrios allows: 5 minutes (§9.1, K-CTA).
pub const CTA_TIMEOUT_MIN_SECONDS: u64 = 5 * 60;
/// Longest CTA timeout Kyrios allows: 2 days (§9.1, K-CTA).
pub const CTA_TIMEOUT_MAX_SECONDS: u64 = 2 * 86_400;
/// Free-form text message body: at most 4096 characters (§2.4, M-TEXT).
pub const WHATSAPP_TEXT_MAX: usize = 4096;
/// The customer service window: 24 hours after the contact's last message (§4, M-SEND).
pub const WINDOW_SECONDS: i64 = 24 * 3600;
/// Template names: lowercase letters, digits and underscores, at most 512 (§3).
pub const TEMPLATE_NAME_MAX: usize = 512;
/// Twilio SMS `Body`: at most 1600 characters (§10, TW-MSG).
pub const SMS_BODY_MAX: usize = 1600;
/// One GSM-7 SMS segment holds 160 characters, 153 when concatenated (§10).
pub const SMS_GSM7_SINGLE: usize = 160;
/// Characters per concatenated GSM-7 segment.
pub const SMS_GSM7_MULTI: usize = 153;
/// One UCS-2 SMS segment holds 70 UTF-16 units, 67 when concatenated (§10).
pub const SMS_UCS2_SINGLE: usize = 70;
/// UTF-16 units per concatenated UCS-2 segment.
pub const SMS_UCS2_MULTI: usize = 67;
/// Alphanumeric SMS sender IDs: at most 11 characters.
pub const SMS_SENDER_ID_MAX: usize = 11;
/// Longest wait the language allows (`wait`, handler timeouts): a year.
pub const WAIT_MAX_SECONDS: u64 = crate::duration::MAX_SECONDS;
/// Quick-reply buttons per message: 1 to 3 (§2.2, M-BTN).
pub const BUTTONS_MAX: usize = 3;
/// A reply button's title: 1 to 20 characters, unique in its message (§2.2, M-BTN).
pub const BUTTON_TITLE_MAX: usize = 20;
/// A reply button's id: 1 to 256 characters, unique in its message (§2.2, M-BTN).
pub const BUTTON_ID_MAX: usize = 256;
/// A buttons message's body: required, at most 1024 characters (§2.2, M-BTN).
pub const BUTTONS_BODY_MAX: usize = 1024;
/// A list message's body: required, at most 4096 characters (§2.3, M-LIST).
pub const LIST_BODY_MAX: usize = 4096;
/// The label of the button that opens a list: 1 to 20 characters (§2.3, M-LIST).
pub const LIST_BUTTON_MAX: usize = 20;
/// Sections of a list: 1 to 10 (§2.3, M-LIST).
pub const LIST_SECTIONS_MAX: usize = 10;
/// Rows of a list, counted across all its sections: 1 to 10 (§2.3, M-LIST).
pub const LIST_ROWS_MAX: usize = 10;
/// A list section's title: at most 24 characters (§2.3, M-LIST).
pub const LIST_SECTION_TITLE_MAX: usize = 24;
/// A list row's title: 1 to 24 characters (§2.3, M-LIST).
pub const LIST_ROW_TITLE_MAX: usize = 24;
/// A list row's description: at most 72 characters (§2.3, M-LIST).
pub const LIST_ROW_DESCRIPTION_MAX: usize = 72;
/// A list row's id: 1 to 200 characters, unique in its message (§2.3, M-LIST).
pub const LIST_ROW_ID_MAX: usize = 200;
/// Buttons of a template: at most 10 in all, so indexes 0 to 9 (§3, 3P:
/// bird.com, ycloud; `index` is zero-based).
pub const TEMPLATE_BUTTONS_MAX: usize = 10;
/// A template quick-reply button's payload. Meta gives no limit (§3); kflow
/// holds it to a reply button's id limit, 256 (§2.2), since the payload
/// comes back the way an id does and is matched the same way.
pub const TEMPLATE_PAYLOAD_MAX: usize = 256;
/// A frequency cap's count: 1 to 100 messages per period. The engine keeps
/// the times of a contact's last `count` sends per workflow, so this bounds
/// what a contact record holds.
pub const CAP_COUNT_MAX: u32 = 100;
