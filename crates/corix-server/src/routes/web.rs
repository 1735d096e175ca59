//! The dashboard: the built front end (`web/dist`) served at `/`, any path without a file answering
//! `index.html`. Paths under `/api` and `/ws` never reach it: an unknown one answers the JSON 404.

use crate::app::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Corix</title>\
<h1>Corix</h1><p>The API is up at <code>/api</code>, but the dashboard is not built. Build it with \
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> (or <code>scripts/up</code>), or point \
<code>corix serve --web-dir</code> (<code>CORIX_WEB_DIR</code>) at a built <code>dist</code> directory.</p>";

pub(super) async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") || path == "/ws" || path.starts_with("/ws/") {
        return super::not_found().await.into_response();
    }
    let Some(dir) = state.config.web_dir.as_ref().filter(|dir| dir.join("index.html").is_file()) else {
        return (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], NOT_BUILT).into_response();
    };
    let index = dir.join("index.html");
    let service = ServeDir::new(dir).fallback(ServeFile::new(index));
    match service.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(err) => super::internal(err).into_response(),
    }
}
