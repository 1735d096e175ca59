//! Computer lifecycle: every state change goes through here, one at a time per computer. The store
//! is written before the engine is asked (so a crash leaves a row that reconciliation can finish),
//! and a computer counts as `running` only once its agent reports the desktop up.

use crate::activity::Activity;
use crate::agent_client::AgentClient;
use crate::pool::{host_has_room, Pooled, WarmPool};
use crate::runtime::{container_name, ContainerSpec, Runtime, RuntimeError};
use crate::store::{ComputerRow, Store};
use corix_proto::api::{Computer, ComputerStatus};
use corix_proto::{ApiError, ErrorCode};
use parking_lot::Mutex;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Lifecycle {
    pub store: Arc<Store>,
    pub runtime: Arc<dyn Runtime>,
    pub agents: AgentClient,
    pub activity: Activity,
    pub pool: WarmPool,
    image: String,
    ready_timeout: Duration,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The specs of a computer created without any, and of the warm pool's computers.
pub const DEFAULT_CPU: u32 = 2;
pub const DEFAULT_RAM: u32 = 4;
pub const DEFAULT_DISK_GB: u32 = 8;
pub const DEFAULT_RESOLUTION: &str = "1280x720x24";

/// How [`Lifecycle::boot`] brings a container up.
enum Boot {
    Start,
    Restart,
}

/// A computer about to be made, already validated against the plan.
#[derive(Clone)]
pub struct NewComputer {
    pub user_id: String,
    pub workspace_id: String,
    pub name: String,
    pub cpu: u32,
    pub ram: u32,
    pub disk_size_gb: u32,
    pub resolution: String,
}

fn engine_failure(err: RuntimeError) -> ApiError {
    ApiError::internal(err.to_string())
}

fn store_failure(err: crate::store::StoreError) -> ApiError {
    ApiError::internal(err.to_string())
}

fn busy(status: ComputerStatus) -> ApiError {
    ApiError::new(ErrorCode::Conflict, format!("Computer is {}; try again when it settles", status.as_str()))
}

impl Lifecycle {
    pub fn new(store: Arc<Store>, runtime: Arc<dyn Runtime>, image: String, ready_timeout: Duration, warm_pool: usize) -> Self {
        Lifecycle {
            store,
            runtime,
            agents: AgentClient::new(),
            activity: Activity::default(),
            pool: WarmPool::new(warm_pool),
            image,
            ready_timeout,
            locks: Mutex::new(HashMap::new()),
        }
    }

    fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks.lock().entry(id.to_string()).or_default().clone()
    }

    /// Whether a lifecycle operation is under way on the computer (reconciliation leaves it alone).
    pub fn is_busy(&self, id: &str) -> bool {
        self.lock_for(id).try_lock().is_err()
    }

    fn row(&self, id: &str) -> Result<ComputerRow, ApiError> {
        self.store
            .computer(id)
            .map_err(store_failure)?
            .ok_or_else(|| ApiError::not_found("Computer not found"))
    }

    fn set_status(&self, id: &str, status: ComputerStatus) -> Result<(), ApiError> {
        self.store.set_status(id, status).map_err(store_failure)
    }

    /// Records a new computer as `creating`; [`Lifecycle::provision`] then brings it up.
    pub fn record(&self, new: NewComputer) -> Result<Computer, ApiError> {
        let row = new_row(new, uuid::Uuid::new_v4().to_string(), new_token(), ComputerStatus::Creating);
        self.store.insert_computer(&row).map_err(store_failure)?;
        Ok(row.computer)
    }

    /// Hands a computer from the warm pool to `new`'s owner when one fits (default resolution and
    /// disk): records it as running and applies its CPU and RAM live. `Ok(None)`: none to hand.
    pub async fn claim_pooled(&self, new: &NewComputer) -> Result<Option<Computer>, ApiError> {
        if new.resolution != DEFAULT_RESOLUTION || new.disk_size_gb != DEFAULT_DISK_GB {
            return Ok(None);
        }
        let Some(Pooled { computer_id, container_id, address, agent_token }) = self.pool.claim() else {
            return Ok(None);
        };
        let (cpu, ram) = (new.cpu, new.ram);
        let mut row = new_row(new.clone(), computer_id.clone(), agent_token, ComputerStatus::Running);
        row.computer.container_id = Some(short_id(&container_id));
        row.computer.hostname = Some(address);
        // The row first: from here on reconciliation sees an owned container, not an orphan.
        self.store.insert_computer(&row).map_err(store_failure)?;
        if (cpu, ram) != (DEFAULT_CPU, DEFAULT_RAM) {
            if let Err(err) = self.runtime.resize(&container_id, cpu, ram).await {
                self.terminate(&computer_id).await?;
                return Err(engine_failure(err));
            }
        }
        Ok(Some(row.computer))
    }

    /// Keeps the warm pool full, one computer at a time, while the host has memory to spare.
    pub fn spawn_pool_filler(self: &Arc<Self>) {
        if self.pool.target() == 0 {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                if this.pool.missing() > 0 && host_has_room() {
                    if let Err(err) = this.fill_pool_once().await {
                        tracing::warn!(%err, "could not start a computer for the warm pool");
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    continue;
                }
                tokio::select! {
                    _ = this.pool.wakeup.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        });
    }

    async fn fill_pool_once(&self) -> Result<(), ApiError> {
        let computer_id = uuid::Uuid::new_v4().to_string();
        let agent_token = new_token();
        self.pool.start_filling(&computer_id);
        let started = async {
            let spec = ContainerSpec {
                computer_id: computer_id.clone(),
                image: self.image.clone(),
                cpu: DEFAULT_CPU,
                ram: DEFAULT_RAM,
                disk_size_gb: DEFAULT_DISK_GB,
                resolution: DEFAULT_RESOLUTION.to_string(),
                agent_token: agent_token.clone(),
            };
            let container_id = self.runtime.create(&spec).await.map_err(engine_failure)?;
            self.runtime.start(&container_id).await.map_err(engine_failure)?;
            let deadline = Instant::now() + self.ready_timeout;
            let address = self.agent_address(&container_id, deadline).await?;
            self.wait_ready(&address, &agent_token, deadline).await?;
            Ok(Pooled { computer_id: computer_id.clone(), container_id, address, agent_token })
        }
        .await;
        match started {
            Ok(pooled) => {
                self.pool.finish_filling(&computer_id, Some(pooled));
                Ok(())
            }
            Err(err) => {
                let _ = self.runtime.remove(&container_name(&computer_id)).await;
                self.pool.finish_filling(&computer_id, None);
                Err(err)
            }
        }
    }

    /// Removes the pool's computers (at shutdown: nobody will claim them).
    pub async fn drain_pool(&self) {
        for pooled in self.pool.drain() {
            let _ = self.runtime.remove(&pooled.container_id).await;
        }
    }

    /// Makes the container of a `creating` computer (or finds it, after a crash) and brings it up.
    pub async fn provision(&self, id: &str) -> Result<Computer, ApiError> {
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        let row = self.row(id)?;
        if row.computer.status != ComputerStatus::Creating {
            return Ok(row.computer);
        }
        let container_id = match self.make_container(&row).await {
            Ok(container_id) => container_id,
            Err(err) => return self.settle(id, Err(err)),
        };
        self.boot(id, &container_id, &row.agent_token, ComputerStatus::Creating, Boot::Start).await
    }

    async fn make_container(&self, row: &ComputerRow) -> Result<String, ApiError> {
        let c = &row.computer;
        let spec = ContainerSpec {
            computer_id: c.id.clone(),
            image: self.image.clone(),
            cpu: c.cpu,
            ram: c.ram,
            disk_size_gb: c.disk_size_gb,
            resolution: c.resolution.clone(),
            agent_token: row.agent_token.clone(),
        };
        let container_id = self.runtime.create(&spec).await.map_err(engine_failure)?;
        self.store.set_container(&c.id, Some(&short_id(&container_id)), None).map_err(store_failure)?;
        Ok(container_id)
    }

    /// After the container (re)started: records where its agent listens and waits until the desktop answers.
    async fn await_desktop(&self, id: &str, container_id: &str, token: &str) -> Result<(), ApiError> {
        let deadline = Instant::now() + self.ready_timeout;
        let address = self.agent_address(container_id, deadline).await?;
        self.store.set_container(id, Some(&short_id(container_id)), Some(&address)).map_err(store_failure)?;
        self.wait_ready(&address, token, deadline).await
    }

    /// Where the engine published the agent's port of a started container.
    async fn agent_address(&self, container_id: &str, deadline: Instant) -> Result<String, ApiError> {
        loop {
            let state = self.runtime.inspect(container_id).await.map_err(engine_failure)?;
            match state.and_then(|s| s.agent_address) {
                Some(address) => return Ok(address),
                None if Instant::now() > deadline => {
                    return Err(ApiError::internal("the computer's container did not stay up"))
                }
                None => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Waits until the agent reports the desktop up.
    async fn wait_ready(&self, address: &str, token: &str, deadline: Instant) -> Result<(), ApiError> {
        loop {
            if let Ok(health) = self.agents.health(address, token).await {
                if health.is_ready() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(ApiError::internal(format!(
                    "the desktop did not come up within {} s",
                    self.ready_timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Records how an operation ended: `running`, or `error` with the reason logged and returned.
    fn settle(&self, id: &str, result: Result<(), ApiError>) -> Result<Computer, ApiError> {
        match result {
            Ok(()) => self.set_status(id, ComputerStatus::Running)?,
            Err(err) => {
                tracing::error!(computer_id = id, %err, "computer failed to come up");
                self.set_status(id, ComputerStatus::Error)?;
                return Err(err);
            }
        }
        Ok(self.row(id)?.computer)
    }

    pub fn spawn_provision(self: &Arc<Self>, id: String) {
        let this = self.clone();
        tokio::spawn(async move {
            let _ = this.provision(&id).await;
        });
    }

    fn container_of(row: &ComputerRow) -> Result<String, ApiError> {
        row.computer
            .container_id
            .clone()
            .ok_or_else(|| ApiError::new(ErrorCode::Conflict, "Computer has no container yet"))
    }

    pub async fn start(&self, id: &str) -> Result<Computer, ApiError> {
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        let row = self.row(id)?;
        match row.computer.status {
            ComputerStatus::Running => return Ok(row.computer),
            ComputerStatus::Stopped | ComputerStatus::Error => {}
            other => return Err(busy(other)),
        }
        let container_id = Self::container_of(&row)?;
        self.boot(id, &container_id, &row.agent_token, ComputerStatus::Starting, Boot::Start).await
    }

    /// (Re)starts the container, waits for its desktop, and records how that ended.
    async fn boot(&self, id: &str, container_id: &str, token: &str, status: ComputerStatus, how: Boot) -> Result<Computer, ApiError> {
        self.set_status(id, status)?;
        let result = async {
            match how {
                Boot::Start => self.runtime.start(container_id).await,
                Boot::Restart => self.runtime.restart(container_id).await,
            }
            .map_err(engine_failure)?;
            self.await_desktop(id, container_id, token).await
        }
        .await;
        self.settle(id, result)
    }

    pub async fn stop(&self, id: &str) -> Result<Computer, ApiError> {
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        let row = self.row(id)?;
        match row.computer.status {
            ComputerStatus::Stopped => return Ok(row.computer),
            ComputerStatus::Running | ComputerStatus::Error => {}
            other => return Err(busy(other)),
        }
        let container_id = Self::container_of(&row)?;
        self.set_status(id, ComputerStatus::Stopping)?;
        if let Err(err) = self.runtime.stop(&container_id).await {
            self.set_status(id, ComputerStatus::Error)?;
            return Err(engine_failure(err));
        }
        self.store.set_container(id, Some(&short_id(&container_id)), None).map_err(store_failure)?;
        self.set_status(id, ComputerStatus::Stopped)?;
        Ok(self.row(id)?.computer)
    }

    pub async fn restart(&self, id: &str) -> Result<Computer, ApiError> {
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        let row = self.row(id)?;
        match row.computer.status {
            ComputerStatus::Running | ComputerStatus::Error => {}
            ComputerStatus::Stopped => {
                return Err(ApiError::new(ErrorCode::NotRunning, "Computer is stopped; start it instead"))
            }
            other => return Err(busy(other)),
        }
        let container_id = Self::container_of(&row)?;
        self.boot(id, &container_id, &row.agent_token, ComputerStatus::Restarting, Boot::Restart).await
    }

    /// Removes the container and its storage; the row stays, `terminated`.
    pub async fn terminate(&self, id: &str) -> Result<Computer, ApiError> {
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        let row = self.row(id)?;
        if row.computer.status == ComputerStatus::Terminated {
            return Ok(row.computer);
        }
        // By name too: a crash may have left a container whose id was never recorded.
        let name = container_name(id);
        for container in row.computer.container_id.iter().chain(std::iter::once(&name)) {
            self.runtime.remove(container).await.map_err(engine_failure)?;
        }
        self.set_status(id, ComputerStatus::Terminated)?;
        self.activity.forget(id);
        Ok(self.row(id)?.computer)
    }

    /// Changes CPU and RAM limits live, without a restart.
    pub async fn resize(&self, id: &str, cpu: u32, ram: u32) -> Result<Computer, ApiError> {
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        let row = self.row(id)?;
        if let Some(container_id) = &row.computer.container_id {
            self.runtime.resize(container_id, cpu, ram).await.map_err(engine_failure)?;
        }
        self.store.set_resources(id, cpu, ram).map_err(store_failure)?;
        Ok(self.row(id)?.computer)
    }

    /// Brings the store in line with the engine for one computer (see `reconcile`).
    pub async fn reconcile_one(self: &Arc<Self>, row: ComputerRow, resume: bool) -> Result<(), ApiError> {
        let id = row.computer.id.clone();
        let lock = self.lock_for(&id);
        let Ok(_guard) = lock.try_lock() else { return Ok(()) };
        let name = container_name(&id);
        let state = self.runtime.inspect(&name).await.map_err(engine_failure)?;
        use ComputerStatus::*;
        let status = row.computer.status;
        match state {
            None if status == Creating && resume => {
                drop(_guard);
                self.spawn_provision(id);
            }
            None if status == Creating => {}
            None => {
                if status != Error {
                    tracing::warn!(computer_id = id, "container vanished; marking the computer error");
                    self.store.set_container(&id, None, None).map_err(store_failure)?;
                    self.set_status(&id, Error)?;
                }
            }
            Some(state) if matches!(status, Creating | Starting | Restarting) && resume => {
                // Interrupted mid-way by a crash: finish bringing it up.
                let this = self.clone();
                let token = row.agent_token.clone();
                let resumed = if status == Creating { Creating } else { Starting };
                drop(_guard);
                tokio::spawn(async move {
                    let lock = this.lock_for(&id);
                    let _guard = lock.lock().await;
                    let _ = this.boot(&id, &state.id, &token, resumed, Boot::Start).await;
                });
            }
            Some(state) if state.running && matches!(status, Stopped | Stopping | Error) => {
                self.store
                    .set_container(&id, Some(&short_id(&state.id)), state.agent_address.as_deref())
                    .map_err(store_failure)?;
                self.set_status(&id, Running)?;
            }
            Some(state) if state.running && status == Running => {
                if row.computer.hostname != state.agent_address {
                    self.store
                        .set_container(&id, Some(&short_id(&state.id)), state.agent_address.as_deref())
                        .map_err(store_failure)?;
                }
            }
            Some(state) if !state.running && matches!(status, Running | Stopping) => {
                self.store.set_container(&id, Some(&short_id(&state.id)), None).map_err(store_failure)?;
                self.set_status(&id, Stopped)?;
            }
            Some(_) => {}
        }
        Ok(())
    }
}

fn new_token() -> String {
    let mut token = [0u8; 32];
    rand::rng().fill_bytes(&mut token);
    hex::encode(token)
}

/// The row of a computer about to exist.
fn new_row(new: NewComputer, id: String, agent_token: String, status: ComputerStatus) -> ComputerRow {
    let now = crate::store::now();
    ComputerRow {
        computer: Computer {
            id,
            workspace_id: new.workspace_id,
            user_id: new.user_id,
            name: new.name,
            os: "linux".into(),
            cpu: new.cpu,
            ram: new.ram,
            disk_size_gb: new.disk_size_gb,
            resolution: new.resolution,
            status,
            container_id: None,
            hostname: None,
            auto_stop_minutes: None,
            created_at: now.clone(),
            updated_at: now.clone(),
            terminated_at: None,
        },
        agent_token,
        last_activity_at: now,
    }
}

/// Docker's 12-character short id, as `docker ps` shows it.
pub fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}
