//! `bash -c` and `python3 -c` in their own process group, with a timeout that kills the whole
//! group, and stdout/stderr kept up to a cap.

use crate::server::AppState;
use axum::extract::State;
use axum::Json;
use corix_proto::actions::{
    BashRequest, ExecResult, PythonRequest, DEFAULT_EXEC_TIMEOUT_SECONDS, EXEC_OUTPUT_CAP_BYTES, MAX_EXEC_TIMEOUT_SECONDS,
};
use corix_proto::http::JsonBody;
use corix_proto::ApiError;
use std::os::unix::process::ExitStatusExt as _;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::Command;

/// The longest single argument Linux accepts (MAX_ARG_STRLEN, with its terminating NUL).
const MAX_SCRIPT_BYTES: usize = 128 * 1024 - 1;
/// After the main process ends, how long to wait for background children that still hold its
/// stdout/stderr (`firefox &`) before answering with what was read.
const PIPE_GRACE: Duration = Duration::from_millis(200);

/// Where and how commands run: the desktop's display, root's home, a UTF-8 locale.
#[derive(Clone)]
pub struct ExecEnv {
    pub display: String,
    pub home: String,
}

impl ExecEnv {
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.home).env("DISPLAY", &self.display).env("HOME", &self.home).env("LANG", "C.UTF-8");
        cmd
    }
}

fn timeout_of(requested: Option<f64>) -> Result<Duration, ApiError> {
    let seconds = requested.unwrap_or(DEFAULT_EXEC_TIMEOUT_SECONDS);
    if !(seconds > 0.0 && seconds <= MAX_EXEC_TIMEOUT_SECONDS) {
        return Err(ApiError::bad_request(format!("timeout: must be in (0, {MAX_EXEC_TIMEOUT_SECONDS}] seconds, got {seconds}")));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn check_script(field: &str, script: &str) -> Result<(), ApiError> {
    if script.len() > MAX_SCRIPT_BYTES {
        return Err(ApiError::bad_request(format!("{field}: at most {MAX_SCRIPT_BYTES} bytes, got {}", script.len())));
    }
    if script.contains('\0') {
        return Err(ApiError::bad_request(format!("{field}: must not contain NUL characters")));
    }
    Ok(())
}

pub async fn bash(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<BashRequest>) -> Result<Json<ExecResult>, ApiError> {
    let timeout = timeout_of(req.timeout)?;
    check_script("command", &req.command)?;
    let mut cmd = state.exec_env.command("bash");
    cmd.arg("-c").arg(&req.command);
    run(cmd, timeout).await.map(Json)
}

pub async fn python(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<PythonRequest>) -> Result<Json<ExecResult>, ApiError> {
    let timeout = timeout_of(req.timeout)?;
    check_script("code", &req.code)?;
    let mut cmd = state.exec_env.command("python3");
    cmd.arg("-c").arg(&req.code);
    run(cmd, timeout).await.map(Json)
}

/// Kills the process group if the request is dropped (client gone) before the process ended.
struct GroupGuard {
    pgid: Option<i32>,
}

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // SAFETY: killpg only sends a signal; the group is the one we created for this run.
            unsafe { libc::killpg(pgid, libc::SIGKILL) };
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Read a stream to its end, keeping at most the cap and noting when something was dropped.
async fn read_capped(mut stream: impl AsyncRead + Unpin, into: &mut Vec<u8>, truncated: &mut bool) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let room = EXEC_OUTPUT_CAP_BYTES.saturating_sub(into.len());
                into.extend_from_slice(&buf[..n.min(room)]);
                *truncated |= n > room;
            }
        }
    }
}

async fn run(mut cmd: Command, timeout: Duration) -> Result<ExecResult, ApiError> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().map_err(|e| ApiError::internal(format!("could not start the process: {e}")))?;
    let mut guard = GroupGuard { pgid: child.id().map(|pid| pid as i32) };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ApiError::internal("the process has no output pipes"));
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (mut out_truncated, mut err_truncated) = (false, false);
    let mut timed_out = false;
    let status = {
        let readers = async {
            tokio::join!(read_capped(stdout, &mut out, &mut out_truncated), read_capped(stderr, &mut err, &mut err_truncated))
        };
        tokio::pin!(readers);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        // Drain the pipes while waiting, or a chatty process blocks on a full pipe.
        let mut drained = false;
        let status = loop {
            tokio::select! {
                status = child.wait() => break status,
                _ = &mut readers, if !drained => drained = true,
                _ = &mut deadline => {
                    timed_out = true;
                    guard.kill();
                    break child.wait().await;
                }
            }
        };
        if !drained {
            // Background children may hold the pipes open after the main process ended.
            let _ = tokio::time::timeout(PIPE_GRACE, &mut readers).await;
        }
        status.map_err(|e| ApiError::internal(format!("waiting for the process: {e}")))?
    };
    if !timed_out {
        // Background children outlive a finished command on purpose (`firefox &`): leave them be.
        guard.pgid = None;
    }
    let exit_code = if timed_out { 124 } else { status.code().or(status.signal().map(|sig| 128 + sig)).unwrap_or(-1) };
    Ok(ExecResult {
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
        exit_code,
        timed_out,
        truncated: out_truncated || err_truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_outside_the_range_are_refused_by_name() {
        assert_eq!(timeout_of(None).unwrap(), Duration::from_secs(60));
        assert!(timeout_of(Some(0.0)).unwrap_err().message.starts_with("timeout:"));
        assert!(timeout_of(Some(-1.0)).is_err());
        assert!(timeout_of(Some(601.0)).is_err());
        assert!(timeout_of(Some(f64::NAN)).is_err());
    }
}
