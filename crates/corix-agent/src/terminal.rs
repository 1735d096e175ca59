//! `GET /terminal`: an interactive login shell on a PTY, spoken to over a WebSocket in the
//! JSON messages of `corix_proto::terminal`.

use crate::server::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::State;
use axum::response::Response;
use corix_proto::http::Query;
use corix_proto::terminal::{ClientMessage, ServerMessage};
use corix_proto::ApiError;
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use std::os::unix::process::ExitStatusExt as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const DEFAULT_COLS: u16 = 80;
const DEFAULT_ROWS: u16 = 24;
const MAX_SIZE: u16 = 1000;
/// After the shell exits, how long to wait for its last output before sending `exit`.
const DRAIN_WAIT: Duration = Duration::from_millis(100);

#[derive(Debug, Deserialize)]
pub struct TerminalQuery {
    cols: Option<u16>,
    rows: Option<u16>,
}

fn size(cols: u16, rows: u16) -> Result<pty_process::Size, ApiError> {
    for (name, value) in [("cols", cols), ("rows", rows)] {
        if !(1..=MAX_SIZE).contains(&value) {
            return Err(ApiError::bad_request(format!("{name}: must be 1..={MAX_SIZE}, got {value}")));
        }
    }
    Ok(pty_process::Size::new(rows, cols))
}

pub async fn terminal(
    State(state): State<Arc<AppState>>,
    Query(query): Query<TerminalQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|e| ApiError::bad_request(format!("expected a WebSocket upgrade: {e}")))?;
    let size = size(query.cols.unwrap_or(DEFAULT_COLS), query.rows.unwrap_or(DEFAULT_ROWS))?;
    let internal = |e: pty_process::Error| ApiError::internal(format!("could not start a terminal: {e}"));
    let (pty, pts) = pty_process::open().map_err(internal)?;
    pty.resize(size).map_err(internal)?;
    let env = &state.exec_env;
    let child = pty_process::Command::new("bash")
        .arg("-l")
        .current_dir(&env.home)
        .env("DISPLAY", &env.display)
        .env("HOME", &env.home)
        .env("LANG", "C.UTF-8")
        .env("TERM", "xterm-256color")
        .kill_on_drop(true)
        .spawn(pts)
        .map_err(internal)?;
    Ok(upgrade.on_upgrade(move |socket| session(socket, pty, child)))
}

async fn session(socket: WebSocket, pty: pty_process::Pty, mut child: tokio::process::Child) {
    let (mut pty_out, mut pty_in) = pty.into_split();
    let (mut sink, mut incoming) = socket.split();
    let mut decoder = Utf8Decoder::default();
    let mut buf = vec![0u8; 16 * 1024];
    let status = loop {
        tokio::select! {
            read = pty_out.read(&mut buf) => match read {
                Ok(n) if n > 0 => {
                    if send(&mut sink, ServerMessage::Stdout { data: decoder.decode(&buf[..n]) }).await.is_err() {
                        return;
                    }
                }
                // EOF or EIO: every process on the terminal is gone.
                _ => break child.wait().await,
            },
            status = child.wait() => {
                // Output written just before the shell ended may still be in the PTY.
                while let Ok(Ok(n)) = tokio::time::timeout(DRAIN_WAIT, pty_out.read(&mut buf)).await {
                    if n == 0 || send(&mut sink, ServerMessage::Stdout { data: decoder.decode(&buf[..n]) }).await.is_err() {
                        break;
                    }
                }
                break status;
            },
            message = incoming.next() => match message {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Stdin { data }) => {
                        if pty_in.write_all(data.as_bytes()).await.is_err() {
                            break child.wait().await;
                        }
                    }
                    Ok(ClientMessage::Resize { cols, rows }) => match size(cols, rows) {
                        Ok(size) => {
                            let _ = pty_in.resize(size);
                        }
                        Err(err) => tracing::debug!(%err, "ignoring a bad resize"),
                    },
                    Err(err) => tracing::debug!(%err, "ignoring a bad terminal message"),
                },
                Some(Ok(Message::Binary(bytes))) => {
                    if pty_in.write_all(&bytes).await.is_err() {
                        break child.wait().await;
                    }
                }
                Some(Ok(_)) => {}
                // The client left: the shell goes with it (kill_on_drop; the PTY closing hangs it up).
                Some(Err(_)) | None => return,
            },
        }
    };
    let code = match status {
        Ok(status) => status.code().or(status.signal().map(|sig| 128 + sig)).unwrap_or(-1),
        Err(_) => -1,
    };
    let _ = send(&mut sink, ServerMessage::Exit { code }).await;
    let _ = sink.send(Message::Close(None)).await;
}

async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    message: ServerMessage,
) -> Result<(), axum::Error> {
    let json = serde_json::to_string(&message).unwrap_or_default();
    sink.send(Message::Text(json.into())).await
}

/// Lossy UTF-8 decoding that keeps a sequence split across two reads whole.
#[derive(Default)]
struct Utf8Decoder {
    pending: Vec<u8>,
}

impl Utf8Decoder {
    fn decode(&mut self, input: &[u8]) -> String {
        self.pending.extend_from_slice(input);
        let mut out = String::new();
        let mut rest = &self.pending[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    out.push_str(valid);
                    rest = &[];
                    break;
                }
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match err.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        // An incomplete sequence at the end: keep it for the next read.
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_reads_arrives_whole() {
        let mut decoder = Utf8Decoder::default();
        let bytes = "é日".as_bytes();
        assert_eq!(decoder.decode(&bytes[..1]), "");
        assert_eq!(decoder.decode(&bytes[1..3]), "é");
        assert_eq!(decoder.decode(&bytes[3..]), "日");
        assert_eq!(decoder.decode(b"a\xffb"), "a\u{FFFD}b");
    }
}
