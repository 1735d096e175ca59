/** Typed errors. Every error the server answers carries its `error` sentence and its `code`. */

/** The base of every error this SDK throws. */
export class CorixError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The server could not be reached (connection refused, DNS, TLS, ...). */
export class APIConnectionError extends CorixError {
  constructor(message = "Connection error", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The request timed out. */
export class APITimeoutError extends APIConnectionError {
  constructor(message = "Request timed out", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The server answered with an error status. */
export class APIStatusError extends CorixError {
  /** The HTTP status. */
  readonly status: number;
  /** The server's sentence (`{"error": ...}`). */
  readonly error: string;
  /** The server's machine-readable code (`{"code": ...}`), e.g. `not_found`. */
  readonly code: string | null;
  /** The decoded JSON body, or the raw text when it was not JSON. */
  readonly body: unknown;
  /** The answer's headers. */
  readonly headers: Headers;

  constructor(status: number, error: string, code: string | null, body: unknown, headers: Headers) {
    super(`${status} ${code ?? "error"}: ${error}`);
    this.status = status;
    this.error = error;
    this.code = code;
    this.body = body;
    this.headers = headers;
  }

  /** Same as `status` (the Python SDK's name). */
  get statusCode(): number {
    return this.status;
  }
}

/** 400: missing or invalid parameters. */
export class BadRequestError extends APIStatusError {}
/** 401: missing or invalid API key. */
export class AuthenticationError extends APIStatusError {}
/** 403: someone else's computer or workspace, or a plan limit. */
export class PermissionDeniedError extends APIStatusError {}
/** 403 with code `plan_limit`: the plan's maximum computers, CPU or RAM. */
export class PlanLimitError extends PermissionDeniedError {}
/** 404: the computer, workspace (or endpoint) does not exist. */
export class NotFoundError extends APIStatusError {}
/** 409: e.g. a duplicate workspace name, or a computer that is not running. */
export class ConflictError extends APIStatusError {}
/** 409 with code `computer_not_running`. */
export class ComputerNotRunningError extends ConflictError {}
/** 409 with code `prompt_running`: an agent loop already runs on this computer. */
export class PromptRunningError extends ConflictError {}
/** 413: the body or the download is too large. */
export class PayloadTooLargeError extends APIStatusError {}
/** 429: rate limited. `retryAfter` holds the server's `Retry-After` in seconds, if any. */
export class RateLimitError extends APIStatusError {
  /** Seconds the server asked to wait, from `Retry-After`. */
  get retryAfter(): number | null {
    return parseRetryAfter(this.headers.get("retry-after"));
  }
}
/** 5xx: the server failed. */
export class InternalServerError extends APIStatusError {}
/** 502: the agent inside the computer did not answer (the computer may be starting). */
export class AgentUnreachableError extends InternalServerError {}
/** 503: e.g. `display_unavailable`. */
export class ServiceUnavailableError extends InternalServerError {}

/** The agent loop's stream reported an error (`event: error`) or ended without a result. */
export class PromptError extends CorixError {
  readonly error: string;
  readonly code: string | null;
  constructor(error: string, code: string | null = null) {
    super(`${code ?? "prompt_error"}: ${error}`);
    this.error = error;
    this.code = code;
  }
}

/** The terminal's WebSocket is closed. */
export class TerminalClosedError extends CorixError {}

type StatusErrorClass = new (
  status: number,
  error: string,
  code: string | null,
  body: unknown,
  headers: Headers,
) => APIStatusError;

const BY_STATUS: Record<number, StatusErrorClass> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  413: PayloadTooLargeError,
  429: RateLimitError,
  502: AgentUnreachableError,
  503: ServiceUnavailableError,
};

const BY_CODE: Record<string, StatusErrorClass> = {
  plan_limit: PlanLimitError,
  computer_not_running: ComputerNotRunningError,
  prompt_running: PromptRunningError,
};

/** The error class for a status and a server code. */
export function errorClass(status: number, code: string | null): StatusErrorClass {
  const base = BY_STATUS[status] ?? (status >= 500 ? InternalServerError : APIStatusError);
  const byCode = code ? BY_CODE[code] : undefined;
  if (byCode && (byCode === base || byCode.prototype instanceof base)) return byCode;
  return base;
}

/** Builds the typed error for an error answer from its status, headers and body text. */
export function makeStatusError(status: number, headers: Headers, text: string, statusText = ""): APIStatusError {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  let error: string | null = null;
  let code: string | null = null;
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    if (typeof b.error === "string") error = b.error;
    if (typeof b.code === "string") code = b.code;
  }
  if (error === null) error = (typeof body === "string" && body) || statusText || "error";
  const cls = errorClass(status, code);
  return new cls(status, error, code, body, headers);
}

/** Seconds from a `Retry-After` header (seconds or an HTTP date), or `null`. */
export function parseRetryAfter(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  if (trimmed === "") return null;
  const seconds = Number(trimmed);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const when = Date.parse(trimmed);
  if (Number.isNaN(when)) return null;
  return Math.max(0, (when - Date.now()) / 1000);
}
