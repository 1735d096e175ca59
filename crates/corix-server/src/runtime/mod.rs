//! The runtime runs computers. The rest of the control plane sees only this trait and its plain
//! types; Docker's (or Podman's, through the same API) live in `docker.rs`.

mod docker;
mod host_lock;
pub mod image;

pub use docker::DockerRuntime;

use async_trait::async_trait;

/// A computer's container is named after it, so it can be found again after a crash.
pub fn container_name(computer_id: &str) -> String {
    format!("corix-{computer_id}")
}

/// What a computer's container must be.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub computer_id: String,
    pub image: String,
    pub cpu: u32,
    /// GB.
    pub ram: u32,
    pub disk_size_gb: u32,
    /// `WxHxD`.
    pub resolution: String,
    pub agent_token: String,
}

/// What the engine says of a computer's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    /// The engine's full id.
    pub id: String,
    pub running: bool,
    /// `host:port` where the control plane reaches the agent, while the container runs.
    pub agent_address: Option<String>,
}

/// A container this control plane made, as the engine lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedContainer {
    pub id: String,
    pub computer_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("container not found")]
    NotFound,
    #[error("container engine: {0}")]
    Engine(String),
}

pub type RuntimeResult<T> = Result<T, RuntimeError>;

#[async_trait]
pub trait Runtime: Send + Sync {
    /// Prepares what every computer needs (the isolated network), once at start.
    async fn prepare(&self) -> RuntimeResult<()>;
    /// Creates the computer's container (or finds the one already made for it) and returns its id.
    async fn create(&self, spec: &ContainerSpec) -> RuntimeResult<String>;
    /// Starts a container; starting a running one is not an error.
    async fn start(&self, id: &str) -> RuntimeResult<()>;
    /// Stops a container; stopping a stopped one is not an error.
    async fn stop(&self, id: &str) -> RuntimeResult<()>;
    async fn restart(&self, id: &str) -> RuntimeResult<()>;
    /// Removes a container and its storage; a missing one is not an error.
    async fn remove(&self, id: &str) -> RuntimeResult<()>;
    /// Changes CPU and memory limits of a live container.
    async fn resize(&self, id: &str, cpu: u32, ram: u32) -> RuntimeResult<()>;
    async fn inspect(&self, id: &str) -> RuntimeResult<Option<ContainerState>>;
    /// Every container this control plane instance made.
    async fn list(&self) -> RuntimeResult<Vec<ManagedContainer>>;
}
