//! Start the real agent binary on a free port with its own Xvfb display, and watch what X
//! clients receive with `xev` (Debian package x11-utils; Xvfb and xdotool are needed too).

#![allow(dead_code)] // each test file uses its own part of these helpers

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-secret-token";

pub struct Agent {
    child: Child,
    pub base: String,
    pub display: String,
    pub client: reqwest::Client,
    _display_claim: DisplayClaim,
}

/// A display number no other test (in this or another test binary) is using.
struct DisplayClaim {
    marker: String,
}

impl DisplayClaim {
    fn take() -> DisplayClaim {
        for n in 90..400 {
            if std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            let marker = format!("/tmp/.corix-agent-test-display-{n}");
            if std::fs::OpenOptions::new().write(true).create_new(true).open(&marker).is_ok() {
                return DisplayClaim { marker };
            }
        }
        panic!("no free X display number in :90..:400");
    }

    fn display(&self) -> String {
        format!(":{}", self.marker.rsplit('-').next().unwrap_or_default())
    }
}

impl Drop for DisplayClaim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.marker);
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl Agent {
    pub async fn start() -> Agent {
        Self::start_with_session("exec sleep 100000").await
    }

    pub async fn start_with_session(session_cmd: &str) -> Agent {
        let claim = DisplayClaim::take();
        let display = claim.display();
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_corix-agent"))
            .env("CORIX_AGENT_TOKEN", TOKEN)
            .env("CORIX_DISPLAY", &display)
            .env("CORIX_SESSION_CMD", session_cmd)
            .env("CORIX_AGENT_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .spawn()
            .expect("start corix-agent");
        let agent = Agent {
            child,
            base: format!("http://127.0.0.1:{port}"),
            display,
            client: reqwest::Client::new(),
            _display_claim: claim,
        };
        agent.wait_until_ready().await;
        agent
    }

    pub async fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = self.get("/health").send().await {
                if let Ok(health) = response.json::<serde_json::Value>().await {
                    if health["display"] == true && health["session"] == true {
                        return;
                    }
                }
            }
            assert!(Instant::now() < deadline, "the agent did not become ready on {}", self.display);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(TOKEN)
    }

    pub fn post(&self, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(TOKEN).json(&body)
    }

    /// POST and return (status, JSON body).
    pub async fn call(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self.post(path, body).send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    pub async fn bash(&self, command: &str) -> serde_json::Value {
        let (status, body) = self.call("/bash", serde_json::json!({ "command": command })).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// An `xev` window covering the screen, ready to receive events, with the pointer over it.
    pub async fn xev(&self) -> Xev {
        let xev = Xev::start(&self.display);
        let (status, body) = self.call("/move", serde_json::json!({ "x": 640, "y": 360 })).await;
        assert_eq!(status, 200, "{body}");
        xev
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        // SIGTERM lets the agent stop its Xvfb and session.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `xev` on a full-screen window: every event it prints, line by line.
pub struct Xev {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Xev {
    fn start(display: &str) -> Xev {
        let mut child = Command::new("stdbuf")
            .args(["-oL", "xev", "-geometry", "1280x720+0+0"])
            .env("DISPLAY", display)
            .env("LANG", "C.UTF-8")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start xev (package x11-utils) under stdbuf");
        let stdout = child.stdout.take().expect("xev stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        let xev = Xev { child, lines };
        xev.wait_for("xev window mapped", |lines| lines.iter().any(|l| l.starts_with("Expose event")));
        xev
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.lines.lock().unwrap().clear();
    }

    /// Wait (up to 5 s) until `done` holds for the lines seen so far; return them.
    pub fn wait_for(&self, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.lines();
            if done(&lines) {
                return lines;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; xev printed:\n{}", lines.join("\n"));
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Xev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One event as `xev` prints it: its kind and the lines of its body.
pub struct Event {
    pub kind: String,
    pub body: String,
}

/// The events among the lines, leaving out a last one that xev is still printing.
pub fn events(lines: &[String]) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    for line in lines {
        if !line.starts_with(' ') && line.contains(" event, serial") {
            events.push(Event { kind: line.split(' ').next().unwrap_or_default().to_string(), body: String::new() });
        } else if let Some(event) = events.last_mut() {
            event.body.push_str(line);
            event.body.push('\n');
        }
    }
    // xev separates events with an empty line printed before the next one, so the last event is
    // known complete only by its own final line.
    let last_is_complete = events.last().is_some_and(|e| {
        if e.kind.starts_with("Key") { e.body.contains("XFilterEvent") } else { e.body.contains("same_screen") }
    });
    if !last_is_complete {
        events.pop();
    }
    events
}

impl Event {
    /// `root:(x,y)`.
    pub fn root(&self) -> (i32, i32) {
        let rest = self.body.split("root:(").nth(1).expect("root position");
        let (pos, _) = rest.split_once(')').expect("closing paren");
        let (x, y) = pos.split_once(',').expect("comma");
        (x.trim().parse().unwrap(), y.trim().parse().unwrap())
    }

    /// `button N`.
    pub fn button(&self) -> u32 {
        let rest = self.body.split("button ").nth(1).expect("button");
        rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    }

    /// The modifier and button mask, `state 0x101`: Shift 0x1, Control 0x4, Button1 0x100.
    pub fn state(&self) -> u32 {
        let rest = self.body.split("state 0x").nth(1).expect("state");
        u32::from_str_radix(rest.split(|c: char| !c.is_ascii_hexdigit()).next().unwrap(), 16).unwrap()
    }

    /// The keysym name in `(keysym 0xff0d, Return)`.
    pub fn keysym_name(&self) -> String {
        let rest = self.body.split("(keysym ").nth(1).expect("keysym");
        let (_, name) = rest.split_once(", ").expect("keysym name");
        name.split(')').next().unwrap().to_string()
    }

    /// The text a real Xlib client reads for a key press (`XmbLookupString gives 2 bytes: (c3 a9)`).
    pub fn text(&self) -> Vec<u8> {
        let Some(rest) = self.body.split("XmbLookupString gives ").nth(1) else { return Vec::new() };
        let Some(hex) = rest.split_once('(').and_then(|(_, r)| r.split_once(')')).map(|(h, _)| h) else {
            return Vec::new();
        };
        hex.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }
}

/// Everything typed into xev so far, as its Xlib input method decoded it.
pub fn typed_text(lines: &[String]) -> String {
    let bytes: Vec<u8> = events(lines).iter().filter(|e| e.kind == "KeyPress").flat_map(|e| e.text()).collect();
    String::from_utf8(bytes).expect("typed text is UTF-8")
}
