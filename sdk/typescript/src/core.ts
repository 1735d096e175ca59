/** Configuration, requests, errors and the retry policy of the client. */

import {
  APIConnectionError,
  APITimeoutError,
  CorixError,
  makeStatusError,
  parseRetryAfter,
} from "./errors.js";
import { VERSION } from "./version.js";

export const DEFAULT_BASE_URL = "https://corix.dev/api";
/** Milliseconds per request. */
export const DEFAULT_TIMEOUT = 180_000;
export const DEFAULT_MAX_RETRIES = 3;
/** Milliseconds before the first retry; each retry doubles it. */
export const INITIAL_RETRY_DELAY = 1_000;
/** Milliseconds: the longest wait between tries. */
export const MAX_RETRY_DELAY = 60_000;
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

/** The spec's exponential backoff in ms: 1 s, 2 s, 4 s, ... at most 60 s. */
export function backoffDelay(retriesTaken: number): number {
  return Math.min(INITIAL_RETRY_DELAY * 2 ** retriesTaken, MAX_RETRY_DELAY);
}

/** RAM in GB from a number (`8`) or a string (`"8gb"`, `"8 GB"`, `"8g"`, `"8192mb"`). */
export function parseRam(ram: number | string | undefined | null): number | undefined {
  if (ram === undefined || ram === null) return undefined;
  if (typeof ram === "number") {
    if (!Number.isInteger(ram)) throw new TypeError(`ram must be a whole number of GB, not ${ram}`);
    return ram;
  }
  const m = /^\s*(\d+)\s*(gb|gib|g|mb|mib|m)?\s*$/i.exec(String(ram));
  if (!m) throw new TypeError(`ram must be GB as a number or a string like '8gb', not ${JSON.stringify(ram)}`);
  const n = Number(m[1]);
  const unit = (m[2] ?? "gb").toLowerCase();
  if (unit.startsWith("m")) {
    if (n % 1024) throw new TypeError(`ram must be a whole number of GB, not ${JSON.stringify(ram)}`);
    return n / 1024;
  }
  return n;
}

/**
 * The WebSocket root for `/ws/terminal`: the base URL without `/api`, with a `ws`/`wss` scheme.
 * The hosted service (`corix.dev`) serves terminals from `compute.corix.dev`.
 */
export function terminalBaseUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  let path = url.pathname.replace(/\/+$/, "");
  if (path.endsWith("/api")) path = path.slice(0, -"/api".length);
  url.pathname = path;
  if (url.hostname === "corix.dev") url.hostname = "compute.corix.dev";
  url.search = "";
  url.hash = "";
  return url.toString().replace(/\/+$/, "");
}

export interface ClientOptions {
  /** A `crx_` key; default `process.env.CORIX_API_KEY`. */
  apiKey?: string;
  /** Default `process.env.CORIX_BASE_URL`, else `https://corix.dev/api`. */
  baseUrl?: string;
  /** Milliseconds per request; default 180 000. */
  timeout?: number;
  /**
   * Retries on 429, 502 and other 5xx answers and on refused connections, with exponential backoff
   * (1 s, 2 s, 4 s, ... at most 60 s) or the server's `Retry-After`; default 3.
   */
  maxRetries?: number;
  /** WebSocket root for terminals; default `CORIX_TERMINAL_URL`, else derived from `baseUrl`. */
  terminalUrl?: string;
  /** Extra headers on every request. */
  defaultHeaders?: Record<string, string>;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
  /** How the client waits between tries (ms); for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export type QueryValue = string | number | boolean | undefined | null;

/** One API call. */
export interface RequestOptions {
  method: string;
  /** The path after `/v1`, e.g. `/computers`. */
  path: string;
  query?: Record<string, QueryValue>;
  json?: unknown;
  body?: Uint8Array | string;
  headers?: Record<string, string>;
  /** Milliseconds for this call (default: the client's); `null` for none. */
  timeout?: number | null;
  signal?: AbortSignal;
}

const env = (name: string): string | undefined => {
  const value = typeof process !== "undefined" ? process.env?.[name] : undefined;
  return value ? value : undefined;
};

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function connectionRefused(e: unknown): boolean {
  let cause: any = e;
  for (let i = 0; i < 4 && cause; i++) {
    if (cause.code === "ECONNREFUSED") return true;
    if (Array.isArray(cause.errors) && cause.errors.some((x: any) => x?.code === "ECONNREFUSED")) return true;
    cause = cause.cause;
  }
  return false;
}

/** The shared machinery of `Corix`: configuration, requests and retries. */
export class BaseClient {
  readonly apiKey: string;
  readonly baseUrl: string;
  readonly terminalUrl: string;
  timeout: number;
  maxRetries: number;
  protected readonly defaultHeaders: Record<string, string>;
  protected readonly fetchImpl: typeof fetch;
  /** @internal */
  _sleep: (ms: number) => Promise<void>;

  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey || env("CORIX_API_KEY");
    if (!apiKey) throw new CorixError("No API key: pass { apiKey } or set CORIX_API_KEY");
    let baseUrl = (options.baseUrl || env("CORIX_BASE_URL") || DEFAULT_BASE_URL).replace(/\/+$/, "");
    if (baseUrl.endsWith("/v1")) baseUrl = baseUrl.slice(0, -"/v1".length);
    this.apiKey = apiKey;
    this.baseUrl = baseUrl;
    this.terminalUrl = (options.terminalUrl || env("CORIX_TERMINAL_URL") || terminalBaseUrl(baseUrl)).replace(/\/+$/, "");
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT;
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new RangeError("maxRetries must be 0 or more");
    this.maxRetries = maxRetries;
    this.defaultHeaders = { ...(options.defaultHeaders ?? {}) };
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this._sleep = options.sleep ?? defaultSleep;
  }

  /** The `Authorization` header for this client's key. */
  get authHeaders(): Record<string, string> {
    return { Authorization: `Bearer ${this.apiKey}` };
  }

  /** The full URL of an API path (`/computers` becomes `{baseUrl}/v1/computers`). */
  url(path: string, query?: Record<string, QueryValue>): string {
    const url = new URL(this.baseUrl + "/v1" + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    }
    return url.toString();
  }

  /** Milliseconds to wait before the next try, or `null` to give up. */
  protected retryDelay(retriesTaken: number, response: Response | null): number | null {
    if (retriesTaken >= this.maxRetries) return null;
    if (response) {
      if (!RETRY_STATUSES.has(response.status) && response.status < 500) return null;
      const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
      if (retryAfter !== null) {
        const ms = retryAfter * 1000;
        // A wait longer than the longest backoff (a used-up daily quota) is not worth blocking for.
        return ms <= MAX_RETRY_DELAY ? ms : null;
      }
    }
    return backoffDelay(retriesTaken);
  }

  /**
   * Sends a request with retries; on success hands the response to `read` (under the same
   * timeout) and returns what it returns. Error answers throw the typed `APIStatusError`.
   */
  async request<T>(opts: RequestOptions, read: (response: Response) => Promise<T>): Promise<T> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      "User-Agent": `corix-typescript/${VERSION}`,
      ...this.defaultHeaders,
      ...this.authHeaders,
    };
    let body: BodyInit | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers["Content-Type"] = "application/json";
    } else if (opts.body !== undefined) {
      body = opts.body as BodyInit;
    }
    Object.assign(headers, opts.headers ?? {});
    const url = this.url(opts.path, opts.query);
    const timeout = opts.timeout === undefined ? this.timeout : opts.timeout;

    for (let retries = 0; ; retries++) {
      const controller = new AbortController();
      let timedOut = false;
      const timer =
        timeout === null
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              controller.abort();
            }, timeout);
      const onAbort = () => controller.abort(opts.signal?.reason);
      if (opts.signal) {
        if (opts.signal.aborted) controller.abort(opts.signal.reason);
        else opts.signal.addEventListener("abort", onAbort, { once: true });
      }
      const fail = (e: unknown): never => {
        if (timedOut) throw new APITimeoutError(`Request timed out after ${timeout} ms: ${opts.method} ${url}`, { cause: e });
        if (opts.signal?.aborted) throw opts.signal.reason ?? e;
        if (e instanceof CorixError) throw e;
        throw new APIConnectionError(`Connection error: ${describe(e)}`, { cause: e });
      };
      try {
        let response: Response;
        try {
          response = await this.fetchImpl(url, { method: opts.method, headers, body, signal: controller.signal });
        } catch (e) {
          if (!timedOut && !opts.signal?.aborted && connectionRefused(e)) {
            const delay = this.retryDelay(retries, null);
            if (delay !== null) {
              clearTimeout(timer);
              await this._sleep(delay);
              continue;
            }
          }
          return fail(e);
        }
        if (response.ok) {
          try {
            return await read(response);
          } catch (e) {
            return fail(e);
          }
        }
        const delay = this.retryDelay(retries, response);
        if (delay === null) {
          let text = "";
          try {
            text = await response.text();
          } catch (e) {
            return fail(e);
          }
          throw makeStatusError(response.status, response.headers, text, response.statusText);
        }
        await response.body?.cancel().catch(() => undefined);
        clearTimeout(timer);
        await this._sleep(delay);
      } finally {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
      }
    }
  }

  /** Sends a request and returns its JSON answer. */
  requestJson<T = any>(opts: RequestOptions): Promise<T> {
    return this.request(opts, async (r) => {
      const text = await r.text();
      return (text ? JSON.parse(text) : null) as T;
    });
  }

  /** Sends a request and returns its body as bytes. */
  requestBytes(opts: RequestOptions): Promise<{ data: Buffer; contentType: string }> {
    return this.request(opts, async (r) => ({
      data: Buffer.from(await r.arrayBuffer()),
      contentType: (r.headers.get("content-type") ?? "application/octet-stream").split(";")[0]!.trim(),
    }));
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as any).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}
