//! The HTTP surface: one module per resource. Every `/api/v1` route requires an API key.

pub(crate) mod actions;
pub(crate) mod computers;
pub(crate) mod keys;
pub(crate) mod prompt;
pub(crate) mod screen;
pub(crate) mod terminal;
pub(crate) mod web;
pub(crate) mod workspaces;

use crate::app::AppState;
use axum::routing::get;
use axum::{Json, Router};
use corix_proto::api::Health;
use corix_proto::ApiError;

pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .merge(workspaces::routes())
        .merge(computers::routes())
        .merge(actions::routes())
        .merge(keys::routes())
        .merge(prompt::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::require_key));
    Router::new()
        .nest("/api/v1", v1)
        .route("/api/health", get(health))
        .route("/api/openapi.json", get(crate::openapi::serve))
        .route("/ws/terminal/{id}", get(terminal::connect))
        .route("/ws/screen/{id}", get(screen::connect))
        .route("/metrics", get(crate::metrics::render))
        .fallback(web::fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::record))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

#[utoipa::path(
    get,
    path = "/api/health",
    tag = "meta",
    operation_id = "health",
    summary = "Liveness of the control plane",
    responses((status = 200, description = "The control plane is up", body = Health)),
)]
async fn health() -> Json<Health> {
    Json(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

async fn not_found() -> ApiError {
    ApiError::not_found("No such endpoint")
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::internal(err.to_string())
}
