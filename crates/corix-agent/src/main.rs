//! corix-agent: the daemon inside every Corix computer. It keeps the desktop (Xvfb + session)
//! running and serves the control plane's requests: screenshots, input, commands, files, terminal.

mod display;
mod exec;
mod files;
mod input;
mod keysym_names;
mod keysyms;
mod screen;
mod server;
mod supervisor;
mod terminal;

use anyhow::{bail, Context as _};
use corix_proto::agent::{AGENT_PORT, AGENT_TOKEN_ENV, DISPLAY, RESOLUTION_ENV};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

const LISTEN_ENV: &str = "CORIX_AGENT_LISTEN";
const DISPLAY_ENV: &str = "CORIX_DISPLAY";
const SESSION_CMD_ENV: &str = "CORIX_SESSION_CMD";
const DEFAULT_RESOLUTION: &str = "1280x720x24";
/// D-Bus wants a machine id, and each computer gets its own on its first start.
const DEFAULT_SESSION_CMD: &str = "dbus-uuidgen --ensure=/etc/machine-id; exec dbus-launch --exit-with-session xfce4-session";
const HOME: &str = "/root";

struct Config {
    token: String,
    listen: SocketAddr,
    display: String,
    /// `WxHx24`.
    resolution: String,
    session_cmd: String,
}

impl Config {
    /// Read the environment. The token is removed from it so that no child process inherits it.
    fn from_env() -> anyhow::Result<Config> {
        let token = std::env::var(AGENT_TOKEN_ENV).with_context(|| format!("{AGENT_TOKEN_ENV} must be set"))?;
        std::env::remove_var(AGENT_TOKEN_ENV);
        if token.is_empty() {
            bail!("{AGENT_TOKEN_ENV} must not be empty");
        }
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
        let listen = var(LISTEN_ENV, &format!("0.0.0.0:{AGENT_PORT}"));
        let listen = listen.parse().with_context(|| format!("{LISTEN_ENV}: not an address: {listen}"))?;
        let display = var(DISPLAY_ENV, DISPLAY);
        if !display.starts_with(':') || display[1..].parse::<u32>().is_err() {
            bail!("{DISPLAY_ENV}: expected a local display like :0, got {display}");
        }
        let resolution = parse_resolution(&var(RESOLUTION_ENV, DEFAULT_RESOLUTION))?;
        let session_cmd = var(SESSION_CMD_ENV, DEFAULT_SESSION_CMD);
        if session_cmd.trim().is_empty() {
            bail!("{SESSION_CMD_ENV} must not be empty");
        }
        Ok(Config { token, listen, display, resolution, session_cmd })
    }
}

/// `WxH` or `WxHx24`; the capture path handles 24-bit colour (32 bits a pixel) only.
fn parse_resolution(value: &str) -> anyhow::Result<String> {
    let parts: Vec<&str> = value.split('x').collect();
    let number = |s: &str| s.parse::<u32>().ok().filter(|n| (16..=8192).contains(n));
    match parts[..] {
        [w, h] | [w, h, "24"] if number(w).is_some() && number(h).is_some() => Ok(format!("{w}x{h}x24")),
        _ => bail!("{RESOLUTION_ENV}: expected WIDTHxHEIGHTx24 (16..8192 pixels a side), got {value}"),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // Before any thread exists: the environment is changed here.
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            tracing::error!("{err:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(%err, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let (desktop, supervisor) = supervisor::start(
        supervisor::DesktopConfig {
            display: config.display.clone(),
            resolution: config.resolution.clone(),
            session_cmd: config.session_cmd,
            home: HOME.to_string(),
        },
        shutdown_rx,
    );
    let display = Arc::new(display::Display::new(config.display.clone()));
    let state = Arc::new(server::AppState {
        token: config.token,
        resolution: config.resolution,
        screen: screen::Screen::new(display.clone()),
        input: input::Input::new(display.clone()),
        display,
        exec_env: exec::ExecEnv { display: config.display, home: HOME.to_string() },
        desktop,
    });
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    tracing::info!(address = %config.listen, version = env!("CARGO_PKG_VERSION"), "corix-agent listening");
    // Open terminals would hold a graceful shutdown forever: on a signal, stop without waiting.
    tokio::select! {
        served = axum::serve(listener, server::router(state)) => served.context("serving HTTP")?,
        _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
        _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
    }
    let _ = shutdown.send(true);
    let _ = supervisor.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_resolution;

    #[test]
    fn resolutions_are_24_bit() {
        assert_eq!(parse_resolution("1280x720x24").unwrap(), "1280x720x24");
        assert_eq!(parse_resolution("1920x1080").unwrap(), "1920x1080x24");
        assert!(parse_resolution("1280x720x16").is_err());
        assert!(parse_resolution("big").is_err());
    }
}
