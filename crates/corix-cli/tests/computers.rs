//! The computer lifecycle against real containers: create, get, list, stop, start, restart, clone,
//! resize, move, auto-stop, delete, and what a crash of the server leaves behind.

mod common;

use common::{cgroup_limits, full_container_id, Method, Server};
use corix_server::runtime::{ContainerSpec, Runtime};
use serde_json::json;
use std::time::{Duration, Instant};

const GIB: i64 = 1 << 30;

#[tokio::test]
async fn computer_lifecycle_end_to_end() {
    let server = Server::start().await;
    let (_, workspaces) = server.get("/workspaces").await;
    let default_workspace = workspaces["workspaces"][0]["id"].clone();

    let computer = server.create_computer(json!({ "name": "my-agent", "cpu": 2, "ram": 4 })).await;
    let id = computer["id"].as_str().unwrap().to_string();
    assert_eq!(computer["name"], "my-agent");
    assert_eq!(computer["os"], "linux");
    assert_eq!((computer["cpu"].as_u64(), computer["ram"].as_u64()), (Some(2), Some(4)));
    assert_eq!(computer["disk_size_gb"], 8);
    assert_eq!(computer["resolution"], "1280x720x24");
    assert_eq!(computer["workspace_id"], default_workspace);
    assert!(computer["auto_stop_minutes"].is_null() && computer["terminated_at"].is_null());
    let container_id = computer["container_id"].as_str().unwrap();
    assert!(container_id.len() == 12 && container_id.chars().all(|c| c.is_ascii_hexdigit()), "{computer}");
    assert!(computer["hostname"].as_str().unwrap().starts_with("127.0.0.1:"), "{computer}");
    for field in ["id", "workspace_id", "user_id", "created_at", "updated_at"] {
        assert!(computer[field].is_string(), "missing {field}: {computer}");
    }

    let (status, fetched) = server.get(&format!("/computers/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["id"], computer["id"]);
    let (_, list) = server.get("/computers").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["computers"][0]["id"], computer["id"]);

    // Nobody else may touch it.
    let other = server.create_user("intruder@example.com", "pro");
    for (method, path) in [
        (Method::GET, format!("/computers/{id}")),
        (Method::POST, format!("/computers/{id}/stop")),
        (Method::POST, format!("/computers/{id}/bash")),
        (Method::GET, format!("/computers/{id}/screenshot")),
        (Method::DELETE, format!("/computers/{id}")),
    ] {
        let (status, body) = server.call_as(&other, method, &path, Some(json!({ "command": "true" }))).await;
        assert_eq!(status, 403, "{path}: {body}");
    }

    // Limits are real: the cgroup says what the API said.
    let full_id = full_container_id(&server, &id).await;
    assert_eq!(cgroup_limits(&full_id), (200_000, 4 * GIB));

    server.bash(&id, "echo kept > /root/marker.txt; nohup sleep 1000 >/dev/null 2>&1 &").await;
    let (status, resized) = server.post(&format!("/computers/{id}/resize"), json!({ "cpu": 4, "ram": 8 })).await;
    assert_eq!(status, 200, "{resized}");
    assert_eq!((resized["cpu"].as_u64(), resized["ram"].as_u64()), (Some(4), Some(8)));
    assert_eq!(cgroup_limits(&full_id), (400_000, 8 * GIB));
    // Live: the process started before the resize still runs.
    assert_eq!(server.bash(&id, "pgrep -x sleep >/dev/null && echo alive").await.0, "alive\n");
    let (status, body) = server.post(&format!("/computers/{id}/resize"), json!({})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = server.post(&format!("/computers/{id}/resize"), json!({ "ram": 12 })).await;
    assert!(status == 400 && body["error"].as_str().unwrap().contains("ram"), "{body}");

    let (status, stopped) = server.post(&format!("/computers/{id}/stop"), json!({})).await;
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["status"], "stopped");
    let (status, body) = server.post(&format!("/computers/{id}/bash"), json!({ "command": "true" })).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("computer_not_running")), "{body}");
    assert!(!server.runtime().await.inspect(&full_id).await.unwrap().unwrap().running);

    let (status, started) = server.post(&format!("/computers/{id}/start"), json!({})).await;
    assert_eq!((status, started["status"].as_str()), (200, Some("running")), "{started}");
    assert_eq!(server.bash(&id, "cat /root/marker.txt").await.0, "kept\n", "filesystem survives stop/start");
    assert_eq!(server.bash(&id, "pgrep -x sleep || echo none").await.0, "none\n", "processes end with stop");

    server.bash(&id, "nohup sleep 1000 >/dev/null 2>&1 &").await;
    let (status, restarted) = server.post(&format!("/computers/{id}/restart"), json!({})).await;
    assert_eq!((status, restarted["status"].as_str()), (200, Some("running")), "{restarted}");
    assert_eq!(server.bash(&id, "cat /root/marker.txt").await.0, "kept\n", "filesystem survives restart");
    assert_eq!(server.bash(&id, "pgrep -x sleep || echo none").await.0, "none\n", "processes end with restart");
    assert_eq!(server.bash(&id, "pgrep -x xfce4-session >/dev/null && echo up").await.0, "up\n", "fresh desktop");

    let (status, clone) = server.post(&format!("/computers/{id}/clone"), json!({})).await;
    assert_eq!((status, clone["status"].as_str()), (201, Some("running")), "{clone}");
    assert_eq!(clone["name"], "my-agent (copy)");
    assert_eq!((clone["cpu"].as_u64(), clone["ram"].as_u64()), (Some(4), Some(8)));
    assert_ne!(clone["id"], computer["id"]);
    let clone_id = clone["id"].as_str().unwrap();
    assert_eq!(server.bash(clone_id, "cat /root/marker.txt 2>/dev/null || echo fresh").await.0, "fresh\n");
    assert_eq!(server.delete(&format!("/computers/{clone_id}")).await.0, 200);

    let (_, production) = server.post("/workspaces", json!({ "name": "Production" })).await;
    let (status, moved) = server.post(&format!("/computers/{id}/move"), json!({ "workspace_id": production["id"] })).await;
    assert_eq!((status, &moved["workspace_id"]), (200, &production["id"]), "{moved}");
    let (status, _) = server.post(&format!("/computers/{id}/move"), json!({ "workspace_id": "missing" })).await;
    assert_eq!(status, 404);
    let (_, others) = server.call_as(&other, Method::GET, "/workspaces", None).await;
    let (status, _) =
        server.post(&format!("/computers/{id}/move"), json!({ "workspace_id": others["workspaces"][0]["id"] })).await;
    assert_eq!(status, 403);

    let auto_stop = format!("/computers/{id}/auto-stop");
    assert_eq!(server.get(&auto_stop).await, (200, json!({ "auto_stop_minutes": null })));
    assert_eq!(server.call(Method::PATCH, &auto_stop, Some(json!({ "minutes": 30 }))).await, (200, json!({ "auto_stop_minutes": 30 })));
    assert_eq!(server.get(&auto_stop).await, (200, json!({ "auto_stop_minutes": 30 })));
    assert_eq!(server.get(&format!("/computers/{id}")).await.1["auto_stop_minutes"], 30);
    assert_eq!(server.call(Method::PATCH, &auto_stop, Some(json!({ "minutes": 0 }))).await, (200, json!({ "auto_stop_minutes": null })));
    assert_eq!(server.call(Method::PATCH, &auto_stop, Some(json!({ "minutes": -5 }))).await.0, 400);

    let (status, deleted) = server.delete(&format!("/computers/{id}")).await;
    assert_eq!((status, deleted["status"].as_str()), (200, Some("terminated")), "{deleted}");
    assert!(deleted["terminated_at"].is_string());
    let (status, fetched) = server.get(&format!("/computers/{id}")).await;
    assert_eq!((status, fetched["status"].as_str()), (200, Some("terminated")));
    for (method, path) in [(Method::POST, "stop"), (Method::POST, "start"), (Method::POST, "bash"), (Method::GET, "auto-stop")] {
        let (status, body) = server.call(method, &format!("/computers/{id}/{path}"), Some(json!({}))).await;
        assert_eq!(status, 404, "{path} on a terminated computer: {body}");
    }
    assert_eq!(server.delete(&format!("/computers/{id}")).await.0, 404);
    assert_eq!(server.get("/computers").await.1["total"], 0);
    assert!(server.runtime().await.inspect(&full_id).await.unwrap().is_none(), "container removed");
}

#[tokio::test]
async fn plan_caps_the_number_of_computers() {
    let server = Server::start().await;
    let starter = server.create_user("two@example.com", "starter");
    let mut ids = vec![];
    for _ in 0..2 {
        let (status, body) =
            server.call_as(&starter, Method::POST, "/computers?wait=false", Some(json!({ "cpu": 1, "ram": 4 }))).await;
        assert_eq!((status, body["status"].as_str()), (201, Some("creating")), "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let (status, body) = server.call_as(&starter, Method::POST, "/computers", Some(json!({ "cpu": 1 }))).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("plan_limit")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("limit of 2 computers"), "{body}");
    // Deleting one frees a place.
    assert_eq!(server.call_as(&starter, Method::DELETE, &format!("/computers/{}", ids[0]), None).await.0, 200);
    let (status, body) = server.call_as(&starter, Method::POST, "/computers?wait=false", Some(json!({}))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!((body["cpu"].as_u64(), body["ram"].as_u64()), (Some(1), Some(4)), "defaults fit the plan");
}

#[tokio::test]
async fn deleting_a_workspace_terminates_its_computers() {
    let server = Server::start().await;
    let (_, workspace) = server.post("/workspaces", json!({ "name": "Scratch" })).await;
    let (status, computer) =
        server.post("/computers?wait=false", json!({ "workspace_id": workspace["id"], "cpu": 1 })).await;
    assert_eq!(status, 201, "{computer}");
    let id = computer["id"].as_str().unwrap();
    let (status, body) = server.delete(&format!("/workspaces/{}", workspace["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.get(&format!("/computers/{id}")).await.1["status"], "terminated");
    assert!(server.runtime().await.inspect(&format!("corix-{id}")).await.unwrap().is_none());
}

#[tokio::test]
async fn idle_computers_auto_stop() {
    // One auto-stop "minute" lasts one second here.
    let server = Server::start_with(&[("CORIX_REAPER_INTERVAL", "0.25"), ("CORIX_AUTO_STOP_MINUTE", "1")]).await;
    let computer = server.create_computer(json!({ "cpu": 1 })).await;
    let id = computer["id"].as_str().unwrap();
    let (status, _) = server.call(Method::PATCH, &format!("/computers/{id}/auto-stop"), Some(json!({ "minutes": 3 }))).await;
    assert_eq!(status, 200);
    let set_at = Instant::now();
    // Watch through the list, which is not activity on the computer.
    loop {
        let (_, list) = server.get("/computers").await;
        let status = list["computers"][0]["status"].as_str().unwrap().to_string();
        if status == "stopped" {
            break;
        }
        assert!(set_at.elapsed() < Duration::from_secs(60), "never auto-stopped; last status {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let idle = set_at.elapsed();
    assert!(idle >= Duration::from_millis(2500), "stopped after only {idle:?} of a 3 s allowance");
}

#[tokio::test]
async fn a_crash_loses_no_computer_and_leaves_no_orphan() {
    let mut server = Server::start().await;
    let survivor = server.create_computer(json!({ "name": "survivor", "cpu": 1 })).await;
    let vanished = server.create_computer(json!({ "name": "vanished", "cpu": 1 })).await;
    let (status, in_flight) = server.post("/computers?wait=false", json!({ "name": "in-flight", "cpu": 1 })).await;
    assert_eq!(status, 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill9();

    // Behind the dead server's back: one container is removed, one stranger is left.
    let runtime = server.runtime().await;
    let vanished_id = vanished["id"].as_str().unwrap();
    runtime.remove(&format!("corix-{vanished_id}")).await.unwrap();
    let orphan = ContainerSpec {
        computer_id: "00000000-0000-4000-8000-000000000000".into(),
        image: format!("corix-desktop:{}", env!("CARGO_PKG_VERSION")),
        cpu: 1,
        ram: 4,
        disk_size_gb: 8,
        resolution: "1280x720x24".into(),
        agent_token: "x".into(),
    };
    let orphan_id = runtime.create(&orphan).await.unwrap();

    server.restart();
    let in_flight_id = in_flight["id"].as_str().unwrap();
    server.wait_for_status(in_flight_id, "running", Duration::from_secs(120)).await;
    assert_eq!(server.bash(in_flight_id, "echo ok").await.0, "ok\n");
    assert_eq!(server.get(&format!("/computers/{}", survivor["id"].as_str().unwrap())).await.1["status"], "running");
    assert_eq!(server.get(&format!("/computers/{vanished_id}")).await.1["status"], "error");
    assert!(runtime.inspect(&orphan_id).await.unwrap().is_none(), "orphan container removed");

    let mut containers: Vec<String> = runtime.list().await.unwrap().into_iter().map(|c| c.computer_id).collect();
    containers.sort();
    let mut expected = vec![survivor["id"].as_str().unwrap().to_string(), in_flight_id.to_string()];
    expected.sort();
    assert_eq!(containers, expected, "exactly one container per live computer");
    let (_, list) = server.get("/computers").await;
    assert_eq!(list["total"], 3, "no computer lost: {list}");
}
