//! Server configuration, shared state and start-up.

use crate::lifecycle::Lifecycle;
use crate::prompt::{PromptConfig, Registry};
use crate::ratelimit::{RateLimiter, ShortWindow};
use crate::runtime::Runtime;
use crate::store::Store;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The desktop image every computer runs.
    pub image: String,
    /// The bridge network computers join.
    pub network: String,
    pub rate_limit: ShortWindow,
    /// How long a computer may take from container start to a desktop that answers.
    pub ready_timeout: Duration,
    pub reconcile_interval: Duration,
    pub reaper_interval: Duration,
    /// The length of one auto-stop minute (shorter in tests).
    pub auto_stop_minute: Duration,
    /// Computers kept started with the default specs, for creates that take milliseconds.
    pub warm_pool: usize,
    /// The built dashboard (`web/dist`) served at `/`; `None` or a directory without `index.html`: a page saying how to build it.
    pub web_dir: Option<PathBuf>,
    /// Model providers for `POST /computers/:id/prompt`.
    pub prompt: PromptConfig,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub lifecycle: Arc<Lifecycle>,
    pub limiter: Arc<RateLimiter>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub config: Arc<Config>,
    /// The running agent loops, one per computer.
    pub prompts: Arc<Registry>,
}

impl AppState {
    pub fn new(config: Config, store: Arc<Store>, runtime: Arc<dyn Runtime>) -> Self {
        let lifecycle = Arc::new(Lifecycle::new(store.clone(), runtime, config.image.clone(), config.ready_timeout, config.warm_pool));
        AppState {
            store,
            lifecycle,
            limiter: Arc::new(RateLimiter::new(config.rate_limit)),
            metrics: Arc::default(),
            config: Arc::new(config),
            prompts: Arc::new(Registry::new()),
        }
    }
}

/// Serves the API on `listener` until `shutdown` completes, after reconciling with the engine and
/// starting the background loops.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    state.lifecycle.runtime.prepare().await?;
    crate::reconcile::reconcile(&state.lifecycle, true).await?;
    crate::reconcile::spawn_reconciler(state.lifecycle.clone(), state.config.reconcile_interval);
    crate::reconcile::spawn_reaper(state.lifecycle.clone(), state.config.reaper_interval, state.config.auto_stop_minute);
    state.lifecycle.spawn_pool_filler();
    let lifecycle = state.lifecycle.clone();
    let app = crate::routes::router(state);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    lifecycle.drain_pool().await;
    Ok(())
}
