//! Request and response bodies of the actions an agent performs on a computer. The control plane
//! forwards the public endpoints (`/v1/computers/:id/<action>`) to the agent's `/<action>` unchanged,
//! so these types are the public API's too.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MouseButton {
    #[default]
    Left,
    Right,
    Middle,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ScrollDirection {
    Up,
    Down,
    Left,
    Right,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClickRequest {
    pub x: i32,
    pub y: i32,
    #[serde(default)]
    pub button: MouseButton,
    #[serde(default)]
    pub double_click: bool,
    /// Clicks in a row, 1 to 3 (3 selects a line); `double_click` is the same as 2.
    #[serde(default)]
    pub clicks: Option<u8>,
    /// Keys held down during the click, e.g. `shift` or `ctrl+shift`.
    #[serde(default)]
    pub hold_keys: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DragRequest {
    pub start_x: i32,
    pub start_y: i32,
    pub end_x: i32,
    pub end_y: i32,
    #[serde(default)]
    pub button: MouseButton,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub x: i32,
    pub y: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TypeRequest {
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    /// A key name (`Return`, `a`, `F5`, any X keysym name) or a `+` combination (`ctrl+shift+t`).
    pub key: String,
}

fn default_scroll_amount() -> u32 {
    3
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScrollRequest {
    pub x: i32,
    pub y: i32,
    pub direction: ScrollDirection,
    /// Wheel clicks.
    #[serde(default = "default_scroll_amount")]
    #[cfg_attr(feature = "openapi", schema(default = 3))]
    pub amount: u32,
    /// Keys held down while the wheel turns, e.g. `ctrl` to zoom or `shift` to scroll sideways.
    #[serde(default)]
    pub hold_keys: Option<String>,
}

/// Presses or releases a mouse button, at (x, y) when given (both or neither), else where the
/// pointer is. For drags along a path: press, move, ..., release.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ButtonRequest {
    #[serde(default)]
    pub button: MouseButton,
    #[serde(default)]
    pub x: Option<i32>,
    #[serde(default)]
    pub y: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HoldKeyRequest {
    /// A key or combination, as for `key`; every key in it is held.
    pub key: String,
    /// Seconds to hold, 0 to 30 (`MAX_WAIT_SECONDS`); `seconds` is accepted too.
    #[serde(alias = "seconds")]
    pub duration: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WaitRequest {
    /// Seconds, 0 to 30 (`MAX_WAIT_SECONDS`); `seconds` is accepted too.
    #[serde(alias = "seconds")]
    pub duration: f64,
}

pub const MAX_WAIT_SECONDS: f64 = 30.0;

/// The answer of every input action.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionResult {
    pub success: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CursorPosition {
    pub x: i32,
    pub y: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BashRequest {
    pub command: String,
    /// Seconds before the whole process group is killed.
    #[serde(default)]
    pub timeout: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PythonRequest {
    pub code: String,
    #[serde(default)]
    pub timeout: Option<f64>,
}

pub const DEFAULT_EXEC_TIMEOUT_SECONDS: f64 = 60.0;
pub const MAX_EXEC_TIMEOUT_SECONDS: f64 = 600.0;
/// Bytes kept of each of stdout and stderr; the rest is dropped and `truncated` is set.
pub const EXEC_OUTPUT_CAP_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecResult {
    pub stdout: String,
    pub stderr: String,
    /// The process's exit code; 124 when the timeout killed it, 128+N when signal N ended it.
    pub exit_code: i32,
    #[serde(default)]
    pub timed_out: bool,
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    File,
    Directory,
    Symlink,
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub file_type: FileType,
    pub size: u64,
    /// RFC 3339, UTC.
    pub modified_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileList {
    pub path: String,
    pub entries: Vec<FileEntry>,
}

/// Largest download; bigger files answer 413.
pub const MAX_DOWNLOAD_BYTES: u64 = 50 * 1024 * 1024;
/// Largest upload body.
pub const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;

/// `GET /screenshot?format=base64`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScreenshotJson {
    pub success: bool,
    /// `data:image/png;base64,...` (or `image/jpeg`).
    pub image: String,
    pub metadata: ScreenshotMetadata,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScreenshotMetadata {
    pub width: u32,
    pub height: u32,
    pub format: String,
    /// Bytes of the encoded image.
    pub size: usize,
    pub timestamp: String,
}
