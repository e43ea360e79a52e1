//! The fast path: items that parse, parsed without pest.
//!
//! pest checks its call and stack limits and snapshots its stack on every
//! rule, sequence and repetition, so on realistic files it spends thousands
//! of instructions per token. This hand-written recursive-descent parser reads
//! exactly the language of `grammar/kflow.pest` and builds exactly the AST and
//! diagnostics that pest + [`convert`](super::convert) would, including the
//! grammar's quirks: a rule that ends in an optional part that matched
//! nothing also covers the trivia after it (a `test` without a comparison, a
//! field `name word` without text, an `if` without `else`).
//!
//! It never explains an error: at the first thing it does not expect it gives
//! up, discarding what it built, and the caller parses the item with pest,
//! whose error message is the one the author sees. So the fast path can only
//! ever be wrong by accepting something pest rejects, or by building a
//! different tree; `tests/robustness.rs` checks, on generated and mutated
//! programs, that whenever it succeeds pest agrees to the span.
//!
//! Recursion is bounded as for pest: the splitter refuses items nested more
//! than [`MAX_DEPTH`](super::MAX_DEPTH) deep before either parser sees them.

use crate::diag::Diagnostic;
use crate::source::{Span, Spanned};
use crate::syntax::ast::*;
use crate::syntax::convert;
use crate::syntax::text;

/// Parses one item (the splitter's chunk `text`, which starts at offset
/// `base` of the file). `None` when the item is not plainly valid: the caller
/// then parses it with pest. `Some(None)` for an item of only trivia.
pub(crate) fn item(
    text: &str,
    base: u32,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Option<Item>> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        base,
        diagnostics: Vec::new(),
        stmts: Vec::new(),
        fields: Vec::new(),
    };
    let item = p.item()?;
    diagnostics.append(&mut p.diagnostics);
    Some(item)
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    base: u32,
    /// Diagnostics of this item, kept apart until it parsed.
    diagnostics: Vec<Diagnostic>,
    /// Statements of the blocks being read, innermost last; each block
    /// drains its own into an exactly-sized `Vec`.
    stmts: Vec<Stmt>,
    /// Fields of the field lists being read, likewise.
    fields: Vec<Field>,
}

impl<'a> Parser<'a> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.base + start as u32, self.base + end as u32)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// pest's implicit `WHITESPACE* ~ (COMMENT ~ WHITESPACE*)*`.
    fn skip(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'#' => {
                    self.pos = memchr::memchr(b'\n', &self.bytes[self.pos..])
                        .map_or(self.bytes.len(), |p| self.pos + p);
                }
                _ => break,
            }
        }
    }

    /// The run of identifier characters at the cursor (possibly empty); a
    /// keyword rule `@{ "kw" ~ !ident_char }` matches exactly when this run
    /// is the keyword.
    fn word(&self) -> &'a str {
        let len = self.bytes[self.pos..]
            .iter()
            .take_while(|&&b| is_ident_char(b))
            .count();
        &self.text[self.pos..self.pos + len]
    }

    /// Consumes keyword `kw` at the cursor.
    fn keyword(&mut self, kw: &str) -> Option<()> {
        if self.word() == kw {
            self.pos += kw.len();
            Some(())
        } else {
            None
        }
    }

    fn punct(&mut self, b: u8) -> Option<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    fn item(&mut self) -> Option<Option<Item>> {
        self.skip();
        if self.pos == self.bytes.len() {
            return Some(None);
        }
        let item = match self.word() {
            "workflow" => {
                self.pos += "workflow".len();
                self.skip();
                Item::Workflow(self.string()?)
            }
            "field" => {
                self.pos += "field".len();
                self.skip();
                Item::Field(self.path()?)
            }
            "on" => Item::Trigger(self.trigger()?),
            "quiet" => Item::Quiet(self.quiet()?),
            "at" => Item::Cap(self.cap()?),
            "goal" => {
                let start = self.pos;
                self.pos += "goal".len();
                let head = self.span(start, self.pos);
                self.skip();
                let cond = self.cond()?;
                let span = Span::new(head.start, crate::syntax::tidy::cond_end(&cond));
                Item::Goal(Goal { head, cond, span })
            }
            _ => return None,
        };
        self.skip();
        (self.pos == self.bytes.len()).then_some(Some(item))
    }

    /// `quiet clock - clock timezone (string | path) (default string)?`.
    fn quiet(&mut self) -> Option<Quiet> {
        let start = self.pos;
        self.keyword("quiet")?;
        let head = self.span(start, self.pos);
        self.skip();
        let from = self.clock()?;
        self.skip();
        self.punct(b'-')?;
        self.skip();
        let to = self.clock()?;
        self.skip();
        self.keyword("timezone")?;
        self.skip();
        let zone = if self.peek() == Some(b'"') {
            Zone::Named(self.string()?)
        } else {
            Zone::Field(self.path()?)
        };
        let before = self.pos;
        self.skip();
        let default = if self.word() == "default" {
            self.pos += "default".len();
            self.skip();
            Some(self.string()?)
        } else {
            self.pos = before;
            None
        };
        let end = default.as_ref().map_or(zone.span(), |d| d.span).end;
        Some(Quiet {
            head,
            from,
            to,
            zone,
            default,
            span: Span::new(head.start, end),
        })
    }

    /// `at most number per duration`.
    fn cap(&mut self) -> Option<Cap> {
        let start = self.pos;
        self.keyword("at")?;
        self.skip();
        self.keyword("most")?;
        let head = self.span(start, self.pos);
        self.skip();
        let count = self.number()?;
        self.skip();
        self.keyword("per")?;
        self.skip();
        let per = self.duration()?;
        Some(Cap {
            head,
            count,
            span: head.to(per.span),
            per,
        })
    }

    /// `@{ ASCII_DIGIT+ ~ !ident_char }`.
    fn number(&mut self) -> Option<Spanned<String>> {
        let start = self.pos;
        let word = self.word();
        if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.pos += word.len();
        Some(Spanned::new(word.to_owned(), self.span(start, self.pos)))
    }

    /// `@{ ASCII_DIGIT+ ~ ":" ~ ASCII_DIGIT+ ~ !ident_char }`.
    fn clock(&mut self) -> Option<Spanned<String>> {
        let start = self.pos;
        let hours = self.bytes[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if hours == 0 || self.bytes.get(self.pos + hours) != Some(&b':') {
            return None;
        }
        self.pos += hours + 1;
        let minutes = self.word();
        if minutes.is_empty() || !minutes.bytes().all(|b| b.is_ascii_digit()) {
            self.pos = start;
            return None;
        }
        self.pos += minutes.len();
        Some(Spanned::new(
            self.text[start..self.pos].to_owned(),
            self.span(start, self.pos),
        ))
    }

    fn trigger(&mut self) -> Option<Trigger> {
        let start = self.pos;
        self.keyword("on")?;
        self.skip();
        self.keyword("reply")?;
        self.skip();
        let channel = self.channel()?;
        self.skip();
        let body = self.block()?;
        Some(Trigger {
            head: Span::new(self.base + start as u32, channel.span.end),
            channel,
            body,
        })
    }

    fn channel(&mut self) -> Option<Spanned<Channel>> {
        let start = self.pos;
        let channel = match self.word() {
            "whatsapp" => Channel::Whatsapp,
            "sms" => Channel::Sms,
            "email" => Channel::Email,
            _ => return None,
        };
        self.pos += channel.as_str().len();
        Some(Spanned::new(channel, self.span(start, self.pos)))
    }

    fn block(&mut self) -> Option<Block> {
        let start = self.pos;
        self.punct(b'<')?;
        self.skip();
        let mark = self.stmts.len();
        let mut orphans = Vec::new();
        while self.peek() != Some(b'>') {
            if self.word() == "on" {
                let handler = self.handler()?;
                let previous = if self.stmts.len() > mark {
                    self.stmts.last_mut()
                } else {
                    None
                };
                match previous {
                    Some(stmt) => stmt.handlers.push(handler),
                    None => {
                        self.diagnostics.push(convert::orphan(&handler));
                        orphans.push(handler);
                    }
                }
            } else {
                let stmt = self.stmt()?;
                self.stmts.push(stmt);
            }
            self.skip();
        }
        self.pos += 1;
        let stmts: Vec<Stmt> = self.stmts.drain(mark..).collect();
        Some(Block {
            stmts,
            orphans,
            span: self.span(start, self.pos),
        })
    }

    fn handler(&mut self) -> Option<Handler> {
        let start = self.pos;
        self.keyword("on")?;
        self.skip();
        let kind = match self.word() {
            "link" => {
                self.pos += "link".len();
                self.skip();
                self.keyword("opened")?;
                HandlerKind::LinkOpened
            }
            "not" => {
                self.pos += "not".len();
                self.skip();
                self.keyword("delivered")?;
                HandlerKind::NotDelivered
            }
            "timeout" => {
                self.pos += "timeout".len();
                self.skip();
                HandlerKind::Timeout(self.duration()?)
            }
            "reply" => {
                self.pos += "reply".len();
                self.skip();
                HandlerKind::Choice(self.string()?)
            }
            _ => return None,
        };
        let head = self.span(start, self.pos);
        self.skip();
        let body = self.block()?;
        Some(Handler { kind, head, body })
    }

    fn stmt(&mut self) -> Option<Stmt> {
        let start = self.pos;
        let word = self.word();
        self.pos += word.len();
        let head = self.span(start, self.pos);
        let kind = match word {
            "if" => {
                self.skip();
                return self.if_stmt(start, head);
            }
            "cta" | "buttons" | "list" => {
                self.skip();
                let name = if self.peek() == Some(b'"') {
                    let name = self.string()?;
                    self.skip();
                    Some(name)
                } else {
                    None
                };
                let message = Interactive {
                    name,
                    fields: self.fields()?,
                };
                match word {
                    "cta" => StmtKind::Cta(message),
                    "buttons" => StmtKind::Buttons(message),
                    _ => StmtKind::List(message),
                }
            }
            "whatsapp" => {
                self.skip();
                StmtKind::Whatsapp(self.string()?)
            }
            "template" => {
                self.skip();
                let name = self.string()?;
                self.skip();
                StmtKind::Template(Template {
                    name,
                    fields: self.fields()?,
                })
            }
            "sms" => {
                self.skip();
                match self.peek() {
                    Some(b'"') => StmtKind::Sms(Sms::Text(self.string()?)),
                    _ => StmtKind::Sms(Sms::Fields(self.fields()?)),
                }
            }
            "email" => {
                self.skip();
                StmtKind::Email(self.fields()?)
            }
            "wait" => {
                self.skip();
                StmtKind::Wait(self.duration()?)
            }
            "await" => {
                self.skip();
                self.keyword("reply")?;
                self.skip();
                StmtKind::AwaitReply(self.channel()?)
            }
            "tag" => {
                self.skip();
                StmtKind::Tag(self.string()?)
            }
            "untag" => {
                self.skip();
                StmtKind::Untag(self.string()?)
            }
            "stop" => StmtKind::Stop,
            _ => return None,
        };
        Some(Stmt {
            kind,
            span: self.span(start, self.pos),
            head,
            handlers: Vec::new(),
        })
    }

    /// `if` is read; the cursor is at the condition.
    fn if_stmt(&mut self, start: usize, head: Span) -> Option<Stmt> {
        let cond = self.cond()?;
        self.skip();
        let block = self.block()?;
        let mut branches = vec![Branch { cond, block }];
        let mut otherwise = None;
        loop {
            self.skip();
            if self.word() != "else" {
                break;
            }
            self.pos += "else".len();
            self.skip();
            if self.word() == "if" {
                self.pos += "if".len();
                self.skip();
                let cond = self.cond()?;
                self.skip();
                let block = self.block()?;
                branches.push(Branch { cond, block });
            } else if self.peek() == Some(b'<') {
                otherwise = Some(self.block()?);
                break;
            } else {
                // pest would end the `if` before this `else`, and then fail
                // on it; let it explain.
                return None;
            }
        }
        // Without an `else` block, the grammar's `else_if* ~ else_clause?`
        // matched nothing after a skip, so the statement covers the trivia
        // after its last block: the cursor is already past it.
        Some(Stmt {
            kind: StmtKind::If(If {
                branches,
                otherwise,
            }),
            span: self.span(start, self.pos),
            head,
            handlers: Vec::new(),
        })
    }

    fn fields(&mut self) -> Option<Fields> {
        let start = self.pos;
        self.punct(b'<')?;
        self.skip();
        let mark = self.fields.len();
        while self.peek() != Some(b'>') {
            let field = self.field()?;
            self.fields.push(field);
            self.skip();
        }
        self.pos += 1;
        let fields: Vec<Field> = self.fields.drain(mark..).collect();
        Some(Fields {
            fields,
            span: self.span(start, self.pos),
        })
    }

    fn field(&mut self) -> Option<Field> {
        let start = self.pos;
        let name = self.ident()?;
        self.skip();
        let value = match self.peek()? {
            b'"' => {
                // `string+ ~ fields?`: without nested fields, the field
                // covers the trivia after its last string.
                let mut texts = vec![self.string()?];
                loop {
                    self.skip();
                    if self.peek() != Some(b'"') {
                        break;
                    }
                    texts.push(self.string()?);
                }
                if self.peek() == Some(b'<') {
                    FieldValue::Group(texts, self.fields()?)
                } else if texts.len() == 1 {
                    FieldValue::Text(texts.remove(0))
                } else {
                    FieldValue::Texts(texts)
                }
            }
            b'<' => FieldValue::Group(Vec::new(), self.fields()?),
            b if b.is_ascii_digit() && self.word().bytes().all(|b| b.is_ascii_digit()) => {
                let number = self.number()?;
                self.skip();
                let (word, text) = self.word_and_string()?;
                FieldValue::Indexed(number, word, text)
            }
            b if b.is_ascii_digit() => FieldValue::Duration(self.duration()?),
            b if is_ident_start(b) => {
                let (word, text) = self.word_and_string()?;
                FieldValue::Word(word, text)
            }
            _ => return None,
        };
        Some(Field {
            name,
            value,
            span: self.span(start, self.pos),
        })
    }

    /// `ident ~ string?` at the end of a field: without a string, the
    /// field covers the trivia after the word.
    fn word_and_string(&mut self) -> Option<(Spanned<String>, Option<Text>)> {
        let word = self.ident()?;
        self.skip();
        let text = if self.peek() == Some(b'"') {
            Some(self.string()?)
        } else {
            None
        };
        Some((word, text))
    }

    /// `conjunction ~ (kw_or ~ conjunction)*`.
    fn cond(&mut self) -> Option<Cond> {
        let mut alternatives = vec![self.conjunction()?];
        loop {
            let before = self.pos;
            self.skip();
            if self.word() != "or" {
                self.pos = before;
                break;
            }
            self.pos += "or".len();
            self.skip();
            alternatives.push(self.conjunction()?);
        }
        Some(convert::single_or(alternatives, Cond::Or))
    }

    /// `negation ~ (kw_and ~ negation)*`.
    fn conjunction(&mut self) -> Option<Cond> {
        let mut all = vec![self.negation()?];
        loop {
            let before = self.pos;
            self.skip();
            if self.word() != "and" {
                self.pos = before;
                break;
            }
            self.pos += "and".len();
            self.skip();
            all.push(self.negation()?);
        }
        Some(convert::single_or(all, Cond::And))
    }

    /// `kw_not* ~ (paren | test)`.
    fn negation(&mut self) -> Option<Cond> {
        let mut nots = 0usize;
        while self.word() == "not" {
            self.pos += "not".len();
            nots += 1;
            self.skip();
        }
        let cond = if self.peek() == Some(b'(') {
            self.pos += 1;
            self.skip();
            let inner = self.cond()?;
            self.skip();
            self.punct(b')')?;
            inner
        } else {
            Cond::Test(self.test()?)
        };
        Some(if nots % 2 == 1 {
            Cond::Not(Box::new(cond))
        } else {
            cond
        })
    }

    /// `path ~ (compare_op ~ string)?`.
    fn test(&mut self) -> Option<Test> {
        let start = self.pos;
        let path = self.path()?;
        // Without a comparison the test covers the trivia after the path.
        self.skip();
        let op_start = self.pos;
        let op = if self.bytes[self.pos..].starts_with(b"==") {
            self.pos += 2;
            Some(CompareOp::Eq)
        } else if self.bytes[self.pos..].starts_with(b"!=") {
            self.pos += 2;
            Some(CompareOp::Ne)
        } else {
            match self.word() {
                "contains" => {
                    self.pos += "contains".len();
                    Some(CompareOp::Contains)
                }
                "has" => {
                    self.pos += "has".len();
                    Some(CompareOp::Has)
                }
                _ => None,
            }
        };
        let compare = match op {
            Some(op) => {
                let op = Spanned::new(op, self.span(op_start, self.pos));
                self.skip();
                Some((op, self.string()?))
            }
            None => None,
        };
        Some(Test {
            path,
            compare,
            span: self.span(start, self.pos),
        })
    }

    /// `@{ ident_start ~ ident_char* }`.
    fn ident(&mut self) -> Option<Spanned<String>> {
        if !is_ident_start(self.peek()?) {
            return None;
        }
        let start = self.pos;
        self.pos += self.word().len();
        Some(Spanned::new(
            self.text[start..self.pos].to_owned(),
            self.span(start, self.pos),
        ))
    }

    /// `@{ ident ~ ("." ~ ident)* }`; a dot not followed by an identifier
    /// ends the path before it.
    fn path(&mut self) -> Option<Spanned<String>> {
        if !is_ident_start(self.peek()?) {
            return None;
        }
        let start = self.pos;
        self.pos += self.word().len();
        while self.peek() == Some(b'.')
            && self
                .bytes
                .get(self.pos + 1)
                .is_some_and(|&b| is_ident_start(b))
        {
            self.pos += 1;
            self.pos += self.word().len();
        }
        Some(Spanned::new(
            self.text[start..self.pos].to_owned(),
            self.span(start, self.pos),
        ))
    }

    /// `@{ (ASCII_DIGIT+ ~ ("d" | "h" | "m" | "s"))+ ~ !ident_char }`: the
    /// whole identifier-character run must be digit groups with units.
    fn duration(&mut self) -> Option<Duration> {
        let start = self.pos;
        let word = self.word().as_bytes();
        let mut i = 0;
        while i < word.len() {
            let digits = word[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 || !matches!(word.get(i + digits), Some(b'd' | b'h' | b'm' | b's')) {
                return None;
            }
            i += digits + 1;
        }
        if i == 0 {
            return None;
        }
        self.pos += i;
        Some(convert::duration(
            &self.text[start..self.pos],
            self.span(start, self.pos),
            &mut self.diagnostics,
        ))
    }

    /// A double-quoted string with `\`-escapes of any one character.
    fn string(&mut self) -> Option<Text> {
        let start = self.pos;
        self.punct(b'"')?;
        loop {
            let rest = &self.bytes[self.pos..];
            let at = memchr::memchr2(b'"', b'\\', rest)?;
            if rest[at] == b'"' {
                self.pos += at + 1;
                break;
            }
            // A backslash escapes the next character, whatever it is; its
            // continuation bytes can never be a quote or a backslash.
            if at + 1 >= rest.len() {
                return None;
            }
            self.pos += at + 2;
        }
        Some(text::decode(
            &self.text[start..self.pos],
            self.base + start as u32,
            &mut self.diagnostics,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(text: &str) -> Option<Option<Item>> {
        item(text, 0, &mut Vec::new())
    }

    #[test]
    fn reads_valid_items() {
        for text in [
            "",
            " # only a comment",
            "workflow \"Name\"",
            "field contact.shoe_size",
            "on reply whatsapp < >",
            r#"on reply whatsapp < if window.open < cta < header text "Hi" body "Pick a slot" url "https://www.example.com/book" button "Book now" > > on timeout 30m < sms "Still want a slot?" > >"#,
            "on reply sms < if not (a == \"x\" or b) and c has \"y\" < stop > else if d < > else < wait 1h30m > >",
            "on reply sms<await reply email on timeout 2h<untag\"x\">on link opened<>on not delivered<>>",
            "on reply email < template \"t\" < language \"en_US\" category utility > email < subject \"s\" > >",
        ] {
            assert!(fast(text).is_some(), "{text:?}");
        }
    }

    #[test]
    fn gives_up_on_anything_pest_would_explain() {
        for text in [
            "on",
            "workflow",
            "workflow \"a\" \"b\"",
            "on reply fax < >",
            "on reply sms < x >",
            "on reply sms < stop",
            "on reply sms < if < > >",
            "on reply sms < if a < > else >",
            "on reply sms < if a and < > >",
            "on reply sms < if a == < > >",
            "on reply sms < wait 1h30 >",
            "on reply sms < wait 30x >",
            "on reply sms < sms \"unterminated >",
            "on reply sms < cta \"a\" \"b\" < > >",
            "on reply sms < cta < 9 > >",
            "on reply sms < on later < > >",
            "on reply sms < tag \"a\" > trailing",
            "\u{feff}on reply sms < >",
        ] {
            assert_eq!(fast(text), None, "{text:?}");
        }
    }

    #[test]
    fn keeps_an_items_diagnostics_only_when_it_parses() {
        let mut diagnostics = Vec::new();
        assert!(item("on reply sms < wait 1d1d >", 0, &mut diagnostics).is_some());
        assert_eq!(diagnostics.len(), 1);
        let mut diagnostics = Vec::new();
        assert!(item("on reply sms < wait 1d1d x >", 0, &mut diagnostics).is_none());
        assert!(diagnostics.is_empty());
    }
}
