//! The Corix control plane: the REST API, accounts, plans, rate limits and the lifecycle of
//! computers, which run as containers through the [`runtime::Runtime`] trait.

pub mod activity;
pub mod agent_client;
pub mod app;
pub mod auth;
pub mod lifecycle;
pub mod metrics;
pub mod openapi;
pub mod plans;
pub mod pool;
pub mod prompt;
pub mod ratelimit;
pub mod reconcile;
pub mod routes;
pub mod runtime;
pub mod store;

pub use app::{AppState, Config};
