//! The agent's desktop side over HTTP: auth, health, screenshots, mouse and keyboard, and the
//! supervisor bringing the display and the session back.

mod common;

use base64::Engine as _;
use common::{events, typed_text, Agent, TOKEN};
use serde_json::json;
use std::time::{Duration, Instant};
use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, WindowClass};
use x11rb::wrapper::ConnectionExt as _;

fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[tokio::test]
async fn every_request_needs_the_token() {
    let agent = Agent::start().await;
    for request in [
        agent.client.get(agent.url("/health")),
        agent.client.get(agent.url("/screenshot")).bearer_auth("wrong"),
        agent.client.post(agent.url("/bash")).header("Authorization", format!("Basic {TOKEN}")).json(&json!({"command": "true"})),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");
        assert!(body["error"].as_str().unwrap().contains("token"));
    }
    let health: serde_json::Value = agent.get("/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["resolution"], "1280x720x24");
    // The secret is not passed on to what the agent runs.
    let env = agent.bash("env").await;
    assert!(!env["stdout"].as_str().unwrap().contains(TOKEN));
    assert!(env["stdout"].as_str().unwrap().contains(&format!("DISPLAY={}", agent.display)));
    let unknown = agent.get("/nope").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn screenshots_show_the_screen_in_every_format() {
    let agent = Agent::start().await;
    // Put a red window at a known place, as an X client of the agent's display.
    let (conn, screen_num) = x11rb::connect(Some(&agent.display)).unwrap();
    let screen = &conn.setup().roots[screen_num];
    let window = conn.generate_id().unwrap();
    conn.create_window(
        screen.root_depth,
        window,
        screen.root,
        100,
        200,
        300,
        100,
        0,
        WindowClass::INPUT_OUTPUT,
        screen.root_visual,
        &CreateWindowAux::new().background_pixel(0xff0000).override_redirect(1),
    )
    .unwrap();
    conn.map_window(window).unwrap();
    conn.sync().unwrap();

    let response = agent.get("/screenshot").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let (width, height, rgb) = decode_png(&response.bytes().await.unwrap());
    assert_eq!((width, height), (1280, 720));
    let pixel = |x: usize, y: usize| &rgb[(y * 1280 + x) * 3..(y * 1280 + x) * 3 + 3];
    assert_eq!(pixel(250, 250), [255, 0, 0], "the red window, channels in RGB order");
    assert_ne!(pixel(50, 50), [255, 0, 0]);

    let json: serde_json::Value = agent.get("/screenshot?format=base64").send().await.unwrap().json().await.unwrap();
    assert_eq!(json["success"], true);
    let data = json["image"].as_str().unwrap().strip_prefix("data:image/png;base64,").expect("a PNG data URL");
    let png_bytes = base64::engine::general_purpose::STANDARD.decode(data).unwrap();
    assert_eq!(json["metadata"]["size"], png_bytes.len());
    assert_eq!((json["metadata"]["width"].clone(), json["metadata"]["height"].clone()), (json!(1280), json!(720)));
    assert_eq!(decode_png(&png_bytes).0, 1280);

    let jpeg = agent.get("/screenshot?format=jpeg&quality=50").send().await.unwrap();
    assert_eq!(jpeg.headers()["content-type"], "image/jpeg");
    let jpeg = jpeg.bytes().await.unwrap();
    assert_eq!(&jpeg[..2], &[0xff, 0xd8], "JPEG start-of-image marker");

    let small = agent.get("/screenshot?width=640").send().await.unwrap().bytes().await.unwrap();
    let (w, h, rgb) = decode_png(&small);
    assert_eq!((w, h), (640, 360));
    assert_eq!(&rgb[(125 * 640 + 125) * 3..][..3], [255, 0, 0], "the window, scaled by half");
    let quarter = agent.get("/screenshot?scale=0.25&cursor=true").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(decode_png(&quarter).0, 320);

    for (query, field) in [("format=gif", "format"), ("width=5000", "width"), ("scale=2", "scale"), ("quality=0&format=jpeg", "quality")] {
        let response = agent.get(&format!("/screenshot?{query}")).send().await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(field), "{query}: {body}");
    }

    // The figure the design asks about: a full-size PNG, end to end over HTTP.
    let runs = 20;
    let started = Instant::now();
    for _ in 0..runs {
        agent.get("/screenshot").send().await.unwrap().bytes().await.unwrap();
    }
    let build = if cfg!(debug_assertions) { "debug build" } else { "release build" };
    eprintln!("screenshot 1280x720 PNG over HTTP ({build}): {:.2} ms on average", started.elapsed().as_secs_f64() * 1000.0 / runs as f64);
}

#[tokio::test]
async fn clicks_land_where_asked() {
    let agent = Agent::start().await;
    let xev = agent.xev().await;
    xev.clear();
    let started = Instant::now();
    let (status, body) = agent.call("/click", json!({"x": 123, "y": 456})).await;
    eprintln!("click over HTTP: {:.2} ms", started.elapsed().as_secs_f64() * 1000.0);
    assert_eq!((status, body), (200, json!({"success": true})));
    let lines = xev.wait_for("a click", |l| events(l).iter().any(|e| e.kind == "ButtonRelease"));
    let clicks: Vec<_> = events(&lines).into_iter().filter(|e| e.kind.starts_with("Button")).collect();
    assert_eq!(clicks.len(), 2);
    assert_eq!((clicks[0].kind.as_str(), clicks[0].button(), clicks[0].root()), ("ButtonPress", 1, (123, 456)));

    let cursor: serde_json::Value = agent.get("/cursor").send().await.unwrap().json().await.unwrap();
    assert_eq!(cursor, json!({"x": 123, "y": 456}));
    let location = agent.bash("xdotool getmouselocation").await;
    assert!(location["stdout"].as_str().unwrap().starts_with("x:123 y:456 "), "{location}");

    xev.clear();
    agent.call("/click", json!({"x": 10, "y": 20, "button": "right", "double_click": true})).await;
    let lines = xev.wait_for("a right double click", |l| events(l).iter().filter(|e| e.kind == "ButtonRelease").count() == 2);
    let presses: Vec<_> = events(&lines).into_iter().filter(|e| e.kind == "ButtonPress").collect();
    assert_eq!(presses.iter().map(|e| (e.button(), e.root())).collect::<Vec<_>>(), vec![(3, (10, 20)), (3, (10, 20))]);

    for (body, field) in [
        (json!({"x": 1280, "y": 5}), "x: 1280"),
        (json!({"x": 5, "y": -1}), "y: -1"),
        (json!({"x": 5, "y": 5, "button": "side"}), "button"),
        (json!({"y": 5}), "x"),
    ] {
        let (status, response) = agent.call("/click", body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(response["error"].as_str().unwrap().contains(field), "{body}: {response}");
    }
}

#[tokio::test]
async fn typed_unicode_arrives_exactly() {
    let agent = Agent::start().await;
    let xev = agent.xev().await;
    xev.clear();
    let text = "héllo — 日本語 ✓\n\tA ÉÜß€😀<>|~";
    let started = Instant::now();
    let (status, _) = agent.call("/type", json!({ "text": text })).await;
    eprintln!("type {} characters over HTTP: {:.2} ms", text.chars().count(), started.elapsed().as_secs_f64() * 1000.0);
    assert_eq!(status, 200);
    // Xlib reads Return as a carriage return.
    let expected = "héllo — 日本語 ✓\r\tA ÉÜß€😀<>|~";
    let lines = xev.wait_for("the typed text", |l| typed_text(l).chars().count() >= expected.chars().count());
    assert_eq!(typed_text(&lines), expected);

    // More distinct characters than there are spare keycodes: keycodes get recycled, safely.
    xev.clear();
    let many: String = (0..120).map(|i| char::from_u32(0x4e00 + i).unwrap()).collect();
    let started = Instant::now();
    assert_eq!(agent.call("/type", json!({ "text": many })).await.0, 200);
    eprintln!("type 120 distinct CJK characters over HTTP: {:.2} ms", started.elapsed().as_secs_f64() * 1000.0);
    let lines = xev.wait_for("120 characters", |l| typed_text(l).chars().count() >= 120);
    assert_eq!(typed_text(&lines), many);

    let ascii = "The quick brown fox jumps over the lazy dog 0123456789!";
    xev.clear();
    let started = Instant::now();
    assert_eq!(agent.call("/type", json!({ "text": ascii })).await.0, 200);
    eprintln!("type {} ASCII characters over HTTP: {:.2} ms", ascii.len(), started.elapsed().as_secs_f64() * 1000.0);
    let lines = xev.wait_for("ASCII text", |l| typed_text(l).len() >= ascii.len());
    assert_eq!(typed_text(&lines), ascii);

    let (status, body) = agent.call("/type", json!({ "text": "a\u{1}b" })).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("text"), "{body}");
}

#[tokio::test]
async fn keys_and_combinations_press_the_named_keys() {
    let agent = Agent::start().await;
    let xev = agent.xev().await;
    let cases: &[(&str, &[&str])] = &[
        ("Return", &["Return"]),
        ("enter", &["Return"]),
        ("BackSpace", &["BackSpace"]),
        ("ctrl+c", &["Control_L", "c"]),
        ("ctrl+shift+t", &["Control_L", "Shift_L", "T"]), // xev names the key as Shift reads it
        ("alt+F4", &["Alt_L", "F4"]),
        ("super", &["Super_L"]),
        ("pagedown", &["Next"]),
        ("ESC", &["Escape"]),
        ("F13", &["F13"]),
        ("ctrl+A", &["Control_L", "Shift_L", "A"]),
        ("ctrl++", &["Control_L", "Shift_L", "plus"]),
    ];
    for (key, expected) in cases {
        xev.clear();
        let (status, body) = agent.call("/key", json!({ "key": key })).await;
        assert_eq!(status, 200, "{key}: {body}");
        let lines = xev.wait_for(key, |l| {
            let evs = events(l);
            evs.iter().filter(|e| e.kind == "KeyRelease").count() >= expected.len()
        });
        let evs = events(&lines);
        let pressed: Vec<String> = evs.iter().filter(|e| e.kind == "KeyPress").map(|e| e.keysym_name()).collect();
        assert_eq!(pressed, *expected, "{key}");
        // Released in reverse order.
        let released: Vec<String> = evs.iter().filter(|e| e.kind == "KeyRelease").map(|e| e.keysym_name()).collect();
        assert_eq!(released.first(), pressed.last(), "{key}");
    }
    let (status, body) = agent.call("/key", json!({ "key": "foo" })).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "key: unknown key name \"foo\"");
    let (status, body) = agent.call("/key", json!({ "key": "ctrl+nope" })).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("\"nope\""));
}

#[tokio::test]
async fn scroll_and_drag_send_wheel_clicks_and_a_held_motion() {
    let agent = Agent::start().await;
    let xev = agent.xev().await;
    xev.clear();
    assert_eq!(agent.call("/scroll", json!({"x": 200, "y": 300, "direction": "down", "amount": 3})).await.0, 200);
    let lines = xev.wait_for("3 wheel clicks", |l| events(l).iter().filter(|e| e.kind == "ButtonRelease").count() >= 3);
    let presses: Vec<_> = events(&lines).into_iter().filter(|e| e.kind == "ButtonPress").collect();
    assert_eq!(presses.iter().map(|e| (e.button(), e.root())).collect::<Vec<_>>(), vec![(5, (200, 300)); 3]);

    xev.clear();
    assert_eq!(agent.call("/scroll", json!({"x": 200, "y": 300, "direction": "left"})).await.0, 200);
    let lines = xev.wait_for("default 3 left clicks", |l| events(l).iter().filter(|e| e.kind == "ButtonRelease").count() >= 3);
    assert!(events(&lines).iter().filter(|e| e.kind == "ButtonPress").all(|e| e.button() == 6));
    let (status, body) = agent.call("/scroll", json!({"x": 1, "y": 1, "direction": "down", "amount": 0})).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("amount"));
    let (status, body) = agent.call("/scroll", json!({"x": 1, "y": 1, "direction": "sideways"})).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("direction"));

    xev.clear();
    let body = json!({"start_x": 100, "start_y": 200, "end_x": 400, "end_y": 300});
    assert_eq!(agent.call("/drag", body).await.0, 200);
    let lines = xev.wait_for("a drag", |l| events(l).iter().any(|e| e.kind == "ButtonRelease"));
    let evs = events(&lines);
    let press = evs.iter().position(|e| e.kind == "ButtonPress").expect("a press");
    let release = evs.iter().position(|e| e.kind == "ButtonRelease").expect("a release");
    assert_eq!(evs[press].root(), (100, 200));
    assert_eq!(evs[release].root(), (400, 300));
    let held_motion = evs[press..release].iter().filter(|e| e.kind == "MotionNotify" && e.body.contains("state 0x100")).count();
    assert!(held_motion >= 5, "motion with button 1 held between press and release: {held_motion}");
    let (status, body) = agent.call("/drag", json!({"start_x": 0, "start_y": 0, "end_x": 0, "end_y": 9999})).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("end_y"));
}

fn is_press_or_release(event: &common::Event) -> bool {
    ["KeyPress", "KeyRelease", "ButtonPress", "ButtonRelease"].contains(&event.kind.as_str())
}

#[tokio::test]
async fn buttons_and_keys_stay_down_while_other_input_happens() {
    const SHIFT: u32 = 0x1;
    const CONTROL: u32 = 0x4;
    const BUTTON1: u32 = 0x100;
    let agent = Agent::start().await;
    let xev = agent.xev().await;

    // A triple click with shift held: shift goes down first, up last, and every click carries it.
    xev.clear();
    assert_eq!(agent.call("/click", json!({"x": 50, "y": 60, "clicks": 3, "hold_keys": "shift"})).await.0, 200);
    let lines = xev.wait_for("a shift triple click", |l| events(l).iter().any(|e| e.kind == "KeyRelease"));
    let evs: Vec<_> = events(&lines).into_iter().filter(is_press_or_release).collect();
    let kinds: Vec<&str> = evs.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["KeyPress", "ButtonPress", "ButtonRelease", "ButtonPress", "ButtonRelease", "ButtonPress", "ButtonRelease", "KeyRelease"]);
    assert_eq!((evs[0].keysym_name(), evs[7].keysym_name()), ("Shift_L".to_string(), "Shift_L".to_string()));
    assert!(evs[1..7].iter().all(|e| e.state() & SHIFT != 0 && e.root() == (50, 60)));

    // Scrolling with ctrl held (zoom in most programs).
    xev.clear();
    assert_eq!(agent.call("/scroll", json!({"x": 70, "y": 80, "direction": "up", "amount": 2, "hold_keys": "ctrl"})).await.0, 200);
    let lines = xev.wait_for("a ctrl scroll", |l| events(l).iter().any(|e| e.kind == "KeyRelease"));
    let wheel: Vec<_> = events(&lines).into_iter().filter(|e| e.kind == "ButtonPress").collect();
    assert_eq!(wheel.iter().map(|e| (e.button(), e.state() & CONTROL)).collect::<Vec<_>>(), [(4, CONTROL), (4, CONTROL)]);

    // Press, move along a path, release: a drag the model steers point by point.
    xev.clear();
    assert_eq!(agent.call("/mouse_down", json!({"x": 100, "y": 100})).await.0, 200);
    for (x, y) in [(150, 120), (200, 180)] {
        assert_eq!(agent.call("/move", json!({"x": x, "y": y})).await.0, 200);
    }
    assert_eq!(agent.call("/mouse_up", json!({})).await.0, 200);
    let lines = xev.wait_for("a path drag", |l| events(l).iter().any(|e| e.kind == "ButtonRelease"));
    let evs = events(&lines);
    let press = evs.iter().find(|e| e.kind == "ButtonPress").expect("a press");
    let release = evs.iter().find(|e| e.kind == "ButtonRelease").expect("a release");
    assert_eq!((press.button(), press.root(), release.root()), (1, (100, 100), (200, 180)));
    let held: Vec<_> = evs.iter().filter(|e| e.kind == "MotionNotify" && e.state() & BUTTON1 != 0).map(|e| e.root()).collect();
    assert_eq!(held, [(150, 120), (200, 180)]);

    // A held key stays down while a click happens, and comes up after the duration.
    xev.clear();
    let started = Instant::now();
    let hold = agent.call("/hold_key", json!({"key": "shift", "duration": 0.6}));
    let click = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        agent.call("/click", json!({"x": 300, "y": 300})).await
    };
    let ((hold_status, _), (click_status, _)) = tokio::join!(hold, click);
    assert_eq!((hold_status, click_status), (200, 200));
    assert!(started.elapsed() >= Duration::from_millis(600));
    let lines = xev.wait_for("a held shift", |l| events(l).iter().any(|e| e.kind == "KeyRelease"));
    let evs: Vec<_> = events(&lines).into_iter().filter(is_press_or_release).collect();
    let kinds: Vec<&str> = evs.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["KeyPress", "ButtonPress", "ButtonRelease", "KeyRelease"]);
    assert_ne!(evs[1].state() & SHIFT, 0, "the click happened with shift held");

    for (path, body, mentions) in [
        ("/click", json!({"x": 1, "y": 1, "clicks": 4}), "clicks"),
        ("/click", json!({"x": 1, "y": 1, "clicks": 3, "double_click": true}), "double_click"),
        ("/click", json!({"x": 1, "y": 1, "hold_keys": "nope"}), "hold_keys: unknown key name \"nope\""),
        ("/scroll", json!({"x": 1, "y": 1, "direction": "up", "hold_keys": ""}), "hold_keys"),
        ("/mouse_down", json!({"x": 1}), "x and y"),
        ("/mouse_up", json!({"x": 1, "y": 5000}), "y: 5000"),
        ("/hold_key", json!({"key": "shift", "duration": 31}), "duration"),
        ("/hold_key", json!({"key": "shift+nope", "duration": 1}), "key: unknown key name"),
    ] {
        let (status, answer) = agent.call(path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains(mentions), "{path} {body}: {answer}");
    }
}

#[tokio::test]
async fn wait_sleeps_within_bounds() {
    let agent = Agent::start().await;
    let started = Instant::now();
    assert_eq!(agent.call("/wait", json!({"duration": 0.3})).await, (200, json!({"success": true})));
    assert!(started.elapsed() >= Duration::from_millis(300));
    for duration in [31.0, -1.0] {
        let (status, body) = agent.call("/wait", json!({ "duration": duration })).await;
        assert_eq!(status, 400);
        assert!(body["error"].as_str().unwrap().contains("duration"));
    }
}

#[tokio::test]
async fn the_supervisor_brings_back_the_session_and_the_display() {
    let agent = Agent::start_with_session("exec sleep 100001").await;
    let pids = |name: &str| {
        let out = std::process::Command::new("pgrep").args(["-f", name]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect::<Vec<_>>()
    };
    // Several agents may run at once: find this one's session through its display.
    let session_pid = pids("sleep 100001")
        .into_iter()
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|&b| b == 0).any(|kv| kv == format!("DISPLAY={}", agent.display).as_bytes()))
                .unwrap_or(false)
        })
        .expect("the session process");
    unsafe { libc::kill(session_pid.parse().unwrap(), libc::SIGKILL) };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let health: serde_json::Value = agent.get("/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(health["session"], false);
    agent.wait_until_ready().await;

    // Kill Xvfb itself: the agent restarts it and reconnects for the next screenshot.
    let number = agent.display.trim_start_matches(':');
    let xvfb_pid: i32 = std::fs::read_to_string(format!("/tmp/.X{number}-lock")).unwrap().trim().parse().unwrap();
    unsafe { libc::kill(xvfb_pid, libc::SIGKILL) };
    tokio::time::sleep(Duration::from_millis(200)).await;
    agent.wait_until_ready().await;
    let response = agent.get("/screenshot").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(decode_png(&response.bytes().await.unwrap()).0, 1280);
}
