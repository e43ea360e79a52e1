//! The language's words, each with the one line hover and completion show.

/// Items that may start a top-level line.
pub(crate) const ITEMS: &[&str] = &["workflow", "field", "on reply", "quiet", "at most", "goal"];

/// What a template's `button N` is filled as.
pub(crate) const TEMPLATE_BUTTON_KINDS: &[&str] = &["url", "reply"];

/// Statements a block of statements may hold, then the handlers after one.
pub(crate) const STATEMENTS: &[&str] = &[
    "if",
    "else",
    "cta",
    "buttons",
    "list",
    "whatsapp",
    "template",
    "sms",
    "email",
    "wait",
    "await reply",
    "tag",
    "untag",
    "stop",
    "on link opened",
    "on not delivered",
    "on timeout",
    "on reply",
];

/// What a condition can test.
pub(crate) const CONDITIONS: &[&str] = &["window.open", "window.closed", "contact.tags has"];

/// Header kinds and template categories, after their field name.
pub(crate) const HEADER_KINDS: &[&str] = &["text", "image", "video", "document"];
/// Categories a workflow can send.
pub(crate) const CATEGORIES: &[&str] = &["marketing", "utility"];

/// The one-line explanation of a word (or of a phrase's first word).
pub(crate) fn explain(word: &str) -> Option<&'static str> {
    Some(match word {
        "workflow" => "`workflow \"Name\"`: the workflow's display name, at most once per file",
        "field" => "`field contact.key`: declares a custom contact field for `{{contact.key}}`",
        "on" => {
            "`on reply CHANNEL < ... >` starts a trigger; inside a block, `on link opened`, `on reply \"id\"`, `on not delivered` and `on timeout D` handle the statement before"
        }
        "reply" => {
            "`on reply CHANNEL`: each reply of a contact on the channel starts a run; after a `buttons` or `list`, `on reply \"id\"` runs when the contact chooses that button or row"
        }
        "whatsapp" => {
            "`whatsapp \"text\"`: a free-form WhatsApp text (up to 4096 characters; only inside the 24-hour window)"
        }
        "sms" => {
            "`sms \"text\"` or `sms < body \"...\" from \"...\" >`: an SMS (up to 1600 characters)"
        }
        "email" => "`email < subject \"...\" body \"...\" >`: an email",
        "if" => {
            "`if CONDITION < ... > else if ... < ... > else < ... >`: runs the first branch whose condition holds"
        }
        "else" => "`else < ... >` runs when no condition before it held",
        "cta" => {
            "`cta [NAME] < header ... body ... url ... button ... >`: a WhatsApp interactive message with one URL button"
        }
        "buttons" => {
            "`buttons [NAME] < body ... reply \"id\" \"Title\" ... >`: a WhatsApp interactive message with one to three quick-reply buttons, answered by `on reply \"id\"`"
        }
        "list" => {
            "`list [NAME] < body ... button \"...\" section \"Title\" < row \"id\" \"Title\" > >`: a WhatsApp list of up to ten rows, answered by `on reply \"id\"`"
        }
        "section" => "`section \"Title\" < row ... >`: a group of a list's rows",
        "row" => {
            "`row \"id\" \"Title\" [\"Description\"]`: a row of a list (title up to 24, description up to 72)"
        }
        "template" => {
            "`template \"name\" < language \"en\" category utility >`: an approved WhatsApp template, sendable outside the window; with `button N reply \"id\"` answered by `on reply \"id\"`"
        }
        "quiet" => {
            "`quiet 21:00-08:00 timezone contact.timezone default \"Europe/Lisbon\"`: no message goes out in these hours of the contact's zone; a send waits until they end"
        }
        "timezone" => {
            "`timezone contact.timezone` (the contact's own IANA zone) or `timezone \"Europe/Lisbon\"` (everyone's): the zone quiet hours are read in"
        }
        "default" => {
            "`default \"Europe/Lisbon\"`: the zone for contacts whose zone field is empty or not a zone"
        }
        "at" | "most" | "per" => {
            "`at most 2 per 1d`: at most this many messages of the file reach a contact in any such period; a send over it is not sent"
        }
        "goal" => "`goal contact.tags has \"booked\"`: a run ends as soon as this condition holds",
        "wait" => "`wait D`: pauses the run for a duration such as `30m` or `1d`",
        "await" => {
            "`await reply CHANNEL`: waits for the contact's next reply; needs an `on timeout` handler"
        }
        "tag" => "`tag \"name\"`: adds a tag to the contact",
        "untag" => "`untag \"name\"`: removes a tag from the contact",
        "stop" => "`stop`: ends the run; nothing after it runs",
        "link" | "opened" => "`on link opened < ... >`: runs when the contact opens the CTA's link",
        "not" => {
            "`not C` negates a condition; `on not delivered < ... >` runs when a message could not be delivered"
        }
        "delivered" => {
            "`on not delivered < ... >`: runs when the message before could not be delivered"
        }
        "timeout" => {
            "`timeout D` (a field of a `cta`, `buttons`, `list` or template, 5m to 2d) or `on timeout D < ... >`: what happens when nothing came in time"
        }
        "and" => "`a and b`: both conditions hold",
        "or" => "`a or b`: either condition holds",
        "has" => "`contact.tags has \"vip\"`: the contact has the tag",
        "contains" => "`contact.city contains \"Lis\"`: the text contains the string",
        "window.open" => {
            "`window.open`: the 24-hour customer service window is open, so session messages can be sent"
        }
        "window.closed" => {
            "`window.closed`: the 24-hour window is closed; only templates reach WhatsApp"
        }
        "header" => {
            "`header text \"...\"` (up to 60 characters), or `image`, `video`, `document` with a URL; in a template, its header's parameter"
        }
        "body" => {
            "`body \"...\"`: the message text (a CTA's up to 1024 characters, an SMS's up to 1600)"
        }
        "footer" => "`footer \"...\"`: a CTA's footer, up to 60 characters",
        "url" => "`url \"https://...\"`: where the CTA's button leads",
        "button" => {
            "`button \"...\"`: the CTA's button label, up to 20 characters; in a template, `button N url \"...\"` (a URL button's suffix) or `button N reply \"id\"` (a quick reply's payload)"
        }
        "from" => "`from \"...\"`: the sending number, sender ID or address",
        "subject" => "`subject \"...\"`: the email's subject",
        "language" => "`language \"en_US\"`: the template's language code",
        "category" => "`category utility` (or `marketing`): the template's category",
        "param" => "`param \"...\"`: the template's next parameter, in order",
        _ => return None,
    })
}
