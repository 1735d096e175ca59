//! The agent loop (`POST /computers/:id/prompt`) against a real computer and a fake model server
//! that speaks each provider's wire format and scripts a task: take a screenshot, open a terminal
//! with a key combination, type a command that writes a file, finish.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use common::{Method, Server};
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COMMAND: &str = "echo done > /root/out.txt\n";

/// One request the fake model received.
#[derive(Clone, Debug)]
struct Recorded {
    path: String,
    headers: HeaderMap,
    body: Value,
}

enum Reply {
    Json(Value),
    /// Never answers (until the client gives up).
    Hang,
}

/// (provider path, turn, request body) -> the answer.
type Script = Arc<dyn Fn(&str, usize, &Value) -> Reply + Send + Sync>;
/// Runs before answering `turn` (e.g. waits until the terminal window is up).
type Gate = Arc<dyn Fn(usize) -> BoxFuture<'static, ()> + Send + Sync>;

#[derive(Clone)]
struct Fake {
    requests: Arc<Mutex<Vec<Recorded>>>,
    script: Script,
    gate: Gate,
}

impl Fake {
    fn requests(&self, path: &str) -> Vec<Recorded> {
        self.requests.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }
}

/// The turn a request asks for: how many answers the model already gave in this conversation.
fn turn_of(path: &str, body: &Value) -> usize {
    match path {
        "/v1/messages" | "/chat/completions" => {
            body["messages"].as_array().unwrap().iter().filter(|m| m["role"] == "assistant").count()
        }
        "/responses" => match body["previous_response_id"].as_str() {
            Some(id) => id.trim_start_matches("resp_").parse::<usize>().unwrap() + 1,
            None => 0,
        },
        other => panic!("unexpected path {other}"),
    }
}

async fn fake_handler(State(fake): State<Fake>, uri: axum::http::Uri, headers: HeaderMap, Json(body): Json<Value>) -> axum::response::Response {
    let path = uri.path().to_string();
    fake.requests.lock().unwrap().push(Recorded { path: path.clone(), headers, body: body.clone() });
    let turn = turn_of(&path, &body);
    (fake.gate)(turn).await;
    match (fake.script)(&path, turn, &body) {
        Reply::Json(value) => (StatusCode::OK, Json(value)).into_response(),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

/// Starts the fake model server on 127.0.0.1:0; answers its base URL.
async fn start_fake(script: Script, gate: Gate) -> (Fake, String) {
    let fake = Fake { requests: Arc::default(), script, gate };
    let app = axum::Router::new().fallback(axum::routing::post(fake_handler)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}"))
}

fn no_gate() -> Gate {
    Arc::new(|_| Box::pin(async {}))
}

/// A gate that, before `turn`, waits until a terminal window is visible in the computer.
fn terminal_gate(server_url: String, key: String, id: String, turn: usize) -> Gate {
    Arc::new(move |t| {
        let (url, key, id) = (server_url.clone(), key.clone(), id.clone());
        Box::pin(async move {
            if t != turn {
                return;
            }
            let http = reqwest::Client::new();
            let command = "timeout 30 xdotool search --sync --onlyvisible --class xfce4-terminal | head -1 | \
                           xargs -r xdotool windowactivate --sync && sleep 0.5 && echo shown";
            let out: Value = http
                .post(format!("{url}/computers/{id}/bash"))
                .bearer_auth(&key)
                .json(&json!({ "command": command }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(out["stdout"].as_str().unwrap().trim(), "shown", "no terminal window opened: {out}");
        })
    })
}

// ---- Each provider's answers, as the providers document them. ----

fn anthropic_message(turn: usize, content: Vec<Value>) -> Value {
    let tool_use = content.iter().any(|c| c["type"] == "tool_use");
    json!({
        "id": format!("msg_{turn}"),
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": if tool_use { "tool_use" } else { "end_turn" },
        "stop_sequence": null,
        "usage": { "input_tokens": 1000, "output_tokens": 20 },
    })
}

fn computer_use(id: &str, input: Value) -> Value {
    json!({ "type": "tool_use", "id": id, "name": "computer", "input": input })
}

fn responses_answer(turn: usize, output: Vec<Value>) -> Value {
    json!({
        "id": format!("resp_{turn}"),
        "object": "response",
        "created_at": 1_700_000_000,
        "status": "completed",
        "model": "computer-use-preview",
        "output": output,
        "usage": { "input_tokens": 500, "output_tokens": 10, "total_tokens": 510 },
    })
}

fn computer_call(turn: usize, action: Value, safety_checks: Value) -> Vec<Value> {
    vec![
        json!({ "type": "reasoning", "id": format!("rs_{turn}"), "summary": [] }),
        json!({
            "type": "computer_call",
            "id": format!("cu_{turn}"),
            "call_id": format!("call_{turn}"),
            "action": action,
            "pending_safety_checks": safety_checks,
            "status": "completed",
        }),
    ]
}

fn chat_answer(turn: usize, content: Option<&str>, calls: Vec<(&str, String)>) -> Value {
    let tool_calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, arguments))| {
            json!({ "id": format!("call_{turn}_{i}"), "type": "function", "function": { "name": name, "arguments": arguments } })
        })
        .collect();
    let mut message = json!({ "role": "assistant", "content": content });
    if !tool_calls.is_empty() {
        message["tool_calls"] = json!(tool_calls);
    }
    json!({
        "id": format!("chatcmpl-{turn}"),
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "qwen2.5-vl",
        "choices": [{ "index": 0, "message": message, "finish_reason": if tool_calls.is_empty() { "stop" } else { "tool_calls" } }],
        "usage": { "prompt_tokens": 300, "completion_tokens": 5, "total_tokens": 305 },
    })
}

/// (width, height) of a base64 PNG.
fn png_size(base64_png: &str) -> (u32, u32) {
    let bytes = decode_base64(base64_png);
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().unwrap();
    (reader.info().width, reader.info().height)
}

fn decode_base64(input: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in input.bytes().filter(|&c| c != b'=') {
        let value = ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// Waits until the XFCE session is far enough along for its keyboard shortcuts (xfsettingsd holds
/// them) to work: a computer is `running` as soon as a window manager manages its screen.
async fn desktop_settled(server: &Server, id: &str) {
    let (out, _) = server
        .bash(
            id,
            "timeout 30 xdotool search --sync --onlyvisible --class xfce4-panel >/dev/null; \
             for i in $(seq 150); do pgrep -x xfsettingsd >/dev/null && break; sleep 0.2; done; sleep 3; \
             pgrep -x xfsettingsd >/dev/null && echo settled",
        )
        .await;
    assert_eq!(out.trim(), "settled", "the XFCE session never settled");
}

async fn prompt(server: &Server, id: &str, body: Value, model_key: Option<&str>) -> (u16, Value) {
    let mut request = server.http.post(server.url(&format!("/computers/{id}/prompt"))).bearer_auth(&server.key).json(&body);
    if let Some(key) = model_key {
        request = request.header("X-Model-Api-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The file the scripted command writes, once it is there (the shell runs the typed command in its own time).
async fn read_file(server: &Server, id: &str) -> String {
    server.bash(id, "for i in $(seq 100); do [ -s /root/out.txt ] && break; sleep 0.1; done; cat /root/out.txt 2>/dev/null").await.0
}

#[tokio::test]
async fn anthropic_loop_does_the_task_with_scaled_coordinates() {
    // The computer is 1920x1080: the model sees 1280x720 (WXGA's aspect ratio is the nearest), a factor of 1.5.
    let script: Script = Arc::new(|_, turn, _| {
        let reply = match turn {
            0 => vec![json!({ "type": "text", "text": "Let me look." }), computer_use("toolu_0", json!({ "action": "screenshot" }))],
            1 => vec![computer_use("toolu_1", json!({ "action": "key", "text": "ctrl+alt+t" }))],
            2 => vec![computer_use("toolu_2", json!({ "action": "type", "text": COMMAND }))],
            3 => vec![
                // Multi-clicks, held buttons and held keys, each one agent call.
                computer_use("toolu_3c", json!({ "action": "triple_click", "coordinate": [200, 200] })),
                computer_use("toolu_3d", json!({ "action": "left_mouse_down" })),
                computer_use("toolu_3e", json!({ "action": "mouse_move", "coordinate": [300, 250] })),
                computer_use("toolu_3f", json!({ "action": "left_mouse_up" })),
                computer_use("toolu_3g", json!({ "action": "hold_key", "text": "shift", "duration": 0.2 })),
                computer_use("toolu_3h", json!({ "action": "left_click", "coordinate": [250, 250], "text": "ctrl" })),
                computer_use("toolu_3a", json!({ "action": "mouse_move", "coordinate": [400, 300] })),
                computer_use("toolu_3b", json!({ "action": "cursor_position" })),
            ],
            4 => vec![computer_use("toolu_4", json!({ "action": "left_click", "coordinate": "the terminal" }))],
            _ => vec![json!({ "type": "text", "text": "The file is written." })],
        };
        Reply::Json(anthropic_message(turn, reply))
    });
    let server_key = "sk-ant-server-key-0123456789";
    // The gate needs the computer's id, known only once it exists: fill it in afterwards.
    let target: Arc<Mutex<Option<Gate>>> = Arc::default();
    let gate: Gate = {
        let target = target.clone();
        Arc::new(move |turn| {
            let inner = target.lock().unwrap().clone();
            Box::pin(async move {
                if let Some(inner) = inner {
                    inner(turn).await;
                }
            })
        })
    };
    let (fake, fake_url) = start_fake(script, gate).await;
    let server = Server::start_with(&[
        ("ANTHROPIC_BASE_URL", &fake_url),
        ("ANTHROPIC_API_KEY", server_key),
        ("OPENAI_API_KEY", ""),
        ("CORIX_PROMPT_MAX_SCREENSHOTS", "2"),
    ])
    .await;
    let computer = server.create_computer(json!({ "cpu": 1, "resolution": "1920x1080" })).await;
    let id = computer["id"].as_str().unwrap().to_string();
    *target.lock().unwrap() = Some(terminal_gate(server.url(""), server.key.clone(), id.clone(), 2));
    desktop_settled(&server, &id).await;

    let (status, result) =
        prompt(&server, &id, json!({ "model": "claude-sonnet-4-5", "task": "Write done to /root/out.txt using a terminal" }), None)
            .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["stop_reason"], "done", "{result}");
    assert_eq!(result["output"], "The file is written.");
    let actions: Vec<&str> = result["steps"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "screenshot", "key", "type", "triple_click", "left_mouse_down", "mouse_move", "left_mouse_up", "hold_key",
            "left_click", "mouse_move", "cursor_position", "left_click"
        ],
        "{result}"
    );
    for step in &result["steps"].as_array().unwrap()[..11] {
        assert!(step["error"].is_null(), "{step}");
    }
    assert_eq!(result["steps"][1]["arguments"], json!({ "action": "key", "text": "ctrl+alt+t" }));
    assert_eq!(result["steps"][1]["output"], "done");
    assert_eq!(result["steps"][10]["output"], "X=400,Y=300", "the cursor is reported in the model's coordinates");
    assert!(result["steps"][11]["error"].as_str().unwrap().contains("coordinate"), "{result}");
    assert_eq!(result["usage"], json!({ "input_tokens": 6000, "output_tokens": 120 }));
    assert!(!result.to_string().contains(server_key));

    // The command ran in the terminal the key combination opened.
    assert_eq!(read_file(&server, &id).await.trim(), "done");
    // The model's (400, 300) is (600, 450) on the 1920x1080 screen.
    let (status, cursor) = server.get(&format!("/computers/{id}/cursor")).await;
    assert_eq!((status, cursor), (200, json!({ "x": 600, "y": 450 })));

    // The wire format: headers, tools, tool results.
    let requests = fake.requests("/v1/messages");
    assert_eq!(requests.len(), 6);
    let first = &requests[0];
    assert_eq!(first.headers["x-api-key"], server_key);
    assert_eq!(first.headers["anthropic-version"], "2023-06-01");
    assert_eq!(first.headers["anthropic-beta"], "computer-use-2025-01-24");
    assert_eq!(first.body["model"], "claude-sonnet-4-5");
    assert!(first.body["max_tokens"].as_u64().unwrap() > 0);
    let tools = first.body["tools"].as_array().unwrap();
    assert_eq!(tools[0]["type"], "computer_20250124");
    assert_eq!(tools[0]["name"], "computer");
    assert_eq!((tools[0]["display_width_px"].as_u64(), tools[0]["display_height_px"].as_u64()), (Some(1280), Some(720)));
    assert_eq!(tools[1], json!({ "type": "bash_20250124", "name": "bash" }));
    assert_eq!(first.body["messages"][0]["role"], "user");
    assert!(first.body["messages"][0].to_string().contains("Write done to /root/out.txt"));
    // The screenshot went back as a tool_result with a base64 PNG at the model's size.
    let second = &requests[1].body["messages"];
    let result_block = &second[2]["content"][0];
    assert_eq!(result_block["type"], "tool_result");
    assert_eq!(result_block["tool_use_id"], "toolu_0");
    let image = result_block["content"].as_array().unwrap().iter().find(|c| c["type"] == "image").expect("an image");
    assert_eq!(image["source"]["type"], "base64");
    assert_eq!(image["source"]["media_type"], "image/png");
    assert_eq!(png_size(image["source"]["data"].as_str().unwrap()), (1280, 720));
    // The tool results answer the tool uses of turn 3, in order.
    let fourth = requests[4].body["messages"].as_array().unwrap().last().unwrap().clone();
    let ids: Vec<&str> = fourth["content"].as_array().unwrap().iter().map(|b| b["tool_use_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["toolu_3c", "toolu_3d", "toolu_3e", "toolu_3f", "toolu_3g", "toolu_3h", "toolu_3a", "toolu_3b"]);
    // The malformed call came back as a tool error the model sees.
    let last = requests[5].body["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["content"][0]["is_error"], true, "{last}");
    assert_eq!(last["content"][0]["tool_use_id"], "toolu_4");
    // Only the last 2 screenshots stay in the context.
    let images = requests[5].body.to_string().matches("\"media_type\":\"image/png\"").count();
    assert_eq!(images, 2, "screenshots in the last request");
}

#[tokio::test]
async fn openai_responses_and_chat_completions_loops_do_the_task() {
    let script: Script = Arc::new(|path, turn, _| {
        let answer = match path {
            "/responses" => responses_answer(
                turn,
                match turn {
                    0 => computer_call(turn, json!({ "type": "screenshot" }), json!([])),
                    1 => computer_call(
                        turn,
                        json!({ "type": "keypress", "keys": ["CTRL", "ALT", "T"] }),
                        json!([{ "id": "cu_sc_1", "code": "malicious_instructions", "message": "Check the screen." }]),
                    ),
                    2 => computer_call(turn, json!({ "type": "type", "text": COMMAND }), json!([])),
                    _ => vec![json!({
                        "type": "message",
                        "id": "msg_final",
                        "status": "completed",
                        "role": "assistant",
                        "content": [{ "type": "output_text", "text": "Written.", "annotations": [] }],
                    })],
                },
            ),
            "/chat/completions" => match turn {
                0 => chat_answer(turn, None, vec![("computer", json!({ "action": "screenshot" }).to_string())]),
                1 => chat_answer(turn, Some("Opening a terminal."), vec![("computer", json!({ "action": "key", "text": "ctrl+alt+t" }).to_string())]),
                2 => chat_answer(
                    turn,
                    None,
                    vec![("computer", json!({ "action": "type", "text": COMMAND }).to_string()), ("computer", "{\"action\": \"click\", ".into())],
                ),
                _ => chat_answer(turn, Some("Chat done."), vec![]),
            },
            other => panic!("{other}"),
        };
        Reply::Json(answer)
    });
    let target: Arc<Mutex<Option<Gate>>> = Arc::default();
    let gate: Gate = {
        let target = target.clone();
        Arc::new(move |turn| {
            let inner = target.lock().unwrap().clone();
            Box::pin(async move {
                if let Some(inner) = inner {
                    inner(turn).await;
                }
            })
        })
    };
    let (fake, fake_url) = start_fake(script, gate).await;
    let server = Server::start_with(&[("OPENAI_BASE_URL", &fake_url), ("OPENAI_API_KEY", ""), ("ANTHROPIC_API_KEY", "")]).await;
    let id = server.create_computer(json!({ "cpu": 1 })).await["id"].as_str().unwrap().to_string();
    *target.lock().unwrap() = Some(terminal_gate(server.url(""), server.key.clone(), id.clone(), 2));
    desktop_settled(&server, &id).await;

    // OpenAI Responses, with the key from the request.
    let request_key = "sk-openai-request-key-abcdef";
    let (status, result) = prompt(&server, &id, json!({ "model": "computer-use-preview", "task": "Write done" }), Some(request_key)).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["stop_reason"], "done", "{result}");
    assert_eq!(result["output"], "Written.");
    let actions: Vec<&str> = result["steps"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["screenshot", "keypress", "type"]);
    assert_eq!(result["usage"], json!({ "input_tokens": 2000, "output_tokens": 40 }));
    let written = read_file(&server, &id).await;
    if written.trim() != "done" {
        let (diag, _) = server.bash(&id, "ps aux | grep -i -E 'term|xfsettings|bash' | grep -v grep; xdotool search --onlyvisible --class xfce4-terminal; xdotool getactivewindow getwindowname; ls -la /root").await;
        let turns: Vec<String> = fake.requests("/responses").iter().map(|r| r.body["previous_response_id"].to_string()).collect();
        panic!("no file after the responses loop: {result}\n{diag}\n{turns:?}");
    }
    assert!(!result.to_string().contains(request_key));

    let requests = fake.requests("/responses");
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0].headers["authorization"], format!("Bearer {request_key}"));
    let tool = &requests[0].body["tools"][0];
    assert_eq!(tool["type"], "computer_use_preview");
    assert_eq!((tool["display_width"].as_u64(), tool["display_height"].as_u64()), (Some(1280), Some(720)));
    assert_eq!(tool["environment"], "linux");
    assert_eq!(requests[0].body["truncation"], "auto");
    assert_eq!(requests[1].body["previous_response_id"], "resp_0");
    let output = &requests[1].body["input"][0];
    assert_eq!(output["type"], "computer_call_output");
    assert_eq!(output["call_id"], "call_0");
    assert_eq!(output["output"]["type"], "input_image");
    let url = output["output"]["image_url"].as_str().unwrap();
    assert_eq!(png_size(url.strip_prefix("data:image/png;base64,").unwrap()), (1280, 720));
    // The pending safety check is acknowledged.
    let acknowledged = &requests[2].body["input"][0]["acknowledged_safety_checks"];
    assert_eq!(acknowledged, &json!([{ "id": "cu_sc_1", "code": "malicious_instructions", "message": "Check the screen." }]));

    // Any OpenAI-compatible chat-completions server: close the terminal first so a new one opens.
    server.bash(&id, "rm -f /root/out.txt; pkill -x xfce4-terminal; sleep 1").await;
    let (status, result) =
        prompt(&server, &id, json!({ "model": "qwen2.5-vl", "provider": "openai_chat", "task": "Write done" }), Some(request_key)).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["stop_reason"], "done", "{result}");
    assert_eq!(result["output"], "Chat done.");
    let written = read_file(&server, &id).await;
    if written.trim() != "done" {
        let (diag, _) = server.bash(&id, "ps aux | grep -i term | grep -v grep; xdotool search --onlyvisible --class xfce4-terminal; ls -la /root").await;
        panic!("no file after the chat loop: {result}\n{diag}");
    }
    let steps = result["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4, "{result}");
    assert!(steps[3]["error"].as_str().unwrap().contains("not valid JSON"), "{result}");
    let requests = fake.requests("/chat/completions");
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0].headers["authorization"], format!("Bearer {request_key}"));
    let functions: Vec<&str> = requests[0].body["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(functions, ["computer", "bash"]);
    let messages = requests[1].body["messages"].as_array().unwrap();
    let tool_message = messages.iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(tool_message["tool_call_id"], "call_0_0");
    let image = messages.last().unwrap();
    assert_eq!(image["role"], "user");
    assert_eq!(image["content"][1]["type"], "image_url");
    let last = requests[3].body["messages"].as_array().unwrap();
    assert!(last.iter().any(|m| m["role"] == "tool" && m["tool_call_id"] == "call_2_1" && m["content"].as_str().unwrap().contains("error")));
}

#[tokio::test]
async fn one_loop_at_a_time_cancel_stream_and_bad_requests() {
    // Turn 0 takes a screenshot; turn 1 never answers, so the loop runs until cancelled.
    let script: Script = Arc::new(|_, turn, _| match turn {
        0 => Reply::Json(anthropic_message(turn, vec![computer_use("toolu_0", json!({ "action": "screenshot" }))])),
        _ => Reply::Hang,
    });
    let (fake, fake_url) = start_fake(script, no_gate()).await;
    let server = Server::start_with(&[("ANTHROPIC_BASE_URL", &fake_url), ("ANTHROPIC_API_KEY", ""), ("OPENAI_API_KEY", "")]).await;
    let id = server.create_computer(json!({ "cpu": 1 })).await["id"].as_str().unwrap().to_string();
    let task = json!({ "model": "claude-sonnet-4-5", "task": "Wait forever" });

    // No key anywhere: 400 saying where a key goes; an unknown model without provider: 400.
    let (status, answer) = prompt(&server, &id, task.clone(), None).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("X-Model-Api-Key"), "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("ANTHROPIC_API_KEY"), "{answer}");
    let (status, answer) = prompt(&server, &id, json!({ "model": "llama-3", "task": "x" }), Some("k")).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("llama-3") && answer["error"].as_str().unwrap().contains("provider"), "{answer}");
    let (status, answer) = prompt(&server, &id, json!({ "model": "claude-x", "task": "x", "provider": "gemini" }), Some("k")).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = server.delete(&format!("/computers/{id}/prompt")).await;
    assert_eq!((status, answer), (200, json!({ "cancelled": false })));

    // A streamed loop: a step event arrives while it runs.
    let model_key = "sk-ant-streamed-key-xyz";
    let response = server
        .http
        .post(server.url(&format!("/computers/{id}/prompt")))
        .bearer_auth(&server.key)
        .header("Accept", "text/event-stream")
        .header("X-Model-Api-Key", model_key)
        .json(&task)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !text.contains("event: step") {
        assert!(Instant::now() < deadline, "no step event: {text}");
        let chunk = tokio::time::timeout(Duration::from_secs(60), stream.next()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let step_line = text.lines().skip_while(|l| *l != "event: step").nth(1).unwrap();
    let step: Value = serde_json::from_str(step_line.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(step["action"], "screenshot");
    assert_eq!(step["index"], 0);

    // A second loop on the same computer: 409.
    let (status, answer) = prompt(&server, &id, task.clone(), Some(model_key)).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["code"], "prompt_running");

    // DELETE cancels it; the stream ends with the result.
    let (status, answer) = server.delete(&format!("/computers/{id}/prompt")).await;
    assert_eq!((status, answer), (200, json!({ "cancelled": true })));
    while let Ok(Some(chunk)) = tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        if text.contains("event: result") && text.ends_with("\n\n") {
            break;
        }
    }
    let result_line = text.lines().skip_while(|l| *l != "event: result").nth(1).unwrap_or_else(|| panic!("no result: {text}"));
    let result: Value = serde_json::from_str(result_line.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(result["stop_reason"], "cancelled", "{result}");
    assert_eq!(result["steps"].as_array().unwrap().len(), 1);
    assert!(!text.contains(model_key));
    drop(stream);

    // A plain JSON loop, cancelled from elsewhere, answers with stop_reason cancelled.
    let canceller = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (_, answer) = server.call(Method::DELETE, &format!("/computers/{id}/prompt"), None).await;
            if answer["cancelled"] == true {
                return;
            }
            assert!(Instant::now() < deadline, "the loop never started");
        }
    };
    let ((status, result), ()) = tokio::join!(prompt(&server, &id, task.clone(), Some(model_key)), canceller);
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["stop_reason"], "cancelled", "{result}");

    // Closing a stream cancels its loop: the computer is free again.
    let response = server
        .http
        .post(server.url(&format!("/computers/{id}/prompt")))
        .bearer_auth(&server.key)
        .header("Accept", "text/event-stream")
        .header("X-Model-Api-Key", model_key)
        .json(&task)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let _ = tokio::time::timeout(Duration::from_secs(60), stream.next()).await;
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(40);
    let ended = || std::fs::read_to_string(server.data.path().join("server.err")).unwrap_or_default().matches("prompt ended").count();
    while ended() < 3 {
        assert!(Instant::now() < deadline, "closing the stream did not end the loop");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (status, answer) = server.delete(&format!("/computers/{id}/prompt")).await;
    assert_eq!((status, answer), (200, json!({ "cancelled": false })));
    // Every model request carried the request's key; none of it leaked into the server's log.
    assert!(fake.requests("/v1/messages").iter().all(|r| r.headers["x-api-key"] == model_key));
    let log = std::fs::read_to_string(server.data.path().join("corix.log")).unwrap_or_default()
        + &std::fs::read_to_string(server.data.path().join("server.err")).unwrap_or_default();
    assert!(!log.contains(model_key), "the model key is in the server's log");
}
