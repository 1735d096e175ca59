//! `/ws/terminal/{id}`: the public WebSocket bridged to the agent's PTY socket. The key is checked
//! and the agent reached before the upgrade, so a bad token or a dead agent is an HTTP error.

use super::actions::socket_target;
use crate::agent_client::unreachable;
use crate::app::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::response::Response;
use corix_proto::ApiError;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as AgentMessage;

#[utoipa::path(
    get,
    path = "/ws/terminal/{id}",
    tag = "terminal",
    operation_id = "terminal",
    summary = "Interactive shell over a WebSocket",
    description = crate::openapi::TERMINAL_DESCRIPTION,
    params(
        ("id" = String, Path, description = "The computer's id."),
        ("token" = Option<String>, Query, description = "The API key, `crx_...`, when no `Authorization` header can be sent."),
        ("cols" = Option<u16>, Query, description = "Initial terminal width in columns."),
        ("rows" = Option<u16>, Query, description = "Initial terminal height in rows."),
    ),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 101, description = "Switching Protocols: the socket is open; messages as described above."),
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
    let (row, address) = socket_target(&state, &parts, &id)?;
    let query = parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let mut request = format!("ws://{address}/terminal{query}").into_client_request().map_err(|_| unreachable())?;
    let bearer = format!("Bearer {}", row.agent_token).parse().map_err(|_| unreachable())?;
    request.headers_mut().insert(axum::http::header::AUTHORIZATION, bearer);
    let (agent, _) = tokio_tungstenite::connect_async(request).await.map_err(|_| unreachable())?;
    let upgrade = upgrade.protocols([crate::auth::WS_SUBPROTOCOL]);
    Ok(upgrade.on_upgrade(move |client| bridge(state, id, client, agent)))
}

type AgentSocket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn bridge(state: AppState, id: String, client: WebSocket, agent: AgentSocket) {
    let (mut to_client, mut from_client) = client.split();
    let (mut to_agent, mut from_agent) = agent.split();
    let upstream = async {
        while let Some(Ok(message)) = from_client.next().await {
            state.lifecycle.activity.touch(&state.store, &id);
            let message = match message {
                Message::Text(text) => AgentMessage::text(text.as_str()),
                Message::Binary(bytes) => AgentMessage::binary(bytes),
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            if to_agent.send(message).await.is_err() {
                break;
            }
        }
        let _ = to_agent.close().await;
    };
    let downstream = async {
        while let Some(Ok(message)) = from_agent.next().await {
            let message = match message {
                AgentMessage::Text(text) => Message::Text(text.as_str().into()),
                AgentMessage::Binary(bytes) => Message::Binary(bytes),
                AgentMessage::Close(_) => break,
                _ => continue,
            };
            if to_client.send(message).await.is_err() {
                break;
            }
        }
        let _ = to_client.send(Message::Close(None)).await;
    };
    // Whichever side ends first ends the session.
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}
