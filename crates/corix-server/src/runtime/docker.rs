//! The Docker Engine API backend (also speaks to Podman's Docker-compatible socket).

use super::{ContainerSpec, ContainerState, ManagedContainer, Runtime, RuntimeError, RuntimeResult};
use async_trait::async_trait;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, ContainerUpdateBody, HostConfig, NetworkCreateRequest, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
    RestartContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use corix_proto::agent::{AGENT_PORT, AGENT_TOKEN_ENV, RESOLUTION_ENV};
use std::collections::HashMap;

const COMPUTER_LABEL: &str = "dev.corix.computer";
const INSTANCE_LABEL: &str = "dev.corix.instance";
const GIB: i64 = 1 << 30;
const CPU_PERIOD_US: i64 = 100_000;
const PIDS_LIMIT: i64 = 4096;
/// Seconds a stopping desktop gets before it is killed.
const STOP_GRACE_SECONDS: i32 = 3;

pub struct DockerRuntime {
    docker: Docker,
    /// Names this control plane's containers apart from other instances' on the same engine.
    instance: String,
    network: String,
}

impl DockerRuntime {
    pub fn new(docker: Docker, instance: String, network: String) -> Self {
        DockerRuntime { docker, instance, network }
    }

    /// Connects to `DOCKER_HOST` or the local socket, at the API version the engine speaks.
    pub async fn connect() -> Result<Docker, DockerError> {
        Docker::connect_with_defaults()?.negotiate_version().await
    }

    /// Listed rather than inspected: inspecting a name that several networks share fails.
    async fn network_exists(&self) -> RuntimeResult<bool> {
        let filters = HashMap::from([("name".to_string(), vec![self.network.clone()])]);
        let options = ListNetworksOptionsBuilder::default().filters(&filters).build();
        let networks = self.docker.list_networks(Some(options)).await.map_err(engine_error)?;
        // The engine's name filter matches parts of names too.
        let named: Vec<&str> = networks
            .iter()
            .filter(|n| n.name.as_deref() == Some(self.network.as_str()))
            .filter_map(|n| n.id.as_deref())
            .collect();
        if named.len() > 1 {
            return Err(RuntimeError::Engine(format!(
                "{} networks are named {}, so no container can join it; remove all but one (docker network rm {})",
                named.len(),
                self.network,
                named[1..].join(" ")
            )));
        }
        Ok(!named.is_empty())
    }

    fn agent_port_key() -> String {
        format!("{AGENT_PORT}/tcp")
    }
}

fn engine_error(err: DockerError) -> RuntimeError {
    match err {
        DockerError::DockerResponseServerError { status_code: 404, .. } => RuntimeError::NotFound,
        DockerError::DockerResponseServerError { message, .. } => RuntimeError::Engine(message),
        other => RuntimeError::Engine(other.to_string()),
    }
}

/// The engine answers 304 to starting a started container or stopping a stopped one.
fn unless_not_modified(result: Result<(), DockerError>) -> RuntimeResult<()> {
    match result {
        Err(DockerError::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
        other => other.map_err(engine_error),
    }
}

fn cpu_quota(cpu: u32) -> i64 {
    i64::from(cpu) * CPU_PERIOD_US
}

#[async_trait]
impl Runtime for DockerRuntime {
    async fn prepare(&self) -> RuntimeResult<()> {
        if self.network_exists().await? {
            return Ok(());
        }
        // Control planes starting together must not each create the network: this engine would
        // make several of one name, and containers could then name none of them.
        let _lock = super::host_lock::HostLock::acquire("network", |_| {})
            .await
            .map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        if self.network_exists().await? {
            return Ok(());
        }
        // Inter-container traffic off: computers on this bridge cannot reach each other.
        let options = HashMap::from([("com.docker.network.bridge.enable_icc".to_string(), "false".to_string())]);
        let request = NetworkCreateRequest {
            name: self.network.clone(),
            driver: Some("bridge".into()),
            options: Some(options),
            labels: Some(HashMap::from([("dev.corix.network".to_string(), "true".to_string())])),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(()),
            // Made meanwhile by a control plane with another temp directory.
            Err(DockerError::DockerResponseServerError { status_code: 409, .. }) => Ok(()),
            Err(err) => Err(engine_error(err)),
        }
    }

    async fn create(&self, spec: &ContainerSpec) -> RuntimeResult<String> {
        let name = super::container_name(&spec.computer_id);
        if let Some(existing) = self.inspect(&name).await? {
            return Ok(existing.id);
        }
        let memory = i64::from(spec.ram) * GIB;
        let port_bindings = HashMap::from([(
            Self::agent_port_key(),
            Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(String::new()) }]),
        )]);
        let host_config = HostConfig {
            memory: Some(memory),
            memory_swap: Some(memory),
            cpu_period: Some(CPU_PERIOD_US),
            cpu_quota: Some(cpu_quota(spec.cpu)),
            pids_limit: Some(PIDS_LIMIT),
            // Firefox needs a large /dev/shm; Docker's default is 64 MiB.
            shm_size: Some(memory.min(2 * GIB) / 2),
            init: Some(true),
            privileged: Some(false),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            cap_drop: Some(vec!["NET_RAW".into(), "MKNOD".into(), "AUDIT_WRITE".into()]),
            network_mode: Some(self.network.clone()),
            port_bindings: Some(port_bindings),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        let labels = HashMap::from([
            (COMPUTER_LABEL.to_string(), spec.computer_id.clone()),
            (INSTANCE_LABEL.to_string(), self.instance.clone()),
        ]);
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(vec![
                format!("{AGENT_TOKEN_ENV}={}", spec.agent_token),
                format!("{RESOLUTION_ENV}={}", spec.resolution),
            ]),
            labels: Some(labels),
            exposed_ports: Some(vec![Self::agent_port_key()]),
            host_config: Some(host_config),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        match self.docker.create_container(Some(options), body).await {
            Ok(created) => Ok(created.id),
            // Made by an earlier attempt that died before recording it.
            Err(DockerError::DockerResponseServerError { status_code: 409, .. }) => {
                self.inspect(&name).await?.map(|c| c.id).ok_or(RuntimeError::NotFound)
            }
            Err(err) => Err(engine_error(err)),
        }
    }

    async fn start(&self, id: &str) -> RuntimeResult<()> {
        unless_not_modified(self.docker.start_container(id, None).await)
    }

    async fn stop(&self, id: &str) -> RuntimeResult<()> {
        let options = StopContainerOptionsBuilder::default().t(STOP_GRACE_SECONDS).build();
        unless_not_modified(self.docker.stop_container(id, Some(options)).await)
    }

    async fn restart(&self, id: &str) -> RuntimeResult<()> {
        let options = RestartContainerOptionsBuilder::default().t(STOP_GRACE_SECONDS).build();
        self.docker.restart_container(id, Some(options)).await.map_err(engine_error)
    }

    async fn remove(&self, id: &str) -> RuntimeResult<()> {
        let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        match self.docker.remove_container(id, Some(options)).await.map_err(engine_error) {
            Err(RuntimeError::NotFound) => Ok(()),
            other => other,
        }
    }

    async fn resize(&self, id: &str, cpu: u32, ram: u32) -> RuntimeResult<()> {
        let memory = i64::from(ram) * GIB;
        let update = ContainerUpdateBody {
            memory: Some(memory),
            memory_swap: Some(memory),
            cpu_period: Some(CPU_PERIOD_US),
            cpu_quota: Some(cpu_quota(cpu)),
            ..Default::default()
        };
        self.docker.update_container(id, update).await.map_err(engine_error)
    }

    async fn inspect(&self, id: &str) -> RuntimeResult<Option<ContainerState>> {
        let info = match self.docker.inspect_container(id, None).await.map_err(engine_error) {
            Ok(info) => info,
            Err(RuntimeError::NotFound) => return Ok(None),
            Err(err) => return Err(err),
        };
        let running = info.state.as_ref().and_then(|s| s.running).unwrap_or(false);
        let agent_address = info
            .network_settings
            .and_then(|n| n.ports)
            .and_then(|mut ports| ports.remove(&Self::agent_port_key()).flatten())
            .and_then(|bindings| bindings.into_iter().next())
            .and_then(|binding| {
                let port = binding.host_port.filter(|p| !p.is_empty())?;
                let ip = binding.host_ip.filter(|ip| !ip.is_empty() && ip != "0.0.0.0").unwrap_or("127.0.0.1".into());
                Some(format!("{ip}:{port}"))
            })
            .filter(|_| running);
        Ok(Some(ContainerState { id: info.id.unwrap_or_default(), running, agent_address }))
    }

    async fn list(&self) -> RuntimeResult<Vec<ManagedContainer>> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{INSTANCE_LABEL}={}", self.instance)])]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let containers = self.docker.list_containers(Some(options)).await.map_err(engine_error)?;
        Ok(containers
            .into_iter()
            .filter_map(|c| {
                let computer_id = c.labels?.remove(COMPUTER_LABEL)?;
                Some(ManagedContainer { id: c.id?, computer_id })
            })
            .collect())
    }
}
