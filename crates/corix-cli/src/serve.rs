//! `corix serve`: the API server.

use crate::accounts::open_store;
use crate::DataDir;
use anyhow::Context;
use corix_server::auth;
use corix_server::plans::Plan;
use corix_server::prompt::{PromptConfig, Secret};
use corix_server::ratelimit::ShortWindow;
use corix_server::runtime::DockerRuntime;
use corix_server::store::Store;
use corix_server::{AppState, Config};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::prelude::*;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "CORIX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    data: DataDir,
    /// The desktop image computers run.
    #[arg(long, env = "CORIX_IMAGE", default_value_t = crate::image::default_image())]
    image: String,
    /// The bridge network computers join (made with inter-container traffic off).
    #[arg(long, env = "CORIX_NETWORK", default_value = "corix")]
    network: String,
    /// Calls per second each API key may make, sustained.
    #[arg(long, env = "CORIX_RATE_LIMIT_PER_SECOND", default_value_t = 100.0)]
    rate_limit_per_second: f64,
    /// Calls each API key may make at once after a quiet spell.
    #[arg(long, env = "CORIX_RATE_LIMIT_BURST", default_value_t = 200.0)]
    rate_limit_burst: f64,
    /// Seconds a computer may take to show its desktop.
    #[arg(long, env = "CORIX_READY_TIMEOUT", default_value_t = 90)]
    ready_timeout: u64,
    /// Seconds between reconciliations with the engine.
    #[arg(long, env = "CORIX_RECONCILE_INTERVAL", default_value_t = 60)]
    reconcile_interval: u64,
    /// Seconds between auto-stop checks.
    #[arg(long, env = "CORIX_REAPER_INTERVAL", default_value_t = 30.0)]
    reaper_interval: f64,
    /// Seconds in one auto-stop minute (60; smaller only for tests).
    #[arg(long, env = "CORIX_AUTO_STOP_MINUTE", default_value_t = 60.0)]
    auto_stop_minute: f64,
    /// Computers kept started with the default specs (2 vCPU, 4 GB, 1280x720), so a create takes milliseconds.
    #[arg(long, env = "CORIX_WARM_POOL", default_value_t = 0)]
    warm_pool: usize,
    /// The built dashboard served at `/` (default: `web/dist` of the checkout the binary was built in).
    #[arg(long, env = "CORIX_WEB_DIR")]
    web_dir: Option<std::path::PathBuf>,
    /// The Anthropic API key for `POST /computers/:id/prompt` (a request's `X-Model-Api-Key` overrides it).
    #[arg(long, env = "ANTHROPIC_API_KEY", hide_env_values = true)]
    anthropic_api_key: Option<String>,
    /// The OpenAI API key (or any OpenAI-compatible server's) for prompts.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    openai_api_key: Option<String>,
    /// The Anthropic API's base URL (`/v1/messages` is appended).
    #[arg(long, env = "ANTHROPIC_BASE_URL", default_value = "https://api.anthropic.com")]
    anthropic_base_url: String,
    /// The OpenAI API's base URL (`/responses`, `/chat/completions` are appended); a local vLLM or Ollama works.
    #[arg(long, env = "OPENAI_BASE_URL", default_value = "https://api.openai.com/v1")]
    openai_base_url: String,
    /// Screenshots kept in a prompt's model context; older ones are dropped.
    #[arg(long, env = "CORIX_PROMPT_MAX_SCREENSHOTS", default_value_t = 3)]
    prompt_max_screenshots: usize,
    /// Wall-clock limit of one prompt loop, in seconds.
    #[arg(long, env = "CORIX_PROMPT_TIMEOUT", default_value_t = 1800)]
    prompt_timeout: u64,
}

fn init_logging(data: &DataDir) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    let file = tracing_appender::rolling::never(&data.data_dir, "corix.log");
    let (file_writer, guard) = tracing_appender::non_blocking(file);
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("CORIX_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"))
    };
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter()))
        .with(tracing_subscriber::fmt::layer().json().with_writer(file_writer).with_filter(filter()))
        .init();
    Ok(guard)
}

/// On an empty store, makes the `admin` user (plan scale) with `CORIX_BOOTSTRAP_API_KEY` or a
/// fresh key, and prints the key.
fn bootstrap(store: &Store) -> anyhow::Result<()> {
    if store.user_count()? > 0 {
        return Ok(());
    }
    let secret = std::env::var("CORIX_BOOTSTRAP_API_KEY").ok().filter(|s| !s.is_empty());
    if let Some(secret) = &secret {
        anyhow::ensure!(auth::is_well_formed(secret), "CORIX_BOOTSTRAP_API_KEY must be crx_ followed by at least 32 characters");
    }
    let user = store.create_user("admin", Plan::Scale)?;
    let key = auth::add_key(store, &user, secret)?;
    println!("Created user admin (plan scale). API key: {}", key.secret);
    Ok(())
}

/// `web/dist` of the checkout: the binary is `<repo>/target/<profile>/corix`.
fn default_web_dir() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("web").join("dist"))
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = Arc::new(open_store(&args.data)?);
    let _log_guard = init_logging(&args.data)?;
    bootstrap(&store)?;
    let instance = match store.setting("instance_id")? {
        Some(id) => id,
        None => {
            let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
            store.set_setting("instance_id", &id)?;
            id
        }
    };
    let docker = DockerRuntime::connect().await.context("connecting to the Docker engine (is dockerd running?)")?;
    crate::image::ensure_current(&docker, &args.image).await?;
    let runtime = Arc::new(DockerRuntime::new(docker, instance, args.network.clone()));
    let config = Config {
        listen: args.listen,
        data_dir: args.data.data_dir.clone(),
        image: args.image,
        network: args.network,
        rate_limit: ShortWindow { per_second: args.rate_limit_per_second, burst: args.rate_limit_burst },
        ready_timeout: Duration::from_secs(args.ready_timeout),
        reconcile_interval: Duration::from_secs(args.reconcile_interval.max(1)),
        reaper_interval: Duration::from_secs_f64(args.reaper_interval.max(0.1)),
        auto_stop_minute: Duration::from_secs_f64(args.auto_stop_minute.max(0.01)),
        warm_pool: args.warm_pool,
        web_dir: args.web_dir.or_else(default_web_dir),
        prompt: PromptConfig {
            anthropic_api_key: args.anthropic_api_key.filter(|k| !k.is_empty()).map(Secret::new),
            openai_api_key: args.openai_api_key.filter(|k| !k.is_empty()).map(Secret::new),
            anthropic_base_url: args.anthropic_base_url,
            openai_base_url: args.openai_base_url,
            max_screenshots: args.prompt_max_screenshots.max(1),
            timeout: Duration::from_secs(args.prompt_timeout.max(1)),
        },
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr()?;
    println!("Corix is listening on http://{address} (API base URL http://{address}/api)");
    tracing::info!(%address, "listening");
    corix_server::app::serve(AppState::new(config, store, runtime), listener, shutdown_signal()).await
}
