//! The actions every provider's tool calls are turned into, and how they are done on the computer:
//! through its agent, with the model's coordinates mapped to screen pixels.

use super::scaling::Scaling;
use crate::agent_client::AgentClient;
use corix_proto::actions::{CursorPosition, ExecResult, MouseButton, ScreenshotJson, ScrollDirection};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// A point in the model's coordinates (the scaled screenshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub x: i64,
    pub y: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Screenshot,
    CursorPosition,
    /// `count` 1, 2 or 3 clicks at `at` (the pointer's position when `None`), with `hold` keys held down.
    Click { at: Option<Point>, button: MouseButton, count: u8, hold: Option<String> },
    MouseMove { to: Point },
    /// Press at the first point, move through the others, release at the last.
    Drag { path: Vec<Point> },
    MouseDown { button: MouseButton },
    MouseUp { button: MouseButton },
    Scroll { at: Option<Point>, direction: ScrollDirection, amount: u32, hold: Option<String> },
    Type { text: String },
    /// Agent combinations (`ctrl+l`), pressed in turn.
    Key { combos: Vec<String> },
    HoldKey { combo: String, seconds: f64 },
    Wait { seconds: f64 },
    Bash { command: String },
}

impl Action {
    /// Whether the screen may have changed, so the model should see it again.
    pub fn changes_screen(&self) -> bool {
        !matches!(self, Action::Screenshot | Action::CursorPosition | Action::Bash { .. })
    }
}

/// Longest single `wait` or `hold_key` a model may ask for.
const MAX_WAIT: f64 = 30.0;
/// Time given to the desktop to redraw after an action, before the next screenshot.
const SETTLE: Duration = Duration::from_millis(400);
/// Pause between the points of a drag along a path, so toolkits see the motion.
const PATH_STEP_PAUSE: Duration = Duration::from_millis(20);
const BASH_TIMEOUT_SECONDS: f64 = 120.0;
/// Characters of bash output handed to the model (and kept in the step).
const MAX_OUTPUT_CHARS: usize = 16_000;

/// The computer the loop drives.
#[derive(Clone)]
pub struct Desk {
    pub agents: AgentClient,
    pub address: String,
    pub token: String,
    pub scaling: Scaling,
}

/// A screenshot as the model receives it.
pub struct Shot {
    /// Base64 of the PNG, without a data-URL prefix.
    pub base64: String,
}

impl Shot {
    pub fn data_url(&self) -> String {
        format!("data:image/png;base64,{}", self.base64)
    }
}

impl Desk {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.agents.request(method, &self.address, path, &self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|_| "the computer's agent did not answer".to_string())?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let message = value.get("error").and_then(Value::as_str).unwrap_or("the action failed");
            return Err(message.to_string());
        }
        Ok(value)
    }

    fn screen(&self, point: Point) -> Result<(i32, i32), String> {
        self.scaling.to_screen(point.x, point.y)
    }

    pub async fn screenshot(&self) -> Result<Shot, String> {
        let path = if self.scaling.is_identity() {
            "/screenshot?format=base64".to_string()
        } else {
            format!("/screenshot?format=base64&width={}", self.scaling.model.0)
        };
        let value = self.call(Method::GET, &path, None).await?;
        let shot: ScreenshotJson = serde_json::from_value(value).map_err(|_| "the screenshot could not be read".to_string())?;
        let base64 = shot.image.split_once(',').map(|(_, data)| data.to_string()).unwrap_or(shot.image);
        Ok(Shot { base64 })
    }

    pub async fn settle(&self) {
        tokio::time::sleep(SETTLE).await;
    }

    /// The screen point for `at`, or where the pointer is when the model gave none.
    async fn point_or_cursor(&self, at: Option<Point>) -> Result<(i32, i32), String> {
        match at {
            Some(point) => self.screen(point),
            None => self.cursor().await.map(|c| (c.x, c.y)),
        }
    }

    async fn cursor(&self) -> Result<CursorPosition, String> {
        let value = self.call(Method::GET, "/cursor", None).await?;
        serde_json::from_value(value).map_err(|_| "the cursor position could not be read".to_string())
    }

    async fn exec(&self, command: &str, timeout: f64) -> Result<ExecResult, String> {
        let value = self.call(Method::POST, "/bash", Some(json!({ "command": command, "timeout": timeout }))).await?;
        serde_json::from_value(value).map_err(|_| "the command's result could not be read".to_string())
    }

    /// Does `action`; the answer is the text the model gets back.
    pub async fn perform(&self, action: &Action) -> Result<String, String> {
        match action {
            Action::Screenshot => Ok("screenshot taken".into()),
            Action::CursorPosition => {
                let cursor = self.cursor().await?;
                let (x, y) = self.scaling.to_model(cursor.x, cursor.y);
                Ok(format!("X={x},Y={y}"))
            }
            Action::Click { at, button, count, hold } => {
                let (x, y) = self.point_or_cursor(*at).await?;
                let body = json!({ "x": x, "y": y, "button": button, "clicks": count, "hold_keys": hold });
                self.call(Method::POST, "/click", Some(body)).await?;
                Ok("done".into())
            }
            Action::MouseMove { to } => {
                let (x, y) = self.screen(*to)?;
                self.call(Method::POST, "/move", Some(json!({ "x": x, "y": y }))).await?;
                Ok("done".into())
            }
            Action::Drag { path } => {
                let points = path.iter().map(|p| self.screen(*p)).collect::<Result<Vec<_>, _>>()?;
                match points[..] {
                    [] | [_] => return Err("a drag needs a start and an end".into()),
                    [(sx, sy), (ex, ey)] => {
                        let body = json!({ "start_x": sx, "start_y": sy, "end_x": ex, "end_y": ey });
                        self.call(Method::POST, "/drag", Some(body)).await?;
                    }
                    [(sx, sy), ref rest @ ..] => {
                        self.call(Method::POST, "/mouse_down", Some(json!({ "x": sx, "y": sy }))).await?;
                        let mut moved = Ok(Value::Null);
                        for (x, y) in rest {
                            tokio::time::sleep(PATH_STEP_PAUSE).await;
                            moved = self.call(Method::POST, "/move", Some(json!({ "x": x, "y": y }))).await;
                            if moved.is_err() {
                                break;
                            }
                        }
                        // Released even when a move failed, so the button is not left down.
                        self.call(Method::POST, "/mouse_up", Some(json!({}))).await?;
                        moved?;
                    }
                }
                Ok("done".into())
            }
            Action::MouseDown { button } => {
                self.call(Method::POST, "/mouse_down", Some(json!({ "button": button }))).await?;
                Ok("done".into())
            }
            Action::MouseUp { button } => {
                self.call(Method::POST, "/mouse_up", Some(json!({ "button": button }))).await?;
                Ok("done".into())
            }
            Action::Scroll { at, direction, amount, hold } => {
                let (x, y) = self.point_or_cursor(*at).await?;
                let body = json!({ "x": x, "y": y, "direction": direction, "amount": (*amount).clamp(1, 50), "hold_keys": hold });
                self.call(Method::POST, "/scroll", Some(body)).await?;
                Ok("done".into())
            }
            Action::Type { text } => {
                self.call(Method::POST, "/type", Some(json!({ "text": text }))).await?;
                Ok("done".into())
            }
            Action::Key { combos } => {
                if combos.is_empty() {
                    return Err("no key given".into());
                }
                for combo in combos {
                    self.call(Method::POST, "/key", Some(json!({ "key": combo }))).await?;
                }
                Ok("done".into())
            }
            Action::HoldKey { combo, seconds } => {
                let body = json!({ "key": combo, "duration": check_seconds(*seconds)? });
                self.call(Method::POST, "/hold_key", Some(body)).await?;
                Ok("done".into())
            }
            Action::Wait { seconds } => {
                tokio::time::sleep(Duration::from_secs_f64(check_seconds(*seconds)?)).await;
                Ok("done".into())
            }
            Action::Bash { command } => {
                let result = self.exec(command, BASH_TIMEOUT_SECONDS).await?;
                let mut text = result.stdout;
                if !result.stderr.is_empty() {
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text += &result.stderr;
                }
                if result.timed_out {
                    text += &format!("\n(timed out after {BASH_TIMEOUT_SECONDS} seconds)");
                }
                if result.exit_code != 0 {
                    text += &format!("\n(exit code {})", result.exit_code);
                }
                Ok(truncate(text))
            }
        }
    }
}

fn check_seconds(seconds: f64) -> Result<f64, String> {
    if !seconds.is_finite() || !(0.0..=MAX_WAIT).contains(&seconds) {
        return Err(format!("duration must be 0 to {MAX_WAIT} seconds"));
    }
    Ok(seconds)
}

fn truncate(mut text: String) -> String {
    if text.chars().count() > MAX_OUTPUT_CHARS {
        text = text.chars().take(MAX_OUTPUT_CHARS).collect::<String>() + "\n(output truncated)";
    }
    text
}
