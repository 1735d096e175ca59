//! `/ws/screen/{id}`: the live view. A WebSocket that pushes the computer's screen as binary JPEG
//! frames, up to `fps` a second, skipping frames identical to the last one sent. The key is checked
//! exactly as for the terminal (Bearer header or `token` query), before the upgrade. Each socket
//! runs its own capture loop, so any number of viewers may watch one computer. Input does not go
//! through this socket: interactive viewers use the ordinary REST actions.

use super::actions::socket_target;
use crate::app::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::response::Response;
use corix_proto::api::ComputerStatus;
use corix_proto::{ApiError, ErrorCode};
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};

const DEFAULT_FPS: f64 = 10.0;
const MAX_FPS: f64 = 15.0;
const DEFAULT_QUALITY: u32 = 70;
/// Failed captures in a row after which the socket closes (the computer is then usually stopping).
const MAX_FAILURES: u32 = 20;

pub const SCREEN_DESCRIPTION: &str = "Upgrades to a WebSocket that streams the computer's screen: each binary \
message is one JPEG frame of the whole desktop (scaled to `width` when given). Frames come up to `fps` times a \
second (default 10, at most 15); a frame identical to the previous one is not sent, so a still screen sends nothing. \
The key goes in `Authorization: Bearer crx_...` or, for browsers, in the subprotocol list (`corix`, \
`corix-key.crx_...`; the server picks `corix`) or the `token` query parameter, and is checked before the upgrade, \
exactly as for `/ws/terminal/{id}`. The socket closes (code 1000) when the computer stops. \
Messages from the client are ignored; mouse and keyboard go through the REST actions.";

struct Options {
    fps: f64,
    quality: u32,
    width: Option<u32>,
}

fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| pair.split_once('=').filter(|(key, _)| *key == name).map(|(_, value)| value))
}

fn options(parts: &Parts) -> Result<Options, ApiError> {
    let query = parts.uri.query().unwrap_or("");
    let bad = |field: &str, rule: &str| ApiError::new(ErrorCode::BadRequest, format!("{field}: {rule}"));
    let fps = match query_value(query, "fps") {
        Some(v) => v.parse::<f64>().ok().filter(|f| *f > 0.0 && *f <= MAX_FPS).ok_or_else(|| bad("fps", "a number in (0, 15]"))?,
        None => DEFAULT_FPS,
    };
    let quality = match query_value(query, "quality") {
        Some(v) => v.parse::<u32>().ok().filter(|q| (1..=100).contains(q)).ok_or_else(|| bad("quality", "an integer in 1-100"))?,
        None => DEFAULT_QUALITY,
    };
    let width = match query_value(query, "width") {
        Some(v) => Some(v.parse::<u32>().ok().filter(|w| *w >= 16).ok_or_else(|| bad("width", "an integer of at least 16"))?),
        None => None,
    };
    Ok(Options { fps, quality, width })
}

#[utoipa::path(
    get,
    path = "/ws/screen/{id}",
    tag = "desktop",
    operation_id = "screen_stream",
    summary = "Live view of the screen over a WebSocket",
    description = SCREEN_DESCRIPTION,
    params(
        ("id" = String, Path, description = "The computer's id."),
        ("token" = Option<String>, Query, description = "The API key, `crx_...`, when no `Authorization` header can be sent."),
        ("fps" = Option<f64>, Query, description = "Frames per second at most, in (0, 15] (default 10)."),
        ("quality" = Option<u32>, Query, description = "JPEG quality, 1-100 (default 70)."),
        ("width" = Option<u32>, Query, description = "Frame width in pixels, at most the screen's; the height keeps the aspect ratio."),
    ),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 101, description = "Switching Protocols: binary JPEG frames follow."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 429, response = crate::openapi::RateLimited),
        (status = 502, response = crate::openapi::AgentUnreachable),
    ),
)]
pub async fn connect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    parts: Parts,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    socket_target(&state, &parts, &id)?;
    let options = options(&parts)?;
    let upgrade = upgrade.protocols([crate::auth::WS_SUBPROTOCOL]);
    Ok(upgrade.on_upgrade(move |socket| stream(state, id, socket, options)))
}

/// The agent's path and query for one frame.
fn frame_path(options: &Options) -> String {
    let mut path = format!("/screenshot?format=jpeg&quality={}", options.quality);
    if let Some(width) = options.width {
        path.push_str(&format!("&width={width}"));
    }
    path
}

async fn capture(state: &AppState, id: &str, path: &str) -> Result<Option<bytes::Bytes>, ()> {
    let row = match state.store.computer(id) {
        Ok(Some(row)) => row,
        _ => return Ok(None),
    };
    if row.computer.status != ComputerStatus::Running {
        return Ok(None);
    }
    let address = row.computer.hostname.ok_or(())?;
    let answer = state
        .lifecycle
        .agents
        .request(reqwest::Method::GET, &address, path, &row.agent_token)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|_| ())?;
    if !answer.status().is_success() {
        return Err(());
    }
    answer.bytes().await.map(Some).map_err(|_| ())
}

async fn stream(state: AppState, id: String, socket: WebSocket, options: Options) {
    let (mut sink, mut incoming) = socket.split();
    let period = Duration::from_secs_f64(1.0 / options.fps);
    let path = frame_path(&options);
    let frames = async {
        let mut last: Option<bytes::Bytes> = None;
        let mut failures = 0;
        loop {
            let started = Instant::now();
            match capture(&state, &id, &path).await {
                Ok(Some(frame)) => {
                    failures = 0;
                    if last.as_ref() != Some(&frame) {
                        if sink.send(Message::Binary(frame.clone())).await.is_err() {
                            return;
                        }
                        last = Some(frame);
                    }
                }
                Ok(None) => break,
                Err(()) => {
                    failures += 1;
                    if failures >= MAX_FAILURES {
                        break;
                    }
                }
            }
            tokio::time::sleep(period.saturating_sub(started.elapsed())).await;
        }
        let close = CloseFrame { code: 1000, reason: "the computer is not running".into() };
        let _ = sink.send(Message::Close(Some(close))).await;
    };
    // The client's messages are read only to notice it leaving.
    let client = async { while let Some(Ok(message)) = incoming.next().await {
        if matches!(message, Message::Close(_)) {
            break;
        }
    } };
    tokio::select! {
        _ = frames => {}
        _ = client => {}
    }
}
