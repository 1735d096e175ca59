//! Everything done inside a computer (screen, input, exec, files) is forwarded to its agent as is:
//! same body, same query, the answer streamed back. The control plane adds only who may ask.

use super::computers::owned_computer;
use crate::agent_client::unreachable;
use crate::app::AppState;
use crate::auth::Caller;
use crate::store::ComputerRow;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, Method};
use axum::response::Response;
use axum::routing::{on, MethodFilter};
use axum::Router;
use corix_proto::api::ComputerStatus;
use corix_proto::actions::{
    ActionResult, BashRequest, ButtonRequest, ClickRequest, CursorPosition, DragRequest, ExecResult, FileList, HoldKeyRequest,
    KeyRequest, MoveRequest, PythonRequest, ScreenshotJson, ScrollRequest, TypeRequest, WaitRequest,
};
use corix_proto::{ApiError, ErrorCode};
use crate::openapi::{http_method, schema_of, ActionDoc, ParamKind, Payload, QueryParam};
use utoipa::openapi::{Paths, RefOr, Schema};

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
    ("mouse-down", Method::POST, "/mouse_down"),
    ("mouse-up", Method::POST, "/mouse_up"),
    ("hold-key", Method::POST, "/hold_key"),
    ("cursor", Method::GET, "/cursor"),
    ("bash", Method::POST, "/bash"),
    ("python", Method::POST, "/python"),
    ("files", Method::GET, "/files"),
    ("files", Method::DELETE, "/files"),
    ("files/upload", Method::POST, "/files/upload"),
    ("files/download", Method::GET, "/files/download"),
];

/// The OpenAPI description of each row of [`ACTIONS`] (public path, method); [`action_paths`] turns
/// them into the document's path items, and fails on a row without one.
const ACTION_DOCS: &[(&str, Method, ActionDoc)] = &[
    ("screenshot", Method::GET, ActionDoc {
        operation_id: "screenshot",
        tag: "desktop",
        summary: "Take a screenshot",
        description: "The current desktop: a PNG by default, a JPEG with `format=jpeg`, or JSON with the PNG as a data URL with `format=base64`.",
        query: &[
            QueryParam { name: "format", kind: ParamKind::OneOf(&["png", "jpeg", "base64"]), required: false, description: "`png` (default), `jpeg`, or `base64` for JSON." },
            QueryParam { name: "quality", kind: ParamKind::Integer, required: false, description: "JPEG quality, 1-100 (default 80)." },
            QueryParam { name: "width", kind: ParamKind::Integer, required: false, description: "Output width in pixels, at most the screen's; the height keeps the aspect ratio. Not with `scale`." },
            QueryParam { name: "scale", kind: ParamKind::Number, required: false, description: "Output size as a fraction of the screen, in (0, 1]. Not with `width`." },
            QueryParam { name: "cursor", kind: ParamKind::Boolean, required: false, description: "Draw the mouse pointer (default false)." },
        ],
        request: Payload::None,
        response: Payload::Screenshot(schema_of::<ScreenshotJson>),
        errors: &[400, 503],
    }),
    ("click", Method::POST, ActionDoc {
        operation_id: "click",
        tag: "desktop",
        summary: "Click",
        description: "Moves the pointer to (x, y) and clicks `button` (default left); `double_click` for a double click, `clicks` for 1 to 3 clicks in a row; `hold_keys` (e.g. `shift`, `ctrl+shift`) are held down during the click.",
        query: &[],
        request: Payload::Json(schema_of::<ClickRequest>),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413, 503],
    }),
    ("drag", Method::POST, ActionDoc {
        operation_id: "drag",
        tag: "desktop",
        summary: "Drag",
        description: "Presses `button` at the start point, moves to the end point and releases.",
        query: &[],
        request: Payload::Json(schema_of::<DragRequest>),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413, 503],
    }),
    ("type", Method::POST, ActionDoc {
        operation_id: "type_text",
        tag: "desktop",
        summary: "Type text",
        description: "Types the text as keystrokes.",
        query: &[],
        request: Payload::Json(schema_of::<TypeRequest>),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413, 503],
    }),
    ("key", Method::POST, ActionDoc {
        operation_id: "key",
        tag: "desktop",
        summary: "Press a key",
        description: "Presses a key or combination: `Return`, `BackSpace`, `Tab`, `Up`, `Delete`, `space`, `ctrl+c`, `alt+F4`, any X keysym name.",
        query: &[],
        request: Payload::Json(schema_of::<KeyRequest>),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413, 503],
    }),
    ("scroll", Method::POST, ActionDoc {
        operation_id: "scroll",
        tag: "desktop",
        summary: "Scroll",
        description: "Moves the pointer to (x, y) and turns the wheel `amount` clicks (default 3) in `direction`; `hold_keys` (e.g. `ctrl`) are held down meanwhile.",
        query: &[],
        request: Payload::Json(schema_of::<ScrollRequest>),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413, 503],
    }),
    ("wait", Method::POST, ActionDoc {
        operation_id: "wait",
        tag: "desktop",
        summary: "Wait",
        description: "Answers after `duration` seconds (at most 30); a pause between actions of an agent loop.",
        query: &[],
        request: Payload::Json(schema_of::<WaitRequest>),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413],
    }),
    ("mouse-move", Method::POST, ActionDoc {
        operation_id: "mouse_move",
        tag: "desktop",
        summary: "Move the mouse pointer",
        description: "Moves the pointer to (x, y) without clicking.",
        query: &[],
        request: Payload::Json(schema_of::<MoveRequest>),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413, 503],
    }),
    ("mouse-down", Method::POST, ActionDoc {
        operation_id: "mouse_down",
        tag: "desktop",
        summary: "Press a mouse button",
        description: "Presses `button` (default left) and keeps it down, at (x, y) if given, else where the pointer is. With `mouse-move` and `mouse-up`, a drag along any path.",
        query: &[],
        request: Payload::Json(schema_of::<ButtonRequest>),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413, 503],
    }),
    ("mouse-up", Method::POST, ActionDoc {
        operation_id: "mouse_up",
        tag: "desktop",
        summary: "Release a mouse button",
        description: "Releases `button` (default left), at (x, y) if given, else where the pointer is.",
        query: &[],
        request: Payload::Json(schema_of::<ButtonRequest>),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413, 503],
    }),
    ("hold-key", Method::POST, ActionDoc {
        operation_id: "hold_key",
        tag: "desktop",
        summary: "Hold keys down",
        description: "Presses every key of `key` (a name or `+` combination, as for `key`), holds them for `duration` seconds (at most 30) and releases them. Other actions run meanwhile.",
        query: &[],
        request: Payload::Json(schema_of::<HoldKeyRequest>),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413, 503],
    }),
    ("cursor", Method::GET, ActionDoc {
        operation_id: "cursor",
        tag: "desktop",
        summary: "Where the mouse pointer is",
        description: "The pointer's position in screen pixels.",
        query: &[],
        request: Payload::None,
        response: Payload::Json(schema_of::<CursorPosition>),
        errors: &[503],
    }),
    ("bash", Method::POST, ActionDoc {
        operation_id: "bash",
        tag: "exec",
        summary: "Run a bash command",
        description: "Runs `command` with bash and answers its output and exit code. `timeout` (default 60, at most 600 seconds) kills the whole process group, exit code 124. Each of stdout and stderr keeps its first 1 MiB; `truncated` says when more was dropped.",
        query: &[],
        request: Payload::Json(schema_of::<BashRequest>),
        response: Payload::Json(schema_of::<ExecResult>),
        errors: &[400, 413],
    }),
    ("python", Method::POST, ActionDoc {
        operation_id: "python",
        tag: "exec",
        summary: "Run Python code",
        description: "Runs `code` with python3 and answers its output and exit code; `timeout` as for bash.",
        query: &[],
        request: Payload::Json(schema_of::<PythonRequest>),
        response: Payload::Json(schema_of::<ExecResult>),
        errors: &[400, 413],
    }),
    ("files", Method::GET, ActionDoc {
        operation_id: "list_files",
        tag: "files",
        summary: "List a directory",
        description: "The entries of the directory at `path`.",
        query: &[QueryParam { name: "path", kind: ParamKind::String, required: true, description: "An absolute path, e.g. `/root`." }],
        request: Payload::None,
        response: Payload::Json(schema_of::<FileList>),
        errors: &[400],
    }),
    ("files", Method::DELETE, ActionDoc {
        operation_id: "delete_file",
        tag: "files",
        summary: "Delete a file",
        description: "Deletes the file at `path`; a directory only with `recursive=true`.",
        query: &[
            QueryParam { name: "path", kind: ParamKind::String, required: true, description: "An absolute path." },
            QueryParam { name: "recursive", kind: ParamKind::Boolean, required: false, description: "Delete a directory and everything in it (default false)." },
        ],
        request: Payload::None,
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400],
    }),
    ("files/upload", Method::POST, ActionDoc {
        operation_id: "upload_file",
        tag: "files",
        summary: "Upload a file",
        description: "Writes the raw request body to `path`, creating missing parent directories and replacing an existing file. At most 512 MiB.",
        query: &[QueryParam { name: "path", kind: ParamKind::String, required: true, description: "An absolute path, e.g. `/root/data.csv`." }],
        request: Payload::Bytes("application/octet-stream"),
        response: Payload::Json(schema_of::<ActionResult>),
        errors: &[400, 413],
    }),
    ("files/download", Method::GET, ActionDoc {
        operation_id: "download_file",
        tag: "files",
        summary: "Download a file",
        description: "The raw content of the file at `path`, with a `Content-Disposition` header. At most 50 MiB; bigger files answer 413.",
        query: &[QueryParam { name: "path", kind: ParamKind::String, required: true, description: "An absolute path, e.g. `/root/output.txt`." }],
        request: Payload::None,
        response: Payload::Bytes("application/octet-stream"),
        errors: &[400, 413],
    }),
];

/// The OpenAPI path items of the routes above: one operation per row of [`ACTIONS`], described by its
/// [`ACTION_DOCS`] row. The schemas they use are added to `schemas`.
pub(crate) fn action_paths(schemas: &mut Vec<(String, RefOr<Schema>)>) -> Paths {
    assert_eq!(ACTION_DOCS.len(), ACTIONS.len(), "ACTION_DOCS and ACTIONS differ in length");
    let mut paths = Paths::new();
    for (path, method, _) in ACTIONS {
        let (_, _, doc) = ACTION_DOCS
            .iter()
            .find(|(p, m, _)| p == path && m == method)
            .unwrap_or_else(|| panic!("{method} /computers/{{id}}/{path} has no row in ACTION_DOCS"));
        paths.add_path_operation(format!("/api/v1/computers/{{id}}/{path}"), vec![http_method(method)], doc.operation(schemas));
    }
    paths
}

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

/// Everything a WebSocket route checks before its upgrade, so a refusal is a plain HTTP answer: the
/// key (Bearer header, `token` query or subprotocol), rate limits, ownership, a running computer.
/// Returns the computer and where its agent listens.
pub(super) fn socket_target(state: &AppState, parts: &axum::http::request::Parts, id: &str) -> Result<(ComputerRow, String), ApiError> {
    let secret = crate::auth::presented_key(parts)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "Missing API key: pass ?token=crx_... or a Bearer header"))?;
    let caller = crate::auth::authenticate(&state.store, &secret)?;
    state.limiter.admit(&state.store, &caller)?;
    let row = owned_computer(state, &caller, id, false)?;
    ensure_running(row.computer.status)?;
    let address = row.computer.hostname.clone().ok_or_else(unreachable)?;
    Ok((row, address))
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
    let sent = std::time::Instant::now();
    let answer = outgoing
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await
        .map_err(|_| unreachable())?;
    state.metrics.observe_agent(sent.elapsed());
    let mut response = Response::builder().status(answer.status());
    for name in RESPONSE_HEADERS {
        if let Some(value) = answer.headers().get(&name) {
            response = response.header(name, value);
        }
    }
    response.body(Body::from_stream(answer.bytes_stream())).map_err(super::internal)
}
