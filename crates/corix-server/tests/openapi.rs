//! `docs/openapi.json` is the committed copy of the document served at `/api/openapi.json`; this
//! fails when it is stale. To update it: `UPDATE_OPENAPI=1 cargo test -p corix-server --test openapi`.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn committed_copy_is_current() {
    let generated = corix_server::openapi::document_json();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "docs/openapi.json is not the document the code generates (first difference at line {}).\n\
             Update it with: UPDATE_OPENAPI=1 cargo test -p corix-server --test openapi\n\
             and commit docs/openapi.json.",
            first_difference + 1
        );
    }
}

/// Every endpoint of the published API reference, and the ones Corix adds.
const ENDPOINTS: &[(&str, &str)] = &[
    ("get", "/api/health"),
    ("get", "/api/openapi.json"),
    ("get", "/ws/terminal/{id}"),
    ("get", "/ws/screen/{id}"),
    ("get", "/api/v1/keys"),
    ("post", "/api/v1/keys"),
    ("delete", "/api/v1/keys/{id}"),
    ("post", "/api/v1/workspaces"),
    ("get", "/api/v1/workspaces"),
    ("get", "/api/v1/workspaces/{id}"),
    ("delete", "/api/v1/workspaces/{id}"),
    ("post", "/api/v1/computers"),
    ("get", "/api/v1/computers"),
    ("get", "/api/v1/computers/{id}"),
    ("delete", "/api/v1/computers/{id}"),
    ("post", "/api/v1/computers/{id}/clone"),
    ("post", "/api/v1/computers/{id}/resize"),
    ("post", "/api/v1/computers/{id}/move"),
    ("post", "/api/v1/computers/{id}/start"),
    ("post", "/api/v1/computers/{id}/stop"),
    ("post", "/api/v1/computers/{id}/restart"),
    ("get", "/api/v1/computers/{id}/auto-stop"),
    ("patch", "/api/v1/computers/{id}/auto-stop"),
    ("get", "/api/v1/computers/{id}/screenshot"),
    ("post", "/api/v1/computers/{id}/click"),
    ("post", "/api/v1/computers/{id}/drag"),
    ("post", "/api/v1/computers/{id}/type"),
    ("post", "/api/v1/computers/{id}/key"),
    ("post", "/api/v1/computers/{id}/scroll"),
    ("post", "/api/v1/computers/{id}/wait"),
    ("post", "/api/v1/computers/{id}/mouse-move"),
    ("post", "/api/v1/computers/{id}/mouse-down"),
    ("post", "/api/v1/computers/{id}/mouse-up"),
    ("post", "/api/v1/computers/{id}/hold-key"),
    ("get", "/api/v1/computers/{id}/cursor"),
    ("post", "/api/v1/computers/{id}/bash"),
    ("post", "/api/v1/computers/{id}/python"),
    ("get", "/api/v1/computers/{id}/files"),
    ("delete", "/api/v1/computers/{id}/files"),
    ("post", "/api/v1/computers/{id}/files/upload"),
    ("get", "/api/v1/computers/{id}/files/download"),
    ("post", "/api/v1/computers/{id}/prompt"),
    ("delete", "/api/v1/computers/{id}/prompt"),
];

fn document() -> serde_json::Value {
    serde_json::to_value(corix_server::openapi::document()).unwrap()
}

#[test]
fn every_endpoint_is_documented() {
    let doc = document();
    let paths = doc["paths"].as_object().expect("paths");
    let missing: Vec<String> = ENDPOINTS
        .iter()
        .filter(|(method, path)| paths.get(*path).and_then(|item| item.get(*method)).is_none())
        .map(|(method, path)| format!("{} {path}", method.to_uppercase()))
        .collect();
    assert!(missing.is_empty(), "not in the OpenAPI document: {missing:?}");
    let documented: usize = paths.values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(documented, ENDPOINTS.len(), "the document has operations this list lacks; add them here");
}

#[test]
fn operations_are_well_formed() {
    let doc = document();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path} lacks 500");
            if path.starts_with("/api/v1/") {
                assert_eq!(op["security"], serde_json::json!([{ "bearer": [] }]), "{method} {path}");
                for status in ["401", "429"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
            }
            if path.contains("{id}") {
                // Another user's API key is "not found" (404), never 403: key ids do not leak across users.
                let statuses: &[&str] = if path.starts_with("/api/v1/keys/") { &["404"] } else { &["403", "404"] };
                for &status in statuses {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
                let params = op["parameters"].as_array().unwrap();
                assert!(params.iter().any(|p| p["name"] == "id" && p["in"] == "path"), "{method} {path} lacks the id parameter");
            }
        }
    }
    let screenshot = &doc["paths"]["/api/v1/computers/{id}/screenshot"]["get"]["responses"]["200"]["content"];
    for content_type in ["image/png", "image/jpeg", "application/json"] {
        assert!(screenshot.get(content_type).is_some(), "screenshot lacks {content_type}");
    }
    let upload = &doc["paths"]["/api/v1/computers/{id}/files/upload"]["post"]["requestBody"]["content"];
    assert!(upload.get("application/octet-stream").is_some());
    let schemes = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(schemes["scheme"], "bearer");
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    fn walk(value: &serde_json::Value, doc: &serde_json::Value, bad: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(target) = map.get("$ref").and_then(|r| r.as_str()) {
                    let pointer = target.trim_start_matches('#');
                    if doc.pointer(pointer).is_none() {
                        bad.push(target.to_string());
                    }
                }
                map.values().for_each(|v| walk(v, doc, bad));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, doc, bad)),
            _ => {}
        }
    }
    let mut bad = Vec::new();
    walk(&doc, &doc, &mut bad);
    assert!(bad.is_empty(), "dangling references: {bad:?}");
}

/// `GET /api/openapi.json` serves the same document, without an API key.
#[tokio::test]
async fn the_router_serves_the_document_without_a_key() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use corix_server::ratelimit::ShortWindow;
    use corix_server::runtime::DockerRuntime;
    use corix_server::store::Store;
    use corix_server::{AppState, Config};
    use std::sync::Arc;
    use std::time::Duration;
    use tower::ServiceExt;

    // Nothing here reaches the engine; the client only connects when used.
    let docker = bollard::Docker::connect_with_defaults().expect("a Docker client");
    let runtime = Arc::new(DockerRuntime::new(docker, "openapi-test".into(), "none".into()));
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: std::env::temp_dir(),
        image: "unused".into(),
        network: "none".into(),
        rate_limit: ShortWindow { per_second: 100.0, burst: 100.0 },
        ready_timeout: Duration::from_secs(1),
        reconcile_interval: Duration::from_secs(60),
        reaper_interval: Duration::from_secs(60),
        auto_stop_minute: Duration::from_secs(60),
        warm_pool: 0,
        web_dir: None,
        prompt: Default::default(),
    };
    let store = Arc::new(Store::open_in_memory().unwrap());
    let router = corix_server::routes::router(AppState::new(config, store, runtime));
    let response = router.oneshot(Request::get("/api/openapi.json").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    assert_eq!(std::str::from_utf8(&body).unwrap(), corix_server::openapi::document_json());
}
