//! pest pairs to the typed AST: one function per grammar rule, named after it.
//!
//! The grammar and this file must agree on the shape of every rule. When they
//! do not (a bug, found by the fuzz and property tests), conversion returns a
//! `kflow::internal` diagnostic instead of panicking.

use pest::iterators::{Pair, Pairs};

use crate::diag::{Code, Diagnostic};
use crate::source::{Span, Spanned};
use crate::syntax::ast::*;
use crate::syntax::grammar::Rule;
use crate::syntax::text;

/// Grammar and converter disagree; carries where.
#[derive(Debug)]
pub(crate) struct Drift {
    pub(crate) span: Span,
    pub(crate) context: &'static str,
}

impl Drift {
    pub(crate) fn into_diagnostic(self) -> Diagnostic {
        Diagnostic::new(
            Code::Internal,
            format!(
                "internal error: the parser and its converter disagree about {}",
                self.context
            ),
            self.span,
            "while reading this",
        )
        .with_help("this is a bug in kflow; please report it with this file")
    }
}

type Result<T> = std::result::Result<T, Drift>;

/// Keywords and punctuation carry no information once the rule matched.
fn is_noise(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::open
            | Rule::close
            | Rule::lparen
            | Rule::rparen
            | Rule::kw_workflow
            | Rule::kw_field
            | Rule::kw_on
            | Rule::kw_reply
            | Rule::kw_if
            | Rule::kw_else
            | Rule::kw_cta
            | Rule::kw_buttons
            | Rule::kw_list
            | Rule::kw_whatsapp
            | Rule::kw_template
            | Rule::kw_sms
            | Rule::kw_email
            | Rule::kw_wait
            | Rule::kw_await
            | Rule::kw_tag
            | Rule::kw_untag
            | Rule::kw_stop
            | Rule::kw_link
            | Rule::kw_opened
            | Rule::kw_delivered
            | Rule::kw_timeout
            | Rule::kw_or
            | Rule::kw_and
            | Rule::kw_quiet
            | Rule::kw_timezone
            | Rule::kw_default
            | Rule::kw_at
            | Rule::kw_most
            | Rule::kw_per
            | Rule::kw_goal
            | Rule::dash
    )
}

/// The meaningful children of a pair, with checked access.
struct Children<'i> {
    pairs: std::iter::Peekable<Pairs<'i, Rule>>,
    parent: Span,
}

pub(crate) struct Converter<'d> {
    base: u32,
    diagnostics: &'d mut Vec<Diagnostic>,
}

impl<'i> Children<'i> {
    fn next(&mut self, context: &'static str) -> Result<Pair<'i, Rule>> {
        for p in self.pairs.by_ref() {
            if !is_noise(p.as_rule()) {
                return Ok(p);
            }
        }
        Err(Drift {
            span: self.parent,
            context,
        })
    }

    fn peek_rule(&mut self) -> Option<Rule> {
        while let Some(p) = self.pairs.peek() {
            if is_noise(p.as_rule()) {
                self.pairs.next();
            } else {
                return Some(p.as_rule());
            }
        }
        None
    }

    fn next_if(&mut self, rule: Rule) -> Option<Pair<'i, Rule>> {
        if self.peek_rule() == Some(rule) {
            self.pairs.next()
        } else {
            None
        }
    }
}

impl<'d> Converter<'d> {
    pub(crate) fn new(base: u32, diagnostics: &'d mut Vec<Diagnostic>) -> Converter<'d> {
        Converter { base, diagnostics }
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(s.start() as u32 + self.base, s.end() as u32 + self.base)
    }

    fn children<'i>(&self, pair: Pair<'i, Rule>) -> Children<'i> {
        let parent = self.span(&pair);
        Children {
            pairs: pair.into_inner().peekable(),
            parent,
        }
    }

    fn drift<T>(&self, pair: &Pair<'_, Rule>, context: &'static str) -> Result<T> {
        Err(Drift {
            span: self.span(pair),
            context,
        })
    }

    /// Converts the pairs of one item; trivia-only items give `None`.
    pub(crate) fn item(&mut self, mut pairs: Pairs<'_, Rule>) -> Result<Option<Item>> {
        let Some(pair) = pairs.find(|p| p.as_rule() != Rule::EOI) else {
            return Ok(None);
        };
        let item = match pair.as_rule() {
            Rule::workflow_decl => {
                let mut c = self.children(pair);
                Item::Workflow(self.string(c.next("a workflow name")?))
            }
            Rule::field_decl => {
                let mut c = self.children(pair);
                let path = c.next("a field path")?;
                Item::Field(Spanned::new(path.as_str().to_owned(), self.span(&path)))
            }
            Rule::trigger => Item::Trigger(self.trigger(pair)?),
            Rule::quiet_decl => Item::Quiet(self.quiet(pair)?),
            Rule::cap_decl => Item::Cap(self.cap(pair)?),
            Rule::goal_decl => {
                let head = self.keyword_span(&pair, Rule::kw_goal)?;
                let mut c = self.children(pair);
                let cond = self.cond(c.next("a goal condition")?)?;
                let span = Span::new(head.start, crate::syntax::tidy::cond_end(&cond));
                Item::Goal(Goal { head, cond, span })
            }
            _ => return self.drift(&pair, "a top-level item"),
        };
        Ok(Some(item))
    }

    /// The span of the keyword `rule` among `pair`'s children.
    fn keyword_span(&self, pair: &Pair<'_, Rule>, rule: Rule) -> Result<Span> {
        match pair.clone().into_inner().find(|p| p.as_rule() == rule) {
            Some(p) => Ok(self.span(&p)),
            None => self.drift(pair, "a keyword"),
        }
    }

    fn quiet(&mut self, pair: Pair<'_, Rule>) -> Result<Quiet> {
        let head = self.keyword_span(&pair, Rule::kw_quiet)?;
        let mut c = self.children(pair);
        let from = c.next("a time of day")?;
        let from = Spanned::new(from.as_str().to_owned(), self.span(&from));
        let to = c.next("a time of day")?;
        let to = Spanned::new(to.as_str().to_owned(), self.span(&to));
        let zone = c.next("a time zone")?;
        let zone = match zone.as_rule() {
            Rule::string => Zone::Named(self.string(zone)),
            _ => Zone::Field(Spanned::new(zone.as_str().to_owned(), self.span(&zone))),
        };
        let default = c.next_if(Rule::string).map(|p| self.string(p));
        let end = default.as_ref().map_or(zone.span(), |d| d.span).end;
        Ok(Quiet {
            head,
            from,
            to,
            zone,
            default,
            span: Span::new(head.start, end),
        })
    }

    fn cap(&mut self, pair: Pair<'_, Rule>) -> Result<Cap> {
        let at = self.keyword_span(&pair, Rule::kw_at)?;
        let most = self.keyword_span(&pair, Rule::kw_most)?;
        let mut c = self.children(pair);
        let count = c.next("a count")?;
        let count = Spanned::new(count.as_str().to_owned(), self.span(&count));
        let per = self.duration(c.next("a period")?);
        Ok(Cap {
            head: at.to(most),
            count,
            span: at.to(per.span),
            per,
        })
    }

    fn trigger(&mut self, pair: Pair<'_, Rule>) -> Result<Trigger> {
        let start = self.span(&pair).start;
        let mut c = self.children(pair);
        let channel = self.channel(c.next("a trigger channel")?)?;
        let body = self.block(c.next("a trigger body")?)?;
        Ok(Trigger {
            head: Span::new(start, channel.span.end),
            channel,
            body,
        })
    }

    fn channel(&self, pair: Pair<'_, Rule>) -> Result<Spanned<Channel>> {
        let span = self.span(&pair);
        let channel = match pair.as_str() {
            "whatsapp" => Channel::Whatsapp,
            "sms" => Channel::Sms,
            "email" => Channel::Email,
            _ => return self.drift(&pair, "a channel"),
        };
        Ok(Spanned::new(channel, span))
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Result<Block> {
        let span = self.span(&pair);
        let mut stmts: Vec<Stmt> = Vec::new();
        let mut orphans = Vec::new();
        let mut c = self.children(pair);
        while c.peek_rule().is_some() {
            let p = c.next("a statement")?;
            if p.as_rule() == Rule::handler {
                let handler = self.handler(p)?;
                match stmts.last_mut() {
                    Some(stmt) => stmt.handlers.push(handler),
                    None => {
                        self.diagnostics.push(orphan(&handler));
                        orphans.push(handler);
                    }
                }
            } else {
                stmts.push(self.stmt(p)?);
            }
        }
        Ok(Block {
            stmts,
            orphans,
            span,
        })
    }

    fn handler(&mut self, pair: Pair<'_, Rule>) -> Result<Handler> {
        let start = self.span(&pair).start;
        let mut c = self.children(pair);
        let which = c.next("a handler outcome")?;
        let head = Span::new(start, self.span(&which).end);
        let kind = match which.as_rule() {
            Rule::link_opened => HandlerKind::LinkOpened,
            Rule::not_delivered => HandlerKind::NotDelivered,
            Rule::on_timeout => {
                let mut t = self.children(which);
                HandlerKind::Timeout(self.duration(t.next("a timeout duration")?))
            }
            Rule::on_choice => {
                let mut t = self.children(which);
                HandlerKind::Choice(self.string(t.next("a reply id")?))
            }
            _ => return self.drift(&which, "a handler outcome"),
        };
        let body = self.block(c.next("a handler body")?)?;
        Ok(Handler { kind, head, body })
    }

    fn stmt(&mut self, pair: Pair<'_, Rule>) -> Result<Stmt> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let head = pair
            .clone()
            .into_inner()
            .next()
            .map(|p| self.span(&p))
            .unwrap_or(span);
        let mut c = self.children(pair.clone());
        let kind = match rule {
            Rule::if_stmt => StmtKind::If(self.if_stmt(c)?),
            Rule::cta_stmt | Rule::buttons_stmt | Rule::list_stmt => {
                let name = c.next_if(Rule::string).map(|p| self.string(p));
                let fields = self.fields(c.next("message fields")?)?;
                let message = Interactive { name, fields };
                match rule {
                    Rule::cta_stmt => StmtKind::Cta(message),
                    Rule::buttons_stmt => StmtKind::Buttons(message),
                    _ => StmtKind::List(message),
                }
            }
            Rule::whatsapp_stmt => StmtKind::Whatsapp(self.string(c.next("a whatsapp text")?)),
            Rule::template_stmt => {
                let name = self.string(c.next("a template name")?);
                let fields = self.fields(c.next("template fields")?)?;
                StmtKind::Template(Template { name, fields })
            }
            Rule::sms_stmt => {
                let p = c.next("an sms body")?;
                match p.as_rule() {
                    Rule::string => StmtKind::Sms(Sms::Text(self.string(p))),
                    _ => StmtKind::Sms(Sms::Fields(self.fields(p)?)),
                }
            }
            Rule::email_stmt => StmtKind::Email(self.fields(c.next("email fields")?)?),
            Rule::wait_stmt => StmtKind::Wait(self.duration(c.next("a wait duration")?)),
            Rule::await_stmt => StmtKind::AwaitReply(self.channel(c.next("an await channel")?)?),
            Rule::tag_stmt => StmtKind::Tag(self.string(c.next("a tag")?)),
            Rule::untag_stmt => StmtKind::Untag(self.string(c.next("a tag")?)),
            Rule::stop_stmt => StmtKind::Stop,
            _ => return self.drift(&pair, "a statement"),
        };
        Ok(Stmt {
            kind,
            span,
            head,
            handlers: Vec::new(),
        })
    }

    fn if_stmt(&mut self, mut c: Children<'_>) -> Result<If> {
        let cond = self.cond(c.next("an if condition")?)?;
        let block = self.block(c.next("an if block")?)?;
        let mut branches = vec![Branch { cond, block }];
        while let Some(p) = c.next_if(Rule::else_if) {
            let mut e = self.children(p);
            let cond = self.cond(e.next("an else-if condition")?)?;
            let block = self.block(e.next("an else-if block")?)?;
            branches.push(Branch { cond, block });
        }
        let otherwise = match c.next_if(Rule::else_clause) {
            Some(p) => {
                let mut e = self.children(p);
                Some(self.block(e.next("an else block")?)?)
            }
            None => None,
        };
        Ok(If {
            branches,
            otherwise,
        })
    }

    fn fields(&mut self, pair: Pair<'_, Rule>) -> Result<Fields> {
        let span = self.span(&pair);
        let mut fields = Vec::new();
        let mut c = self.children(pair);
        while c.peek_rule().is_some() {
            let p = c.next("a field")?;
            fields.push(self.field(p)?);
        }
        Ok(Fields { fields, span })
    }

    fn field(&mut self, pair: Pair<'_, Rule>) -> Result<Field> {
        let span = self.span(&pair);
        let mut c = self.children(pair);
        let name = c.next("a field name")?;
        let name = Spanned::new(name.as_str().to_owned(), self.span(&name));
        let v = c.next("a field value")?;
        let value = match v.as_rule() {
            Rule::string => {
                let mut texts = vec![self.string(v)];
                while let Some(p) = c.next_if(Rule::string) {
                    texts.push(self.string(p));
                }
                match c.next_if(Rule::fields) {
                    Some(p) => FieldValue::Group(texts, self.fields(p)?),
                    None if texts.len() == 1 => FieldValue::Text(texts.remove(0)),
                    None => FieldValue::Texts(texts),
                }
            }
            Rule::fields => FieldValue::Group(Vec::new(), self.fields(v)?),
            Rule::duration => FieldValue::Duration(self.duration(v)),
            Rule::number => {
                let number = Spanned::new(v.as_str().to_owned(), self.span(&v));
                let w = c.next("a button kind")?;
                let word = Spanned::new(w.as_str().to_owned(), self.span(&w));
                let text = c.next_if(Rule::string).map(|p| self.string(p));
                FieldValue::Indexed(number, word, text)
            }
            Rule::ident => {
                let word = Spanned::new(v.as_str().to_owned(), self.span(&v));
                let text = c.next_if(Rule::string).map(|p| self.string(p));
                FieldValue::Word(word, text)
            }
            _ => return self.drift(&v, "a field value"),
        };
        Ok(Field { name, value, span })
    }

    fn cond(&mut self, pair: Pair<'_, Rule>) -> Result<Cond> {
        let mut c = self.children(pair);
        let mut alternatives = Vec::new();
        while c.peek_rule().is_some() {
            alternatives.push(self.conjunction(c.next("a condition")?)?);
        }
        Ok(single_or(alternatives, Cond::Or))
    }

    fn conjunction(&mut self, pair: Pair<'_, Rule>) -> Result<Cond> {
        let mut c = self.children(pair);
        let mut all = Vec::new();
        while c.peek_rule().is_some() {
            all.push(self.negation(c.next("a condition")?)?);
        }
        Ok(single_or(all, Cond::And))
    }

    fn negation(&mut self, pair: Pair<'_, Rule>) -> Result<Cond> {
        let mut nots = 0usize;
        let mut inner = None;
        for p in pair.clone().into_inner() {
            match p.as_rule() {
                Rule::kw_not => nots += 1,
                Rule::paren => {
                    let mut c = self.children(p);
                    inner = Some(self.cond(c.next("a parenthesised condition")?)?);
                }
                Rule::test => inner = Some(Cond::Test(self.test(p)?)),
                _ => return self.drift(&p, "a condition"),
            }
        }
        let Some(cond) = inner else {
            return self.drift(&pair, "a condition");
        };
        Ok(if nots % 2 == 1 {
            Cond::Not(Box::new(cond))
        } else {
            cond
        })
    }

    fn test(&mut self, pair: Pair<'_, Rule>) -> Result<Test> {
        let span = self.span(&pair);
        let mut c = self.children(pair);
        let path = c.next("a condition path")?;
        let path = Spanned::new(path.as_str().to_owned(), self.span(&path));
        let compare = match c.next_if(Rule::compare_op) {
            Some(op) => {
                let op_span = self.span(&op);
                let op = match op.as_str() {
                    "==" => CompareOp::Eq,
                    "!=" => CompareOp::Ne,
                    "contains" => CompareOp::Contains,
                    "has" => CompareOp::Has,
                    _ => return self.drift(&op, "a comparison operator"),
                };
                let value = self.string(c.next("a comparison value")?);
                Some((Spanned::new(op, op_span), value))
            }
            None => None,
        };
        Ok(Test {
            path,
            compare,
            span,
        })
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> Text {
        let span = self.span(&pair);
        text::decode(pair.as_str(), span.start, self.diagnostics)
    }

    fn duration(&mut self, pair: Pair<'_, Rule>) -> Duration {
        duration(pair.as_str(), self.span(&pair), self.diagnostics)
    }
}

/// The diagnostic for a handler with no statement before it. Shared with the
/// fast path (`fast.rs`), which must report exactly what this converter does.
pub(crate) fn orphan(handler: &Handler) -> Diagnostic {
    Diagnostic::new(
        Code::HandlerOrphan,
        format!("`{}` has no statement before it", handler.kind.describe()),
        handler.head,
        "a handler belongs to the statement right before it",
    )
    .with_help("move the handler after the `cta`, `await reply` or `if` whose outcome it handles")
}

/// Reads a duration token (the grammar already checked its shape) written at
/// `span`. Shared with the fast path (`fast.rs`).
pub(crate) fn duration(text: &str, span: Span, diagnostics: &mut Vec<Diagnostic>) -> Duration {
    match crate::duration::parse_shaped(text) {
        Ok(seconds) => Duration {
            seconds,
            span,
            malformed: false,
        },
        Err(problem) => {
            diagnostics.push(
                Diagnostic::new(Code::SyntaxDuration, problem, span, "this duration").with_help(
                    "write each unit once, largest first, such as `1d12h` or `1h30m`, up to `365d`",
                ),
            );
            Duration {
                seconds: 0,
                span,
                malformed: true,
            }
        }
    }
}

pub(crate) fn single_or(mut items: Vec<Cond>, wrap: fn(Vec<Cond>) -> Cond) -> Cond {
    if items.len() == 1 {
        items.pop().unwrap_or_else(|| wrap(Vec::new()))
    } else {
        wrap(items)
    }
}
