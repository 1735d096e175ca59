//! `POST /v1/computers/:id/prompt`: the see-decide-act loop, run by the control plane next to the
//! computer. The body names a model and a task; the answer (or the last event of the stream) is a
//! [`PromptResult`].

use serde::{Deserialize, Serialize};

/// Which wire format the loop speaks to the model.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ModelProvider {
    /// Anthropic Messages API with the `computer_20250124` and `bash_20250124` tools (`claude-*` models).
    Anthropic,
    /// OpenAI Responses API with the `computer_use_preview` tool (`computer-use-preview*` models).
    OpenaiResponses,
    /// Any OpenAI-compatible `/chat/completions` endpoint with vision and function calling (vLLM, Ollama, ...).
    OpenaiChat,
}

impl ModelProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelProvider::Anthropic => "anthropic",
            ModelProvider::OpenaiResponses => "openai_responses",
            ModelProvider::OpenaiChat => "openai_chat",
        }
    }

    /// The provider a model name implies, if any.
    pub fn for_model(model: &str) -> Option<ModelProvider> {
        let model = model.to_ascii_lowercase();
        if model.starts_with("claude") {
            Some(ModelProvider::Anthropic)
        } else if model.starts_with("computer-use") {
            Some(ModelProvider::OpenaiResponses)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PromptRequest {
    /// The model, e.g. `claude-sonnet-4-5`, `computer-use-preview`, or any model of an OpenAI-compatible
    /// server with `provider: "openai_chat"`.
    pub model: String,
    /// What to do, in plain words.
    pub task: String,
    /// Model turns before the loop stops with `max_steps` (default 50, at most 500).
    #[serde(default)]
    pub max_steps: Option<u32>,
    /// Replaces the default system prompt.
    #[serde(default)]
    pub system: Option<String>,
    /// The wire format; by default chosen from the model name (`claude-*`: `anthropic`,
    /// `computer-use-*`: `openai_responses`).
    #[serde(default)]
    pub provider: Option<ModelProvider>,
}

pub const DEFAULT_MAX_STEPS: u32 = 50;
pub const MAX_MAX_STEPS: u32 = 500;

/// Why the loop ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model answered without asking for an action.
    Done,
    /// `max_steps` model turns were used.
    MaxSteps,
    /// The provider failed (after retries), or the wall-clock limit passed; see `error`.
    Error,
    /// `DELETE .../prompt`, or the client closed the stream.
    Cancelled,
}

/// One action the model asked for, as the loop performed it. Coordinates are the model's (in the
/// scaled screenshot it saw).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptStep {
    /// 0, 1, 2, ... in the order performed.
    pub index: usize,
    /// The action's name in the provider's vocabulary (`left_click`, `key`, `bash`, `click`, ...).
    pub action: String,
    /// The action's arguments as the model sent them.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub arguments: serde_json::Value,
    /// What the action gave back in words (`"done"`, the command's output, the cursor position);
    /// a screenshot, when one was taken, went to the model only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Why the action failed; the model was told the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptResult {
    /// The model's final text.
    pub output: String,
    pub steps: Vec<PromptStep>,
    pub stop_reason: StopReason,
    /// Tokens over all model turns.
    pub usage: PromptUsage,
    /// With `stop_reason: error`, what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `DELETE .../prompt`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptCancelled {
    pub cancelled: bool,
}
