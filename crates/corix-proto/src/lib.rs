//! Wire types shared by the control plane (`corix-server`), the in-computer agent (`corix-agent`)
//! and the CLI. Nothing here knows about users, stores or containers.

mod error;
pub mod agent;
pub mod actions;
pub mod api;
pub mod prompt;
pub mod terminal;
#[cfg(feature = "axum")]
pub mod http;

pub use error::{ApiError, ErrorBody, ErrorCode};
