//! `/v1/computers/:id/prompt`: run the agent loop on a computer (`POST`), as one JSON answer or as
//! a stream of server-sent events; cancel it (`DELETE`, or closing the stream).

use super::actions::ensure_running;
use super::computers::owned_computer;
use crate::agent_client::unreachable;
use crate::app::AppState;
use crate::auth::Caller;
use crate::prompt::actions::Desk;
use crate::prompt::scaling::Scaling;
use crate::prompt::{Endpoint, Event, Job};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use corix_proto::http::JsonBody;
use corix_proto::prompt::{ModelProvider, PromptCancelled, PromptRequest, PromptResult, DEFAULT_MAX_STEPS, MAX_MAX_STEPS};
use corix_proto::{ApiError, ErrorCode};
use std::convert::Infallible;
use tokio::sync::mpsc;

/// The request header that carries the model provider's API key.
pub const MODEL_KEY_HEADER: &str = "x-model-api-key";

pub fn routes() -> Router<AppState> {
    Router::new().route("/computers/{id}/prompt", post(start).delete(cancel))
}

#[utoipa::path(
    post,
    path = "/api/v1/computers/{id}/prompt",
    tag = "agent",
    operation_id = "prompt",
    summary = "Run the agent loop",
    description = "Runs the see-decide-act loop on the computer until the model is done: the control plane takes \
        screenshots (downscaled to the model's preferred size), asks the model, and performs the actions it asks for, \
        mapping its coordinates back to the screen. Providers: `anthropic` (Messages API, `computer_20250124` and \
        `bash_20250124` tools; `claude-*` models), `openai_responses` (Responses API, `computer_use_preview`; \
        `computer-use-*` models), `openai_chat` (any OpenAI-compatible chat-completions server with vision and \
        function calling). The provider's key comes from `X-Model-Api-Key` or the server's `ANTHROPIC_API_KEY` / \
        `OPENAI_API_KEY`.\n\nWith `Accept: text/event-stream` the answer is a stream: one `step` event per action \
        (a `PromptStep`) as it happens, then one `result` event (a `PromptResult`); closing the stream cancels the \
        loop. Otherwise the answer is the `PromptResult` when the loop ends. One loop at a time per computer: \
        another answers 409 `prompt_running`.",
    params(
        ("id" = String, Path, description = "The computer's id."),
        ("X-Model-Api-Key" = Option<String>, Header, description = "The model provider's API key; overrides the server's."),
    ),
    request_body = PromptRequest,
    responses(
        (status = 200, description = "The loop's result (JSON), or with `Accept: text/event-stream` a stream of `step` events (`PromptStep`) and a last `result` event (`PromptResult`)", content(
            (PromptResult = "application/json"),
            (String = "text/event-stream"),
        )),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 502, response = crate::openapi::AgentUnreachable),
    ),
)]
pub(crate) async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PromptRequest>,
) -> Result<Response, ApiError> {
    let row = owned_computer(&state, &caller, &id, false)?;
    if body.model.trim().is_empty() {
        return Err(ApiError::bad_request("model must not be empty"));
    }
    if body.task.trim().is_empty() {
        return Err(ApiError::bad_request("task must not be empty"));
    }
    let max_steps = body.max_steps.unwrap_or(DEFAULT_MAX_STEPS);
    if max_steps == 0 || max_steps > MAX_MAX_STEPS {
        return Err(ApiError::bad_request(format!("max_steps must be 1 to {MAX_MAX_STEPS}")));
    }
    let provider = body.provider.or_else(|| ModelProvider::for_model(&body.model)).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Unknown model \"{}\": name a claude-* or computer-use-* model, or set provider to \"anthropic\", \
             \"openai_responses\" or \"openai_chat\"",
            body.model
        ))
    })?;
    let config = &state.config.prompt;
    let from_header = headers.get(MODEL_KEY_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let key = match from_header.map(str::to_string).or_else(|| config.api_key(provider).map(|k| k.expose().to_string())) {
        Some(key) => key,
        None => {
            let variable = match provider {
                ModelProvider::Anthropic => "ANTHROPIC_API_KEY",
                ModelProvider::OpenaiResponses | ModelProvider::OpenaiChat => "OPENAI_API_KEY",
            };
            return Err(ApiError::bad_request(format!(
                "No API key for the {} provider: send it in the X-Model-Api-Key header, or set {variable} on the server",
                provider.as_str()
            )));
        }
    };
    ensure_running(row.computer.status)?;
    let address = row.computer.hostname.clone().ok_or_else(unreachable)?;
    let scaling = Scaling::for_resolution(&row.computer.resolution)
        .ok_or_else(|| ApiError::internal(format!("the computer's resolution {:?} cannot be read", row.computer.resolution)))?;
    let slot = state.prompts.claim(&id).ok_or_else(|| {
        ApiError::new(ErrorCode::PromptRunning, "A prompt is already running on this computer; cancel it with DELETE .../prompt or wait")
    })?;
    let job = Job {
        provider,
        model: body.model,
        task: body.task,
        system: body.system,
        max_steps,
        max_screenshots: config.max_screenshots,
        timeout: config.timeout,
        endpoint: Endpoint { http: state.prompts.http.clone(), base_url: config.base_url(provider).to_string(), key },
        desk: Desk { agents: state.lifecycle.agents.clone(), address, token: row.agent_token.clone(), scaling },
    };
    tracing::info!(computer = %id, provider = provider.as_str(), model = %job.model, "prompt started");
    let wants_stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"));
    if !wants_stream {
        let cancel = slot.cancel.clone();
        let result = crate::prompt::run(job, cancel, None).await;
        drop(slot);
        log_end(&id, &result);
        return Ok(Json(result).into_response());
    }

    // The loop runs in its own task; the stream carries its events, and dropping the stream (the
    // client went away) cancels it.
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (result_tx, result_rx) = tokio::sync::oneshot::channel();
    let canceller = state.prompts.canceller(&slot);
    let computer = id.clone();
    tokio::spawn(async move {
        let cancel = slot.cancel.clone();
        let result = crate::prompt::run(job, cancel, Some(events_tx)).await;
        drop(slot);
        log_end(&computer, &result);
        let _ = result_tx.send(result);
    });
    struct CancelOnDrop(Option<tokio::sync::watch::Sender<bool>>);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            if let Some(tx) = &self.0 {
                let _ = tx.send(true);
            }
        }
    }
    let guard = CancelOnDrop(canceller);
    let stream = futures_util::stream::unfold(
        (Some(events_rx), Some(result_rx), guard),
        |(mut events, mut result, guard)| async move {
            if let Some(rx) = events.as_mut() {
                if let Some(Event::Step(step)) = rx.recv().await {
                    let event = SseEvent::default().event("step").json_data(&step).expect("a step serializes");
                    return Some((Ok::<_, Infallible>(event), (events, result, guard)));
                }
                events = None;
            }
            let rx = result.take()?;
            let event = match rx.await {
                Ok(result) => SseEvent::default().event("result").json_data(&result).expect("a result serializes"),
                Err(_) => {
                    let body = ApiError::internal("the loop ended without a result").body();
                    SseEvent::default().event("error").json_data(&body).expect("an error body serializes")
                }
            };
            // The loop is over: nothing left to cancel.
            let mut guard = guard;
            guard.0 = None;
            Some((Ok(event), (events, result, guard)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

fn log_end(computer: &str, result: &PromptResult) {
    tracing::info!(
        computer,
        stop_reason = ?result.stop_reason,
        steps = result.steps.len(),
        input_tokens = result.usage.input_tokens,
        output_tokens = result.usage.output_tokens,
        "prompt ended"
    );
}

#[utoipa::path(
    delete,
    path = "/api/v1/computers/{id}/prompt",
    tag = "agent",
    operation_id = "cancel_prompt",
    summary = "Cancel the running agent loop",
    description = "Cancels the loop running on the computer; its `POST` answers with `stop_reason: cancelled`. \
        `cancelled` is false when no loop was running.",
    params(("id" = String, Path, description = "The computer's id.")),
    responses(
        (status = 200, description = "Whether a loop was cancelled", body = PromptCancelled),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn cancel(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<PromptCancelled>, ApiError> {
    owned_computer(&state, &caller, &id, false)?;
    Ok(Json(PromptCancelled { cancelled: state.prompts.cancel(&id) }))
}
