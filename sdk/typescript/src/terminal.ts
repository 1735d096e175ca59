/** The interactive terminal over a WebSocket (`/ws/terminal/{id}`). */

import WebSocket from "ws";
import { APIConnectionError, APITimeoutError, TerminalClosedError, makeStatusError } from "./errors.js";
import type { TerminalMessage } from "./types.js";

/** The terminal URL of a computer: `{root}/ws/terminal/{id}?token=...&cols=&rows=`. */
export function terminalUrl(root: string, computerId: string, token: string, cols?: number, rows?: number): string {
  const url = new URL(`${root}/ws/terminal/${encodeURIComponent(computerId)}`);
  url.searchParams.set("token", token);
  if (cols !== undefined) url.searchParams.set("cols", String(cols));
  if (rows !== undefined) url.searchParams.set("rows", String(rows));
  return url.toString();
}

function parse(raw: WebSocket.RawData | string): TerminalMessage {
  const text = typeof raw === "string" ? raw : Buffer.isBuffer(raw) ? raw.toString("utf8") : Buffer.concat(raw as any).toString("utf8");
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && typeof value.type === "string") return value as TerminalMessage;
  } catch {
    // not JSON
  }
  return { type: "stdout", data: text };
}

/**
 * A live shell on the computer.
 *
 * ```ts
 * const term = await computer.terminal();
 * term.send("echo hello\n");
 * await term.expect("hello");
 * term.close();
 * ```
 */
export class Terminal implements AsyncIterable<TerminalMessage> {
  readonly url: string;
  /** The shell's exit code, once it exited. */
  exitCode: number | null = null;
  private buffer = "";
  private queue: TerminalMessage[] = [];
  private waiters: Array<() => void> = [];
  private closed = false;
  private closeReason: string | null = null;
  private readonly ws: WebSocket;

  private constructor(url: string, ws: WebSocket) {
    this.url = url;
    this.ws = ws;
    ws.on("message", (raw) => {
      const message = parse(raw as WebSocket.RawData);
      if ((message.type === "stdout" || message.type === "stderr") && message.data) this.buffer += message.data;
      else if (message.type === "exit") this.exitCode = message.code ?? null;
      this.queue.push(message);
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closed = true;
      this.closeReason = `${code}${reason?.length ? ` ${reason.toString()}` : ""}`;
      this.wake();
    });
    ws.on("error", () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Opens the terminal; a refused handshake throws the typed error of its HTTP status. */
  static open(url: string, headers: Record<string, string>, openTimeout: number): Promise<Terminal> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, handshakeTimeout: openTimeout, maxPayload: 0 });
      let settled = false;
      const done = (fn: () => void) => {
        if (!settled) {
          settled = true;
          fn();
        }
      };
      ws.once("unexpected-response", (_req, res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
          done(() => reject(makeStatusError(res.statusCode ?? 0, h, Buffer.concat(chunks).toString("utf8"), res.statusMessage)));
          ws.terminate();
        });
      });
      ws.once("open", () => done(() => resolve(new Terminal(url, ws))));
      ws.once("error", (e) => {
        const timeout = /timed out|timeout/i.test(e.message);
        done(() =>
          reject(
            timeout
              ? new APITimeoutError(`Terminal connection timed out`, { cause: e })
              : new APIConnectionError(`Terminal connection failed: ${e.message}`, { cause: e }),
          ),
        );
      });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Everything received on stdout and stderr so far. */
  get output(): string {
    return this.buffer;
  }

  /** Whether the WebSocket is closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Writes `data` to the shell's stdin (add `\n` to run a line). */
  send(data: string): void {
    this.sendMessage({ type: "stdin", data });
  }

  /** Resizes the terminal to `cols` x `rows`. */
  resize(cols: number, rows: number): void {
    this.sendMessage({ type: "resize", cols, rows });
  }

  private sendMessage(message: Record<string, unknown>): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) throw new TerminalClosedError("The terminal is closed");
    this.ws.send(JSON.stringify(message));
  }

  /** The next message (`stdout`, `stderr` or `exit`); rejects after `timeout` ms, or when the terminal closes. */
  async recv(timeout?: number): Promise<TerminalMessage> {
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout;
    for (;;) {
      const next = this.queue.shift();
      if (next) return next;
      if (this.closed) throw new TerminalClosedError(`The terminal is closed${this.closeReason ? ` (${this.closeReason})` : ""}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new APITimeoutError(`No terminal message within ${timeout} ms`);
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Reads until the output so far contains `text` (within `timeout` ms, default 30 000); returns all output so far. */
  async expect(text: string, timeout = 30_000): Promise<string> {
    const deadline = Date.now() + timeout;
    while (!this.buffer.includes(text)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new APITimeoutError(`${JSON.stringify(text)} did not appear within ${timeout} ms; got ${JSON.stringify(this.buffer.slice(-500))}`);
      let message: TerminalMessage;
      try {
        message = await this.recv(left);
      } catch (e) {
        if (e instanceof APITimeoutError) continue;
        throw e;
      }
      if (message.type === "exit" && !this.buffer.includes(text)) {
        throw new TerminalClosedError(`The shell exited (${message.code}) before ${JSON.stringify(text)} appeared`);
      }
    }
    return this.buffer;
  }

  /** Messages until the terminal closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<TerminalMessage> {
    for (;;) {
      try {
        yield await this.recv();
      } catch (e) {
        if (e instanceof TerminalClosedError) return;
        throw e;
      }
    }
  }

  /** Closes the WebSocket; resolves once it is closed. */
  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 5_000);
      this.ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close();
    });
  }
}
