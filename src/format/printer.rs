//! Prints a tree in the canonical layout, putting the comments back.
//!
//! Every token is written with the source offset it came from, and before a
//! token is written every comment that started before it is flushed: a
//! comment that trailed code stays at the end of its line, one that had a
//! line to itself gets a line to itself at the current indent. So comments
//! keep their order and their place between tokens; none is ever dropped.
//!
//! Whether a block fits on one line is decided by printing it flat into a
//! scratch buffer that gives up as soon as the line is full, so each block
//! costs at most one line's worth of extra work and formatting stays linear
//! in the size of the file.

use crate::source::Span;
use crate::syntax::ast::*;
use crate::syntax::comments::Comment;

use super::MAX_WIDTH;

const INDENT: &str = "  ";

/// A message with more fields than this gets one line per field even when
/// they would fit on one: a card of five fields on one line is hard to read
/// and every edit to it rewrites the whole line in a diff.
const MAX_FLAT_FIELDS: usize = 3;

/// Prints `file`, parsed from `text`, with `comments` (all of `text`'s).
pub(super) fn print(text: &str, file: &File, comments: &[Comment]) -> String {
    let mut p = Printer::new(text, comments, false);
    for item in &file.items {
        p.item(item);
    }
    p.finish()
}

struct Printer<'a> {
    text: &'a str,
    comments: &'a [Comment],
    /// The first comment not yet written.
    next_comment: usize,
    out: String,
    depth: usize,
    /// Characters on the current output line.
    col: usize,
    /// Whether the current output line holds nothing yet.
    line_empty: bool,
    /// Source offset just past the last token or comment written, for
    /// finding the author's blank lines.
    last_end: u32,
    /// True right after `<` or at the start of the file, where a blank line
    /// is never kept.
    just_opened: bool,
    /// Flat mode: everything on one line, comments ignored (the caller made
    /// sure there are none), giving up once the line is full.
    flat: bool,
    /// In flat mode, set when the line overflowed.
    overflow: bool,
    /// The next token follows the last without a space (after `(`, before `)`).
    glue: bool,
}

impl<'a> Printer<'a> {
    fn new(text: &'a str, comments: &'a [Comment], flat: bool) -> Printer<'a> {
        Printer {
            text,
            comments,
            next_comment: 0,
            // The output is about the input's size: growing to it by
            // doubling would copy it several times over.
            out: String::with_capacity(if flat { 0 } else { text.len() + text.len() / 8 }),
            depth: 0,
            col: 0,
            line_empty: true,
            last_end: 0,
            just_opened: true,
            flat,
            overflow: false,
            glue: false,
        }
    }

    fn finish(mut self) -> String {
        self.flush_comments(u32::MAX);
        if !self.line_empty {
            self.out.push('\n');
        }
        self.out
    }

    fn slice(&self, span: Span) -> &'a str {
        let text: &'a str = self.text;
        text.get(span.range()).unwrap_or_default()
    }

    // --- Low level: tokens, lines and comments. ---

    /// Writes `token`, which the source had at about offset `pos` (comments
    /// before `pos` are written first). Only verbatim tokens and brackets,
    /// whose offsets are exact, move [`Printer::last_end`].
    fn token(&mut self, pos: u32, token: &str) {
        // A flat try that overflowed is thrown away: writing the rest of a
        // large block into it would cost the block's size at every depth.
        if self.overflow {
            return;
        }
        if !self.flat {
            self.flush_comments(pos);
        }
        if self.line_empty {
            if !self.flat {
                self.start_line();
            }
        } else if !self.glue {
            self.out.push(' ');
            self.col += 1;
        }
        self.glue = false;
        self.out.push_str(token);
        match token.rfind('\n') {
            Some(nl) => self.col = token[nl + 1..].chars().count(),
            None => self.col += token.chars().count(),
        }
        self.line_empty = false;
        self.just_opened = false;
        if self.flat && self.col > MAX_WIDTH {
            self.overflow = true;
        }
    }

    /// A token whose source offset is exact: what follows is measured from
    /// its end.
    fn exact(&mut self, span: Span, token: &str) {
        self.token(span.start, token);
        self.last_end = self.last_end.max(span.end);
    }

    /// A source token written as it was.
    fn verbatim(&mut self, span: Span) {
        let text = self.slice(span);
        self.exact(span, text);
    }

    /// Ends the current line; what comes next starts at source offset
    /// `next`, which decides which comments belong before it. Nothing in
    /// flat mode.
    fn line(&mut self, next: u32) {
        if self.flat {
            return;
        }
        self.flush_comments(next);
        self.end_line();
        self.blank_line_if_author_left_one(next);
    }

    fn end_line(&mut self) {
        if !self.line_empty {
            self.out.push('\n');
            self.line_empty = true;
            self.col = 0;
        }
    }

    /// Indents an empty line (written lazily, by the line's first token).
    fn start_line(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str(INDENT);
        }
        self.col = self.depth * INDENT.len();
    }

    /// Keeps one blank line where the source had at least one between what
    /// was last written and `next`.
    fn blank_line_if_author_left_one(&mut self, next: u32) {
        let end = (next as usize).min(self.text.len());
        let gap = self
            .text
            .get((self.last_end as usize).min(end)..end)
            .unwrap_or_default();
        let newlines = gap.bytes().filter(|&b| b == b'\n').count();
        if newlines >= 2 && !self.just_opened && !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    /// Writes every comment that starts before `pos`.
    fn flush_comments(&mut self, pos: u32) {
        while let Some(&c) = self.comments.get(self.next_comment) {
            if c.span.start >= pos {
                break;
            }
            self.next_comment += 1;
            let text: &'a str = self.text;
            let body = text.get(c.span.range()).unwrap_or_default().trim_end();
            if c.own_line || self.line_empty {
                self.end_line();
                self.blank_line_if_author_left_one(c.span.start);
                self.start_line();
            } else {
                self.out.push(' ');
            }
            self.out.push_str(body);
            self.out.push('\n');
            self.line_empty = true;
            self.col = 0;
            self.just_opened = false;
            self.last_end = self.last_end.max(c.span.end);
        }
    }

    /// Whether a comment not yet written starts inside `span`.
    fn has_comment_in(&self, span: Span) -> bool {
        let rest = self.comments.get(self.next_comment..).unwrap_or_default();
        let i = rest.partition_point(|c| c.span.start < span.start);
        rest.get(i).is_some_and(|c| c.span.start < span.end)
    }

    /// Prints `what` (which covers `span`) on the current line if it has no
    /// comment inside and fits; true when it was written.
    fn try_flat(&mut self, span: Span, what: impl FnOnce(&mut Printer<'a>)) -> bool {
        if self.flat {
            what(self);
            return true;
        }
        if self.has_comment_in(span) {
            return false;
        }
        let mut scratch = Printer::new(self.text, &[], true);
        scratch.col = if self.line_empty {
            self.depth * INDENT.len()
        } else {
            self.col + 1
        };
        what(&mut scratch);
        if scratch.overflow || scratch.out.contains('\n') {
            return false;
        }
        self.exact(span, &scratch.out);
        true
    }

    // --- The tree. ---

    fn item(&mut self, item: &Item) {
        match item {
            Item::Workflow(name) => {
                self.line(name.span.start);
                self.token(name.span.start, "workflow");
                self.verbatim(name.span);
            }
            Item::Field(path) => {
                self.line(path.span.start);
                self.token(path.span.start, "field");
                self.verbatim(path.span);
            }
            Item::Trigger(t) => {
                self.line(t.head.start);
                self.token(t.head.start, "on reply");
                self.verbatim(t.channel.span);
                // A trigger is the workflow's body: always broken, so every
                // trigger in a file reads the same way.
                self.block_broken(&t.body);
            }
            Item::Quiet(q) => {
                self.line(q.head.start);
                self.exact(q.head, "quiet");
                // `21:00-08:00` is one range: no spaces around the dash.
                self.verbatim(q.from.span);
                self.glue = true;
                self.token(q.to.span.start, "-");
                self.glue = true;
                self.verbatim(q.to.span);
                self.token(q.to.span.end, "timezone");
                match &q.zone {
                    Zone::Named(t) => self.verbatim(t.span),
                    Zone::Field(path) => self.verbatim(path.span),
                }
                if let Some(default) = &q.default {
                    self.token(default.span.start, "default");
                    self.verbatim(default.span);
                }
            }
            Item::Cap(c) => {
                self.line(c.head.start);
                self.token(c.head.start, "at most");
                self.verbatim(c.count.span);
                self.token(c.per.span.start, "per");
                self.verbatim(c.per.span);
            }
            Item::Goal(g) => {
                self.line(g.head.start);
                self.exact(g.head, "goal");
                self.cond(&g.cond, false);
            }
        }
    }

    /// A statement block: flat when it holds one statement without handlers.
    fn block(&mut self, b: &Block) {
        let simple = b.orphans.is_empty()
            && b.stmts.len() <= 1
            && b.stmts.iter().all(|s| s.handlers.is_empty());
        if simple && self.try_flat(b.span, |p| p.block_flat(b)) {
            return;
        }
        self.block_broken(b);
    }

    fn block_broken(&mut self, b: &Block) {
        self.exact(Span::new(b.span.start, b.span.start + 1), "<");
        self.depth += 1;
        self.just_opened = true;
        for h in &b.orphans {
            self.handler(h);
        }
        for s in &b.stmts {
            self.stmt(s);
        }
        self.close(b.span);
    }

    fn block_flat(&mut self, b: &Block) {
        self.token(b.span.start, "<");
        for s in &b.stmts {
            self.stmt_body(s);
        }
        self.token(b.span.end.saturating_sub(1), ">");
    }

    /// The `>` ending a broken block, on a line of its own.
    fn close(&mut self, span: Span) {
        let at = span.end.saturating_sub(1);
        self.flush_comments(at);
        self.depth -= 1;
        self.end_line();
        self.exact(Span::new(at, span.end), ">");
    }

    fn stmt(&mut self, s: &Stmt) {
        self.line(s.head.start);
        self.stmt_body(s);
        for h in &s.handlers {
            self.handler(h);
        }
    }

    fn handler(&mut self, h: &Handler) {
        self.line(h.head.start);
        self.token(h.head.start, "on");
        match &h.kind {
            HandlerKind::LinkOpened => self.token(h.head.start, "link opened"),
            HandlerKind::NotDelivered => self.token(h.head.start, "not delivered"),
            HandlerKind::Timeout(d) => {
                self.token(h.head.start, "timeout");
                self.verbatim(d.span);
            }
            HandlerKind::Choice(id) => {
                self.token(h.head.start, "reply");
                self.verbatim(id.span);
            }
        }
        self.block(&h.body);
    }

    /// A statement without its handlers.
    fn stmt_body(&mut self, s: &Stmt) {
        let at = s.head.start;
        match &s.kind {
            StmtKind::If(i) => self.if_chain(at, i),
            StmtKind::Cta(c) | StmtKind::Buttons(c) | StmtKind::List(c) => {
                self.token(at, s.kind.keyword());
                if let Some(name) = &c.name {
                    self.verbatim(name.span);
                }
                self.fields(&c.fields);
            }
            StmtKind::Whatsapp(t) => {
                self.token(at, "whatsapp");
                self.verbatim(t.span);
            }
            StmtKind::Template(t) => {
                self.token(at, "template");
                self.verbatim(t.name.span);
                self.fields(&t.fields);
            }
            StmtKind::Sms(Sms::Text(t)) => {
                self.token(at, "sms");
                self.verbatim(t.span);
            }
            StmtKind::Sms(Sms::Fields(f)) => {
                self.token(at, "sms");
                self.fields(f);
            }
            StmtKind::Email(f) => {
                self.token(at, "email");
                self.fields(f);
            }
            StmtKind::Wait(d) => {
                self.token(at, "wait");
                self.verbatim(d.span);
            }
            StmtKind::AwaitReply(channel) => {
                self.token(at, "await reply");
                self.verbatim(channel.span);
            }
            StmtKind::Tag(t) => {
                self.token(at, "tag");
                self.verbatim(t.span);
            }
            StmtKind::Untag(t) => {
                self.token(at, "untag");
                self.verbatim(t.span);
            }
            StmtKind::Stop => self.exact(s.head, "stop"),
        }
    }

    /// An `if` chain is laid out as one: all on one line when it fits, or
    /// every branch's block broken, so `> else <` never follows a broken
    /// branch with a one-line one.
    fn if_chain(&mut self, at: u32, i: &If) {
        let end = i
            .otherwise
            .as_ref()
            .or_else(|| i.branches.last().map(|b| &b.block))
            .map_or(at, |b| b.span.end);
        let simple = |b: &Block| {
            b.orphans.is_empty()
                && b.stmts.len() <= 1
                && b.stmts.iter().all(|s| s.handlers.is_empty())
        };
        let all_simple =
            i.branches.iter().all(|b| simple(&b.block)) && i.otherwise.as_ref().is_none_or(simple);
        if all_simple && self.try_flat(Span::new(at, end), |p| p.if_parts(at, i, false)) {
            return;
        }
        self.if_parts(at, i, true);
    }

    fn if_parts(&mut self, at: u32, i: &If, broken: bool) {
        for (n, branch) in i.branches.iter().enumerate() {
            let pos = cond_start(&branch.cond).unwrap_or(at);
            if n == 0 {
                self.token(at, "if");
            } else {
                self.token(pos, "else if");
            }
            self.cond(&branch.cond, false);
            self.block_as(&branch.block, broken);
        }
        if let Some(b) = &i.otherwise {
            self.token(b.span.start, "else");
            self.block_as(b, broken);
        }
    }

    fn block_as(&mut self, b: &Block, broken: bool) {
        if broken {
            self.block_broken(b);
        } else {
            self.block_flat(b);
        }
    }

    /// A message's fields: flat when there are at most
    /// [`MAX_FLAT_FIELDS`] and they fit, else one per line. A message with
    /// nested fields (a list's sections) is always broken, and a section is
    /// flat only with a single row: rows read as a column.
    fn fields(&mut self, f: &Fields) {
        self.fields_up_to(f, MAX_FLAT_FIELDS);
    }

    fn fields_up_to(&mut self, f: &Fields, max_flat: usize) {
        let nested = f
            .fields
            .iter()
            .any(|field| matches!(field.value, FieldValue::Group(..)));
        if f.fields.len() <= max_flat
            && !nested
            && self.try_flat(f.span, |p| {
                p.token(f.span.start, "<");
                for field in &f.fields {
                    p.field(field);
                }
                p.token(f.span.end.saturating_sub(1), ">");
            })
        {
            return;
        }
        self.exact(Span::new(f.span.start, f.span.start + 1), "<");
        self.depth += 1;
        self.just_opened = true;
        for field in &f.fields {
            self.line(field.span.start);
            self.field(field);
        }
        self.close(f.span);
    }

    fn field(&mut self, f: &Field) {
        self.verbatim(f.name.span);
        match &f.value {
            FieldValue::Text(t) => self.verbatim(t.span),
            FieldValue::Duration(d) => self.verbatim(d.span),
            FieldValue::Word(w, text) => {
                self.verbatim(w.span);
                if let Some(t) = text {
                    self.verbatim(t.span);
                }
            }
            FieldValue::Indexed(n, w, text) => {
                self.verbatim(n.span);
                self.verbatim(w.span);
                if let Some(t) = text {
                    self.verbatim(t.span);
                }
            }
            FieldValue::Texts(texts) => {
                for t in texts {
                    self.verbatim(t.span);
                }
            }
            FieldValue::Group(texts, fields) => {
                for t in texts {
                    self.verbatim(t.span);
                }
                self.fields_up_to(fields, 1);
            }
        }
    }

    /// A condition; `parens` when the context needs it grouped.
    fn cond(&mut self, c: &Cond, parens: bool) {
        let pos = cond_start(c).unwrap_or(self.last_end);
        if parens {
            self.token(pos, "(");
            self.glue = true;
        }
        match c {
            Cond::Or(all) => {
                for (n, part) in all.iter().enumerate() {
                    if n > 0 {
                        self.token(cond_start(part).unwrap_or(pos), "or");
                    }
                    self.cond(part, matches!(part, Cond::Or(_)));
                }
            }
            Cond::And(all) => {
                for (n, part) in all.iter().enumerate() {
                    if n > 0 {
                        self.token(cond_start(part).unwrap_or(pos), "and");
                    }
                    self.cond(part, matches!(part, Cond::Or(_) | Cond::And(_)));
                }
            }
            Cond::Not(inner) => {
                self.token(pos, "not");
                self.cond(inner, !matches!(**inner, Cond::Test(_)));
            }
            Cond::Test(t) => {
                self.verbatim(t.path.span);
                if let Some((op, value)) = &t.compare {
                    self.token(op.span.start, op.node.as_str());
                    self.verbatim(value.span);
                }
            }
        }
        if parens {
            self.glue = true;
            self.token(self.last_end, ")");
        }
    }
}

/// Where a condition starts in the source.
fn cond_start(c: &Cond) -> Option<u32> {
    match c {
        Cond::Or(all) | Cond::And(all) => all.first().and_then(cond_start),
        Cond::Not(inner) => cond_start(inner).map(|p| p.saturating_sub(1)),
        Cond::Test(t) => Some(t.span.start),
    }
}
