// The public Corix API, as every client calls it: `Authorization: Bearer crx_...` on /api/v1, and
// for WebSockets the key as a subprotocol entry (`corix`, `corix-key.crx_...`), never in a URL.

export interface Workspace {
  id: string;
  name: string;
  status: string;
  created_at: string;
}

export interface Computer {
  id: string;
  workspace_id: string;
  name: string;
  cpu: number;
  ram: number;
  disk_size_gb: number;
  resolution: string;
  status: string;
  auto_stop_minutes?: number | null;
  created_at: string;
}

export interface ApiKey {
  id: string;
  prefix: string;
  created_at: string;
  current: boolean;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

const KEY_STORAGE = "corix.key";

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export class Api {
  constructor(public key: string) {}

  async call<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`/api/v1${path}`, {
      method,
      headers: { ...headers, ...(init.headers as Record<string, string> | undefined) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: init.signal,
    });
    const text = await response.text();
    let value: unknown = null;
    try {
      value = text ? JSON.parse(text) : null;
    } catch {
      value = null;
    }
    if (!response.ok) {
      const err = (value ?? {}) as { error?: string; code?: string };
      throw new ApiError(response.status, err.code ?? "http_error", err.error ?? `HTTP ${response.status}`);
    }
    return value as T;
  }

  workspaces(): Promise<{ workspaces: Workspace[] }> {
    return this.call("GET", "/workspaces");
  }
  computers(): Promise<{ computers: Computer[]; total: number }> {
    return this.call("GET", "/computers");
  }
  keys(): Promise<{ keys: ApiKey[] }> {
    return this.call("GET", "/keys");
  }

  /// A WebSocket authenticated with the key as a subprotocol entry.
  socket(path: string): WebSocket {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return new WebSocket(`${scheme}//${location.host}${path}`, ["corix", `corix-key.${this.key}`]);
  }
}

/// Reads a `text/event-stream` body, calling `onEvent` with each event's name and data.
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: string, data: string) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(event, data.join("\n"));
    }
  }
}
