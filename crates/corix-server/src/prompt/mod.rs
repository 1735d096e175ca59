//! The agent loop (`POST /v1/computers/:id/prompt`): see (screenshot), decide (the model), act
//! (the computer's agent), repeat, in the control plane next to the computer, so screenshots never
//! travel to the client. One loop at a time per computer ([`Registry`]).
//!
//! Each provider (`anthropic.rs`, `openai_responses.rs`, `openai_chat.rs`) keeps the conversation in
//! its own wire format and turns tool calls into [`actions::Action`]s; `actions.rs` does them on the
//! computer with the model's coordinates mapped through `scaling.rs`; `keys.rs` translates key names.

pub mod actions;
pub mod anthropic;
pub mod keys;
pub mod openai_chat;
pub mod openai_responses;
pub mod scaling;

use actions::{Action, Desk, Shot};
use corix_proto::prompt::{ModelProvider, PromptResult, PromptStep, PromptUsage, StopReason};
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// What an old screenshot becomes once it falls out of the last `max_screenshots`.
pub const PRUNED_SCREENSHOT: &str = "(an older screenshot, removed to save context)";

pub const DEFAULT_SYSTEM: &str = "You are operating a Linux computer with an XFCE desktop, Firefox, a terminal \
(xfce4-terminal), Python, Node.js and git, as root. Look at the screen with screenshots, use the mouse and keyboard, \
and run shell commands when that is quicker. Work step by step and check the screen after each action that changes \
it. When the task is done, answer with a short summary of what you did and what you found, without calling a tool.";

/// A secret that never shows in `Debug` output (and so never in logs).
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The server's prompt settings (`corix serve` reads them from the environment).
#[derive(Debug, Clone)]
pub struct PromptConfig {
    pub anthropic_api_key: Option<Secret>,
    pub openai_api_key: Option<Secret>,
    /// `https://api.anthropic.com`; `/v1/messages` is appended.
    pub anthropic_base_url: String,
    /// `https://api.openai.com/v1`; `/responses` or `/chat/completions` is appended.
    pub openai_base_url: String,
    /// Screenshots kept in the model's context; older ones are replaced by a note.
    pub max_screenshots: usize,
    /// Wall-clock limit of one loop.
    pub timeout: Duration,
}

impl Default for PromptConfig {
    fn default() -> Self {
        PromptConfig {
            anthropic_api_key: None,
            openai_api_key: None,
            anthropic_base_url: "https://api.anthropic.com".into(),
            openai_base_url: "https://api.openai.com/v1".into(),
            max_screenshots: 3,
            timeout: Duration::from_secs(1800),
        }
    }
}

impl PromptConfig {
    pub fn base_url(&self, provider: ModelProvider) -> &str {
        match provider {
            ModelProvider::Anthropic => &self.anthropic_base_url,
            ModelProvider::OpenaiResponses | ModelProvider::OpenaiChat => &self.openai_base_url,
        }
    }

    pub fn api_key(&self, provider: ModelProvider) -> Option<&Secret> {
        match provider {
            ModelProvider::Anthropic => self.anthropic_api_key.as_ref(),
            ModelProvider::OpenaiResponses | ModelProvider::OpenaiChat => self.openai_api_key.as_ref(),
        }
    }
}

/// The running loops, one per computer, each with its cancel switch.
#[derive(Default)]
pub struct Registry {
    running: Mutex<HashMap<String, (u64, watch::Sender<bool>)>>,
    next: std::sync::atomic::AtomicU64,
    pub http: reqwest::Client,
}

/// Holds a computer's place in the [`Registry`]; dropping it frees the place.
pub struct Slot {
    registry: Arc<Registry>,
    computer: String,
    serial: u64,
    pub cancel: watch::Receiver<bool>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.registry.running.lock();
        if running.get(&self.computer).is_some_and(|(serial, _)| *serial == self.serial) {
            running.remove(&self.computer);
        }
    }
}

impl Registry {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .expect("an HTTP client with these settings builds");
        Registry { running: Mutex::default(), next: Default::default(), http }
    }

    /// The computer's place, or `None` when a loop already runs on it.
    pub fn claim(self: &Arc<Self>, computer: &str) -> Option<Slot> {
        let mut running = self.running.lock();
        if running.contains_key(computer) {
            return None;
        }
        let serial = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = watch::channel(false);
        running.insert(computer.to_string(), (serial, tx));
        Some(Slot { registry: self.clone(), computer: computer.to_string(), serial, cancel: rx })
    }

    /// Cancels the computer's loop; `false` when none runs.
    pub fn cancel(&self, computer: &str) -> bool {
        match self.running.lock().get(computer) {
            Some((_, tx)) => {
                let _ = tx.send(true);
                true
            }
            None => false,
        }
    }

    /// A handle that cancels the loop holding `slot` (for a stream the client may close).
    pub fn canceller(&self, slot: &Slot) -> Option<watch::Sender<bool>> {
        self.running.lock().get(&slot.computer).filter(|(s, _)| *s == slot.serial).map(|(_, tx)| tx.clone())
    }
}

/// A provider's HTTP endpoint, with retries of 429 and 5xx.
pub struct Endpoint {
    pub http: reqwest::Client,
    pub base_url: String,
    pub key: String,
}

const RETRIES: u32 = 4;

impl Endpoint {
    /// POSTs `body` as JSON to `base_url + path` and answers the JSON. 429, 5xx and failed
    /// connections are retried with exponential backoff (honouring `Retry-After`). Errors never
    /// contain the key.
    pub async fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Result<Value, String> {
        let url = format!("{}{path}", self.base_url.trim_end_matches('/'));
        let mut attempt = 0;
        loop {
            let mut request = self.http.post(&url).json(body);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let (retry, error, wait) = match request.send().await {
                Err(err) => (true, format!("the model provider could not be reached: {}", without_url(&err)), None),
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return response.json().await.map_err(|e| self.redact(format!("the model's answer is not JSON: {e}")));
                    }
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .map(|s| Duration::from_secs_f64(s.clamp(0.0, 60.0)));
                    let text = response.text().await.unwrap_or_default();
                    let message = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| {
                            v.pointer("/error/message").or_else(|| v.get("error")).or_else(|| v.get("message")).and_then(Value::as_str).map(str::to_string)
                        })
                        .unwrap_or_else(|| text.chars().take(300).collect());
                    let retry = status.as_u16() == 429 || status.is_server_error();
                    (retry, format!("the model provider answered {}: {message}", status.as_u16()), retry_after)
                }
            };
            attempt += 1;
            if !retry || attempt > RETRIES {
                return Err(self.redact(error));
            }
            let backoff = Duration::from_millis(500 * 2u64.pow(attempt - 1));
            tracing::warn!(attempt, "model provider call failed; retrying");
            tokio::time::sleep(wait.unwrap_or(backoff).max(Duration::from_millis(100))).await;
        }
    }

    fn redact(&self, text: String) -> String {
        if self.key.len() >= 4 {
            text.replace(&self.key, "[redacted]")
        } else {
            text
        }
    }
}

/// A transport error and its causes, in words.
fn without_url(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}

/// A tool call of the model, parsed (or not) into an action.
#[derive(Debug, Clone)]
pub struct ToolCall {
    pub id: String,
    /// The action's name in the provider's vocabulary.
    pub name: String,
    pub arguments: Value,
    /// The action, or why the call is malformed (told to the model as a tool error).
    pub action: Result<Action, String>,
    /// OpenAI's `pending_safety_checks`, acknowledged in the answer.
    pub safety_checks: Vec<Value>,
}

/// One answer of the model.
pub struct Turn {
    pub text: String,
    pub calls: Vec<ToolCall>,
    pub usage: PromptUsage,
}

pub struct CallResult {
    pub call: ToolCall,
    pub result: Result<String, String>,
    pub shot: Option<Shot>,
}

enum Conversation {
    Anthropic(anthropic::Anthropic),
    Responses(openai_responses::Responses),
    Chat(openai_chat::Chat),
}

impl Conversation {
    async fn next(&mut self, endpoint: &Endpoint) -> Result<Turn, String> {
        match self {
            Conversation::Anthropic(c) => c.next(endpoint).await,
            Conversation::Responses(c) => c.next(endpoint).await,
            Conversation::Chat(c) => c.next(endpoint).await,
        }
    }

    fn add_results(&mut self, results: &[CallResult], keep_screenshots: usize) {
        match self {
            Conversation::Anthropic(c) => {
                c.add_results(results);
                c.prune(keep_screenshots);
            }
            // The provider keeps the context (`previous_response_id`, `truncation: auto`).
            Conversation::Responses(c) => c.add_results(results),
            Conversation::Chat(c) => {
                c.add_results(results);
                c.prune(keep_screenshots);
            }
        }
    }

    /// Whether every call needs a screenshot in its answer, even one that failed.
    fn screenshot_always(&self) -> bool {
        matches!(self, Conversation::Responses(_))
    }
}

/// Everything one loop needs.
pub struct Job {
    pub provider: ModelProvider,
    pub model: String,
    pub task: String,
    pub system: Option<String>,
    pub max_steps: u32,
    pub max_screenshots: usize,
    pub timeout: Duration,
    pub endpoint: Endpoint,
    pub desk: Desk,
}

/// What the loop reports while it runs.
pub enum Event {
    Step(PromptStep),
}

#[derive(Default)]
struct Progress {
    steps: Vec<PromptStep>,
    usage: PromptUsage,
    output: String,
}

/// Runs the loop to its end: the model is done, `max_steps` turns, an error, the wall-clock limit,
/// or `cancel` turning true. Steps are sent to `events` as they happen.
pub async fn run(job: Job, mut cancel: watch::Receiver<bool>, events: Option<mpsc::UnboundedSender<Event>>) -> PromptResult {
    let mut progress = Progress::default();
    let timeout = job.timeout;
    let outcome = {
        let drive = drive(&job, &mut progress, events.as_ref());
        let cancelled = async {
            loop {
                if *cancel.borrow_and_update() {
                    return;
                }
                if cancel.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            outcome = drive => outcome,
            () = cancelled => Err((StopReason::Cancelled, None)),
            () = tokio::time::sleep(timeout) => {
                Err((StopReason::Error, Some(format!("the loop ran into its wall-clock limit of {} seconds", timeout.as_secs()))))
            }
        }
    };
    let (stop_reason, error) = match outcome {
        Ok(reason) => (reason, None),
        Err((reason, error)) => (reason, error),
    };
    PromptResult { output: progress.output, steps: progress.steps, stop_reason, usage: progress.usage, error }
}

async fn drive(job: &Job, progress: &mut Progress, events: Option<&mpsc::UnboundedSender<Event>>) -> Result<StopReason, (StopReason, Option<String>)> {
    let system = job.system.as_deref().unwrap_or(DEFAULT_SYSTEM);
    let display = job.desk.scaling.model;
    let mut conversation = match job.provider {
        ModelProvider::Anthropic => Conversation::Anthropic(anthropic::Anthropic::new(&job.model, &job.task, system, display)),
        ModelProvider::OpenaiResponses => {
            Conversation::Responses(openai_responses::Responses::new(&job.model, &job.task, system, display))
        }
        ModelProvider::OpenaiChat => Conversation::Chat(openai_chat::Chat::new(&job.model, &job.task, system, display)),
    };
    for _ in 0..job.max_steps {
        let turn = conversation.next(&job.endpoint).await.map_err(|e| (StopReason::Error, Some(e)))?;
        progress.usage.input_tokens += turn.usage.input_tokens;
        progress.usage.output_tokens += turn.usage.output_tokens;
        if !turn.text.is_empty() {
            progress.output = turn.text.clone();
        }
        if turn.calls.is_empty() {
            progress.output = turn.text;
            return Ok(StopReason::Done);
        }
        let mut results = Vec::new();
        for call in turn.calls {
            let result = match &call.action {
                Ok(action) => job.desk.perform(action).await,
                Err(error) => Err(error.clone()),
            };
            let wants_shot = match &call.action {
                Ok(Action::Screenshot) => true,
                Ok(action) => action.changes_screen() && result.is_ok(),
                Err(_) => false,
            } || conversation.screenshot_always();
            let mut result = result;
            let shot = if wants_shot {
                if !matches!(call.action, Ok(Action::Screenshot)) {
                    job.desk.settle().await;
                }
                match job.desk.screenshot().await {
                    Ok(shot) => Some(shot),
                    Err(error) => {
                        if result.is_ok() {
                            result = Err(format!("the screenshot failed: {error}"));
                        }
                        None
                    }
                }
            } else {
                None
            };
            let step = PromptStep {
                index: progress.steps.len(),
                action: call.name.clone(),
                arguments: call.arguments.clone(),
                output: result.as_ref().ok().cloned(),
                error: result.as_ref().err().cloned(),
            };
            tracing::debug!(index = step.index, action = %step.action, ok = step.error.is_none(), "prompt step");
            if let Some(events) = events {
                let _ = events.send(Event::Step(step.clone()));
            }
            progress.steps.push(step);
            results.push(CallResult { call, result, shot });
        }
        conversation.add_results(&results, job.max_screenshots.max(1));
    }
    Ok(StopReason::MaxSteps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A provider that answers each request with the next (status, body) of `answers`, then 200.
    async fn provider(answers: Vec<(u16, &'static str)>) -> (String, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = axum::Router::new().fallback(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, body) = answers.get(n).copied().unwrap_or((200, "{\"ok\": true}"));
            async move { (StatusCode::from_u16(status).unwrap(), [("retry-after", "0")], body) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, calls)
    }

    fn endpoint(base_url: String, key: &str) -> Endpoint {
        Endpoint { http: reqwest::Client::new(), base_url, key: key.into() }
    }

    #[tokio::test]
    async fn rate_limits_and_server_errors_are_retried() {
        let (url, calls) = provider(vec![(429, "{}"), (529, "{}"), (503, "busy")]).await;
        let answer = endpoint(url, "sk-secret-key").post_json("/v1/messages", &[], &serde_json::json!({})).await;
        assert_eq!(answer, Ok(serde_json::json!({ "ok": true })));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn client_errors_are_not_retried_and_never_show_the_key() {
        let body = "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key sk-secret-key\"}}";
        let (url, calls) = provider(vec![(401, body)]).await;
        let error = endpoint(url, "sk-secret-key").post_json("/v1/messages", &[], &serde_json::json!({})).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(error.contains("401") && error.contains("invalid x-api-key"), "{error}");
        assert!(!error.contains("sk-secret-key"), "{error}");
        let (url, calls) = provider(vec![(500, "{}"); 10]).await;
        let error = endpoint(url, "k").post_json("/x", &[], &serde_json::json!({})).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1 + RETRIES as usize);
        assert!(error.contains("500"), "{error}");
    }

    /// A job against `base_url` (an Anthropic-format provider) and a computer whose agent is not there.
    fn job(base_url: String, max_steps: u32, timeout: Duration) -> Job {
        Job {
            provider: ModelProvider::Anthropic,
            model: "claude-test".into(),
            task: "t".into(),
            system: None,
            max_steps,
            max_screenshots: 3,
            timeout,
            endpoint: endpoint(base_url, "k"),
            desk: Desk {
                agents: crate::agent_client::AgentClient::new(),
                address: "127.0.0.1:9".into(),
                token: "t".into(),
                scaling: scaling::Scaling::for_screen(1280, 720),
            },
        }
    }

    /// A model that answers every turn with one `wait` of 0 seconds, or never answers.
    async fn model(hang: bool) -> String {
        let app = axum::Router::new().fallback(move || async move {
            if hang {
                tokio::time::sleep(Duration::from_secs(600)).await;
            }
            axum::Json(serde_json::json!({
                "content": [{ "type": "tool_use", "id": "toolu_1", "name": "computer", "input": { "action": "wait", "duration": 0 } }],
                "stop_reason": "tool_use",
                "usage": { "input_tokens": 10, "output_tokens": 1 },
            }))
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    #[tokio::test]
    async fn the_loop_stops_at_max_steps_the_wall_clock_limit_and_cancel() {
        let (_tx, rx) = watch::channel(false);
        let result = run(job(model(false).await, 2, Duration::from_secs(60)), rx.clone(), None).await;
        assert_eq!(result.stop_reason, StopReason::MaxSteps);
        assert_eq!(result.steps.len(), 2);
        assert_eq!(result.usage, PromptUsage { input_tokens: 20, output_tokens: 2 });
        // The agent is not there: the screenshot after the wait failed, and the model was told.
        assert!(result.steps[0].error.as_deref().unwrap().contains("screenshot"), "{:?}", result.steps[0]);

        let started = std::time::Instant::now();
        let result = run(job(model(true).await, 5, Duration::from_millis(500)), rx, None).await;
        assert_eq!(result.stop_reason, StopReason::Error);
        assert!(result.error.unwrap().contains("wall-clock"));
        assert!(started.elapsed() < Duration::from_secs(5));

        let (tx, rx) = watch::channel(false);
        let url = model(true).await;
        let cancel = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            tx.send(true).unwrap();
        };
        let (result, ()) = tokio::join!(run(job(url, 5, Duration::from_secs(60)), rx, None), cancel);
        assert_eq!(result.stop_reason, StopReason::Cancelled);
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let config = PromptConfig { anthropic_api_key: Some(Secret::new("sk-ant-123")), ..PromptConfig::default() };
        assert!(!format!("{config:?}").contains("sk-ant-123"));
    }
}
