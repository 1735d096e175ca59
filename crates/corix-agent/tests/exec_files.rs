//! Commands, files and the terminal over HTTP, against the real agent binary.

mod common;

use common::{Agent, TOKEN};
use futures_util::{SinkExt as _, StreamExt as _};
use rand::RngCore as _;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn bash_and_python_report_output_and_exit_codes() {
    let agent = Agent::start().await;
    let out = agent.bash("echo out; echo err >&2; pwd; echo $HOME $LANG; cat; exit 7").await;
    assert_eq!(out["stdout"], "out\n/root\n/root C.UTF-8\n", "stdin is empty, cwd and env are set");
    assert_eq!(out["stderr"], "err\n");
    assert_eq!((out["exit_code"].clone(), out["timed_out"].clone(), out["truncated"].clone()), (json!(7), json!(false), json!(false)));

    let killed = agent.bash("kill -9 $$").await;
    assert_eq!(killed["exit_code"], 128 + 9);

    let (status, py) = agent.call("/python", json!({"code": "import os, sys\nprint('é', os.environ['DISPLAY'])\nsys.exit(3)"})).await;
    assert_eq!(status, 200);
    assert_eq!(py["stdout"], format!("é {}\n", agent.display));
    assert_eq!(py["exit_code"], 3);

    for (path, body, field) in [
        ("/bash", json!({"command": "true", "timeout": 0}), "timeout"),
        ("/bash", json!({"command": "true", "timeout": 601}), "timeout"),
        ("/bash", json!({"command": "true", "timeout": -5}), "timeout"),
        ("/bash", json!({"cmd": "true"}), "cmd"),
        ("/python", json!({"code": 5}), "code"),
    ] {
        let (status, response) = agent.call(path, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(response["error"].as_str().unwrap().contains(field), "{body}: {response}");
    }
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let agent = Agent::start().await;
    let marker = format!("/tmp/corix-agent-test-bg-{}", std::process::id());
    let started = Instant::now();
    let (status, out) = agent
        .call("/bash", json!({"command": format!("sleep 100 & echo $! > {marker}; echo started; sleep 100"), "timeout": 1}))
        .await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!((out["timed_out"].clone(), out["exit_code"].clone()), (json!(true), json!(124)));
    assert_eq!(out["stdout"], "started\n", "output before the timeout is kept");
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    let background: i32 = std::fs::read_to_string(&marker).unwrap().trim().parse().unwrap();
    let _ = std::fs::remove_file(&marker);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Gone, or a zombie waiting for whatever adopted it to reap it.
    let state = std::fs::read_to_string(format!("/proc/{background}/stat")).unwrap_or_default();
    assert!(state.is_empty() || state.contains(") Z "), "the background sleep was killed too: {state}");

    // A finished command may leave a background process running (a GUI app): no waiting for it.
    // The background sleep keeps the output pipe open: the answer comes after a short grace.
    let started = Instant::now();
    let out = agent.bash("sleep 30 & echo $!").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let launched: i32 = out["stdout"].as_str().unwrap().trim().parse().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{launched}")).exists(), "the background process is left running");
    unsafe { libc::kill(launched, libc::SIGKILL) };
}

#[tokio::test]
async fn output_is_capped_and_runs_are_concurrent() {
    let agent = Agent::start().await;
    let out = agent.bash("head -c 3000000 /dev/zero | tr '\\0' a; echo done >&2").await;
    assert_eq!(out["stdout"].as_str().unwrap().len(), 1 << 20);
    assert_eq!(out["truncated"], true);
    assert_eq!(out["stderr"], "done\n");
    assert_eq!(out["exit_code"], 0);

    let started = Instant::now();
    let runs = (0..8).map(|i| {
        let agent = &agent;
        async move { agent.bash(&format!("sleep 1; echo {i}")).await }
    });
    let results = futures_util::future::join_all(runs).await;
    for (i, out) in results.iter().enumerate() {
        assert_eq!(out["stdout"], format!("{i}\n"));
    }
    assert!(started.elapsed() < Duration::from_secs(4), "8 one-second runs took {:?}", started.elapsed());
}

#[tokio::test]
async fn files_round_trip_byte_exact_with_clear_errors() {
    let agent = Agent::start().await;
    let dir = format!("/tmp/corix-agent-test-files-{}", std::process::id());
    let path = format!("{dir}/sub/data é.bin");
    let mut data = vec![0u8; 20 * 1024 * 1024];
    rand::rng().fill_bytes(&mut data);

    let upload = agent.client.post(agent.url("/files/upload")).bearer_auth(TOKEN).query(&[("path", &path)]).body(data.clone());
    let response = upload.send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());

    let response = agent.get("/files/download").query(&[("path", &path)]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment; filename=\"data _.bin\""), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''data%20%C3%A9.bin"), "{disposition}");
    let downloaded = response.bytes().await.unwrap();
    assert!(downloaded[..] == data[..], "the download is byte-exact");

    let list: serde_json::Value = agent.get("/files").query(&[("path", format!("{dir}/sub"))]).send().await.unwrap().json().await.unwrap();
    let entries = list["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "no temporary file is left: {list}");
    assert_eq!(entries[0]["name"], "data é.bin");
    assert_eq!(entries[0]["type"], "file");
    assert_eq!(entries[0]["size"], data.len());
    assert!(entries[0]["modified_at"].as_str().unwrap().ends_with('Z'));
    let list: serde_json::Value = agent.get("/files").query(&[("path", &dir)]).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["entries"][0]["type"], "directory");

    let big = format!("{dir}/big");
    std::fs::File::create(&big).unwrap().set_len(50 * 1024 * 1024 + 1).unwrap();
    let response = agent.get("/files/download").query(&[("path", &big)]).send().await.unwrap();
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");
    assert!(body["error"].as_str().unwrap().contains("50 MiB"), "{body}");

    let status = |r: reqwest::Response| r.status().as_u16();
    let missing = format!("{dir}/missing");
    assert_eq!(status(agent.get("/files/download").query(&[("path", &missing)]).send().await.unwrap()), 404);
    assert_eq!(status(agent.get("/files").query(&[("path", &missing)]).send().await.unwrap()), 404);
    assert_eq!(status(agent.get("/files/download").query(&[("path", "relative/x")]).send().await.unwrap()), 400);
    assert_eq!(status(agent.get("/files/download").query(&[("path", &dir)]).send().await.unwrap()), 400);
    let no_path = agent.get("/files").send().await.unwrap();
    assert_eq!(no_path.status(), 400);
    assert!(no_path.text().await.unwrap().contains("path"));

    let delete = |path: &str, recursive: &str| {
        agent.client.delete(agent.url("/files")).bearer_auth(TOKEN).query(&[("path", path), ("recursive", recursive)]).send()
    };
    let refused = delete(&dir, "false").await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("recursive"));
    assert_eq!(delete(&big, "false").await.unwrap().status(), 200);
    assert!(!std::path::Path::new(&big).exists());
    assert_eq!(delete(&dir, "true").await.unwrap().status(), 200);
    assert!(!std::path::Path::new(&dir).exists());
    assert_eq!(delete(&dir, "true").await.unwrap().status(), 404);
}

#[tokio::test]
async fn the_terminal_runs_an_interactive_shell() {
    let agent = Agent::start().await;
    let url = agent.base.replace("http://", "ws://") + "/terminal?cols=100&rows=30";
    let unauthorized = tokio_tungstenite::connect_async(url.clone()).await;
    assert!(unauthorized.is_err(), "no token, no terminal");

    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("Authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("WebSocket connect");
    let send = |data: &str| Message::text(json!({"type": "stdin", "data": data}).to_string());
    socket.send(send("stty size; echo hi-$((40+2))\n")).await.unwrap();

    let mut output = String::new();
    let mut exit_code = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut sent_exit = false;
    while exit_code.is_none() {
        let message = tokio::time::timeout_at(deadline, socket.next()).await.expect("terminal output in time");
        let Some(Ok(Message::Text(text))) = message else { continue };
        let message: serde_json::Value = serde_json::from_str(&text).unwrap();
        match message["type"].as_str() {
            Some("stdout") => output.push_str(message["data"].as_str().unwrap()),
            Some("exit") => exit_code = message["code"].as_i64(),
            other => panic!("unexpected message {other:?}"),
        }
        if output.contains("hi-42") && !sent_exit {
            sent_exit = true;
            socket.send(send("exit 3\n")).await.unwrap();
        }
    }
    assert!(output.contains("30 100"), "the initial size applies: {output}");
    assert!(output.contains("hi-42"), "{output}");
    assert_eq!(exit_code, Some(3));
    // After `exit`, the agent closes the socket.
    let closing = tokio::time::timeout(Duration::from_secs(2), socket.next()).await.expect("close in time");
    assert!(matches!(closing, Some(Ok(Message::Close(_))) | None), "{closing:?}");
}
