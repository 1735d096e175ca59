//! `/api/v1/keys`: the caller's own API keys, as the dashboard shows them. A key sees and revokes only
//! its user's keys; revoking the key in use is allowed (the next call with it answers 401).

use crate::app::AppState;
use crate::auth::{add_key, Caller};
use crate::store::ApiKeyRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use corix_proto::ApiError;
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new().route("/keys", get(list).post(create)).route("/keys/{id}", delete(revoke))
}

/// One API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    /// The key's id.
    pub id: String,
    /// The first characters of the key (`crx_` and 8 hex digits): enough to tell keys apart, never to use one.
    pub prefix: String,
    /// When the key was made (RFC 3339).
    pub created_at: String,
    /// Whether this is the key the request was made with.
    pub current: bool,
}

impl ApiKey {
    fn of(row: &ApiKeyRow, caller: &Caller) -> Self {
        ApiKey { id: row.id.clone(), prefix: row.prefix.clone(), created_at: row.created_at.clone(), current: row.id == caller.key.id }
    }
}

/// The caller's keys, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKey>,
}

/// A new key: its secret is in this answer only.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewApiKey {
    pub id: String,
    pub prefix: String,
    pub created_at: String,
    /// The key itself, `crx_...`; it is stored hashed and never shown again.
    pub key: String,
}

/// The answer of `DELETE /api/v1/keys/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyRevoked {
    pub id: String,
    pub revoked: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/keys",
    tag = "keys",
    operation_id = "list_keys",
    summary = "List your API keys",
    description = "The caller's API keys by prefix; secrets are never shown again after creation.",
    responses((status = 200, description = "The caller's keys", body = ApiKeyList)),
)]
pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<ApiKeyList>, ApiError> {
    let rows = state.store.list_api_keys(&caller.user.id).map_err(super::internal)?;
    Ok(Json(ApiKeyList { keys: rows.iter().map(|row| ApiKey::of(row, &caller)).collect() }))
}

#[utoipa::path(
    post,
    path = "/api/v1/keys",
    tag = "keys",
    operation_id = "create_key",
    summary = "Create an API key",
    description = "Makes a new key for the caller's user. The secret is in this answer only.",
    responses((status = 201, description = "Created; `key` is shown this once", body = NewApiKey)),
)]
pub(crate) async fn create(State(state): State<AppState>, caller: Caller) -> Result<(StatusCode, Json<NewApiKey>), ApiError> {
    let new = add_key(&state.store, &caller.user, None).map_err(super::internal)?;
    let row = new.row;
    Ok((StatusCode::CREATED, Json(NewApiKey { id: row.id, prefix: row.prefix, created_at: row.created_at, key: new.secret })))
}

#[utoipa::path(
    delete,
    path = "/api/v1/keys/{id}",
    tag = "keys",
    operation_id = "revoke_key",
    summary = "Revoke an API key",
    description = "Deletes one of the caller's keys at once. Revoking the key in use is allowed; another user's key answers 404.",
    params(("id" = String, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "Revoked", body = ApiKeyRevoked),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyRevoked>, ApiError> {
    // Only ids: a prefix could name several keys, and the dashboard always has the id.
    let owned = state.store.list_api_keys(&caller.user.id).map_err(super::internal)?.into_iter().any(|k| k.id == id);
    if !owned || !state.store.revoke_api_key(&caller.user.id, &id).map_err(super::internal)? {
        return Err(ApiError::not_found("API key not found"));
    }
    Ok(Json(ApiKeyRevoked { id, revoked: true }))
}
