//! Everything done inside a computer (screen, input, exec, files) is forwarded to its agent as is:
//! same body, same query, the answer streamed back. The control plane adds only who may ask.

use super::computers::owned_computer;
use crate::agent_client::unreachable;
use crate::app::AppState;
use crate::auth::Caller;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, Method};
use axum::response::Response;
use axum::routing::{on, MethodFilter};
use axum::Router;
use corix_proto::api::ComputerStatus;
use corix_proto::{ApiError, ErrorCode};

/// (public path under `/computers/{id}/`, method, the agent's path)
const ACTIONS: &[(&str, Method, &str)] = &[
    ("screenshot", Method::GET, "/screenshot"),
    ("click", Method::POST, "/click"),
    ("drag", Method::POST, "/drag"),
    ("type", Method::POST, "/type"),
    ("key", Method::POST, "/key"),
    ("scroll", Method::POST, "/scroll"),
    ("wait", Method::POST, "/wait"),
    ("mouse-move", Method::POST, "/move"),
    ("cursor", Method::GET, "/cursor"),
    ("bash", Method::POST, "/bash"),
    ("python", Method::POST, "/python"),
    ("files", Method::GET, "/files"),
    ("files", Method::DELETE, "/files"),
    ("files/upload", Method::POST, "/files/upload"),
    ("files/download", Method::GET, "/files/download"),
];

/// Headers passed through in each direction.
const REQUEST_HEADERS: [header::HeaderName; 2] = [header::CONTENT_TYPE, header::CONTENT_LENGTH];
const RESPONSE_HEADERS: [header::HeaderName; 3] = [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::CONTENT_DISPOSITION];

pub fn routes() -> Router<AppState> {
    ACTIONS.iter().fold(Router::new(), |router, (path, method, agent_path)| {
        let filter = MethodFilter::try_from(method.clone()).expect("a plain HTTP method");
        router.route(
            &format!("/computers/{{id}}/{path}"),
            on(filter, move |state: State<AppState>, caller: Caller, Path(id): Path<String>, request: Request| {
                forward(state.0, caller, id, agent_path, request)
            }),
        )
    })
}

/// 409 with a sentence that says what to do, for a computer that is not running.
pub(super) fn ensure_running(status: ComputerStatus) -> Result<(), ApiError> {
    let message = match status {
        ComputerStatus::Running => return Ok(()),
        ComputerStatus::Stopped => "Computer is stopped; start it first".to_string(),
        ComputerStatus::Error => "Computer is in error; restart it".to_string(),
        other => format!("Computer is {}; wait until it is running", other.as_str()),
    };
    Err(ApiError::new(ErrorCode::NotRunning, message))
}

async fn forward(state: AppState, caller: Caller, id: String, agent_path: &str, request: Request) -> Result<Response, ApiError> {
    let row = owned_computer(&state, &caller, &id, false)?;
    ensure_running(row.computer.status)?;
    let address = row.computer.hostname.ok_or_else(unreachable)?;
    let (parts, body) = request.into_parts();
    let target = match parts.uri.query() {
        Some(query) => format!("{agent_path}?{query}"),
        None => agent_path.to_string(),
    };
    let mut outgoing = state.lifecycle.agents.request(parts.method, &address, &target, &row.agent_token);
    for name in REQUEST_HEADERS {
        if let Some(value) = parts.headers.get(&name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await
        .map_err(|_| unreachable())?;
    let mut response = Response::builder().status(answer.status());
    for name in RESPONSE_HEADERS {
        if let Some(value) = answer.headers().get(&name) {
            response = response.header(name, value);
        }
    }
    response.body(Body::from_stream(answer.bytes_stream())).map_err(super::internal)
}
