//! Anthropic Messages API with the computer-use tools: `computer_20250124` (beta header
//! `computer-use-2025-01-24`) and `bash_20250124`.
//!
//! `POST {ANTHROPIC_BASE_URL}/v1/messages` with `x-api-key`, `anthropic-version: 2023-06-01` and
//! `anthropic-beta: computer-use-2025-01-24`. Each `tool_use` block is done in order and answered
//! with a `tool_result` (text, and the screenshot after actions that change the screen); an answer
//! without `tool_use` ends the loop.

use super::actions::{Action, Point};
use super::keys::xdotool_combos;
use super::{CallResult, Endpoint, ToolCall, Turn};
use corix_proto::actions::{MouseButton, ScrollDirection};
use corix_proto::prompt::PromptUsage;
use serde_json::{json, Value};

pub const API_VERSION: &str = "2023-06-01";
pub const BETA: &str = "computer-use-2025-01-24";
pub const COMPUTER_TOOL: &str = "computer_20250124";
pub const BASH_TOOL: &str = "bash_20250124";
const MAX_TOKENS: u32 = 4096;

pub struct Anthropic {
    model: String,
    system: String,
    tools: Value,
    messages: Vec<Value>,
}

impl Anthropic {
    pub fn new(model: &str, task: &str, system: &str, display: (u32, u32)) -> Self {
        let tools = json!([
            {
                "type": COMPUTER_TOOL,
                "name": "computer",
                "display_width_px": display.0,
                "display_height_px": display.1,
                "display_number": 0,
            },
            { "type": BASH_TOOL, "name": "bash" },
        ]);
        Anthropic {
            model: model.to_string(),
            system: system.to_string(),
            tools,
            messages: vec![json!({ "role": "user", "content": [{ "type": "text", "text": task }] })],
        }
    }

    pub async fn next(&mut self, endpoint: &Endpoint) -> Result<Turn, String> {
        let body = json!({
            "model": self.model,
            "max_tokens": MAX_TOKENS,
            "system": self.system,
            "tools": self.tools,
            "messages": self.messages,
        });
        let headers = [
            ("x-api-key", endpoint.key.as_str()),
            ("anthropic-version", API_VERSION),
            ("anthropic-beta", BETA),
        ];
        let answer = endpoint.post_json("/v1/messages", &headers, &body).await?;
        let content = answer.get("content").and_then(Value::as_array).cloned().ok_or("the model's answer has no `content`")?;
        let mut text = Vec::new();
        let mut calls = Vec::new();
        for block in &content {
            match block.get("type").and_then(Value::as_str) {
                Some("text") => text.extend(block.get("text").and_then(Value::as_str).map(str::to_string)),
                Some("tool_use") => calls.push(tool_call(block)),
                _ => {}
            }
        }
        self.messages.push(json!({ "role": "assistant", "content": content }));
        let usage = &answer["usage"];
        Ok(Turn {
            text: text.join("\n"),
            calls,
            usage: PromptUsage {
                input_tokens: usage["input_tokens"].as_u64().unwrap_or(0)
                    + usage["cache_creation_input_tokens"].as_u64().unwrap_or(0)
                    + usage["cache_read_input_tokens"].as_u64().unwrap_or(0),
                output_tokens: usage["output_tokens"].as_u64().unwrap_or(0),
            },
        })
    }

    pub fn add_results(&mut self, results: &[CallResult]) {
        let blocks: Vec<Value> = results
            .iter()
            .map(|r| {
                let mut content = Vec::new();
                match &r.result {
                    Ok(text) if r.shot.is_none() || r.call.action != Ok(Action::Screenshot) => {
                        content.push(json!({ "type": "text", "text": text }))
                    }
                    Ok(_) => {}
                    Err(error) => content.push(json!({ "type": "text", "text": error })),
                }
                if let Some(shot) = &r.shot {
                    content.push(json!({
                        "type": "image",
                        "source": { "type": "base64", "media_type": "image/png", "data": shot.base64 },
                    }));
                }
                let mut block = json!({ "type": "tool_result", "tool_use_id": r.call.id, "content": content });
                if r.result.is_err() {
                    block["is_error"] = json!(true);
                }
                block
            })
            .collect();
        self.messages.push(json!({ "role": "user", "content": blocks }));
    }

    /// Keeps the images of the last `keep` screenshots; older ones become a short note.
    pub fn prune(&mut self, keep: usize) {
        let mut seen = 0;
        for message in self.messages.iter_mut().rev() {
            let Some(blocks) = message.get_mut("content").and_then(Value::as_array_mut) else { continue };
            for block in blocks.iter_mut().rev() {
                let Some(content) = block.get_mut("content").and_then(Value::as_array_mut) else { continue };
                for item in content.iter_mut().rev() {
                    if item.get("type").and_then(Value::as_str) == Some("image") {
                        seen += 1;
                        if seen > keep {
                            *item = json!({ "type": "text", "text": super::PRUNED_SCREENSHOT });
                        }
                    }
                }
            }
        }
    }
}

fn tool_call(block: &Value) -> ToolCall {
    let id = block.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let tool = block.get("name").and_then(Value::as_str).unwrap_or_default();
    let input = block.get("input").cloned().unwrap_or(Value::Null);
    let (name, action) = match tool {
        "computer" => {
            let name = input.get("action").and_then(Value::as_str).unwrap_or("computer").to_string();
            (name, computer_action(&input))
        }
        "bash" => ("bash".to_string(), bash_action(&input)),
        other => (other.to_string(), Err(format!("unknown tool {other:?}; the tools are `computer` and `bash`"))),
    };
    ToolCall { id, name, arguments: input, action, safety_checks: Vec::new() }
}

fn bash_action(input: &Value) -> Result<Action, String> {
    if input.get("restart").and_then(Value::as_bool) == Some(true) {
        // Each command runs in a fresh shell, so there is nothing to restart.
        return Ok(Action::Bash { command: "true".into() });
    }
    let command = input.get("command").and_then(Value::as_str).ok_or("bash needs `command`")?;
    Ok(Action::Bash { command: command.to_string() })
}

fn coordinate(input: &Value, field: &str) -> Result<Option<Point>, String> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(pair)) if pair.len() == 2 => {
            let number = |v: &Value| v.as_i64().or_else(|| v.as_f64().map(|f| f.round() as i64));
            match (number(&pair[0]), number(&pair[1])) {
                (Some(x), Some(y)) => Ok(Some(Point { x, y })),
                _ => Err(format!("`{field}` must be two integers [x, y]")),
            }
        }
        Some(_) => Err(format!("`{field}` must be two integers [x, y]")),
    }
}

fn required_coordinate(input: &Value, field: &str, action: &str) -> Result<Point, String> {
    coordinate(input, field)?.ok_or_else(|| format!("{action} needs `{field}`"))
}

fn text<'a>(input: &'a Value, action: &str) -> Result<&'a str, String> {
    input.get("text").and_then(Value::as_str).ok_or_else(|| format!("{action} needs `text`"))
}

/// Keys held during a click or scroll (`text`: `shift`, `ctrl+alt`).
fn held(input: &Value) -> Result<Option<String>, String> {
    match input.get("text").and_then(Value::as_str).filter(|t| !t.trim().is_empty()) {
        None => Ok(None),
        Some(keys) => Ok(Some(xdotool_combos(keys).join("+"))),
    }
}

fn duration(input: &Value, action: &str) -> Result<f64, String> {
    input.get("duration").and_then(Value::as_f64).ok_or_else(|| format!("{action} needs `duration` in seconds"))
}

/// One `computer` tool call of the `computer_20250124` action set.
pub fn computer_action(input: &Value) -> Result<Action, String> {
    let action = input.get("action").and_then(Value::as_str).ok_or("the computer tool needs `action`")?;
    let click = |button, count| -> Result<Action, String> {
        Ok(Action::Click { at: coordinate(input, "coordinate")?, button, count, hold: held(input)? })
    };
    match action {
        "screenshot" => Ok(Action::Screenshot),
        "cursor_position" => Ok(Action::CursorPosition),
        "left_click" => click(MouseButton::Left, 1),
        "right_click" => click(MouseButton::Right, 1),
        "middle_click" => click(MouseButton::Middle, 1),
        "double_click" => click(MouseButton::Left, 2),
        "triple_click" => click(MouseButton::Left, 3),
        "mouse_move" => Ok(Action::MouseMove { to: required_coordinate(input, "coordinate", action)? }),
        "left_click_drag" => {
            let start = required_coordinate(input, "start_coordinate", action)?;
            let end = required_coordinate(input, "coordinate", action)?;
            Ok(Action::Drag { path: vec![start, end] })
        }
        "left_mouse_down" => Ok(Action::MouseDown { button: MouseButton::Left }),
        "left_mouse_up" => Ok(Action::MouseUp { button: MouseButton::Left }),
        "type" => Ok(Action::Type { text: text(input, action)?.to_string() }),
        "key" => Ok(Action::Key { combos: xdotool_combos(text(input, action)?) }),
        "hold_key" => {
            Ok(Action::HoldKey { combo: xdotool_combos(text(input, action)?).join("+"), seconds: duration(input, action)? })
        }
        "wait" => Ok(Action::Wait { seconds: duration(input, action)? }),
        "scroll" => {
            let direction = match input.get("scroll_direction").and_then(Value::as_str) {
                Some("up") => ScrollDirection::Up,
                Some("down") => ScrollDirection::Down,
                Some("left") => ScrollDirection::Left,
                Some("right") => ScrollDirection::Right,
                _ => return Err("scroll needs `scroll_direction`: up, down, left or right".into()),
            };
            let amount = input.get("scroll_amount").and_then(Value::as_u64).unwrap_or(3) as u32;
            Ok(Action::Scroll { at: coordinate(input, "coordinate")?, direction, amount, hold: held(input)? })
        }
        other => Err(format!("unknown action {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_set_parses() {
        assert_eq!(
            computer_action(&json!({ "action": "left_click", "coordinate": [10, 20] })),
            Ok(Action::Click { at: Some(Point { x: 10, y: 20 }), button: MouseButton::Left, count: 1, hold: None })
        );
        assert_eq!(
            computer_action(&json!({ "action": "triple_click", "coordinate": [1, 2], "text": "shift" })),
            Ok(Action::Click { at: Some(Point { x: 1, y: 2 }), button: MouseButton::Left, count: 3, hold: Some("shift".into()) })
        );
        assert_eq!(computer_action(&json!({ "action": "key", "text": "ctrl+alt+t" })), Ok(Action::Key { combos: vec!["ctrl+alt+t".into()] }));
        assert_eq!(
            computer_action(&json!({ "action": "left_click_drag", "start_coordinate": [1, 2], "coordinate": [3, 4] })),
            Ok(Action::Drag { path: vec![Point { x: 1, y: 2 }, Point { x: 3, y: 4 }] })
        );
        assert_eq!(
            computer_action(&json!({ "action": "hold_key", "text": "shift", "duration": 1 })),
            Ok(Action::HoldKey { combo: "shift".into(), seconds: 1.0 })
        );
        assert!(computer_action(&json!({ "action": "hold_key", "text": "shift" })).unwrap_err().contains("duration"));
        assert!(computer_action(&json!({ "action": "mouse_move" })).unwrap_err().contains("coordinate"));
        assert!(computer_action(&json!({ "action": "fly" })).unwrap_err().contains("fly"));
        assert!(computer_action(&json!({ "action": "left_click", "coordinate": "here" })).is_err());
    }
}
