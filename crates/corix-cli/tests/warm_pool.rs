//! The warm pool and the metrics endpoint, against a real server and real computers.

mod common;

use common::{cgroup_limits, full_container_id, Server};
use corix_server::runtime::Runtime;
use serde_json::json;
use std::time::{Duration, Instant};

async fn metrics(server: &Server) -> String {
    let response = server.http.get(format!("http://{}/metrics", server.addr)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The value of a metric line that starts with `series`.
fn metric(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{page}"))
}

async fn wait_for_pool(server: &Server, ready: f64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while metric(&metrics(server).await, "corix_warm_pool_ready ") != ready {
        assert!(Instant::now() < deadline, "the warm pool never reached {ready}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The computer ids of the containers the server runs.
async fn container_computer_ids(server: &Server) -> Vec<String> {
    server.runtime().await.list().await.unwrap().into_iter().map(|c| c.computer_id).collect()
}

#[tokio::test]
async fn creates_claim_warm_computers_and_the_pool_refills() {
    let mut server = Server::start_with(&[("CORIX_WARM_POOL", "1")]).await;
    wait_for_pool(&server, 1.0).await;
    let pooled = container_computer_ids(&server).await;
    assert_eq!(pooled.len(), 1, "one pooled container: {pooled:?}");

    // The create takes the started computer: same id, limits applied live, its agent answers.
    let computer = server.create_computer(json!({ "name": "warm", "cpu": 1, "ram": 8 })).await;
    let id = computer["id"].as_str().unwrap().to_string();
    assert_eq!(id, pooled[0], "the create should claim the pooled computer");
    assert_eq!((computer["name"].as_str(), computer["cpu"].as_u64(), computer["ram"].as_u64()), (Some("warm"), Some(1), Some(8)));
    assert_eq!(cgroup_limits(&full_container_id(&server, &id).await), (100_000, 8 << 30));
    assert_eq!(server.bash(&id, "echo mine").await.0, "mine\n");
    assert_eq!(server.get("/computers").await.1["total"], 1, "pooled computers are nobody's until claimed");

    // The pool refills with a new computer; another resolution is never served from it.
    wait_for_pool(&server, 1.0).await;
    let refilled: Vec<String> = container_computer_ids(&server).await.into_iter().filter(|c| *c != id).collect();
    assert_eq!(refilled.len(), 1);
    let (status, odd) = server.post("/computers?wait=false", json!({ "resolution": "1024x768" })).await;
    assert_eq!(status, 201);
    assert_eq!(odd["status"], "creating");
    assert_ne!(odd["id"].as_str().unwrap(), refilled[0]);

    // A claimed computer is never reused: deleting it removes its container.
    assert_eq!(server.delete(&format!("/computers/{id}")).await.0, 200);
    assert_eq!(server.delete(&format!("/computers/{}", odd["id"].as_str().unwrap())).await.0, 200);
    assert!(!container_computer_ids(&server).await.contains(&id));

    let page = metrics(&server).await;
    assert!(metric(&page, "corix_computers{status=\"terminated\"} ") >= 2.0);
    assert!(metric(&page, "corix_agent_round_trip_seconds_count ") >= 1.0);
    assert!(
        metric(&page, "corix_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/computers\",status=\"201\"} ") >= 2.0,
        "{page}"
    );
    assert_eq!(metric(&page, "corix_warm_pool_target "), 1.0);

    // A graceful stop removes the pool's computers: nobody will claim them.
    server.stop_gracefully();
    assert_eq!(container_computer_ids(&server).await, Vec::<String>::new());
}
