//! `/v1/workspaces`: create, get, list, delete.

use super::internal;
use crate::app::AppState;
use crate::auth::Caller;
use crate::store::{StoreError, WorkspaceRow};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use corix_proto::api::{CreateWorkspaceRequest, Workspace, WorkspaceList};
use corix_proto::http::JsonBody;
use corix_proto::{ApiError, ErrorCode};
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/workspaces", get(list).post(create))
        .route("/workspaces/{id}", get(fetch).delete(remove))
}

const MAX_NAME_CHARS: usize = 100;

/// The caller's workspace `id`: 404 when there is none, 403 when it is someone else's.
pub(super) fn owned_workspace(state: &AppState, caller: &Caller, id: &str) -> Result<WorkspaceRow, ApiError> {
    let row = state.store.workspace(id).map_err(internal)?.ok_or_else(|| ApiError::not_found("Workspace not found"))?;
    if row.workspace.user_id != caller.user.id {
        return Err(ApiError::new(ErrorCode::Forbidden, "Workspace belongs to another user"));
    }
    Ok(row)
}

#[utoipa::path(
    post,
    path = "/api/v1/workspaces",
    tag = "workspaces",
    operation_id = "create_workspace",
    summary = "Create a workspace",
    request_body = CreateWorkspaceRequest,
    responses(
        (status = 201, description = "The new workspace", body = Workspace),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateWorkspaceRequest>,
) -> Result<(StatusCode, Json<Workspace>), ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::bad_request(format!("name must be 1 to {MAX_NAME_CHARS} characters")));
    }
    match state.store.create_workspace(&caller.user.id, name) {
        Ok(workspace) => Ok((StatusCode::CREATED, Json(workspace))),
        Err(StoreError::Conflict(message)) => Err(ApiError::new(ErrorCode::Conflict, message)),
        Err(err) => Err(internal(err)),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{id}",
    tag = "workspaces",
    operation_id = "get_workspace",
    summary = "Get a workspace",
    params(("id" = String, Path, description = "The workspace's id.")),
    responses(
        (status = 200, description = "The workspace", body = Workspace),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
async fn fetch(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Workspace>, ApiError> {
    Ok(Json(owned_workspace(&state, &caller, &id)?.workspace))
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces",
    tag = "workspaces",
    operation_id = "list_workspaces",
    summary = "List workspaces",
    responses((status = 200, description = "The caller's workspaces", body = WorkspaceList)),
)]
async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<WorkspaceList>, ApiError> {
    let rows = state.store.list_workspaces(&caller.user.id).map_err(internal)?;
    Ok(Json(WorkspaceList { workspaces: rows.into_iter().map(|r| r.workspace).collect() }))
}

/// Terminates every computer of the workspace, then deletes it. The Default workspace stays.
#[utoipa::path(
    delete,
    path = "/api/v1/workspaces/{id}",
    tag = "workspaces",
    operation_id = "delete_workspace",
    summary = "Delete a workspace",
    description = "Terminates every computer of the workspace, then deletes it. The Default workspace and the last \
        remaining one cannot be deleted (409).",
    params(("id" = String, Path, description = "The workspace's id.")),
    responses(
        (status = 200, description = "Deleted", body = crate::openapi::WorkspaceDeleted),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let row = owned_workspace(&state, &caller, &id)?;
    if row.is_default {
        return Err(ApiError::new(ErrorCode::Conflict, "The Default workspace cannot be deleted"));
    }
    if state.store.list_workspaces(&caller.user.id).map_err(internal)?.len() <= 1 {
        return Err(ApiError::new(ErrorCode::Conflict, "The last remaining workspace cannot be deleted"));
    }
    let computers = state.store.live_computers_in_workspace(&id).map_err(internal)?;
    for computer in &computers {
        state.lifecycle.terminate(&computer.computer.id).await?;
    }
    state.store.delete_workspace(&id).map_err(internal)?;
    Ok(Json(json!({ "id": id, "deleted": true, "terminated_computers": computers.len() })))
}
