//! The warm pool: computers started ahead of time with the default specs, never used, so that a
//! create claims one and only records its owner, name and limits (milliseconds instead of seconds).
//! Each pooled computer has its id, container and secret from birth; it has no row until claimed,
//! and a pooled computer is handed to one user only (deleting it removes its container).

use parking_lot::Mutex;
use std::collections::{HashSet, VecDeque};

/// A started computer whose desktop answers, waiting for its first user.
#[derive(Debug, Clone)]
pub struct Pooled {
    pub computer_id: String,
    pub container_id: String,
    /// Where its agent listens.
    pub address: String,
    pub agent_token: String,
}

#[derive(Default)]
pub struct WarmPool {
    target: usize,
    ready: Mutex<VecDeque<Pooled>>,
    /// Computer ids whose containers are being started for the pool.
    filling: Mutex<HashSet<String>>,
    pub(crate) wakeup: tokio::sync::Notify,
}

impl WarmPool {
    pub fn new(target: usize) -> Self {
        WarmPool { target, ..Default::default() }
    }

    pub fn target(&self) -> usize {
        self.target
    }

    /// Computers ready to be claimed.
    pub fn ready(&self) -> usize {
        self.ready.lock().len()
    }

    /// Takes a ready computer, if any, and asks for a replacement.
    pub fn claim(&self) -> Option<Pooled> {
        let pooled = self.ready.lock().pop_front();
        self.wakeup.notify_one();
        pooled
    }

    /// Whether the pool owns this computer's container (reconciliation leaves it alone).
    pub fn holds(&self, computer_id: &str) -> bool {
        self.filling.lock().contains(computer_id) || self.ready.lock().iter().any(|p| p.computer_id == computer_id)
    }

    /// How many more computers the pool should start now.
    pub(crate) fn missing(&self) -> usize {
        self.target.saturating_sub(self.ready.lock().len() + self.filling.lock().len())
    }

    pub(crate) fn start_filling(&self, computer_id: &str) {
        self.filling.lock().insert(computer_id.to_string());
    }

    /// Records the end of a fill: the computer joins the pool, or (`None`) was abandoned.
    pub(crate) fn finish_filling(&self, computer_id: &str, pooled: Option<Pooled>) {
        let mut filling = self.filling.lock();
        filling.remove(computer_id);
        if let Some(pooled) = pooled {
            self.ready.lock().push_back(pooled);
        }
    }

    /// Empties the pool, handing back what it held so the caller can remove the containers.
    pub(crate) fn drain(&self) -> Vec<Pooled> {
        self.ready.lock().drain(..).collect()
    }
}

/// Whether the host has memory to spare for one more idle desktop (about 100 MiB; keep a margin).
pub fn host_has_room() -> bool {
    const FLOOR_KIB: u64 = 1536 * 1024;
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|line| line.strip_prefix("MemAvailable:")?.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .is_none_or(|available_kib| available_kib >= FLOOR_KIB)
}
