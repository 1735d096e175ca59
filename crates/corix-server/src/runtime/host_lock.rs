//! A host-wide exclusive lock: a locked file in the temp directory. Every control plane on one
//! engine shares the host, so this serialises what the engine itself does not (image builds; the
//! engine of Debian 12 even lets two networks have one name).

use anyhow::{anyhow, Context};

/// Held until dropped; the kernel releases it if the process dies.
pub struct HostLock(#[allow(dead_code)] std::fs::File);

impl HostLock {
    /// Waits for the lock named `name`; `on_wait` is told once if someone else holds it.
    pub async fn acquire(name: &str, on_wait: impl FnOnce(&str)) -> anyhow::Result<HostLock> {
        let path = std::env::temp_dir().join(format!("corix-{name}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening the lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => return Ok(HostLock(file)),
            Err(std::fs::TryLockError::WouldBlock) => on_wait(&path.display().to_string()),
            Err(std::fs::TryLockError::Error(e)) => return Err(anyhow!(e).context(format!("locking {}", path.display()))),
        }
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .context("waiting for a host lock")?
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(HostLock(file))
    }
}
