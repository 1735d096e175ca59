//! What an agent does inside a computer, through the public API of a real server and a real
//! computer: screen, mouse, keyboard, exec, files, the WebSocket terminal, and isolation.

mod common;

use common::Server;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

async fn computer(server: &Server) -> String {
    server.create_computer(json!({ "cpu": 1 })).await["id"].as_str().unwrap().to_string()
}

async fn screenshot_png(server: &Server, id: &str) -> Vec<u8> {
    let response =
        server.http.get(server.url(&format!("/computers/{id}/screenshot"))).bearer_auth(&server.key).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    response.bytes().await.unwrap().to_vec()
}

/// (width, height) of a PNG, decoding the whole image so a broken one fails.
fn decode_png(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    (info.width, info.height)
}

async fn action(server: &Server, id: &str, name: &str, body: Value) -> (u16, Value) {
    server.post(&format!("/computers/{id}/{name}"), body).await
}

/// Starts an X program in the computer and waits until its window is visible (and focused).
async fn open_window(server: &Server, id: &str, command: &str, class: &str) {
    // Output goes to a file or nowhere: a background child holding the exec pipe would block it.
    server.bash(id, &format!("{command} &")).await;
    let (out, code) = server
        .bash(id, &format!("timeout 20 xdotool search --sync --onlyvisible --class {class} | head -1 | xargs -r xdotool windowactivate --sync && echo shown"))
        .await;
    assert_eq!((out.trim(), code), ("shown", 0), "window of {command} never appeared");
}

/// Polls a command in the computer until its output satisfies `done` (bounded).
async fn eventually(server: &Server, id: &str, command: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (out, _) = server.bash(id, command).await;
        if done(&out) {
            return out;
        }
        assert!(Instant::now() < deadline, "`{command}` never satisfied; last output {out:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn screen_and_input_reach_the_desktop() {
    let server = Server::start().await;
    let id = computer(&server).await;

    // The desktop's keyboard shortcuts work from the first action: running means ready.
    assert_eq!(action(&server, &id, "key", json!({ "key": "ctrl+alt+t" })).await.0, 200);
    eventually(&server, &id, "pgrep -c -x xfce4-terminal || true", |out| out.trim() == "1").await;
    server.bash(&id, "pkill -x xfce4-terminal; while pgrep -x xfce4-terminal >/dev/null; do sleep 0.1; done").await;

    let before = screenshot_png(&server, &id).await;
    assert_eq!(decode_png(&before), (1280, 720));
    let (status, json_shot) = server.get(&format!("/computers/{id}/screenshot?format=base64")).await;
    assert_eq!(status, 200);
    assert_eq!(json_shot["success"], true);
    assert_eq!((json_shot["metadata"]["width"].as_u64(), json_shot["metadata"]["height"].as_u64()), (Some(1280), Some(720)));
    assert_eq!(json_shot["metadata"]["format"], "png");
    let data_url = json_shot["image"].as_str().unwrap();
    let encoded = data_url.strip_prefix("data:image/png;base64,").expect("a PNG data URL");
    assert!(encoded.starts_with("iVBORw0KGgo"));
    assert_eq!(json_shot["metadata"]["size"].as_u64().unwrap() as usize, encoded.len() / 4 * 3 - encoded.matches('=').count());

    // A click lands where it was aimed.
    assert_eq!(action(&server, &id, "click", json!({ "x": 640, "y": 400 })).await.0, 200);
    // xdotool also inspects the window under the pointer and dies if it vanishes meanwhile (the
    // window manager frees the closed terminal's frame late), so the reading is retried.
    let location =
        eventually(&server, &id, "xdotool getmouselocation --shell 2>&1 | head -2 | tr '\\n' ' '", |out| out.starts_with("X=")).await;
    assert_eq!(location.trim(), "X=640 Y=400");
    let (status, cursor) = server.get(&format!("/computers/{id}/cursor")).await;
    assert_eq!((status, cursor), (200, json!({ "x": 640, "y": 400 })));

    // Clicks, drags and scrolls arrive as X events in a real client (xev logs what it receives).
    open_window(&server, &id, "xev -geometry 600x500+100+100 -name probe > /tmp/xev.log 2>&1", "xev").await;
    assert_eq!(action(&server, &id, "scroll", json!({ "x": 300, "y": 300, "direction": "down", "amount": 3 })).await.0, 200);
    assert_eq!(action(&server, &id, "scroll", json!({ "x": 300, "y": 300, "direction": "up", "amount": 2 })).await.0, 200);
    let (status, _) = action(&server, &id, "drag", json!({ "start_x": 200, "start_y": 200, "end_x": 500, "end_y": 450 })).await;
    assert_eq!(status, 200);
    let log = eventually(&server, &id, "cat /tmp/xev.log", |log| log.matches("ButtonRelease").count() >= 6).await;
    let presses = |button: &str| log.split("ButtonPress").filter(|e| e.contains(&format!("button {button},"))).count();
    assert_eq!((presses("5"), presses("4")), (3, 2), "scroll clicks: {log}");
    assert!(log.contains("root:(200,200)") && log.contains("root:(500,450)"), "drag ends: {log}");
    assert!(log.contains("MotionNotify"), "drag moves between press and release");

    // The screen changed after all that.
    let after = screenshot_png(&server, &id).await;
    assert_ne!(before, after);

    // Bad input answers 400 naming the problem.
    for (name, body, mentions) in [
        ("click", json!({ "x": 5000, "y": 10 }), "x"),
        ("click", json!({ "x": 10, "y": -1 }), "y"),
        ("click", json!({ "x": 10, "y": 10, "button": "side" }), "button"),
        ("key", json!({ "key": "NoSuchKey" }), "NoSuchKey"),
        ("key", json!({ "key": "ctrl+" }), "key"),
        ("wait", json!({ "duration": 31 }), "30"),
        ("scroll", json!({ "x": 1, "y": 1, "direction": "sideways" }), "direction"),
        ("type", json!({}), "text"),
    ] {
        let (status, answer) = action(&server, &id, name, body.clone()).await;
        assert_eq!(status, 400, "{name} {body}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains(mentions), "{name} {body}: {answer}");
    }
    let started = Instant::now();
    assert_eq!(action(&server, &id, "wait", json!({ "duration": 0.5 })).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn typed_text_and_keys_arrive_exactly() {
    let server = Server::start().await;
    let id = computer(&server).await;
    // A terminal whose program writes exactly what it receives.
    open_window(&server, &id, "xfce4-terminal --disable-server -T recorder -x sh -c 'stty -icanon; cat > /tmp/typed.txt' >/dev/null 2>&1", "xfce4-terminal").await;
    let text = "héllo — 日本語 ✓\tTab\nSecond line: ÀÉÎõü ß € 😀 ~!@#$%^&*()_+{}|:\"<>?\n";
    let (status, body) = action(&server, &id, "type", json!({ "text": text })).await;
    assert_eq!(status, 200, "{body}");
    let typed = eventually(&server, &id, "cat /tmp/typed.txt", |out| out.len() >= text.len()).await;
    assert_eq!(typed, text);

    // Key names and combinations: ctrl+c interrupts the program in the terminal.
    for key in ["super", "Escape", "alt+Tab"] {
        let (status, body) = action(&server, &id, "key", json!({ "key": key })).await;
        assert_eq!(status, 200, "{key}: {body}");
    }
    open_window(&server, &id, "xfce4-terminal --disable-server -T sleeper -x bash -c 'trap \"echo interrupted > /tmp/int.txt; exit\" INT; touch /tmp/trapped; sleep 100 & wait' >/dev/null 2>&1", "xfce4-terminal").await;
    // The window shows before the shell in it has set its trap.
    eventually(&server, &id, "test -e /tmp/trapped && echo set", |out| out == "set\n").await;
    server.bash(&id, "xdotool search --name '^sleeper$' | head -1 | xargs xdotool windowactivate --sync").await;
    for key in ["shift+Home", "ctrl+shift+Left", "F5", "ctrl+c"] {
        let (status, body) = action(&server, &id, "key", json!({ "key": key })).await;
        assert_eq!(status, 200, "{key}: {body}");
    }
    eventually(&server, &id, "cat /tmp/int.txt 2>/dev/null", |out| out == "interrupted\n").await;
}

#[tokio::test]
async fn bash_and_python_run_with_timeouts() {
    let server = Server::start().await;
    let id = computer(&server).await;
    let (status, out) = action(&server, &id, "bash", json!({ "command": "pwd; echo oops >&2; exit 3" })).await;
    assert_eq!(status, 200);
    assert_eq!((out["stdout"].as_str(), out["stderr"].as_str(), out["exit_code"].as_i64()), (Some("/root\n"), Some("oops\n"), Some(3)));
    let (_, out) = action(&server, &id, "python", json!({ "code": "import sys\nprint(sys.version_info[0], 'é')" })).await;
    assert_eq!((out["stdout"].as_str(), out["exit_code"].as_i64()), (Some("3 é\n"), Some(0)), "{out}");
    let (_, out) = action(&server, &id, "bash", json!({ "command": "node -e 'console.log(6*7)'; git --version | cut -c1-11; firefox-esr --version | cut -c1-7" })).await;
    assert_eq!(out["stdout"], "42\ngit version\nMozilla\n", "{out}");

    let started = Instant::now();
    let (status, out) = action(&server, &id, "bash", json!({ "command": "sleep 100 & sleep 100", "timeout": 2 })).await;
    assert_eq!(status, 200, "{out}");
    assert!(started.elapsed() < Duration::from_secs(6), "timeout took {:?}", started.elapsed());
    assert_eq!((out["timed_out"].as_bool(), out["exit_code"].as_i64()), (Some(true), Some(124)), "{out}");
    assert_eq!(server.bash(&id, "pgrep -x sleep || echo none").await.0, "none\n", "the whole group was killed");
    let (status, out) = action(&server, &id, "bash", json!({ "command": "true", "timeout": 100000 })).await;
    assert!(status == 400 && out["error"].as_str().unwrap().contains("timeout"), "{out}");

    // Output is capped, and says so.
    let (_, out) = action(&server, &id, "bash", json!({ "command": "head -c 3000000 /dev/zero | tr '\\0' a" })).await;
    assert_eq!(out["truncated"], true);
    assert!(out["stdout"].as_str().unwrap().len() <= 1 << 20);

    // Many at once.
    let started = Instant::now();
    let runs = (0..6).map(|n| action(&server, &id, "bash", json!({ "command": format!("sleep 1; echo {n}") })));
    let results = futures_util::future::join_all(runs).await;
    for (n, (status, out)) in results.into_iter().enumerate() {
        assert_eq!((status, out["stdout"].as_str()), (200, Some(format!("{n}\n").as_str())));
    }
    assert!(started.elapsed() < Duration::from_secs(4), "six 1 s runs took {:?}", started.elapsed());
}

#[tokio::test]
async fn files_round_trip_byte_exact() {
    let server = Server::start().await;
    let id = computer(&server).await;
    let payload: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let upload = server
        .http
        .post(server.url(&format!("/computers/{id}/files/upload?path=/root/data/nested/blob.bin")))
        .bearer_auth(&server.key)
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 200, "{}", upload.text().await.unwrap());
    let (_, listing) = server.get(&format!("/computers/{id}/files?path=/root/data/nested")).await;
    assert_eq!(listing["path"], "/root/data/nested");
    let entry = &listing["entries"][0];
    assert_eq!((entry["name"].as_str(), entry["type"].as_str(), entry["size"].as_u64()), (Some("blob.bin"), Some("file"), Some(payload.len() as u64)));
    assert!(entry["modified_at"].is_string());
    let (_, listing) = server.get(&format!("/computers/{id}/files?path=/root/data")).await;
    assert_eq!(listing["entries"][0]["type"], "directory");

    let download = server
        .http
        .get(server.url(&format!("/computers/{id}/files/download?path=/root/data/nested/blob.bin")))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert!(download.headers()["content-disposition"].to_str().unwrap().contains("blob.bin"));
    let bytes = download.bytes().await.unwrap();
    assert!(bytes.as_ref() == payload.as_slice(), "downloaded bytes differ");

    server.bash(&id, "head -c 62914560 /dev/zero > /root/big.bin").await;
    let (status, body) = server.get(&format!("/computers/{id}/files/download?path=/root/big.bin")).await;
    assert_eq!((status, body["code"].as_str()), (413, Some("payload_too_large")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("50"), "{body}");

    assert_eq!(server.get(&format!("/computers/{id}/files?path=/root/missing")).await.0, 404);
    let (status, body) = server.get(&format!("/computers/{id}/files?path=relative/path")).await;
    assert!(status == 400 && body["error"].as_str().unwrap().contains("absolute"), "{body}");
    let (status, _) = server.delete(&format!("/computers/{id}/files?path=/root/data")).await;
    assert_eq!(status, 400, "a folder needs recursive=true");
    let (status, _) = server.delete(&format!("/computers/{id}/files?path=/root/data&recursive=true")).await;
    assert_eq!(status, 200);
    assert_eq!(server.bash(&id, "test -e /root/data || echo gone").await.0, "gone\n");
    assert_eq!(server.delete(&format!("/computers/{id}/files?path=/root/data")).await.0, 404);
}

async fn next_message(socket: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin)) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), socket.next()).await.expect("terminal went quiet")? {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(text.as_str()).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn terminal_runs_an_interactive_shell() {
    let server = Server::start().await;
    let id = computer(&server).await;
    let url = format!("ws://{}/ws/terminal/{id}?token={}", server.addr, server.key);

    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws/terminal/{id}?token=crx_wrong", server.addr)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a bad token must be refused before the upgrade: {other:?}"),
    }

    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let send = |data: &str| Message::text(json!({ "type": "stdin", "data": data }).to_string());
    socket.send(Message::text(json!({ "type": "resize", "cols": 100, "rows": 30 }).to_string())).await.unwrap();
    socket.send(send("echo hi; stty size\n")).await.unwrap();
    let mut seen = String::new();
    while !(seen.contains("hi\r\n") && seen.contains("30 100")) {
        let message = next_message(&mut socket).await.expect("socket open");
        if message["type"] == "stdout" {
            seen.push_str(message["data"].as_str().unwrap());
        }
    }
    socket.send(send("python3 -q\n")).await.unwrap();
    socket.send(send("print(6 * 7)\n")).await.unwrap();
    while !seen.contains("42\r\n") {
        let message = next_message(&mut socket).await.expect("socket open");
        seen.push_str(message["data"].as_str().unwrap_or_default());
    }
    socket.send(send("exit()\n")).await.unwrap();
    socket.send(send("exit 7\n")).await.unwrap();
    let exit = loop {
        let message = next_message(&mut socket).await.expect("an exit event before the close");
        if message["type"] == "exit" {
            break message;
        }
    };
    assert_eq!(exit["code"], 7);
    assert!(next_message(&mut socket).await.is_none(), "the socket closes after exit");

    // A session open when the computer stops closes cleanly.
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/terminal/{id}?token={}", server.addr, server.key)).await.unwrap();
    let (status, _) = server.post(&format!("/computers/{id}/stop"), json!({})).await;
    assert_eq!(status, 200);
    while let Some(message) = next_message(&mut socket).await {
        assert_ne!(message["type"], "stdin", "{message}");
    }
}

#[tokio::test]
async fn computers_cannot_reach_each_others_agents() {
    let server = Server::start().await;
    let first = computer(&server).await;
    let second = computer(&server).await;
    let (first_ip, _) = server.bash(&first, "hostname -I | cut -d' ' -f1").await;
    let (out, _) = server
        .bash(&second, &format!("curl -s -m 3 -o /dev/null -w '%{{http_code}}' http://{}:7777/health || echo unreachable", first_ip.trim()))
        .await;
    assert!(out.ends_with("unreachable\n"), "the second computer reached the first's agent: {out}");
    // Each has a machine id of its own.
    let (first_machine, _) = server.bash(&first, "cat /etc/machine-id").await;
    let (second_machine, _) = server.bash(&second, "cat /etc/machine-id").await;
    assert!(first_machine.trim().len() == 32 && first_machine.trim().chars().all(|c| c.is_ascii_hexdigit()), "{first_machine:?}");
    assert_ne!(first_machine, second_machine);

    // The agent itself refuses requests without the computer's secret.
    let (_, computer) = server.get(&format!("/computers/{first}")).await;
    let agent = format!("http://{}/health", computer["hostname"].as_str().unwrap());
    assert_eq!(server.http.get(&agent).send().await.unwrap().status(), 401);
    assert_eq!(server.http.get(&agent).bearer_auth(&server.key).send().await.unwrap().status(), 401);
    let (out, _) = server.bash(&first, "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:7777/health").await;
    assert_eq!(out, "401");
}

#[tokio::test]
async fn a_dead_agent_answers_502_and_the_computer_recovers() {
    let server = Server::start_with(&[("CORIX_RECONCILE_INTERVAL", "1")]).await;
    let id = computer(&server).await;
    let (_, before) = server.get(&format!("/computers/{id}")).await;

    // The agent dies in the middle of this very request.
    let (status, body) = action(&server, &id, "bash", json!({ "command": "kill -9 $(pgrep -x corix-agent)" })).await;
    assert_eq!((status, body["code"].as_str()), (502, Some("agent_unreachable")), "{body}");
    assert_eq!(body["error"], "Agent unreachable (computer may be starting)");

    // The engine restarts the container; reconciliation finds the agent's new address.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, out) = action(&server, &id, "bash", json!({ "command": "echo back" })).await;
        if status == 200 {
            assert_eq!(out["stdout"], "back\n");
            break;
        }
        assert!(Instant::now() < deadline, "never recovered: {status} {out}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (_, after) = server.get(&format!("/computers/{id}")).await;
    assert_eq!(after["status"], "running");
    assert_eq!(after["container_id"], before["container_id"]);
}
