//! `kflowc lsp` end to end: the real binary, driven over its stdin and
//! stdout with Content-Length framing, as an editor drives it. Every read
//! is bounded, so a server that hangs fails the test instead of CI.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any one answer may take before the test gives up on the server.
const PATIENCE: Duration = Duration::from_secs(20);

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    /// Notifications read while waiting for something else.
    pending: Vec<Value>,
    next_id: i64,
}

/// Reads one framed message; `None` at the end of the stream.
fn read_frame(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kflowc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kflowc starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_frame(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Client {
            stdin: child.stdin.take(),
            child,
            incoming,
            pending: Vec::new(),
            next_id: 1,
        }
    }

    fn send_raw(&mut self, body: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n", body.len()).expect("write header");
        stdin.write_all(body).expect("write body");
        stdin.flush().expect("flush");
    }

    fn send(&mut self, message: Value) {
        self.send_raw(message.to_string().as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn next(&mut self) -> Value {
        self.incoming
            .recv_timeout(PATIENCE)
            .expect("the server answers in time")
    }

    /// Sends a request and returns its whole response.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.response(json!(id))
    }

    fn response(&mut self, id: Value) -> Value {
        loop {
            let message = self.next();
            if message.get("method").is_none() && message["id"] == id {
                return message;
            }
            self.pending.push(message);
        }
    }

    /// The result of a request that must succeed.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    /// The next notification with this method (earlier ones are kept).
    fn notification(&mut self, method: &str) -> Value {
        if let Some(at) = self.pending.iter().position(|m| m["method"] == method) {
            return self.pending.remove(at)["params"].clone();
        }
        loop {
            let message = self.next();
            if message["method"] == method {
                return message["params"].clone();
            }
            self.pending.push(message);
        }
    }

    fn initialize(&mut self) -> Value {
        let result = self.call(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {},
                   "initializationOptions": {"docsUrl": "https://docs.example/language.md"}}),
        );
        self.notify("initialized", json!({}));
        result
    }

    /// Closes stdin's writer side after `exit` and waits for the process.
    fn wait(mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("kflowc lsp did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

const URI: &str = "file:///work/flows/booking.kflow";

/// Errors on purpose, one of them after a two-unit emoji on its line.
const BROKEN: &str = r#"field contact.shoe_size

on reply whatsapp <
  whatsapp "Olá 👋 {{contact.frist_name}}, size {{contact.shoe_size}}"
  cta <
    header text "Hi"
    body "Pick a slot"
    url "https://www.example.com/book"
    buton "Book now"
  >
  on timeout 30m < sms "Still want a slot?" >
>
"#;

fn range(sl: u64, sc: u64, el: u64, ec: u64) -> Value {
    json!({"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}})
}

fn codes(params: &Value) -> Vec<String> {
    params["diagnostics"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| d["code"].as_str().expect("a code").to_owned())
        .collect()
}

#[test]
fn an_editor_session_from_initialize_to_exit() {
    let mut client = Client::start();
    let init = client.initialize();
    let capabilities = &init["capabilities"];
    assert_eq!(capabilities["textDocumentSync"]["change"], 2, "incremental");
    assert_eq!(capabilities["hoverProvider"], true);
    assert_eq!(capabilities["documentFormattingProvider"], true);

    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kflow", "version": 1, "text": BROKEN}}),
    );
    let published = client.notification("textDocument/publishDiagnostics");
    assert_eq!(published["uri"], URI);
    assert_eq!(published["version"], 1);
    assert_eq!(
        codes(&published),
        [
            "kflow::var::unknown",
            "kflow::cta::missing_field",
            "kflow::field::unknown"
        ]
    );
    let unknown = &published["diagnostics"][0];
    // `{{` ends at character 21 in UTF-16 units (the emoji counts two;
    // bytes would say 25, characters 20).
    assert_eq!(unknown["range"], range(3, 21, 3, 39));
    assert_eq!(unknown["severity"], 1);
    assert_eq!(unknown["source"], "kflow");
    assert_eq!(
        unknown["codeDescription"]["href"],
        "https://docs.example/language.md#kflowvarunknown"
    );
    assert!(
        unknown["message"].as_str().expect("present").starts_with(
            "unknown contact field `frist_name`\nhelp: did you mean `contact.first_name`?"
        ),
        "{unknown}"
    );
    assert_eq!(published["diagnostics"][2]["range"], range(8, 4, 8, 9));

    // Hover on the CTA body: its count against WhatsApp's limit.
    let hover = client.call(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 6, "character": 5}}),
    );
    assert_eq!(hover["contents"]["value"], "body: 11 / 1024 characters");
    assert_eq!(hover["range"], range(6, 4, 6, 22));
    // On the whatsapp text: variables count zero, and the hover says so.
    let hover = client.call(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 3, "character": 14}}),
    );
    assert_eq!(
        hover["contents"]["value"],
        "whatsapp text: 13 / 4096 characters (variables not counted)"
    );
    // On a keyword: a line about it.
    let hover = client.call(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 10, "character": 4}}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .expect("present")
            .contains("on timeout"),
        "{hover}"
    );

    // Go to definition: from `{{contact.shoe_size}}` to its declaration.
    let definition = client.call(
        "textDocument/definition",
        json!({"textDocument": {"uri": URI}, "position": {"line": 3, "character": 50}}),
    );
    assert_eq!(definition["uri"], URI);
    assert_eq!(definition["range"], range(0, 6, 0, 23));

    // The quick fix for the misspelt variable is the checker's suggestion.
    let actions = client.call(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": range(3, 25, 3, 25),
               "context": {"diagnostics": []}}),
    );
    let action = &actions[0];
    assert_eq!(action["kind"], "quickfix");
    assert_eq!(action["title"], "Replace with `contact.first_name`");
    assert_eq!(
        action["edit"]["changes"][URI],
        json!([{"range": range(3, 21, 3, 39), "newText": "contact.first_name"}])
    );

    // Incremental edits fix both errors: the suggested replacement, and a
    // `t` typed into `buton` (after the first edit, in its coordinates).
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [
            {"range": range(3, 21, 3, 39), "text": "contact.first_name"},
            {"range": range(8, 6, 8, 6), "text": "t"},
        ]}),
    );
    let published = client.notification("textDocument/publishDiagnostics");
    assert_eq!(published["version"], 2);
    assert_eq!(published["diagnostics"], json!([]), "{published}");

    // Completion after `{{contact.` offers the standard fields and the
    // file's own declaration.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [
            {"range": range(6, 21, 6, 21), "text": " {{contact."},
        ]}),
    );
    client.notification("textDocument/publishDiagnostics");
    let completion = client.call(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": {"line": 6, "character": 32}}),
    );
    let labels: Vec<&str> = completion
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| i["label"].as_str().expect("present"))
        .collect();
    assert!(labels.contains(&"contact.first_name"), "{labels:?}");
    assert!(labels.contains(&"contact.shoe_size"), "{labels:?}");
    // The edit replaces what is typed after `{{`.
    assert_eq!(completion[0]["textEdit"]["range"], range(6, 24, 6, 32));

    // Completion in a CTA's block offers its fields.
    let completion = client.call(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": {"line": 5, "character": 4}}),
    );
    let labels: Vec<&str> = completion
        .as_array()
        .expect("present")
        .iter()
        .map(|i| i["label"].as_str().expect("present"))
        .collect();
    assert!(
        labels.contains(&"footer") && labels.contains(&"button"),
        "{labels:?}"
    );
    assert!(!labels.contains(&"subject"), "{labels:?}");

    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": URI}}),
    );
    let published = client.notification("textDocument/publishDiagnostics");
    assert_eq!(published["diagnostics"], json!([]));

    // Formatting: one edit replacing the whole document with what
    // `kflowc fmt` writes; none for a formatted file; null for a file
    // with syntax errors.
    let messy = "on reply sms <\n        tag \"é\"   stop >";
    let formatted =
        kflow::format::format(&kflow::SourceFile::new("messy.kflow", messy).expect("a source"))
            .expect("formats");
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kflow", "version": 1, "text": messy}}),
    );
    client.notification("textDocument/publishDiagnostics");
    let format = |client: &mut Client| {
        client.call(
            "textDocument/formatting",
            json!({"textDocument": {"uri": URI},
                   "options": {"tabSize": 2, "insertSpaces": true}}),
        )
    };
    assert_eq!(
        format(&mut client),
        json!([{"range": range(0, 0, 1, 24), "newText": formatted}])
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2},
               "contentChanges": [{"text": formatted}]}),
    );
    client.notification("textDocument/publishDiagnostics");
    assert_eq!(format(&mut client), json!([]));
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3},
               "contentChanges": [{"text": "on reply sms < tag \"x\""}]}),
    );
    client.notification("textDocument/publishDiagnostics");
    assert_eq!(format(&mut client), Value::Null);

    assert_eq!(client.call("shutdown", Value::Null), Value::Null);
    client.notify("exit", Value::Null);
    let status = client.wait();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn bad_input_gets_errors_not_a_crash() {
    let mut client = Client::start();
    // Before initialize, requests are refused.
    let early = client.request("textDocument/hover", json!({}));
    assert_eq!(early["error"]["code"], -32002);
    client.initialize();

    // A body that is not JSON: a parse error with a null id, and the
    // session goes on.
    client.send_raw(b"{not json");
    let parse_error = client.response(Value::Null);
    assert_eq!(parse_error["error"]["code"], -32700);

    let unknown = client.request("kflow/nothing", json!({}));
    assert_eq!(unknown["error"]["code"], -32601);
    let bad_params = client.request("textDocument/hover", json!({"nonsense": true}));
    assert_eq!(bad_params["error"]["code"], -32602);
    // Documents never opened, positions past the end: no answer, no crash.
    let nothing = client.call(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///nowhere.kflow"}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(nothing, Value::Null);
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///nowhere.kflow", "version": 2}, "contentChanges": []}),
    );
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kflow", "version": 1, "text": "on reply sms < sms \"é\" >"}}),
    );
    client.notification("textDocument/publishDiagnostics");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [
            {"range": range(40, 99, 2, 0), "text": " tag \"x\""},
        ]}),
    );
    let published = client.notification("textDocument/publishDiagnostics");
    assert_eq!(published["version"], 2);
    for position in [
        json!({"line": 0, "character": 9999}),
        json!({"line": 99, "character": 0}),
    ] {
        for method in [
            "textDocument/hover",
            "textDocument/completion",
            "textDocument/definition",
        ] {
            let response = client.request(
                method,
                json!({"textDocument": {"uri": URI}, "position": position}),
            );
            assert!(response.get("error").is_none(), "{method}: {response}");
        }
    }

    // After shutdown only exit is accepted; exit without shutdown is 1.
    assert_eq!(client.call("shutdown", Value::Null), Value::Null);
    let late = client.request("textDocument/hover", json!({}));
    assert_eq!(late["error"]["code"], -32600);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait().code(), Some(0));

    let mut client = Client::start();
    client.initialize();
    client.notify("exit", Value::Null);
    assert_eq!(client.wait().code(), Some(1));
}

/// Guardrails and template buttons in an editor: their words complete
/// where they fit, a goal's condition and a zone's field complete, and the
/// quiet-hours warning is reported like any other.
#[test]
fn guardrails_and_template_buttons_complete_and_report() {
    let mut client = Client::start();
    client.initialize();
    let text = "quiet 21:00-08:00 timezone contact.timezone\ngoal \n\non reply whatsapp <\n  template \"t\" < language \"en\" category utility button 1  >\n>\n";
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kflow", "version": 1, "text": text}}),
    );
    let published = client.notification("textDocument/publishDiagnostics");
    assert_eq!(
        codes(&published),
        vec![
            "kflow::quiet::no_default",
            // Both half-written items are reported: the goal and the button.
            "kflow::syntax::unexpected",
            "kflow::syntax::unexpected"
        ],
        "{published}"
    );
    let labels = |client: &mut Client, line: u64, character: u64| -> Vec<String> {
        let completion = client.call(
            "textDocument/completion",
            json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": character}}),
        );
        completion
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["label"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    // At the top level: the guardrails among the items.
    let top = labels(&mut client, 6, 0);
    for word in ["quiet", "at most", "goal", "on reply"] {
        assert!(top.iter().any(|l| l == word), "{word}: {top:?}");
    }
    // After `goal `: conditions.
    let goal = labels(&mut client, 1, 5);
    assert!(goal.iter().any(|l| l == "contact.tags has"), "{goal:?}");
    // After `button 1 ` in a template: what a button is filled as.
    let kinds = labels(&mut client, 4, 57);
    assert_eq!(kinds, vec!["url".to_owned(), "reply".to_owned()]);
    // In a template's block: its header, button and timeout fields.
    let fields = labels(&mut client, 4, 17);
    for field in ["header", "button", "timeout", "param"] {
        assert!(fields.iter().any(|l| l == field), "{field}: {fields:?}");
    }
    let hover = client.call(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 2}}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("quiet 21:00-08:00")),
        "{hover}"
    );
    assert_eq!(client.call("shutdown", Value::Null), Value::Null);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait().code(), Some(0));
}
