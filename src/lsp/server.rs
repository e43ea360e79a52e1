//! The protocol loop: the lifecycle (initialize, shutdown, exit), and each
//! request and notification handed to the module that answers it.
//!
//! Requests are answered one at a time, in order: a check takes
//! microseconds, so there is nothing to cancel or run in parallel. A handler
//! that panics (a bug in kflow, never the input's fault) answers its request
//! with an internal error and the server goes on.

use std::io::{self, BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, LogMessage,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, Formatting, GotoDefinition, HoverRequest, Request as _,
};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    InitializeParams, InitializeResult, LogMessageParams, MessageType, OneOf,
    PublishDiagnosticsParams, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, Uri,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::diagnostics::{self, DocsLink};
use super::documents::Documents;
use super::transport::{self, Frame};
use super::{actions, completion, definition, formatting, hover};

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// `exit` after `shutdown`: the process should exit with 0.
    Clean,
    /// `exit` without `shutdown`, or the input closed first: exit with 1,
    /// as the protocol says.
    Unclean,
}

/// What the server is told before it starts.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Where codes link to, unless the client's `initializationOptions`
    /// give `docsUrl`.
    pub docs: DocsLink,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Uninitialized,
    Running,
    ShutDown,
}

struct Server<W: Write> {
    output: W,
    state: State,
    documents: Documents,
    docs: DocsLink,
}

/// Serves one client reading `input` and writing `output` until `exit` or
/// the end of the input. Fails only when the connection itself does (an
/// I/O error, a frame header that cannot be read).
pub fn serve(mut input: impl BufRead, output: impl Write, options: Options) -> io::Result<Ended> {
    let mut server = Server {
        output,
        state: State::Uninitialized,
        documents: Documents::default(),
        docs: options.docs,
    };
    while let Some(frame) = transport::read(&mut input)? {
        let message = match frame {
            Frame::Message(message) => message,
            Frame::Malformed(why) => {
                transport::write_parse_error(&mut server.output, &why)?;
                continue;
            }
        };
        match message {
            Message::Request(request) => server.request(request)?,
            Message::Notification(notification) if notification.method == "exit" => {
                return Ok(if server.state == State::ShutDown {
                    Ended::Clean
                } else {
                    Ended::Unclean
                });
            }
            Message::Notification(notification) => server.notification(notification)?,
            // The server sends no requests, so no response is awaited.
            Message::Response(_) => {}
        }
    }
    Ok(Ended::Unclean)
}

/// What a request handler answers.
type Answer = Result<serde_json::Value, (ErrorCode, String)>;

fn params<P: DeserializeOwned>(request: &Request) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(request.params.clone()).map_err(|e| {
        (
            ErrorCode::InvalidParams,
            format!("bad {} params: {e}", request.method),
        )
    })
}

fn json(value: impl Serialize) -> Answer {
    serde_json::to_value(value).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

impl<W: Write> Server<W> {
    fn send(&mut self, message: impl Into<Message>) -> io::Result<()> {
        transport::write(&mut self.output, message.into())
    }

    fn notify(&mut self, method: &str, params: impl Serialize) -> io::Result<()> {
        self.send(Notification::new(method.to_owned(), params))
    }

    fn log(&mut self, typ: MessageType, message: String) -> io::Result<()> {
        self.notify(LogMessage::METHOD, LogMessageParams { typ, message })
    }

    fn request(&mut self, request: Request) -> io::Result<()> {
        let id = request.id.clone();
        let answer = match (self.state, request.method.as_str()) {
            (State::Uninitialized, "initialize") => self.initialize(&request),
            (State::Uninitialized, _) => Err((
                ErrorCode::ServerNotInitialized,
                "the first request must be `initialize`".to_owned(),
            )),
            (State::ShutDown, _) => Err((
                ErrorCode::InvalidRequest,
                "the server is shut down; only `exit` is accepted".to_owned(),
            )),
            (State::Running, "initialize") => Err((
                ErrorCode::InvalidRequest,
                "the server is already initialized".to_owned(),
            )),
            (State::Running, "shutdown") => {
                self.state = State::ShutDown;
                Ok(serde_json::Value::Null)
            }
            (State::Running, _) => match catch_unwind(AssertUnwindSafe(|| self.answer(&request))) {
                Ok(answer) => answer,
                Err(_) => Err((
                    ErrorCode::InternalError,
                    format!("kflow failed answering {}; this is a bug", request.method),
                )),
            },
        };
        self.respond(id, answer)
    }

    fn respond(&mut self, id: RequestId, answer: Answer) -> io::Result<()> {
        let response = match answer {
            Ok(result) => Response {
                id,
                response_result: Ok(result),
            },
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        self.send(response)
    }

    fn initialize(&mut self, request: &Request) -> Answer {
        let params: InitializeParams = params(request)?;
        if let Some(url) = params
            .initialization_options
            .as_ref()
            .and_then(|o| o.get("docsUrl"))
            .and_then(|u| u.as_str())
        {
            self.docs = DocsLink::new(url);
        }
        self.state = State::Running;
        json(InitializeResult {
            capabilities: capabilities(),
            server_info: Some(ServerInfo {
                name: "kflowc".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
        })
    }

    /// Answers a request of a running server.
    fn answer(&self, request: &Request) -> Answer {
        match request.method.as_str() {
            HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = params(request)?;
                let at = p.text_document_position_params;
                json(
                    self.documents
                        .get(&at.text_document.uri)
                        .and_then(|d| hover::hover(d, at.position)),
                )
            }
            Completion::METHOD => {
                let p: lsp_types::CompletionParams = params(request)?;
                let at = p.text_document_position;
                json(
                    self.documents
                        .get(&at.text_document.uri)
                        .and_then(|d| completion::complete(d, at.position)),
                )
            }
            GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = params(request)?;
                let at = p.text_document_position_params;
                let uri = &at.text_document.uri;
                json(
                    self.documents
                        .get(uri)
                        .and_then(|d| definition::definition(d, uri, at.position)),
                )
            }
            CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = params(request)?;
                let uri = &p.text_document.uri;
                json(
                    self.documents
                        .get(uri)
                        .map(|d| actions::quick_fixes(d, uri, p.range, &self.docs)),
                )
            }
            Formatting::METHOD => {
                let p: lsp_types::DocumentFormattingParams = params(request)?;
                json(
                    self.documents
                        .get(&p.text_document.uri)
                        .and_then(formatting::format),
                )
            }
            other => Err((
                ErrorCode::MethodNotFound,
                format!("kflowc lsp does not answer {other}"),
            )),
        }
    }

    fn notification(&mut self, notification: Notification) -> io::Result<()> {
        if self.state != State::Running {
            // Before `initialize` and after `shutdown`, notifications other
            // than `exit` are dropped.
            return Ok(());
        }
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => match self.params_of(notification)? {
                Some(p) => self.did_open(p),
                None => Ok(()),
            },
            DidChangeTextDocument::METHOD => match self.params_of(notification)? {
                Some(p) => self.did_change(p),
                None => Ok(()),
            },
            DidCloseTextDocument::METHOD => {
                match self.params_of::<lsp_types::DidCloseTextDocumentParams>(notification)? {
                    Some(p) => {
                        self.documents.close(&p.text_document.uri);
                        self.notify(
                            PublishDiagnostics::METHOD,
                            PublishDiagnosticsParams {
                                uri: p.text_document.uri,
                                diagnostics: Vec::new(),
                                version: None,
                            },
                        )
                    }
                    None => Ok(()),
                }
            }
            // `initialized`, `didSave`, `$/cancelRequest`, `$/setTrace` and
            // anything new: nothing to do.
            _ => Ok(()),
        }
    }

    /// A notification's params, or `None` (logged) when they do not fit.
    fn params_of<P: DeserializeOwned>(
        &mut self,
        notification: Notification,
    ) -> io::Result<Option<P>> {
        match serde_json::from_value::<P>(notification.params) {
            Ok(p) => Ok(Some(p)),
            Err(e) => {
                self.bad_notification(&notification.method, &e)?;
                Ok(None)
            }
        }
    }

    fn did_open(&mut self, p: lsp_types::DidOpenTextDocumentParams) -> io::Result<()> {
        let doc = p.text_document;
        let uri = doc.uri.clone();
        if self
            .documents
            .open(doc.uri, doc.version, doc.text)
            .is_some()
        {
            self.publish(&uri)
        } else {
            self.log(
                MessageType::ERROR,
                format!("{} is too large to check", uri.as_str()),
            )
        }
    }

    fn did_change(&mut self, p: lsp_types::DidChangeTextDocumentParams) -> io::Result<()> {
        let uri = p.text_document.uri;
        let changed = catch_unwind(AssertUnwindSafe(|| {
            self.documents
                .change(&uri, p.text_document.version, p.content_changes)
                .is_some()
        }));
        match changed {
            Ok(true) => self.publish(&uri),
            Ok(false) => self.log(
                MessageType::WARNING,
                format!(
                    "change to {}, which is not open (or would be too large); ignored",
                    uri.as_str()
                ),
            ),
            Err(_) => {
                // Whatever the check was doing, the document is no longer
                // known to match the editor's.
                self.documents.close(&uri);
                self.log(
                    MessageType::ERROR,
                    format!("kflow failed checking {}; this is a bug", uri.as_str()),
                )
            }
        }
    }

    fn bad_notification(&mut self, method: &str, error: &serde_json::Error) -> io::Result<()> {
        self.log(MessageType::ERROR, format!("bad {method} params: {error}"))
    }

    /// Sends a document's diagnostics.
    fn publish(&mut self, uri: &Uri) -> io::Result<()> {
        let Some(document) = self.documents.get(uri) else {
            return Ok(());
        };
        let params = PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics: diagnostics::all(document, uri, &self.docs),
            version: Some(document.version()),
        };
        self.notify(PublishDiagnostics::METHOD, params)
    }
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["{".to_owned(), ".".to_owned()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}
