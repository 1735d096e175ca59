//! Mouse and keyboard through XTEST on the shared X connection: no subprocess, no per-key delay.
//!
//! Characters that are not on the keymap are bound to spare keycodes (ones with no keysym). Each
//! distinct character keeps its own spare keycode for as long as possible (least recently used is
//! recycled first), because a client translates a key press with the keymap it fetches when it
//! gets to the event: rebinding a keycode right after pressing it would let a slow client read the
//! new binding for the old press. Recycling therefore waits for the server and pauses briefly.

use crate::display::{Display, XConn};
use crate::keysyms;
use crate::server::{blocking, checked_duration, AppState};
use axum::extract::State;
use axum::Json;
use corix_proto::actions::{
    ActionResult, ButtonRequest, ClickRequest, CursorPosition, DragRequest, HoldKeyRequest, KeyRequest, MouseButton,
    MoveRequest, ScrollDirection, ScrollRequest, TypeRequest,
};
use corix_proto::http::JsonBody;
use corix_proto::ApiError;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConnectionExt as _, BUTTON_PRESS_EVENT, BUTTON_RELEASE_EVENT, KEY_PRESS_EVENT, KEY_RELEASE_EVENT, MOTION_NOTIFY_EVENT,
};
use x11rb::protocol::xtest;

/// How long a recycled keycode rests before it is rebound, so clients finish reading the old binding.
const RECYCLE_PAUSE: Duration = Duration::from_millis(30);
/// Intermediate pointer positions of a drag, and the pause between them (toolkits need to see motion).
const DRAG_STEPS: i32 = 10;
const DRAG_STEP_PAUSE: Duration = Duration::from_millis(8);
const MAX_SCROLL_AMOUNT: u32 = 100;

pub struct Input {
    display: Arc<Display>,
    bindings: Mutex<Bindings>,
}

/// Spare keycodes this agent bound, least recently used first; valid for one X connection.
#[derive(Default)]
struct Bindings {
    generation: u64,
    lru: Vec<(u8, u32)>,
}

/// The core keyboard mapping as the server has it now.
struct Keymap {
    min_keycode: u8,
    per_keycode: usize,
    keysyms: Vec<u32>,
    shift: Option<u8>,
}

impl Keymap {
    fn fetch(x: &XConn) -> Result<Keymap, ApiError> {
        let setup = x.conn.setup();
        let (min_keycode, max_keycode) = (setup.min_keycode, setup.max_keycode);
        let count = max_keycode - min_keycode + 1;
        let mapping = x.conn.get_keyboard_mapping(min_keycode, count).map_err(|e| x.fail(e))?;
        let modifiers = x.conn.get_modifier_mapping().map_err(|e| x.fail(e))?;
        let mapping = mapping.reply().map_err(|e| x.fail(e))?;
        let modifiers = modifiers.reply().map_err(|e| x.fail(e))?;
        // The first row of the modifier map holds the Shift keycodes.
        let per_modifier = modifiers.keycodes.len() / 8;
        let shift = modifiers.keycodes.iter().take(per_modifier).copied().find(|&kc| kc != 0);
        Ok(Keymap {
            min_keycode,
            per_keycode: usize::from(mapping.keysyms_per_keycode).max(1),
            keysyms: mapping.keysyms,
            shift,
        })
    }

    fn keycodes(&self) -> impl Iterator<Item = u8> + '_ {
        let count = self.keysyms.len() / self.per_keycode;
        (0..count).map(move |i| self.min_keycode.saturating_add(i as u8))
    }

    fn row(&self, keycode: u8) -> &[u32] {
        let start = usize::from(keycode - self.min_keycode) * self.per_keycode;
        self.keysyms.get(start..start + self.per_keycode).unwrap_or(&[])
    }

    /// A keycode producing `keysym` unshifted, else one producing it with Shift.
    fn find(&self, keysym: u32) -> Option<(u8, bool)> {
        let at = |column: usize| self.keycodes().find(|&kc| self.row(kc).get(column) == Some(&keysym));
        at(0).map(|kc| (kc, false)).or_else(|| at(1).filter(|_| self.shift.is_some()).map(|kc| (kc, true)))
    }

    fn is_spare(&self, keycode: u8) -> bool {
        self.row(keycode).iter().all(|&k| k == 0)
    }

    fn set(&mut self, keycode: u8, keysym: u32) {
        let start = usize::from(keycode - self.min_keycode) * self.per_keycode;
        if let Some(row) = self.keysyms.get_mut(start..start + self.per_keycode) {
            row.fill(0);
            row[0] = keysym;
            if let Some(second) = row.get_mut(1) {
                *second = keysym;
            }
        }
    }
}

/// One input action in progress: the connection, the keymap, and the bindings it may change.
struct Action<'a> {
    x: Arc<XConn>,
    keymap: Option<Keymap>,
    bindings: MutexGuard<'a, Bindings>,
    /// Keycodes pressed in this action since it last paused for clients to catch up.
    pressed_since_pause: Vec<u8>,
    paused: bool,
}

impl Input {
    pub fn new(display: Arc<Display>) -> Self {
        Input { display, bindings: Mutex::new(Bindings::default()) }
    }

    /// Serialise input actions: their events must not interleave.
    fn begin(&self) -> Result<Action<'_>, ApiError> {
        let bindings = self.bindings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(Action { x: self.display.get()?, keymap: None, bindings, pressed_since_pause: Vec::new(), paused: false })
    }

    pub fn click(&self, req: &ClickRequest) -> Result<(), ApiError> {
        let clicks = match (req.clicks, req.double_click) {
            (None, double) => if double { 2 } else { 1 },
            (Some(n @ 1..=3), false) | (Some(n @ 2), true) => n,
            (Some(n @ 1..=3), true) => return Err(ApiError::bad_request(format!("clicks: {n} contradicts double_click"))),
            (Some(n), _) => return Err(ApiError::bad_request(format!("clicks: must be 1 to 3, got {n}"))),
        };
        let hold = combo_keysyms(req.hold_keys.as_deref(), "hold_keys")?;
        let mut act = self.begin()?;
        let (x, y) = act.point(req.x, req.y, "x", "y")?;
        let held = act.press_all(&hold)?;
        act.motion(x, y)?;
        for _ in 0..clicks {
            act.button(button_number(req.button), true)?;
            act.button(button_number(req.button), false)?;
        }
        act.release_all(&held)?;
        act.x.sync()
    }

    /// Presses (or releases) a button, after moving to the point if one is given.
    pub fn button(&self, req: &ButtonRequest, press: bool) -> Result<(), ApiError> {
        let to = match (req.x, req.y) {
            (Some(x), Some(y)) => Some((x, y)),
            (None, None) => None,
            _ => return Err(ApiError::bad_request("x and y: give both or neither")),
        };
        let act = self.begin()?;
        if let Some((x, y)) = to {
            let (x, y) = act.point(x, y, "x", "y")?;
            act.motion(x, y)?;
        }
        act.button(button_number(req.button), press)?;
        act.x.sync()
    }

    /// Presses every key of `combo` and leaves them down; the keycodes to release later.
    fn press_combo(&self, combo: &str) -> Result<Vec<u8>, ApiError> {
        let keysyms = combo_keysyms(Some(combo), "key")?;
        let mut act = self.begin()?;
        let held = act.press_all(&keysyms)?;
        act.x.sync()?;
        Ok(held)
    }

    fn release_keys(&self, keycodes: &[u8]) -> Result<(), ApiError> {
        let act = self.begin()?;
        act.release_all(keycodes)?;
        act.x.sync()
    }

    pub fn drag(&self, req: &DragRequest) -> Result<(), ApiError> {
        let act = self.begin()?;
        let (x0, y0) = act.point(req.start_x, req.start_y, "start_x", "start_y")?;
        let (x1, y1) = act.point(req.end_x, req.end_y, "end_x", "end_y")?;
        let button = button_number(req.button);
        act.motion(x0, y0)?;
        act.button(button, true)?;
        act.x.sync()?;
        for step in 1..=DRAG_STEPS {
            std::thread::sleep(DRAG_STEP_PAUSE);
            let lerp = |a: i16, b: i16| (i32::from(a) + (i32::from(b) - i32::from(a)) * step / DRAG_STEPS) as i16;
            act.motion(lerp(x0, x1), lerp(y0, y1))?;
            act.x.sync()?;
        }
        act.button(button, false)?;
        act.x.sync()
    }

    pub fn move_to(&self, req: &MoveRequest) -> Result<(), ApiError> {
        let act = self.begin()?;
        let (x, y) = act.point(req.x, req.y, "x", "y")?;
        act.motion(x, y)?;
        act.x.sync()
    }

    pub fn cursor(&self) -> Result<CursorPosition, ApiError> {
        let x = self.display.get()?;
        let pointer = x.conn.query_pointer(x.root).map_err(|e| x.fail(e))?.reply().map_err(|e| x.fail(e))?;
        Ok(CursorPosition { x: pointer.root_x.into(), y: pointer.root_y.into() })
    }

    pub fn scroll(&self, req: &ScrollRequest) -> Result<(), ApiError> {
        if !(1..=MAX_SCROLL_AMOUNT).contains(&req.amount) {
            return Err(ApiError::bad_request(format!("amount: must be 1..={MAX_SCROLL_AMOUNT}, got {}", req.amount)));
        }
        let hold = combo_keysyms(req.hold_keys.as_deref(), "hold_keys")?;
        let mut act = self.begin()?;
        let (x, y) = act.point(req.x, req.y, "x", "y")?;
        // X reports wheel clicks as presses of buttons 4-7.
        let button = match req.direction {
            ScrollDirection::Up => 4,
            ScrollDirection::Down => 5,
            ScrollDirection::Left => 6,
            ScrollDirection::Right => 7,
        };
        let held = act.press_all(&hold)?;
        act.motion(x, y)?;
        for _ in 0..req.amount {
            act.button(button, true)?;
            act.button(button, false)?;
        }
        act.release_all(&held)?;
        act.x.sync()
    }

    pub fn type_text(&self, req: &TypeRequest) -> Result<(), ApiError> {
        let text = req.text.replace("\r\n", "\n");
        let keysyms = text
            .chars()
            .enumerate()
            .map(|(i, c)| {
                keysyms::for_char(c).ok_or_else(|| {
                    ApiError::bad_request(format!("text: character {i} (U+{:04X}) is a control character with no key", u32::from(c)))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut act = self.begin()?;
        for keysym in keysyms {
            let (keycode, shift) = act.resolve(keysym)?;
            act.tap(&[], keycode, shift)?;
        }
        act.x.sync()
    }

    pub fn key(&self, req: &KeyRequest) -> Result<(), ApiError> {
        let keysyms = combo_keysyms(Some(&req.key), "key")?;
        let Some((&main, modifiers)) = keysyms.split_last() else { return Err(ApiError::bad_request("key: must not be empty")) };
        let mut act = self.begin()?;
        let mut held = Vec::new();
        for &keysym in modifiers {
            held.push(act.resolve(keysym)?.0);
        }
        let (keycode, shift) = act.resolve(main)?;
        // A shifted key (`ctrl+A`) gets Shift unless the combination already holds it.
        let shift = shift && !held.iter().any(|&kc| Some(kc) == act.keymap.as_ref().and_then(|k| k.shift));
        act.tap(&held, keycode, shift)?;
        act.x.sync()
    }
}

impl Action<'_> {
    /// Check a point against the screen, naming the offending field.
    fn point(&self, x: i32, y: i32, x_name: &str, y_name: &str) -> Result<(i16, i16), ApiError> {
        let check = |value: i32, limit: u16, name: &str| {
            if (0..i32::from(limit)).contains(&value) {
                Ok(value as i16)
            } else {
                Err(ApiError::bad_request(format!("{name}: {value} is outside the screen (0..={})", i32::from(limit) - 1)))
            }
        };
        Ok((check(x, self.x.width, x_name)?, check(y, self.x.height, y_name)?))
    }

    fn fake(&self, event: u8, detail: u8, x: i16, y: i16) -> Result<(), ApiError> {
        xtest::fake_input(&self.x.conn, event, detail, x11rb::CURRENT_TIME, self.x.root, x, y, 0).map_err(|e| self.x.fail(e))?;
        Ok(())
    }

    fn motion(&self, x: i16, y: i16) -> Result<(), ApiError> {
        // Detail 0: an absolute position on `root`.
        self.fake(MOTION_NOTIFY_EVENT, 0, x, y)
    }

    fn button(&self, button: u8, press: bool) -> Result<(), ApiError> {
        self.fake(if press { BUTTON_PRESS_EVENT } else { BUTTON_RELEASE_EVENT }, button, 0, 0)
    }

    fn key(&self, keycode: u8, press: bool) -> Result<(), ApiError> {
        self.fake(if press { KEY_PRESS_EVENT } else { KEY_RELEASE_EVENT }, keycode, 0, 0)
    }

    /// Presses the keys in order and leaves them down; their keycodes, to release later.
    fn press_all(&mut self, keysyms: &[u32]) -> Result<Vec<u8>, ApiError> {
        let mut pressed = Vec::with_capacity(keysyms.len());
        for &keysym in keysyms {
            let keycode = self.resolve(keysym)?.0;
            self.key(keycode, true)?;
            pressed.push(keycode);
        }
        Ok(pressed)
    }

    fn release_all(&self, keycodes: &[u8]) -> Result<(), ApiError> {
        keycodes.iter().rev().try_for_each(|&keycode| self.key(keycode, false))
    }

    /// Press `held` in order, then the key (with Shift if asked), then release all in reverse.
    fn tap(&self, held: &[u8], keycode: u8, shift: bool) -> Result<(), ApiError> {
        let shift_code = if shift { self.keymap.as_ref().and_then(|k| k.shift) } else { None };
        let mut pressed: Vec<u8> = held.to_vec();
        pressed.extend(shift_code);
        pressed.push(keycode);
        for &kc in &pressed {
            self.key(kc, true)?;
        }
        for &kc in pressed.iter().rev() {
            self.key(kc, false)?;
        }
        Ok(())
    }

    /// The keymap, fetched once per action so outside changes (a layout switch) are seen; our own
    /// bindings that no longer hold are forgotten.
    fn keymap(&mut self) -> Result<&mut Keymap, ApiError> {
        if self.keymap.is_none() {
            let keymap = Keymap::fetch(&self.x)?;
            if self.bindings.generation != self.x.generation {
                *self.bindings = Bindings { generation: self.x.generation, lru: Vec::new() };
            }
            self.bindings.lru.retain(|&(kc, keysym)| keymap.row(kc).first() == Some(&keysym));
            self.keymap = Some(keymap);
        }
        self.keymap.as_mut().ok_or_else(|| ApiError::internal("keymap missing"))
    }

    /// A keycode (and whether Shift is needed) that types `keysym`, binding a spare one if needed.
    fn resolve(&mut self, keysym: u32) -> Result<(u8, bool), ApiError> {
        let found = self.keymap()?.find(keysym);
        let (keycode, shift) = match found {
            Some(found) => found,
            None => (self.bind(keysym)?, false),
        };
        if let Some(pos) = self.bindings.lru.iter().position(|&(kc, _)| kc == keycode) {
            let entry = self.bindings.lru.remove(pos);
            self.bindings.lru.push(entry);
        }
        self.pressed_since_pause.push(keycode);
        Ok((keycode, shift))
    }

    fn bind(&mut self, keysym: u32) -> Result<u8, ApiError> {
        let keymap = self.keymap()?;
        let spare = keymap.keycodes().find(|&kc| keymap.is_spare(kc));
        let keycode = match spare {
            Some(kc) => kc,
            None => {
                // Least recently used first, preferring one not pressed since the last pause.
                let lru = &self.bindings.lru;
                let not_pressed = lru.iter().position(|(kc, _)| !self.pressed_since_pause.contains(kc));
                let Some(pos) = not_pressed.or((!lru.is_empty()).then_some(0)) else {
                    return Err(ApiError::internal("the keymap has no spare keycode to bind a character to"));
                };
                let (kc, _) = self.bindings.lru.remove(pos);
                // One pause covers every keycode pressed before it: earlier actions' and this one's.
                if !self.paused || self.pressed_since_pause.contains(&kc) {
                    self.x.sync()?;
                    std::thread::sleep(RECYCLE_PAUSE);
                    self.paused = true;
                    self.pressed_since_pause.clear();
                }
                kc
            }
        };
        // The same keysym on both levels, so Shift or Caps Lock cannot turn it into another one.
        x11rb::protocol::xproto::change_keyboard_mapping(&self.x.conn, 1, keycode, 2, &[keysym, keysym])
            .map_err(|e| self.x.fail(e))?;
        self.keymap()?.set(keycode, keysym);
        self.bindings.lru.push((keycode, keysym));
        Ok(keycode)
    }
}

/// The keysyms of an optional `+` combination, with errors naming `field`.
fn combo_keysyms(combo: Option<&str>, field: &str) -> Result<Vec<u32>, ApiError> {
    combo.map_or(Ok(Vec::new()), |combo| keysyms::parse_combo(combo).map_err(|e| ApiError::bad_request(format!("{field}: {e}"))))
}

fn button_number(button: MouseButton) -> u8 {
    match button {
        MouseButton::Left => 1,
        MouseButton::Middle => 2,
        MouseButton::Right => 3,
    }
}

fn done() -> Json<ActionResult> {
    Json(ActionResult { success: true })
}

pub async fn click(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<ClickRequest>) -> Result<Json<ActionResult>, ApiError> {
    blocking(move || state.input.click(&req)).await.map(|()| done())
}

pub async fn drag(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<DragRequest>) -> Result<Json<ActionResult>, ApiError> {
    blocking(move || state.input.drag(&req)).await.map(|()| done())
}

pub async fn move_to(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<MoveRequest>) -> Result<Json<ActionResult>, ApiError> {
    blocking(move || state.input.move_to(&req)).await.map(|()| done())
}

pub async fn cursor(State(state): State<Arc<AppState>>) -> Result<Json<CursorPosition>, ApiError> {
    blocking(move || state.input.cursor()).await.map(Json)
}

pub async fn scroll(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<ScrollRequest>) -> Result<Json<ActionResult>, ApiError> {
    blocking(move || state.input.scroll(&req)).await.map(|()| done())
}

pub async fn type_text(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<TypeRequest>) -> Result<Json<ActionResult>, ApiError> {
    blocking(move || state.input.type_text(&req)).await.map(|()| done())
}

pub async fn key(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<KeyRequest>) -> Result<Json<ActionResult>, ApiError> {
    blocking(move || state.input.key(&req)).await.map(|()| done())
}

pub async fn mouse_down(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<ButtonRequest>) -> Result<Json<ActionResult>, ApiError> {
    blocking(move || state.input.button(&req, true)).await.map(|()| done())
}

pub async fn mouse_up(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<ButtonRequest>) -> Result<Json<ActionResult>, ApiError> {
    blocking(move || state.input.button(&req, false)).await.map(|()| done())
}

/// Holds the keys down for the duration. Other input goes on meanwhile; the keys are released even
/// if the caller goes away, since the hold runs as a task of its own.
pub async fn hold_key(State(state): State<Arc<AppState>>, JsonBody(req): JsonBody<HoldKeyRequest>) -> Result<Json<ActionResult>, ApiError> {
    let duration = checked_duration(req.duration)?;
    let hold = tokio::spawn(async move {
        let pressing = state.clone();
        let held = blocking(move || pressing.input.press_combo(&req.key)).await?;
        tokio::time::sleep(duration).await;
        blocking(move || state.input.release_keys(&held)).await
    });
    hold.await.map_err(|_| ApiError::internal("the agent hit a bug handling this request"))?.map(|()| done())
}
