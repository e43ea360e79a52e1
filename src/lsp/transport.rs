//! The wire: JSON-RPC messages framed by `Content-Length` headers.
//!
//! lsp-server's own reader ends the connection on any bad payload; this one
//! reads the frame first, so a payload that is not JSON (or not a JSON-RPC
//! message) costs that message only, answered with a parse error, and the
//! next frame is read as usual. A broken header leaves no way to find the
//! next frame, so it ends the connection.

use std::io::{self, BufRead, Write};

use lsp_server::Message;

/// The largest message body read: far above any real document, low enough
/// that a bad length cannot make the server allocate without bound.
const MAX_BODY: usize = 256 << 20;

/// One frame read.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A JSON-RPC message.
    Message(Message),
    /// A body that is not a JSON-RPC message, and why.
    Malformed(String),
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Reads the next frame; `None` at the end of the input.
pub(crate) fn read(input: &mut impl BufRead) -> io::Result<Option<Frame>> {
    let mut length: Option<usize> = None;
    let mut line = String::new();
    let mut first = true;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return if first {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        first = false;
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| invalid(format!("malformed header {header:?}")))?;
        if name.trim().eq_ignore_ascii_case("Content-Length") {
            let n: usize = value
                .trim()
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?;
            if n > MAX_BODY {
                return Err(invalid(format!(
                    "a {n}-byte message is over {MAX_BODY} bytes"
                )));
            }
            length = Some(n);
        }
    }
    let length = length.ok_or_else(|| invalid("a message without Content-Length".to_owned()))?;
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    Ok(Some(match serde_json::from_slice::<Message>(&body) {
        Ok(message) => Frame::Message(message),
        Err(error) => Frame::Malformed(error.to_string()),
    }))
}

/// Writes one message.
pub(crate) fn write(output: &mut impl Write, message: Message) -> io::Result<()> {
    message.write(output)
}

/// Writes the error response to a body that could not be read as a message
/// (JSON-RPC's parse error, with a null id since none could be read).
pub(crate) fn write_parse_error(output: &mut impl Write, why: &str) -> io::Result<()> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32700, "message": format!("not a JSON-RPC message: {why}") },
    })
    .to_string();
    write!(output, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_body_costs_one_message() {
        let good = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let input = format!(
            "Content-Length: 5\r\n\r\n{{nope{}Content-Length: {}\r\n\r\n{good}",
            "",
            good.len()
        );
        let mut reader = io::Cursor::new(input.into_bytes());
        assert!(matches!(read(&mut reader), Ok(Some(Frame::Malformed(_)))));
        assert!(matches!(
            read(&mut reader),
            Ok(Some(Frame::Message(Message::Notification(_))))
        ));
        assert!(matches!(read(&mut reader), Ok(None)));
    }

    #[test]
    fn broken_headers_end_the_connection() {
        for input in [
            "Content-Length: x\r\n\r\n",
            "no colon\r\n\r\n",
            "Content-Type: a\r\n\r\n",
            "Content-Length: 99999999999\r\n\r\n",
            "Content-Length: 10\r\n\r\n{}",
        ] {
            let mut reader = io::Cursor::new(input.as_bytes().to_vec());
            assert!(read(&mut reader).is_err(), "{input:?}");
        }
    }
}
