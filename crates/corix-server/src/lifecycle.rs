//! Computer lifecycle: every state change goes through here, one at a time per computer. The store
//! is written before the engine is asked (so a crash leaves a row that reconciliation can finish),
//! and a computer counts as `running` only once its agent reports the desktop up.

use crate::activity::Activity;
use crate::agent_client::AgentClient;
use crate::runtime::{ContainerSpec, Runtime, RuntimeError};
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
    image: String,
    ready_timeout: Duration,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// How [`Lifecycle::boot`] brings a container up.
enum Boot {
    Start,
    Restart,
}

/// A computer about to be made, already validated against the plan.
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
    pub fn new(store: Arc<Store>, runtime: Arc<dyn Runtime>, image: String, ready_timeout: Duration) -> Self {
        Lifecycle {
            store,
            runtime,
            agents: AgentClient::new(),
            activity: Activity::default(),
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
        let now = crate::store::now();
        let mut token = [0u8; 32];
        rand::rng().fill_bytes(&mut token);
        let row = ComputerRow {
            computer: Computer {
                id: uuid::Uuid::new_v4().to_string(),
                workspace_id: new.workspace_id,
                user_id: new.user_id,
                name: new.name,
                os: "linux".into(),
                cpu: new.cpu,
                ram: new.ram,
                disk_size_gb: new.disk_size_gb,
                resolution: new.resolution,
                status: ComputerStatus::Creating,
                container_id: None,
                hostname: None,
                auto_stop_minutes: None,
                created_at: now.clone(),
                updated_at: now.clone(),
                terminated_at: None,
            },
            agent_token: hex::encode(token),
            last_activity_at: now,
        };
        self.store.insert_computer(&row).map_err(store_failure)?;
        Ok(row.computer)
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
        let address = loop {
            let state = self.runtime.inspect(container_id).await.map_err(engine_failure)?;
            match state.and_then(|s| s.agent_address) {
                Some(address) => break address,
                None if Instant::now() > deadline => {
                    return Err(ApiError::internal("the computer's container did not stay up"))
                }
                None => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        self.store.set_container(id, Some(&short_id(container_id)), Some(&address)).map_err(store_failure)?;
        loop {
            if let Ok(health) = self.agents.health(&address, token).await {
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
        let name = format!("corix-{id}");
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
        let name = format!("corix-{id}");
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

/// Docker's 12-character short id, as `docker ps` shows it.
pub fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}
