//! The agent's one persistent connection to the X display, shared by screen capture and input.
//! It is opened lazily and reopened after the display restarts (the supervisor may restart Xvfb).
//! Every call here blocks: callers run them on tokio's blocking pool.

use corix_proto::{ApiError, ErrorCode};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use x11rb::connection::{Connection, RequestConnection};
use x11rb::errors::{ConnectionError, ReplyError};
use x11rb::protocol::xproto::{Atom, AtomEnum, ConnectionExt as _, Window};
use x11rb::protocol::{shm, xfixes, xtest};
use x11rb::rust_connection::RustConnection;

/// An open connection and what was learnt about the server when it was opened.
pub struct XConn {
    pub conn: RustConnection,
    pub root: Window,
    pub width: u16,
    pub height: u16,
    /// Bumped on every reconnect, so that per-connection state (SHM segment, keymap) can tell it is stale.
    pub generation: u64,
    /// MIT-SHM 1.2 (server-created segments passed as a file descriptor).
    pub shm: bool,
    pub xfixes: bool,
    broken: AtomicBool,
}

impl XConn {
    /// Turn an X failure into an API error; a lost connection also marks this one for reopening.
    pub fn fail(&self, err: impl Into<XError>) -> ApiError {
        match err.into() {
            XError::Connection(err) => {
                self.broken.store(true, Ordering::Relaxed);
                ApiError::new(ErrorCode::DisplayUnavailable, format!("lost the X display: {err}"))
            }
            XError::Protocol(message) => ApiError::internal(format!("X request failed: {message}")),
        }
    }

    /// Wait until the server has processed every request sent so far (one round trip).
    pub fn sync(&self) -> Result<(), ApiError> {
        self.conn.get_input_focus().map_err(|e| self.fail(e))?.reply().map_err(|e| self.fail(e))?;
        Ok(())
    }
}

pub enum XError {
    Connection(ConnectionError),
    Protocol(String),
}

impl From<ConnectionError> for XError {
    fn from(err: ConnectionError) -> Self {
        XError::Connection(err)
    }
}

impl From<ReplyError> for XError {
    fn from(err: ReplyError) -> Self {
        match err {
            ReplyError::ConnectionError(err) => XError::Connection(err),
            ReplyError::X11Error(err) => XError::Protocol(format!("{:?} error (request {})", err.error_kind, err.major_opcode)),
        }
    }
}

pub struct Display {
    name: String,
    current: Mutex<Option<Arc<XConn>>>,
    generation: AtomicU64,
}

impl Display {
    pub fn new(name: String) -> Self {
        Display { name, current: Mutex::new(None), generation: AtomicU64::new(0) }
    }

    /// The live connection, opened (again) if needed; 503 when the display does not answer.
    pub fn get(&self) -> Result<Arc<XConn>, ApiError> {
        let mut current = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(conn) = current.as_ref() {
            if !conn.broken.load(Ordering::Relaxed) {
                return Ok(conn.clone());
            }
        }
        *current = None;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let conn = Arc::new(self.open(generation)?);
        tracing::info!(display = %self.name, generation, shm = conn.shm, "connected to the X display");
        *current = Some(conn.clone());
        Ok(conn)
    }

    /// Whether the display answers a round trip right now.
    pub fn is_up(&self) -> bool {
        self.get().and_then(|conn| conn.sync()).is_ok()
    }

    /// Whether a window manager manages the screen: EWMH's `_NET_SUPPORTING_WM_CHECK` on the root
    /// names a live window that names itself. Until then new windows get no focus or frame.
    pub fn window_manager_running(&self) -> bool {
        self.probe(b"_NET_SUPPORTING_WM_CHECK", |x, atom| {
            let named = |window: Window| -> Option<Window> {
                let reply = x.conn.get_property(false, window, atom, AtomEnum::WINDOW, 0, 1).ok()?.reply().ok()?;
                let first = reply.value32()?.next();
                first
            };
            let check_window = named(x.root)?;
            Some(named(check_window) == Some(check_window))
        })
    }

    /// Whether the desktop (xfdesktop) has drawn its background: it then publishes the root
    /// pixmap as `_XROOTPMAP_ID`. It starts last, so the session is fully up by then.
    pub fn desktop_drawn(&self) -> bool {
        self.probe(b"_XROOTPMAP_ID", |x, atom| {
            let reply = x.conn.get_property(false, x.root, atom, AtomEnum::PIXMAP, 0, 1).ok()?.reply().ok()?;
            Some(reply.value_len > 0)
        })
    }

    /// Whether a settings daemon (xfsettingsd) owns the XSETTINGS selection: it also grabs the
    /// desktop's keyboard shortcuts, so until then `ctrl+alt+t` and friends do nothing.
    pub fn settings_daemon_running(&self) -> bool {
        self.probe(b"_XSETTINGS_S0", |x, atom| Some(x.conn.get_selection_owner(atom).ok()?.reply().ok()?.owner != x11rb::NONE))
    }

    /// Asks `check` about an atom a desktop component creates when it starts: false while the
    /// display is down, the atom does not exist yet, or the check cannot tell.
    fn probe(&self, atom_name: &[u8], check: impl FnOnce(&XConn, Atom) -> Option<bool>) -> bool {
        let Ok(x) = self.get() else { return false };
        let Some(atom) = x.conn.intern_atom(true, atom_name).ok().and_then(|c| c.reply().ok()).map(|r| r.atom) else {
            return false;
        };
        atom != x11rb::NONE && check(&x, atom).unwrap_or(false)
    }

    fn open(&self, generation: u64) -> Result<XConn, ApiError> {
        let unavailable = |what: String| {
            ApiError::new(ErrorCode::DisplayUnavailable, format!("X display {} is not available: {what}", self.name))
        };
        let (conn, screen_num) = RustConnection::connect(Some(&self.name)).map_err(|e| unavailable(e.to_string()))?;
        let screen = conn.setup().roots.get(screen_num).ok_or_else(|| unavailable("no screen".into()))?;
        let (root, width, height) = (screen.root, screen.width_in_pixels, screen.height_in_pixels);
        let has = |name: &'static str| matches!(conn.extension_information(name), Ok(Some(_)));
        if !has(xtest::X11_EXTENSION_NAME) {
            return Err(unavailable("the server lacks the XTEST extension".into()));
        }
        let shm = has(shm::X11_EXTENSION_NAME)
            && matches!(shm::query_version(&conn).map(|c| c.reply()), Ok(Ok(v)) if (v.major_version, v.minor_version) >= (1, 2));
        // XFIXES answers nothing until the client has announced its version.
        let xfixes = has(xfixes::X11_EXTENSION_NAME)
            && matches!(xfixes::query_version(&conn, 4, 0).map(|c| c.reply()), Ok(Ok(_)));
        Ok(XConn { conn, root, width, height, generation, shm, xfixes, broken: AtomicBool::new(false) })
    }
}
