//! Any OpenAI-compatible chat-completions endpoint with vision and function calling (vLLM, Ollama,
//! LM Studio, OpenAI itself).
//!
//! `POST {OPENAI_BASE_URL}/chat/completions` with `Authorization: Bearer` and two functions, whose
//! schema is [`tools`]:
//!
//! - `computer(action, x?, y?, to_x?, to_y?, text?, button?, direction?, amount?, seconds?)`, with
//!   `action` one of `screenshot`, `click`, `double_click`, `triple_click`, `right_click`,
//!   `middle_click`, `mouse_move`, `drag` (from x,y to to_x,to_y), `mouse_down`, `mouse_up`,
//!   `scroll` (`direction`, `amount` wheel clicks), `type` (`text`), `key` (`text`: an xdotool-style
//!   combination like `ctrl+l` or `Return`), `hold_key` (`text`, `seconds`), `wait` (`seconds`),
//!   `cursor_position`;
//! - `bash(command)`.
//!
//! Each call is answered with a `tool` message (text); since tool messages carry no images on most
//! servers, the screenshot after the calls follows as a `user` message with an `image_url`. An
//! answer without `tool_calls` ends the loop.

use super::actions::{Action, Point};
use super::keys::xdotool_combos;
use super::{CallResult, Endpoint, ToolCall, Turn};
use corix_proto::actions::{MouseButton, ScrollDirection};
use corix_proto::prompt::PromptUsage;
use serde_json::{json, Value};

const ACTIONS: &[&str] = &[
    "screenshot",
    "click",
    "double_click",
    "triple_click",
    "right_click",
    "middle_click",
    "mouse_move",
    "drag",
    "mouse_down",
    "mouse_up",
    "scroll",
    "type",
    "key",
    "hold_key",
    "wait",
    "cursor_position",
];

/// The function schema offered to the model.
pub fn tools(display: (u32, u32)) -> Value {
    let (w, h) = display;
    json!([
        {
            "type": "function",
            "function": {
                "name": "computer",
                "description": format!(
                    "Use the mouse and keyboard of a Linux desktop (XFCE) and take screenshots. The screen is {w}x{h} pixels; \
                     coordinates are pixels in the screenshots, from the top left corner. After actions that change the \
                     screen, a new screenshot follows."
                ),
                "parameters": {
                    "type": "object",
                    "properties": {
                        "action": { "type": "string", "enum": ACTIONS, "description": "What to do." },
                        "x": { "type": "integer", "description": "Pixel column: click, double_click, triple_click, right_click, middle_click, mouse_move, scroll (optional, else at the pointer), drag start." },
                        "y": { "type": "integer", "description": "Pixel row, with x." },
                        "to_x": { "type": "integer", "description": "drag: the end's column." },
                        "to_y": { "type": "integer", "description": "drag: the end's row." },
                        "text": { "type": "string", "description": "type: the text. key and hold_key: an xdotool-style key or combination, e.g. `Return`, `ctrl+l`, `ctrl+alt+t`." },
                        "button": { "type": "string", "enum": ["left", "right", "middle"], "description": "mouse_down and mouse_up: the button (default left)." },
                        "direction": { "type": "string", "enum": ["up", "down", "left", "right"], "description": "scroll: the direction." },
                        "amount": { "type": "integer", "description": "scroll: wheel clicks (default 3)." },
                        "seconds": { "type": "number", "description": "wait and hold_key: seconds, at most 30." }
                    },
                    "required": ["action"]
                }
            }
        },
        {
            "type": "function",
            "function": {
                "name": "bash",
                "description": "Run a bash command in the computer (as root, in a fresh shell) and get its output and exit code.",
                "parameters": {
                    "type": "object",
                    "properties": { "command": { "type": "string", "description": "The command." } },
                    "required": ["command"]
                }
            }
        }
    ])
}

pub struct Chat {
    model: String,
    tools: Value,
    messages: Vec<Value>,
}

impl Chat {
    pub fn new(model: &str, task: &str, system: &str, display: (u32, u32)) -> Self {
        Chat {
            model: model.to_string(),
            tools: tools(display),
            messages: vec![json!({ "role": "system", "content": system }), json!({ "role": "user", "content": task })],
        }
    }

    pub async fn next(&mut self, endpoint: &Endpoint) -> Result<Turn, String> {
        let body = json!({ "model": self.model, "messages": self.messages, "tools": self.tools, "tool_choice": "auto" });
        let authorization = format!("Bearer {}", endpoint.key);
        let answer = endpoint.post_json("/chat/completions", &[("authorization", authorization.as_str())], &body).await?;
        let message = answer
            .get("choices")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("message"))
            .cloned()
            .ok_or("the model's answer has no `choices[0].message`")?;
        let text = message.get("content").and_then(Value::as_str).unwrap_or_default().to_string();
        let calls: Vec<ToolCall> = message.get("tool_calls").and_then(Value::as_array).into_iter().flatten().map(tool_call).collect();
        let mut kept = json!({ "role": "assistant", "content": message.get("content").cloned().unwrap_or(Value::Null) });
        if let Some(tool_calls) = message.get("tool_calls").filter(|c| c.as_array().is_some_and(|a| !a.is_empty())) {
            kept["tool_calls"] = tool_calls.clone();
        }
        self.messages.push(kept);
        let usage = &answer["usage"];
        Ok(Turn {
            text,
            calls,
            usage: PromptUsage {
                input_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
                output_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
            },
        })
    }

    pub fn add_results(&mut self, results: &[CallResult]) {
        for r in results {
            let content = match &r.result {
                Ok(text) => text.clone(),
                Err(error) => format!("error: {error}"),
            };
            self.messages.push(json!({ "role": "tool", "tool_call_id": r.call.id, "content": content }));
        }
        if let Some(shot) = results.iter().rev().find_map(|r| r.shot.as_ref()) {
            self.messages.push(json!({
                "role": "user",
                "content": [
                    { "type": "text", "text": "The screen now:" },
                    { "type": "image_url", "image_url": { "url": shot.data_url() } },
                ],
            }));
        }
    }

    /// Keeps the images of the last `keep` screenshots; older ones become a short note.
    pub fn prune(&mut self, keep: usize) {
        let mut seen = 0;
        for message in self.messages.iter_mut().rev() {
            let Some(parts) = message.get_mut("content").and_then(Value::as_array_mut) else { continue };
            for part in parts.iter_mut().rev() {
                if part.get("type").and_then(Value::as_str) == Some("image_url") {
                    seen += 1;
                    if seen > keep {
                        *part = json!({ "type": "text", "text": super::PRUNED_SCREENSHOT });
                    }
                }
            }
        }
    }
}

fn tool_call(call: &Value) -> ToolCall {
    let id = call.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let function = call.get("function").cloned().unwrap_or(Value::Null);
    let tool = function.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let raw = function.get("arguments").cloned().unwrap_or(Value::Null);
    // `arguments` is a JSON string by the spec; some servers send an object.
    let arguments = match &raw {
        Value::String(s) => serde_json::from_str::<Value>(s).map_err(|e| format!("the arguments are not valid JSON: {e}")),
        Value::Object(_) => Ok(raw.clone()),
        _ => Err("the call has no arguments".to_string()),
    };
    let (name, action, arguments) = match arguments {
        Err(error) => (tool.clone(), Err(error), raw),
        Ok(args) => match tool.as_str() {
            "computer" => {
                let name = args.get("action").and_then(Value::as_str).unwrap_or("computer").to_string();
                (name, computer_action(&args), args)
            }
            "bash" => {
                let action = args
                    .get("command")
                    .and_then(Value::as_str)
                    .map(|c| Action::Bash { command: c.to_string() })
                    .ok_or_else(|| "bash needs `command`".to_string());
                ("bash".to_string(), action, args)
            }
            other => (other.to_string(), Err(format!("unknown function {other:?}; the functions are `computer` and `bash`")), args),
        },
    };
    ToolCall { id, name, arguments, action, safety_checks: Vec::new() }
}

fn optional_point(args: &Value, x: &str, y: &str) -> Result<Option<Point>, String> {
    let number = |field: &str| args.get(field).filter(|v| !v.is_null()).map(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f.round() as i64)));
    match (number(x), number(y)) {
        (None, None) => Ok(None),
        (Some(Some(x)), Some(Some(y))) => Ok(Some(Point { x, y })),
        _ => Err(format!("`{x}` and `{y}` must both be integers")),
    }
}

fn point(args: &Value, x: &str, y: &str, action: &str) -> Result<Point, String> {
    optional_point(args, x, y)?.ok_or_else(|| format!("{action} needs `{x}` and `{y}`"))
}

fn text<'a>(args: &'a Value, action: &str) -> Result<&'a str, String> {
    args.get("text").and_then(Value::as_str).ok_or_else(|| format!("{action} needs `text`"))
}

fn seconds(args: &Value, action: &str) -> Result<f64, String> {
    args.get("seconds").and_then(Value::as_f64).ok_or_else(|| format!("{action} needs `seconds`"))
}

fn button(args: &Value) -> Result<MouseButton, String> {
    match args.get("button").and_then(Value::as_str).unwrap_or("left") {
        "left" => Ok(MouseButton::Left),
        "right" => Ok(MouseButton::Right),
        "middle" => Ok(MouseButton::Middle),
        other => Err(format!("unknown button {other:?}")),
    }
}

/// One `computer` function call.
pub fn computer_action(args: &Value) -> Result<Action, String> {
    let action = args.get("action").and_then(Value::as_str).ok_or("computer needs `action`")?;
    let click = |button, count| -> Result<Action, String> {
        Ok(Action::Click { at: optional_point(args, "x", "y")?, button, count, hold: None })
    };
    match action {
        "screenshot" => Ok(Action::Screenshot),
        "cursor_position" => Ok(Action::CursorPosition),
        "click" => click(MouseButton::Left, 1),
        "double_click" => click(MouseButton::Left, 2),
        "triple_click" => click(MouseButton::Left, 3),
        "right_click" => click(MouseButton::Right, 1),
        "middle_click" => click(MouseButton::Middle, 1),
        "mouse_move" => Ok(Action::MouseMove { to: point(args, "x", "y", action)? }),
        "drag" => Ok(Action::Drag { path: vec![point(args, "x", "y", action)?, point(args, "to_x", "to_y", action)?] }),
        "mouse_down" => Ok(Action::MouseDown { button: button(args)? }),
        "mouse_up" => Ok(Action::MouseUp { button: button(args)? }),
        "scroll" => {
            let direction = match args.get("direction").and_then(Value::as_str) {
                Some("up") => ScrollDirection::Up,
                Some("down") => ScrollDirection::Down,
                Some("left") => ScrollDirection::Left,
                Some("right") => ScrollDirection::Right,
                _ => return Err("scroll needs `direction`: up, down, left or right".into()),
            };
            let amount = args.get("amount").and_then(Value::as_u64).unwrap_or(3) as u32;
            Ok(Action::Scroll { at: optional_point(args, "x", "y")?, direction, amount, hold: None })
        }
        "type" => Ok(Action::Type { text: text(args, action)?.to_string() }),
        "key" => Ok(Action::Key { combos: xdotool_combos(text(args, action)?) }),
        "hold_key" => {
            Ok(Action::HoldKey { combo: xdotool_combos(text(args, action)?).join("+"), seconds: seconds(args, action)? })
        }
        "wait" => Ok(Action::Wait { seconds: seconds(args, action).unwrap_or(1.0) }),
        other => Err(format!("unknown action {other:?}; the actions are {}", ACTIONS.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_arguments_become_errors() {
        let call = tool_call(&json!({ "id": "c1", "type": "function", "function": { "name": "computer", "arguments": "{not json" } }));
        assert!(call.action.unwrap_err().contains("not valid JSON"));
        let call = tool_call(&json!({ "id": "c2", "type": "function", "function": { "name": "computer", "arguments": "{\"action\":\"click\",\"x\":3,\"y\":4}" } }));
        assert_eq!(call.action, Ok(Action::Click { at: Some(Point { x: 3, y: 4 }), button: MouseButton::Left, count: 1, hold: None }));
        assert_eq!(call.name, "click");
        let call = tool_call(&json!({ "id": "c3", "type": "function", "function": { "name": "launch", "arguments": "{}" } }));
        assert!(call.action.is_err());
    }
}
