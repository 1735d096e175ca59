//! The HTTP API: routes, the bearer-token check in front of all of them, and the two handlers too
//! small for a module of their own (health, wait).

use crate::display::Display;
use crate::exec::ExecEnv;
use crate::input::Input;
use crate::screen::Screen;
use crate::{exec, files, input, screen, supervisor, terminal};
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use corix_proto::actions::{ActionResult, WaitRequest, MAX_WAIT_SECONDS};
use corix_proto::agent::AgentHealth;
use corix_proto::http::JsonBody;
use corix_proto::{ApiError, ErrorCode};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq as _;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub struct AppState {
    pub token: String,
    pub resolution: String,
    pub display: Arc<Display>,
    pub screen: Screen,
    pub input: Input,
    pub exec_env: ExecEnv,
    pub desktop: Arc<supervisor::Status>,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/screenshot", get(screen::screenshot))
        .route("/click", post(input::click))
        .route("/drag", post(input::drag))
        .route("/move", post(input::move_to))
        .route("/mouse_down", post(input::mouse_down))
        .route("/mouse_up", post(input::mouse_up))
        .route("/hold_key", post(input::hold_key))
        .route("/cursor", get(input::cursor))
        .route("/scroll", post(input::scroll))
        .route("/type", post(input::type_text))
        .route("/key", post(input::key))
        .route("/wait", post(wait))
        .route("/bash", post(exec::bash))
        .route("/python", post(exec::python))
        .route("/files", get(files::list).delete(files::delete))
        .route("/files/upload", post(files::upload))
        .route("/files/download", get(files::download))
        .route("/terminal", get(terminal::terminal))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| ApiError::internal("the agent hit a bug handling this request").into_response()))
        .with_state(state)
}

/// Only the control plane, which holds this computer's secret, may talk to the agent.
async fn require_token(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let authorized = presented.is_some_and(|token| bool::from(token.as_bytes().ct_eq(state.token.as_bytes())));
    if !authorized {
        return ApiError::new(ErrorCode::Unauthorized, "missing or wrong agent token (Authorization: Bearer ...)").into_response();
    }
    next.run(request).await
}

/// Run blocking X11 work off the async threads; a panic in it answers 500 instead of unwinding further.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|err| {
        tracing::error!(%err, "blocking task failed");
        ApiError::internal("the agent hit a bug handling this request")
    })?
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn health(State(state): State<Arc<AppState>>) -> Json<AgentHealth> {
    let display = state.display.clone();
    let (display_up, window_manager, settings_daemon, desktop_drawn) = blocking(move || {
        Ok((display.is_up(), display.window_manager_running(), display.settings_daemon_running(), display.desktop_drawn()))
    })
    .await
    .unwrap_or((false, false, false, false));
    let session = state.desktop.session_alive();
    Json(AgentHealth {
        status: if display_up && session { "ok" } else { "starting" }.to_string(),
        display: display_up,
        session,
        window_manager,
        settings_daemon,
        desktop_drawn,
        resolution: state.resolution.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// A `duration` in seconds, checked to be 0 to 30.
pub fn checked_duration(seconds: f64) -> Result<Duration, ApiError> {
    if !(0.0..=MAX_WAIT_SECONDS).contains(&seconds) {
        return Err(ApiError::bad_request(format!("duration: must be 0..={MAX_WAIT_SECONDS} seconds, got {seconds}")));
    }
    Ok(Duration::from_secs_f64(seconds))
}

async fn wait(JsonBody(req): JsonBody<WaitRequest>) -> Result<Json<ActionResult>, ApiError> {
    tokio::time::sleep(checked_duration(req.duration)?).await;
    Ok(Json(ActionResult { success: true }))
}
