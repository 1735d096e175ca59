//! Keeping the store and the engine in agreement, and the auto-stop reaper. The store is the truth
//! for what users own, the engine for what runs.

use crate::lifecycle::Lifecycle;
use corix_proto::api::ComputerStatus;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// One pass: removes containers no live computer owns, then brings every live computer's status in
/// line with its container. With `resume`, computers interrupted mid-create or mid-start (by a
/// crash of the server) are brought up the rest of the way.
pub async fn reconcile(lifecycle: &Arc<Lifecycle>, resume: bool) -> anyhow::Result<()> {
    let containers = lifecycle.runtime.list().await?;
    let rows = lifecycle.store.live_computers()?;
    let live: HashSet<&str> = rows.iter().map(|r| r.computer.id.as_str()).collect();
    let orphans = containers.iter().filter(|c| !live.contains(c.computer_id.as_str()) && !lifecycle.pool.holds(&c.computer_id));
    for container in orphans {
        tracing::info!(container = container.id, computer_id = container.computer_id, "removing orphan container");
        lifecycle.runtime.remove(&container.id).await?;
    }
    for row in rows {
        let id = row.computer.id.clone();
        if let Err(err) = lifecycle.reconcile_one(row, resume).await {
            tracing::warn!(computer_id = id, %err, "could not reconcile");
        }
    }
    Ok(())
}

pub fn spawn_reconciler(lifecycle: Arc<Lifecycle>, every: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if let Err(err) = reconcile(&lifecycle, false).await {
                tracing::warn!(%err, "periodic reconciliation failed");
            }
        }
    });
}

/// Stops running computers idle for longer than their auto-stop setting. `minute` is the length of
/// one auto-stop minute (a real minute, shorter in tests).
pub fn spawn_reaper(lifecycle: Arc<Lifecycle>, every: Duration, minute: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let rows = match lifecycle.store.live_computers() {
                Ok(rows) => rows,
                Err(err) => {
                    tracing::warn!(%err, "reaper could not list computers");
                    continue;
                }
            };
            let now = chrono::Utc::now();
            for row in rows {
                let c = &row.computer;
                let Some(minutes) = c.auto_stop_minutes else { continue };
                if c.status != ComputerStatus::Running {
                    continue;
                }
                let idle = (now - lifecycle.activity.last(&c.id, &row.last_activity_at)).to_std().unwrap_or_default();
                if idle >= minute * minutes {
                    tracing::info!(computer_id = c.id, idle_seconds = idle.as_secs(), "auto-stopping idle computer");
                    if let Err(err) = lifecycle.stop(&c.id).await {
                        tracing::warn!(computer_id = c.id, %err, "auto-stop failed");
                    }
                }
            }
        }
    });
}
