//! How the control plane and the in-computer agent find and trust each other.

use serde::{Deserialize, Serialize};

/// The TCP port the agent listens on inside every computer.
pub const AGENT_PORT: u16 = 7777;
/// Environment variable carrying the per-computer secret the agent accepts (as `Authorization: Bearer`).
pub const AGENT_TOKEN_ENV: &str = "CORIX_AGENT_TOKEN";
/// Environment variable carrying the screen geometry, `WxHxD`.
pub const RESOLUTION_ENV: &str = "CORIX_RESOLUTION";
/// The X display the agent starts and drives.
pub const DISPLAY: &str = ":0";

/// `GET /health` on the agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentHealth {
    /// `ok` when the display and the desktop session are both up, `starting` otherwise.
    pub status: String,
    /// The X display answers.
    pub display: bool,
    /// The desktop session (XFCE) is running.
    pub session: bool,
    /// A window manager manages the screen (windows get frames and focus).
    #[serde(default)]
    pub window_manager: bool,
    /// The desktop's settings daemon runs (it grabs the keyboard shortcuts).
    #[serde(default)]
    pub settings_daemon: bool,
    /// The desktop has drawn its background (the last part of the session to come up).
    #[serde(default)]
    pub desktop_drawn: bool,
    pub resolution: String,
    pub version: String,
}

impl AgentHealth {
    /// The desktop answers: what the control plane waits for before a computer counts as running.
    pub fn is_ready(&self) -> bool {
        self.display && self.session && self.window_manager && self.settings_daemon && self.desktop_drawn
    }
}
