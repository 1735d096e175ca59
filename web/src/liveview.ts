// The live view: JPEG frames from `/ws/screen/{id}` drawn on a canvas; in interactive mode the
// mouse and keyboard go to the computer through the REST actions (click, drag, scroll, type, key).

import { Api } from "./api";

const KEY_NAMES: Record<string, string> = {
  Enter: "Return",
  Backspace: "BackSpace",
  Tab: "Tab",
  Escape: "Escape",
  Delete: "Delete",
  Insert: "Insert",
  Home: "Home",
  End: "End",
  PageUp: "Page_Up",
  PageDown: "Page_Down",
  ArrowLeft: "Left",
  ArrowRight: "Right",
  ArrowUp: "Up",
  ArrowDown: "Down",
  " ": "space",
};
const MODIFIERS = new Set(["Control", "Shift", "Alt", "Meta", "AltGraph", "CapsLock"]);
const BUTTONS = ["left", "middle", "right"];

export class LiveView {
  readonly canvas: HTMLCanvasElement;
  private socket: WebSocket | null = null;
  private interactive = false;
  private queue: Promise<unknown> = Promise.resolve();
  private pendingText = "";
  private down: { x: number; y: number; button: number } | null = null;
  private lastWheel = 0;
  frames = 0;
  onStatus: (text: string) => void = () => {};
  onError: (text: string) => void = () => {};

  constructor(
    private api: Api,
    private computerId: string,
    container: HTMLElement,
  ) {
    this.canvas = document.createElement("canvas");
    this.canvas.id = "screen";
    this.canvas.tabIndex = 0;
    this.canvas.width = 1280;
    this.canvas.height = 720;
    this.canvas.dataset.frames = "0";
    container.replaceChildren(this.canvas);
    this.canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    this.canvas.addEventListener("mousedown", (e) => this.mouseDown(e));
    this.canvas.addEventListener("mouseup", (e) => this.mouseUp(e));
    this.canvas.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    this.canvas.addEventListener("keydown", (e) => this.keyDown(e));
    this.connect();
  }

  setInteractive(on: boolean): void {
    this.interactive = on;
    this.canvas.classList.toggle("interactive", on);
    if (on) this.canvas.focus();
  }

  close(): void {
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }

  private connect(): void {
    const socket = this.api.socket(`/ws/screen/${this.computerId}`);
    socket.binaryType = "blob";
    this.socket = socket;
    this.onStatus("connecting");
    socket.onopen = () => this.onStatus("live");
    socket.onmessage = async (event) => {
      if (!(event.data instanceof Blob)) return;
      const bitmap = await createImageBitmap(event.data);
      if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
        this.canvas.width = bitmap.width;
        this.canvas.height = bitmap.height;
      }
      this.canvas.getContext("2d")!.drawImage(bitmap, 0, 0);
      bitmap.close();
      this.frames += 1;
      this.canvas.dataset.frames = String(this.frames);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.onStatus(event.reason ? `closed: ${event.reason}` : "disconnected");
      // Reconnect while the view is open (the computer may be restarting).
      setTimeout(() => {
        if (this.socket === socket) this.connect();
      }, 2000);
    };
  }

  /// Screen coordinates of a mouse event.
  private point(e: MouseEvent): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    const x = Math.round(((e.clientX - rect.left) / rect.width) * this.canvas.width);
    const y = Math.round(((e.clientY - rect.top) / rect.height) * this.canvas.height);
    return {
      x: Math.max(0, Math.min(this.canvas.width - 1, x)),
      y: Math.max(0, Math.min(this.canvas.height - 1, y)),
    };
  }

  /// Sends actions one after another, in the order the user made them.
  private send(action: string, body: unknown): void {
    this.flushText();
    this.enqueue(action, body);
  }

  private enqueue(action: string, body: unknown): void {
    this.queue = this.queue
      .then(() => this.api.call("POST", `/computers/${this.computerId}/${action}`, body))
      .catch((err: Error) => this.onError(`${action}: ${err.message}`));
  }

  private flushText(): void {
    if (!this.pendingText) return;
    const text = this.pendingText;
    this.pendingText = "";
    this.enqueue("type", { text });
  }

  private mouseDown(e: MouseEvent): void {
    this.canvas.focus();
    if (!this.interactive) return;
    e.preventDefault();
    this.down = { ...this.point(e), button: e.button };
  }

  private mouseUp(e: MouseEvent): void {
    if (!this.interactive || !this.down) return;
    e.preventDefault();
    const start = this.down;
    this.down = null;
    const end = this.point(e);
    const button = BUTTONS[start.button] ?? "left";
    if (Math.abs(end.x - start.x) + Math.abs(end.y - start.y) > 6) {
      this.send("drag", { start_x: start.x, start_y: start.y, end_x: end.x, end_y: end.y, button });
    } else {
      this.send("click", { x: start.x, y: start.y, button, double_click: e.detail === 2 });
    }
  }

  private wheel(e: WheelEvent): void {
    if (!this.interactive) return;
    e.preventDefault();
    const now = performance.now();
    if (now - this.lastWheel < 100) return;
    this.lastWheel = now;
    const { x, y } = this.point(e);
    const vertical = Math.abs(e.deltaY) >= Math.abs(e.deltaX);
    const direction = vertical ? (e.deltaY > 0 ? "down" : "up") : e.deltaX > 0 ? "right" : "left";
    this.send("scroll", { x, y, direction, amount: 2 });
  }

  private keyDown(e: KeyboardEvent): void {
    if (!this.interactive || MODIFIERS.has(e.key)) return;
    e.preventDefault();
    const chord = e.ctrlKey || e.altKey || e.metaKey;
    if (!chord && e.key.length === 1) {
      // Printable characters are batched into one `type` call.
      this.pendingText += e.key;
      queueMicrotask(() => this.flushText());
      return;
    }
    let name = KEY_NAMES[e.key] ?? e.key;
    if (name.length === 1) name = name.toLowerCase();
    const parts: string[] = [];
    if (e.ctrlKey) parts.push("ctrl");
    if (e.altKey) parts.push("alt");
    if (e.metaKey) parts.push("super");
    if (e.shiftKey && (chord || name.length > 1)) parts.push("shift");
    parts.push(name);
    this.send("key", { key: parts.join("+") });
  }
}
