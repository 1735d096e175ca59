//! Keeps the desktop up: Xvfb first, then (once it accepts connections) the desktop session;
//! either is restarted with a backoff when it dies, and both are stopped when the agent stops.
//! Zombies of other processes are tini's business; we wait only for our own children.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// How long Xvfb gets to start accepting connections.
const DISPLAY_START_TIMEOUT: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A process that ran this long is considered to have started fine; the backoff starts over.
const HEALTHY_RUN: Duration = Duration::from_secs(30);
/// How long children get between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

pub struct DesktopConfig {
    pub display: String,
    /// `WxHxD`, as Xvfb's `-screen 0` takes it.
    pub resolution: String,
    /// Run with `sh -c`.
    pub session_cmd: String,
    pub home: String,
}

/// What the health check reports about the session.
#[derive(Default)]
pub struct Status {
    session: AtomicBool,
}

impl Status {
    pub fn session_alive(&self) -> bool {
        self.session.load(Ordering::Relaxed)
    }
}

/// Start supervising; the task ends after `shutdown` turns true and the children are stopped.
pub fn start(config: DesktopConfig, shutdown: watch::Receiver<bool>) -> (Arc<Status>, tokio::task::JoinHandle<()>) {
    let status = Arc::new(Status::default());
    let task = tokio::spawn(supervise(config, status.clone(), shutdown));
    (status, task)
}

enum Outcome {
    Shutdown,
    Restart,
}

async fn supervise(config: DesktopConfig, status: Arc<Status>, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = Backoff::default();
    loop {
        let started = Instant::now();
        let outcome = run_display(&config, &status, &mut shutdown).await;
        status.session.store(false, Ordering::Relaxed);
        if matches!(outcome, Outcome::Shutdown) || !backoff.wait(started, &mut shutdown).await {
            return;
        }
    }
}

/// One life of Xvfb, with the session restarted inside it as often as needed.
async fn run_display(config: &DesktopConfig, status: &Status, shutdown: &mut watch::Receiver<bool>) -> Outcome {
    remove_stale_lock(&config.display).await;
    let mut xvfb = match spawn_logged(
        Command::new("Xvfb").args([&config.display, "-screen", "0", &config.resolution, "-nolisten", "tcp"]),
        "xvfb",
    ) {
        Ok(child) => child,
        Err(err) => {
            tracing::error!(%err, "could not start Xvfb");
            return Outcome::Restart;
        }
    };
    let started = Instant::now();
    loop {
        if let Ok(Some(exit)) = xvfb.try_wait() {
            tracing::error!(%exit, "Xvfb exited before accepting connections");
            return Outcome::Restart;
        }
        if display_answers(&config.display).await {
            break;
        }
        if started.elapsed() > DISPLAY_START_TIMEOUT || *shutdown.borrow() {
            stop(&mut xvfb, "Xvfb").await;
            return if *shutdown.borrow() { Outcome::Shutdown } else { Outcome::Restart };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tracing::info!(display = %config.display, resolution = %config.resolution, ready_in = ?started.elapsed(), "display ready");

    let mut backoff = Backoff::default();
    loop {
        let session_started = Instant::now();
        let mut session = match spawn_logged(&mut session_command(config), "session") {
            Ok(child) => Some(child),
            Err(err) => {
                tracing::error!(%err, cmd = %config.session_cmd, "could not start the desktop session");
                None
            }
        };
        status.session.store(session.is_some(), Ordering::Relaxed);
        tokio::select! {
            exit = xvfb.wait() => {
                tracing::error!(exit = %exit.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()), "Xvfb died; restarting the desktop");
                status.session.store(false, Ordering::Relaxed);
                if let Some(child) = session.as_mut() {
                    stop(child, "session").await;
                }
                return Outcome::Restart;
            }
            exit = wait_for(session.as_mut()) => {
                status.session.store(false, Ordering::Relaxed);
                tracing::warn!(%exit, "the desktop session ended; restarting it");
            }
            _ = shutdown.changed() => {
                status.session.store(false, Ordering::Relaxed);
                if let Some(child) = session.as_mut() {
                    stop(child, "session").await;
                }
                stop(&mut xvfb, "Xvfb").await;
                return Outcome::Shutdown;
            }
        }
        if !backoff.wait(session_started, shutdown).await {
            stop(&mut xvfb, "Xvfb").await;
            return Outcome::Shutdown;
        }
    }
}

async fn wait_for(child: Option<&mut Child>) -> String {
    match child {
        Some(child) => child.wait().await.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
        None => "not started".to_string(),
    }
}

fn session_command(config: &DesktopConfig) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&config.session_cmd)
        .current_dir(&config.home)
        .env("DISPLAY", &config.display)
        .env("HOME", &config.home)
        .env("LANG", "C.UTF-8");
    cmd
}

/// Spawn in a process group of its own (so the whole session can be stopped), with its output
/// forwarded to our log.
fn spawn_logged(cmd: &mut Command, name: &'static str) -> std::io::Result<Child> {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    tracing::info!(name, pid = child.id(), "started");
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward_lines(out, name));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward_lines(err, name));
    }
    Ok(child)
}

async fn forward_lines(stream: impl AsyncRead + Unpin, name: &'static str) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(target: "corix_agent::desktop", name, "{line}");
    }
}

/// SIGTERM the child's process group, then SIGKILL it if it is still there after a grace period.
async fn stop(child: &mut Child, name: &str) {
    let Some(pid) = child.id() else { return };
    let signal_group = |signal| {
        // SAFETY: killpg only sends a signal, to the group this child leads.
        unsafe { libc::killpg(pid as i32, signal) };
    };
    signal_group(libc::SIGTERM);
    if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_err() {
        tracing::warn!(name, "did not stop on SIGTERM; killing it");
        signal_group(libc::SIGKILL);
        let _ = child.wait().await;
    }
    tracing::info!(name, "stopped");
}

async fn display_answers(display: &str) -> bool {
    let display = display.to_string();
    tokio::task::spawn_blocking(move || x11rb::rust_connection::RustConnection::connect(Some(&display)).is_ok())
        .await
        .unwrap_or(false)
}

/// A lock left by an Xvfb that is gone (say, the container was restarted) makes a new Xvfb refuse
/// to start; one held by an Xvfb we no longer supervise is ended, since this display is ours.
async fn remove_stale_lock(display: &str) {
    let number = display.trim_start_matches(':').split('.').next().unwrap_or_default();
    let lock = format!("/tmp/.X{number}-lock");
    let Ok(content) = tokio::fs::read_to_string(&lock).await else { return };
    if let Ok(pid) = content.trim().parse::<i32>() {
        let comm = tokio::fs::read_to_string(format!("/proc/{pid}/comm")).await.unwrap_or_default();
        if comm.trim() == "Xvfb" {
            tracing::warn!(pid, lock = %lock, "ending an Xvfb this agent did not start");
            // SAFETY: kill only sends a signal.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            for _ in 0..40 {
                if tokio::fs::metadata(format!("/proc/{pid}")).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tracing::info!(lock, "removing a stale X lock");
    let _ = tokio::fs::remove_file(&lock).await;
    let _ = tokio::fs::remove_file(format!("/tmp/.X11-unix/X{number}")).await;
}

/// Exponential backoff between restarts, reset after a healthy run.
#[derive(Default)]
struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    /// Sleep before the next start; false when shutdown came first.
    async fn wait(&mut self, started: Instant, shutdown: &mut watch::Receiver<bool>) -> bool {
        let delay = match self.next {
            Some(previous) if started.elapsed() < HEALTHY_RUN => (previous * 2).min(MAX_BACKOFF),
            _ => FIRST_BACKOFF,
        };
        self.next = Some(delay);
        tokio::select! {
            _ = tokio::time::sleep(delay) => !*shutdown.borrow(),
            _ = shutdown.changed() => false,
        }
    }
}
