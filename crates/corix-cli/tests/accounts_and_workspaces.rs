//! Auth, validation, workspaces, plan limits and rate limits against a real server.

mod common;

use common::{Method, Server};
use serde_json::json;

fn assert_error(status: u16, body: &serde_json::Value, want_status: u16, code: &str, mentions: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains(mentions), "error {message:?} should mention {mentions:?}");
}

#[tokio::test]
async fn requests_need_a_valid_key() {
    let server = Server::start().await;
    let response = server.http.get(server.url("/computers")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_error(401, &body, 401, "unauthorized", "API key");

    let (status, body) = server.call_as("crx_0123456789abcdef0123456789abcdef0123", Method::GET, "/computers", None).await;
    assert_error(status, &body, 401, "unauthorized", "Invalid API key");

    let (status, body) = server.get("/computers").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "computers": [], "total": 0 }));

    let health: serde_json::Value =
        server.http.get(format!("http://{}/api/health", server.addr)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");

    // A revoked key stops working at once.
    let key = server.cli(&["keys", "create", "--email", "admin"]);
    assert_eq!(server.call_as(&key, Method::GET, "/workspaces", None).await.0, 200);
    server.cli(&["keys", "revoke", "--email", "admin", "--key", &key[..12]]);
    assert_eq!(server.call_as(&key, Method::GET, "/workspaces", None).await.0, 401);
}

#[tokio::test]
async fn bad_computer_requests_name_the_field() {
    let server = Server::start().await;
    let cases = [
        (json!({ "cpu": 3 }), "cpu"),
        (json!({ "ram": 5 }), "ram"),
        (json!({ "cpu": "two" }), "cpu"),
        (json!({ "disk_size_gb": 0 }), "disk_size_gb"),
        (json!({ "disk_size_gb": -1 }), "disk_size_gb"),
        (json!({ "resolution": "big" }), "resolution"),
        (json!({ "name": "" }), "name"),
        (json!({ "os": "windows" }), "os"),
        (json!({ "colour": "red" }), "colour"),
    ];
    for (body, field) in cases {
        let (status, answer) = server.post("/computers", body.clone()).await;
        assert_error(status, &answer, 400, "bad_request", field);
    }
    let response =
        server.http.post(server.url("/computers")).bearer_auth(&server.key).body("{not json").send().await.unwrap();
    assert_eq!(response.status(), 400);

    let (status, answer) = server.post("/computers", json!({ "workspace_id": "no-such-workspace" })).await;
    assert_error(status, &answer, 404, "not_found", "Workspace");
    let (status, answer) = server.get("/computers/00000000-0000-0000-0000-000000000000").await;
    assert_error(status, &answer, 404, "not_found", "Computer not found");
    let (status, answer) = server.post("/computers/nope/stop", json!({})).await;
    assert_error(status, &answer, 404, "not_found", "Computer not found");
}

#[tokio::test]
async fn workspaces_follow_the_spec() {
    let server = Server::start().await;
    let (status, list) = server.get("/workspaces").await;
    assert_eq!(status, 200);
    let workspaces = list["workspaces"].as_array().unwrap();
    assert_eq!(workspaces.len(), 1);
    assert_eq!(workspaces[0]["name"], "Default");
    assert_eq!(workspaces[0]["status"], "active");
    let default_id = workspaces[0]["id"].as_str().unwrap().to_string();

    let (status, created) = server.post("/workspaces", json!({ "name": "Production" })).await;
    assert_eq!(status, 201, "{created}");
    for field in ["id", "user_id", "name", "status", "created_at"] {
        assert!(created.get(field).is_some(), "missing {field}: {created}");
    }
    assert_eq!(created["name"], "Production");
    assert!(created["icon_url"].is_null());
    let id = created["id"].as_str().unwrap().to_string();

    let (status, body) = server.post("/workspaces", json!({ "name": "Production" })).await;
    assert_error(status, &body, 409, "conflict", "Production");
    let (status, body) = server.post("/workspaces", json!({})).await;
    assert_error(status, &body, 400, "bad_request", "name");

    let (status, fetched) = server.get(&format!("/workspaces/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, created);
    assert_eq!(server.get("/workspaces").await.1["workspaces"].as_array().unwrap().len(), 2);

    // Someone else's workspace is forbidden, for reading, deleting and placing computers.
    let other = server.create_user("other@example.com", "pro");
    let (status, body) = server.call_as(&other, Method::GET, &format!("/workspaces/{id}"), None).await;
    assert_error(status, &body, 403, "forbidden", "another user");
    let (status, body) = server.call_as(&other, Method::DELETE, &format!("/workspaces/{id}"), None).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) =
        server.call_as(&other, Method::POST, "/computers", Some(json!({ "workspace_id": id, "cpu": 1 }))).await;
    assert_eq!(status, 403, "{body}");
    // The other user has a Default workspace of its own: names are unique per user only.
    let (status, _) = server.call_as(&other, Method::POST, "/workspaces", Some(json!({ "name": "Production" }))).await;
    assert_eq!(status, 201);

    let (status, body) = server.delete(&format!("/workspaces/{default_id}")).await;
    assert_error(status, &body, 409, "conflict", "Default");
    let (status, body) = server.delete(&format!("/workspaces/{id}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.get(&format!("/workspaces/{id}")).await.0, 404);
    assert_eq!(server.delete("/workspaces/unknown").await.0, 404);
}

#[tokio::test]
async fn starter_plan_limits_cpu_and_ram() {
    let server = Server::start().await;
    let starter = server.create_user("starter@example.com", "starter");
    let (status, body) = server.call_as(&starter, Method::POST, "/computers", Some(json!({ "cpu": 2, "ram": 4 }))).await;
    assert_error(status, &body, 403, "plan_limit", "max CPU");
    let (status, body) = server.call_as(&starter, Method::POST, "/computers", Some(json!({ "cpu": 1, "ram": 8 }))).await;
    assert_error(status, &body, 403, "plan_limit", "max RAM");
    let (status, body) = server.post("/computers", json!({ "cpu": 16 })).await;
    assert_error(status, &body, 403, "plan_limit", "scale plan");
}

#[tokio::test]
async fn short_window_rate_limit_answers_429_with_retry_after() {
    let server = Server::start_with(&[("CORIX_RATE_LIMIT_PER_SECOND", "0.2"), ("CORIX_RATE_LIMIT_BURST", "3")]).await;
    for _ in 0..3 {
        assert_eq!(server.get("/workspaces").await.0, 200);
    }
    let response = server.http.get(server.url("/workspaces")).bearer_auth(&server.key).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=5).contains(&retry_after), "Retry-After {retry_after}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
}

#[tokio::test]
async fn starter_plan_gets_1000_calls_a_day() {
    let server = Server::start_with(&[("CORIX_RATE_LIMIT_PER_SECOND", "100000"), ("CORIX_RATE_LIMIT_BURST", "100000")]).await;
    let starter = server.create_user("daily@example.com", "starter");
    for call in 0..1000 {
        let (status, body) = server.call_as(&starter, Method::GET, "/workspaces", None).await;
        assert_eq!(status, 200, "call {call}: {body}");
    }
    let response = server.http.get(server.url("/workspaces")).bearer_auth(&starter).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry_after));
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("Daily limit of 1000"), "{body}");
    // The count is kept in the store: a restart does not reset it.
    let mut server = server;
    server.restart();
    assert_eq!(server.call_as(&starter, Method::GET, "/workspaces", None).await.0, 429);
    // Pro is unlimited.
    assert_eq!(server.get("/workspaces").await.0, 200);
}
