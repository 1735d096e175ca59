//! The public objects and request bodies of the control plane's REST API.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ComputerStatus {
    Creating,
    Starting,
    Running,
    Stopping,
    Stopped,
    Restarting,
    Terminated,
    Error,
}

impl ComputerStatus {
    pub const ALL: [ComputerStatus; 8] = [
        ComputerStatus::Creating,
        ComputerStatus::Starting,
        ComputerStatus::Running,
        ComputerStatus::Stopping,
        ComputerStatus::Stopped,
        ComputerStatus::Restarting,
        ComputerStatus::Terminated,
        ComputerStatus::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComputerStatus::Creating => "creating",
            ComputerStatus::Starting => "starting",
            ComputerStatus::Running => "running",
            ComputerStatus::Stopping => "stopping",
            ComputerStatus::Stopped => "stopped",
            ComputerStatus::Restarting => "restarting",
            ComputerStatus::Terminated => "terminated",
            ComputerStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<ComputerStatus> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Computer {
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub name: String,
    pub os: String,
    pub cpu: u32,
    /// GB.
    pub ram: u32,
    pub disk_size_gb: u32,
    pub resolution: String,
    pub status: ComputerStatus,
    pub container_id: Option<String>,
    pub hostname: Option<String>,
    pub auto_stop_minutes: Option<u32>,
    pub created_at: String,
    pub updated_at: String,
    pub terminated_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComputerList {
    pub computers: Vec<Computer>,
    pub total: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workspace {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// `active` or `inactive`.
    pub status: String,
    pub icon_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceList {
    pub workspaces: Vec<Workspace>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspaceRequest {
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateComputerRequest {
    #[serde(default)]
    pub name: Option<String>,
    /// Only `linux`.
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub cpu: Option<u32>,
    #[serde(default)]
    pub ram: Option<u32>,
    #[serde(default)]
    pub disk_size_gb: Option<u32>,
    /// `WxH` or `WxHxD`.
    #[serde(default)]
    pub resolution: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CloneComputerRequest {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResizeComputerRequest {
    #[serde(default)]
    pub cpu: Option<u32>,
    #[serde(default)]
    pub ram: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MoveComputerRequest {
    pub workspace_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutoStop {
    pub auto_stop_minutes: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetAutoStopRequest {
    /// 0 disables.
    pub minutes: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
}
