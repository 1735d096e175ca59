/** Server-sent events of `POST /computers/{id}/prompt` with `Accept: text/event-stream`. */

import { PromptError } from "./errors.js";
import { type PromptResult, type PromptStep, toPromptResult, toPromptStep } from "./types.js";

export interface SSEEvent {
  event: string | null;
  data: string;
}

/** Turns lines of a `text/event-stream` into events. */
export class SSEDecoder {
  private event: string | null = null;
  private data: string[] = [];

  /** Feeds one line (without its end); returns the event a blank line completes, if any. */
  feed(line: string): SSEEvent | null {
    line = line.replace(/\r?\n$/, "").replace(/\r$/, "");
    if (line === "") {
      if (this.data.length || this.event) {
        const out = { event: this.event, data: this.data.join("\n") };
        this.event = null;
        this.data = [];
        return out;
      }
      return null;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") this.event = value;
    else if (name === "data") this.data.push(value);
    return null;
  }

  /** The last event, when the stream did not end with a blank line. */
  flush(): SSEEvent | null {
    return this.feed("");
  }
}

/** Splits a byte stream into lines. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buffer.search(/\r\n|\n|\r/)) >= 0) {
        const sep = buffer.startsWith("\r\n", i) ? 2 : 1;
        if (buffer[i] === "\r" && sep === 1 && i === buffer.length - 1) break; // maybe a split \r\n
        yield buffer.slice(0, i);
        buffer = buffer.slice(i + sep);
      }
    }
    buffer += decoder.decode();
    if (buffer) yield* buffer.split(/\r\n|\n|\r/);
  } finally {
    reader.releaseLock();
  }
}

export type Interpreted =
  | { kind: "step"; step: PromptStep }
  | { kind: "result"; result: PromptResult }
  | { kind: "other" };

/** Classifies one event; throws `PromptError` for `event: error`. */
export function interpret(ev: SSEEvent): Interpreted {
  let payload: any = null;
  if (ev.data) {
    try {
      payload = JSON.parse(ev.data);
    } catch {
      payload = ev.data;
    }
  }
  if (ev.event === "error") {
    if (payload && typeof payload === "object") throw new PromptError(String(payload.error ?? JSON.stringify(payload)), payload.code ?? null);
    throw new PromptError(String(payload ?? "the prompt failed"));
  }
  if (!payload || typeof payload !== "object") return { kind: "other" };
  const plain = ev.event === null || ev.event === "message";
  if (["result", "done", "end", "final"].includes(ev.event ?? "") || (plain && "stop_reason" in payload && "output" in payload)) {
    const body = payload.result && typeof payload.result === "object" ? payload.result : payload;
    return { kind: "result", result: toPromptResult(body) };
  }
  if (ev.event === "step" || (plain && "action" in payload)) {
    const body = payload.step && typeof payload.step === "object" ? payload.step : payload;
    return { kind: "step", step: toPromptStep(body) };
  }
  return { kind: "other" };
}
