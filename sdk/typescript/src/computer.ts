/** A computer: its data (`id`, `status`, ...) and every action on it. */

import { writeFile } from "node:fs/promises";
import type { Corix } from "./client.js";
import { PromptError } from "./errors.js";
import { SSEDecoder, interpret, lines } from "./prompt.js";
import { Screenshot } from "./screenshot.js";
import { Terminal, terminalUrl } from "./terminal.js";
import {
  type ActionResult,
  type ComputerData,
  type ComputerStatus,
  type CursorPosition,
  type ExecResult,
  type FileEntry,
  type ModelProvider,
  type MouseButton,
  type PromptResult,
  type PromptStep,
  type ScreenshotJson,
  type ScrollDirection,
  type Workspace,
  compact,
  toActionResult,
  toComputerData,
  toExecResult,
  toFileEntry,
  toPromptResult,
  toScreenshotJson,
} from "./types.js";
import { parseRam } from "./core.js";

/** Milliseconds `prompt()` waits for the loop's result by default. */
export const DEFAULT_PROMPT_TIMEOUT = 900_000;

export interface ScreenshotOptions {
  format?: "png" | "jpeg";
  /** JPEG quality, 1-100. */
  quality?: number;
  /** Downscale to this width (the aspect ratio is kept). */
  width?: number;
  /** Downscale by this factor (0-1). */
  scale?: number;
  /** Draw the pointer in. */
  cursor?: boolean;
}

export interface ClickOptions {
  button?: MouseButton;
  /** Double-click. */
  double?: boolean;
  /** Clicks in a row, 1 to 3 (3 selects a line). */
  clicks?: number;
  /** Keys held down during the click: `"shift"`, `"ctrl+shift"`. */
  holdKeys?: string;
}

export interface ButtonOptions {
  button?: MouseButton;
  /** Where to press or release (both or neither); default where the pointer is. */
  x?: number;
  y?: number;
}

export interface ScrollOptions {
  /** Default `"down"`. */
  direction?: ScrollDirection;
  /** Wheel clicks, default 3. */
  amount?: number;
  /** Keys held down meanwhile: `"ctrl"` to zoom. */
  holdKeys?: string;
}

export interface ExecOptions {
  /** Seconds before the server kills the whole process group (server default 60, at most 600). */
  timeout?: number;
  /** Return the whole `ExecResult` (stdout, stderr, exitCode, timedOut, truncated) instead of stdout. */
  full?: boolean;
}

export interface ResizeOptions {
  cpu?: number;
  /** GB as a number, or a string like `"8gb"`. */
  ram?: number | string;
}

export interface CloneOptions {
  /** Default `"{name} (copy)"`. */
  name?: string;
  /** `false`: answer at once, with status `creating`. */
  wait?: boolean;
}

export type UploadContent = string | Uint8Array | ArrayBuffer | Blob;

export interface PromptOptions {
  /** The model, e.g. `"claude-sonnet-4-6"`. */
  model: string;
  /** What to do, in plain words. */
  task: string;
  /** Model turns before the loop stops (server default 50, at most 500). */
  maxSteps?: number;
  /** Replaces the default system prompt. */
  system?: string;
  /** The wire format; default chosen from the model name. */
  provider?: ModelProvider;
  /** The model provider's key, sent as `X-Model-Api-Key`; default `CORIX_MODEL_API_KEY`. */
  modelApiKey?: string;
  /** Called with each step as it happens. */
  onStep?: (step: PromptStep) => void | Promise<void>;
  /** Milliseconds to wait for the result (default 900 000); `null`: no limit. */
  timeout?: number | null;
  /** Aborting it closes the stream, which cancels the loop on the server. */
  signal?: AbortSignal;
}

const q = (value: string) => encodeURIComponent(value);

function workspaceId(workspace: string | Workspace): string {
  return typeof workspace === "string" ? workspace : workspace.id;
}

async function toBytes(content: UploadContent): Promise<Uint8Array> {
  if (typeof content === "string") return Buffer.from(content, "utf8");
  if (content instanceof ArrayBuffer) return new Uint8Array(content);
  if (content instanceof Uint8Array) return content;
  if (typeof Blob !== "undefined" && content instanceof Blob) return new Uint8Array(await content.arrayBuffer());
  throw new TypeError("upload content must be a string, Uint8Array, Buffer, ArrayBuffer or Blob");
}

/**
 * A computer (a Linux desktop). Its fields are the API's computer object in camelCase; its methods act on it.
 * Lifecycle methods (`stop`, `start`, `restart`, `resize`, `move`, `terminate`, `refresh`) update the
 * fields in place from the server's answer and return the computer.
 */
export class Computer implements ComputerData {
  id!: string;
  workspaceId!: string;
  userId!: string | null;
  name!: string;
  os!: string;
  cpu!: number;
  ram!: number;
  diskSizeGb!: number | null;
  resolution!: string | null;
  status!: ComputerStatus | (string & {});
  containerId!: string | null;
  hostname!: string | null;
  autoStopMinutes!: number | null;
  createdAt!: string;
  updatedAt!: string | null;
  terminatedAt!: string | null;
  readonly #client: Corix;

  /** @internal Built by `client.computers`; not for direct use. */
  constructor(client: Corix, data: ComputerData) {
    this.#client = client;
    Object.assign(this, data);
  }

  /** The computer's fields as plain data. */
  toJSON(): ComputerData {
    const { id, workspaceId, userId, name, os, cpu, ram, diskSizeGb, resolution, status, containerId, hostname,
      autoStopMinutes, createdAt, updatedAt, terminatedAt } = this;
    return { id, workspaceId, userId, name, os, cpu, ram, diskSizeGb, resolution, status, containerId, hostname,
      autoStopMinutes, createdAt, updatedAt, terminatedAt };
  }

  private path(rest = ""): string {
    return `/computers/${q(this.id)}${rest}`;
  }

  private async lifecycle(method: string, rest: string, json?: unknown): Promise<this> {
    const data = await this.#client.requestJson({ method, path: this.path(rest), json });
    Object.assign(this, toComputerData(data));
    return this;
  }

  private async action(rest: string, json: unknown, timeout?: number): Promise<ActionResult> {
    return toActionResult(await this.#client.requestJson({ method: "POST", path: this.path(rest), json, timeout }));
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Reloads the computer's fields from the server. */
  refresh(): Promise<this> {
    return this.lifecycle("GET", "");
  }

  /** Stops the computer; its filesystem is kept. */
  stop(): Promise<this> {
    return this.lifecycle("POST", "/stop");
  }

  /** Starts a stopped computer; resolves once the desktop is up. */
  start(): Promise<this> {
    return this.lifecycle("POST", "/start");
  }

  /** Reboots the computer: processes end, the filesystem stays, a fresh desktop starts. */
  restart(): Promise<this> {
    return this.lifecycle("POST", "/restart");
  }

  /** Removes the computer for good (`DELETE /computers/{id}`). */
  terminate(): Promise<this> {
    return this.lifecycle("DELETE", "");
  }

  /** Same as `terminate()`. */
  delete(): Promise<this> {
    return this.terminate();
  }

  /** Live-resizes CPU and/or RAM (GB, or a string like `"8gb"`). */
  resize(options: ResizeOptions): Promise<this> {
    const body = compact({ cpu: options.cpu, ram: parseRam(options.ram) });
    if (!Object.keys(body).length) throw new TypeError("resize needs cpu, ram or both");
    return this.lifecycle("POST", "/resize", body);
  }

  /** Moves the computer to another workspace (an id or a `Workspace`). */
  move(workspace: string | Workspace): Promise<this> {
    return this.lifecycle("POST", "/move", { workspace_id: workspaceId(workspace) });
  }

  /** Creates a new computer with the same specs (not the files). */
  async clone(options: CloneOptions = {}): Promise<Computer> {
    const data = await this.#client.requestJson({
      method: "POST",
      path: this.path("/clone"),
      query: { wait: options.wait === false ? "false" : undefined },
      json: compact({ name: options.name }),
    });
    return new Computer(this.#client, toComputerData(data));
  }

  /** Without `minutes`: the auto-stop setting. With it: sets it (0 disables). Resolves to the minutes or `null`. */
  async autoStop(minutes?: number): Promise<number | null> {
    const data =
      minutes === undefined
        ? await this.#client.requestJson({ method: "GET", path: this.path("/auto-stop") })
        : await this.#client.requestJson({ method: "PATCH", path: this.path("/auto-stop"), json: { minutes } });
    const value = data?.auto_stop_minutes;
    this.autoStopMinutes = typeof value === "number" ? value : null;
    return this.autoStopMinutes;
  }

  // ---- screen and input -------------------------------------------------------------------------

  /** The desktop as image bytes (PNG by default). */
  async screenshot(options: ScreenshotOptions = {}): Promise<Screenshot> {
    const { data, contentType } = await this.#client.requestBytes({
      method: "GET",
      path: this.path("/screenshot"),
      query: {
        format: options.format === "png" ? undefined : options.format,
        quality: options.quality,
        width: options.width,
        scale: options.scale,
        cursor: options.cursor === undefined ? undefined : String(options.cursor),
      },
      headers: { Accept: "image/png, image/jpeg" },
    });
    return new Screenshot(data, contentType);
  }

  /** The desktop as `{ image: "data:image/png;base64,...", metadata }`. */
  async screenshotBase64(options: Omit<ScreenshotOptions, "format" | "quality"> = {}): Promise<ScreenshotJson> {
    const data = await this.#client.requestJson({
      method: "GET",
      path: this.path("/screenshot"),
      query: {
        format: "base64",
        width: options.width,
        scale: options.scale,
        cursor: options.cursor === undefined ? undefined : String(options.cursor),
      },
    });
    return toScreenshotJson(data);
  }

  /** Clicks at (x, y): `click(500, 300)`, `click(500, 300, "right")`, `click(500, 300, { double: true })`. */
  click(x: number, y: number, options: ClickOptions | MouseButton = {}): Promise<ActionResult> {
    const o: ClickOptions = typeof options === "string" ? { button: options } : options;
    const body: Record<string, unknown> = { x, y, button: o.button ?? "left", clicks: o.clicks, hold_keys: o.holdKeys };
    if (o.double) body.double_click = true;
    return this.action("/click", compact(body));
  }

  /** Double-clicks at (x, y). */
  doubleClick(x: number, y: number, button: MouseButton = "left"): Promise<ActionResult> {
    return this.click(x, y, { button, double: true });
  }

  /** Moves the pointer to (x, y). */
  moveMouse(x: number, y: number): Promise<ActionResult> {
    return this.action("/mouse-move", { x, y });
  }

  /** The pointer position. */
  async cursor(): Promise<CursorPosition> {
    const data = await this.#client.requestJson({ method: "GET", path: this.path("/cursor") });
    return { x: data.x, y: data.y };
  }

  /** Presses a button (default left) and keeps it down; with `moveMouse` and `mouseUp`, a drag along any path. */
  mouseDown(options: ButtonOptions = {}): Promise<ActionResult> {
    return this.action("/mouse-down", compact({ button: options.button ?? "left", x: options.x, y: options.y }));
  }

  /** Releases a button (default left). */
  mouseUp(options: ButtonOptions = {}): Promise<ActionResult> {
    return this.action("/mouse-up", compact({ button: options.button ?? "left", x: options.x, y: options.y }));
  }

  /** Holds every key of `key` (`"shift"`, `"ctrl+alt"`) down for `seconds` (at most 30). */
  holdKey(key: string, seconds: number): Promise<ActionResult> {
    return this.action("/hold-key", { key, duration: seconds }, Math.max(this.#client.timeout, (seconds + 30) * 1000));
  }

  /** Drags from (startX, startY) to (endX, endY) holding `button`. */
  drag(startX: number, startY: number, endX: number, endY: number, button: MouseButton = "left"): Promise<ActionResult> {
    return this.action("/drag", { start_x: startX, start_y: startY, end_x: endX, end_y: endY, button });
  }

  /** Types `text`. */
  type(text: string): Promise<ActionResult> {
    return this.action("/type", { text });
  }

  /** Presses a key (`Return`, `F5`) or a combination (`ctrl+c`, `alt+F4`). */
  key(key: string): Promise<ActionResult> {
    return this.action("/key", { key });
  }

  /** Scrolls `amount` wheel clicks (default 3) in `direction` (default down) at (x, y). */
  scroll(x: number, y: number, options: ScrollOptions | ScrollDirection = {}): Promise<ActionResult> {
    const o: ScrollOptions = typeof options === "string" ? { direction: options } : options;
    return this.action("/scroll", compact({ x, y, direction: o.direction ?? "down", amount: o.amount ?? 3, hold_keys: o.holdKeys }));
  }

  /** Waits `seconds` (at most 30) on the server. */
  wait(seconds: number): Promise<ActionResult> {
    return this.action("/wait", { duration: seconds }, Math.max(this.#client.timeout, (seconds + 30) * 1000));
  }

  // ---- code ----------------------------------------------------------------------------------------

  /** Runs a bash command; resolves to its stdout (`{ full: true }`: the whole `ExecResult`). */
  bash(command: string, options?: ExecOptions & { full?: false }): Promise<string>;
  bash(command: string, options: ExecOptions & { full: true }): Promise<ExecResult>;
  bash(command: string, options?: ExecOptions): Promise<string | ExecResult>;
  async bash(command: string, options: ExecOptions = {}): Promise<string | ExecResult> {
    return this.exec("/bash", { command, timeout: options.timeout }, options);
  }

  /** Runs Python code; resolves to its stdout (`{ full: true }`: the whole `ExecResult`). */
  python(code: string, options?: ExecOptions & { full?: false }): Promise<string>;
  python(code: string, options: ExecOptions & { full: true }): Promise<ExecResult>;
  python(code: string, options?: ExecOptions): Promise<string | ExecResult>;
  async python(code: string, options: ExecOptions = {}): Promise<string | ExecResult> {
    return this.exec("/python", { code, timeout: options.timeout }, options);
  }

  private async exec(rest: string, body: Record<string, unknown>, options: ExecOptions): Promise<string | ExecResult> {
    const timeout = Math.max(this.#client.timeout, ((options.timeout ?? 60) + 30) * 1000);
    const data = await this.#client.requestJson({ method: "POST", path: this.path(rest), json: compact(body), timeout });
    const result = toExecResult(data);
    return options.full ? result : result.stdout;
  }

  // ---- files ---------------------------------------------------------------------------------------

  /** The entries of the directory at `path` (default `/root`). */
  async listFiles(path = "/root"): Promise<FileEntry[]> {
    const data = await this.#client.requestJson({ method: "GET", path: this.path("/files"), query: { path } });
    return (data.entries ?? []).map(toFileEntry);
  }

  /** Writes `content` (text as UTF-8, bytes, an ArrayBuffer or a Blob) to `path` in the computer; parents are created. */
  async upload(path: string, content: UploadContent): Promise<ActionResult> {
    const body = await toBytes(content);
    const data = await this.#client.requestJson({
      method: "POST",
      path: this.path("/files/upload"),
      query: { path },
      body,
      headers: { "Content-Type": "application/octet-stream" },
    });
    return toActionResult(data);
  }

  /** The file at `path` as bytes (at most 50 MB); also written to the local file `options.to` when given. */
  async download(path: string, options: { to?: string } = {}): Promise<Buffer> {
    const { data } = await this.#client.requestBytes({
      method: "GET",
      path: this.path("/files/download"),
      query: { path },
      headers: { Accept: "application/octet-stream" },
    });
    if (options.to !== undefined) await writeFile(options.to, data);
    return data;
  }

  /** Deletes the file at `path`; a directory only with `{ recursive: true }`. */
  async deleteFile(path: string, options: { recursive?: boolean } = {}): Promise<ActionResult> {
    const data = await this.#client.requestJson({
      method: "DELETE",
      path: this.path("/files"),
      query: { path, recursive: options.recursive ? "true" : undefined },
    });
    return toActionResult(data);
  }

  // ---- terminal ------------------------------------------------------------------------------------

  /** Opens an interactive shell over a WebSocket; `close()` it when done. */
  terminal(options: { cols?: number; rows?: number } = {}): Promise<Terminal> {
    const client = this.#client;
    const url = terminalUrl(client.terminalUrl, this.id, client.apiKey, options.cols, options.rows);
    return Terminal.open(url, { "User-Agent": "corix-typescript" }, Math.min(client.timeout, 60_000));
  }

  // ---- agent loop ----------------------------------------------------------------------------------

  /**
   * Runs the agent loop (see, decide, act) on this computer until the model is done, and resolves to
   * its result: `output`, `steps`, `stopReason`, `usage`. The answer is streamed as server-sent
   * events, so `onStep` sees each step as it happens.
   */
  async prompt(options: PromptOptions): Promise<PromptResult> {
    const modelApiKey = options.modelApiKey || process.env.CORIX_MODEL_API_KEY || undefined;
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (modelApiKey) headers["X-Model-Api-Key"] = modelApiKey;
    const body = compact({
      model: options.model,
      task: options.task,
      max_steps: options.maxSteps,
      system: options.system,
      provider: options.provider,
    });
    const onStep = options.onStep;
    return this.#client.request(
      {
        method: "POST",
        path: this.path("/prompt"),
        json: body,
        headers,
        timeout: options.timeout === undefined ? DEFAULT_PROMPT_TIMEOUT : options.timeout,
        signal: options.signal,
      },
      async (response) => {
        if (!(response.headers.get("content-type") ?? "").includes("text/event-stream")) {
          const result = toPromptResult(JSON.parse(await response.text()));
          if (onStep) for (const step of result.steps) await onStep(step);
          return result;
        }
        if (!response.body) throw new PromptError("The prompt answer has no body");
        const decoder = new SSEDecoder();
        const handle = async (ev: ReturnType<SSEDecoder["feed"]>): Promise<PromptResult | null> => {
          if (!ev) return null;
          const got = interpret(ev);
          if (got.kind === "step" && onStep) await onStep(got.step);
          return got.kind === "result" ? got.result : null;
        };
        const stream = response.body;
        try {
          for await (const line of lines(stream)) {
            const result = await handle(decoder.feed(line));
            if (result) return result;
          }
          const result = await handle(decoder.flush());
          if (result) return result;
        } finally {
          await stream.cancel().catch(() => undefined);
        }
        throw new PromptError("The prompt stream ended without a result");
      },
    );
  }

  /** Cancels the agent loop running on this computer (`DELETE /computers/{id}/prompt`). */
  async cancelPrompt(): Promise<boolean> {
    const data = await this.#client.requestJson({ method: "DELETE", path: this.path("/prompt") });
    return Boolean(data?.cancelled);
  }
}
