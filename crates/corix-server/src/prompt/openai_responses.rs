//! OpenAI Responses API with the `computer_use_preview` tool.
//!
//! `POST {OPENAI_BASE_URL}/responses` with `Authorization: Bearer`. Each `computer_call` is done
//! and answered with a `computer_call_output` holding a screenshot, its `pending_safety_checks`
//! acknowledged; later turns chain with `previous_response_id` (the provider keeps the context and
//! truncates it with `truncation: "auto"`). An answer without `computer_call` ends the loop.

use super::actions::{Action, Point};
use super::keys::keypress_combo;
use super::{CallResult, Endpoint, ToolCall, Turn};
use corix_proto::actions::{MouseButton, ScrollDirection};
use corix_proto::prompt::PromptUsage;
use serde_json::{json, Value};

pub const TOOL: &str = "computer_use_preview";
/// Pixels of `scroll_x`/`scroll_y` per wheel click.
const PIXELS_PER_WHEEL_CLICK: i64 = 100;

pub struct Responses {
    model: String,
    instructions: String,
    tools: Value,
    previous: Option<String>,
    /// The next request's `input`.
    input: Vec<Value>,
}

impl Responses {
    pub fn new(model: &str, task: &str, system: &str, display: (u32, u32)) -> Self {
        Responses {
            model: model.to_string(),
            instructions: system.to_string(),
            tools: json!([{
                "type": TOOL,
                "display_width": display.0,
                "display_height": display.1,
                "environment": "linux",
            }]),
            previous: None,
            input: vec![json!({ "role": "user", "content": [{ "type": "input_text", "text": task }] })],
        }
    }

    pub async fn next(&mut self, endpoint: &Endpoint) -> Result<Turn, String> {
        let mut body = json!({
            "model": self.model,
            "instructions": self.instructions,
            "tools": self.tools,
            "input": self.input,
            "truncation": "auto",
        });
        if let Some(previous) = &self.previous {
            body["previous_response_id"] = json!(previous);
        }
        let authorization = format!("Bearer {}", endpoint.key);
        let answer = endpoint.post_json("/responses", &[("authorization", authorization.as_str())], &body).await?;
        self.previous = answer.get("id").and_then(Value::as_str).map(str::to_string);
        self.input.clear();
        let output = answer.get("output").and_then(Value::as_array).cloned().ok_or("the model's answer has no `output`")?;
        let mut text = Vec::new();
        let mut calls = Vec::new();
        for item in &output {
            match item.get("type").and_then(Value::as_str) {
                Some("message") => {
                    for part in item.get("content").and_then(Value::as_array).into_iter().flatten() {
                        if part.get("type").and_then(Value::as_str) == Some("output_text") {
                            text.extend(part.get("text").and_then(Value::as_str).map(str::to_string));
                        }
                    }
                }
                Some("computer_call") => calls.push(tool_call(item)),
                _ => {}
            }
        }
        let usage = &answer["usage"];
        Ok(Turn {
            text: text.join("\n"),
            calls,
            usage: PromptUsage {
                input_tokens: usage["input_tokens"].as_u64().unwrap_or(0),
                output_tokens: usage["output_tokens"].as_u64().unwrap_or(0),
            },
        })
    }

    /// A screenshot goes back for every call, failed or not (the API requires one).
    pub fn add_results(&mut self, results: &[CallResult]) {
        for r in results {
            let mut item = json!({
                "type": "computer_call_output",
                "call_id": r.call.id,
                "output": {
                    "type": "input_image",
                    "image_url": r.shot.as_ref().map(|s| s.data_url()).unwrap_or_default(),
                },
            });
            if !r.call.safety_checks.is_empty() {
                item["acknowledged_safety_checks"] = Value::Array(r.call.safety_checks.clone());
            }
            self.input.push(item);
            if let Err(error) = &r.result {
                // The output has room for an image only: tell the model in words what failed.
                self.input.push(json!({
                    "role": "user",
                    "content": [{ "type": "input_text", "text": format!("The {} action failed: {error}", r.call.name) }],
                }));
            }
        }
    }
}

fn tool_call(item: &Value) -> ToolCall {
    let id = item.get("call_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let arguments = item.get("action").cloned().unwrap_or(Value::Null);
    let name = arguments.get("type").and_then(Value::as_str).unwrap_or("computer_call").to_string();
    let safety_checks = item.get("pending_safety_checks").and_then(Value::as_array).cloned().unwrap_or_default();
    ToolCall { id, name, action: action(&arguments), arguments, safety_checks }
}

fn point(action: &Value, kind: &str) -> Result<Point, String> {
    let number = |field: &str| action.get(field).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f.round() as i64)));
    match (number("x"), number("y")) {
        (Some(x), Some(y)) => Ok(Point { x, y }),
        _ => Err(format!("{kind} needs integer `x` and `y`")),
    }
}

/// One `computer_call` action.
pub fn action(action: &Value) -> Result<Action, String> {
    let kind = action.get("type").and_then(Value::as_str).ok_or("the action needs `type`")?;
    match kind {
        "screenshot" => Ok(Action::Screenshot),
        "click" => {
            let at = point(action, kind)?;
            let button = match action.get("button").and_then(Value::as_str).unwrap_or("left") {
                "left" => MouseButton::Left,
                "right" => MouseButton::Right,
                "wheel" | "middle" => MouseButton::Middle,
                other => return Err(format!("unsupported button {other:?}")),
            };
            Ok(Action::Click { at: Some(at), button, count: 1, hold: None })
        }
        "double_click" => Ok(Action::Click { at: Some(point(action, kind)?), button: MouseButton::Left, count: 2, hold: None }),
        "move" => Ok(Action::MouseMove { to: point(action, kind)? }),
        "drag" => {
            let path = action.get("path").and_then(Value::as_array).ok_or("drag needs `path`")?;
            let path = path.iter().map(|p| point(p, kind)).collect::<Result<Vec<_>, _>>()?;
            if path.len() < 2 {
                return Err("drag needs at least two points in `path`".into());
            }
            Ok(Action::Drag { path })
        }
        "scroll" => {
            let at = point(action, kind)?;
            let sx = action.get("scroll_x").and_then(Value::as_i64).unwrap_or(0);
            let sy = action.get("scroll_y").and_then(Value::as_i64).unwrap_or(0);
            let (direction, pixels) = if sy.abs() >= sx.abs() {
                (if sy < 0 { ScrollDirection::Up } else { ScrollDirection::Down }, sy.abs())
            } else {
                (if sx < 0 { ScrollDirection::Left } else { ScrollDirection::Right }, sx.abs())
            };
            let amount = ((pixels + PIXELS_PER_WHEEL_CLICK - 1) / PIXELS_PER_WHEEL_CLICK).max(1) as u32;
            Ok(Action::Scroll { at: Some(at), direction, amount, hold: None })
        }
        "type" => {
            let text = action.get("text").and_then(Value::as_str).ok_or("type needs `text`")?;
            Ok(Action::Type { text: text.to_string() })
        }
        "keypress" => {
            let keys = action.get("keys").and_then(Value::as_array).ok_or("keypress needs `keys`")?;
            let keys = keys.iter().map(|k| k.as_str().map(str::to_string)).collect::<Option<Vec<_>>>().ok_or("`keys` must be strings")?;
            if keys.is_empty() {
                return Err("keypress needs at least one key".into());
            }
            Ok(Action::Key { combos: vec![keypress_combo(&keys)] })
        }
        "wait" => Ok(Action::Wait { seconds: action.get("ms").and_then(Value::as_f64).map(|ms| ms / 1000.0).unwrap_or(1.0) }),
        other => Err(format!("unknown action {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_set_parses() {
        assert_eq!(
            action(&json!({ "type": "click", "x": 5, "y": 6, "button": "right" })),
            Ok(Action::Click { at: Some(Point { x: 5, y: 6 }), button: MouseButton::Right, count: 1, hold: None })
        );
        assert_eq!(action(&json!({ "type": "keypress", "keys": ["CTRL", "ALT", "T"] })), Ok(Action::Key { combos: vec!["ctrl+alt+t".into()] }));
        assert_eq!(
            action(&json!({ "type": "scroll", "x": 1, "y": 2, "scroll_x": 0, "scroll_y": -250 })),
            Ok(Action::Scroll { at: Some(Point { x: 1, y: 2 }), direction: ScrollDirection::Up, amount: 3, hold: None })
        );
        assert_eq!(
            action(&json!({ "type": "drag", "path": [{ "x": 1, "y": 2 }, { "x": 3, "y": 4 }, { "x": 5, "y": 6 }] })),
            Ok(Action::Drag { path: vec![Point { x: 1, y: 2 }, Point { x: 3, y: 4 }, Point { x: 5, y: 6 }] })
        );
        assert_eq!(action(&json!({ "type": "wait" })), Ok(Action::Wait { seconds: 1.0 }));
        assert!(action(&json!({ "type": "click", "x": "a" })).is_err());
    }
}
