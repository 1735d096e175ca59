//! Talks to the agents inside computers over pooled keep-alive connections, with each computer's secret.

use corix_proto::agent::AgentHealth;
use corix_proto::{ApiError, ErrorCode};
use std::time::Duration;

pub const UNREACHABLE: &str = "Agent unreachable (computer may be starting)";

#[derive(Clone)]
pub struct AgentClient {
    http: reqwest::Client,
}

pub fn unreachable() -> ApiError {
    ApiError::new(ErrorCode::AgentUnreachable, UNREACHABLE)
}

impl AgentClient {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()
            .expect("an HTTP client with these settings builds");
        AgentClient { http }
    }

    pub async fn health(&self, address: &str, token: &str) -> Result<AgentHealth, ApiError> {
        let response = self
            .http
            .get(format!("http://{address}/health"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map_err(|_| unreachable())?;
        if !response.status().is_success() {
            return Err(unreachable());
        }
        response.json().await.map_err(|_| unreachable())
    }

    /// Sends one request to the agent and hands back its answer as it comes.
    pub fn request(&self, method: reqwest::Method, address: &str, path_and_query: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("http://{address}{path_and_query}")).bearer_auth(token)
    }
}

impl Default for AgentClient {
    fn default() -> Self {
        Self::new()
    }
}
