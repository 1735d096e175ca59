/**
 * Corix: Linux desktops for AI agents.
 *
 * ```ts
 * import { Corix } from "@corix/sdk";
 * const client = new Corix({ apiKey: "crx_your_api_key" });
 * const computer = await client.computers.create({ name: "my-agent", cpu: 2, ram: 8 });
 * console.log(await computer.bash("uname -a"));
 * ```
 */

import { Corix, type CreateComputerOptions } from "./client.js";
import type { Computer } from "./computer.js";

export { Corix, Computers, Workspaces, type CreateComputerOptions } from "./client.js";
export {
  Computer,
  DEFAULT_PROMPT_TIMEOUT,
  type ButtonOptions,
  type ClickOptions,
  type CloneOptions,
  type ExecOptions,
  type PromptOptions,
  type ResizeOptions,
  type ScreenshotOptions,
  type ScrollOptions,
  type UploadContent,
} from "./computer.js";
export {
  DEFAULT_BASE_URL,
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT,
  INITIAL_RETRY_DELAY,
  MAX_RETRY_DELAY,
  backoffDelay,
  parseRam,
  terminalBaseUrl,
  type ClientOptions,
  type RequestOptions,
} from "./core.js";
export * from "./errors.js";
export { SSEDecoder, interpret, type SSEEvent } from "./prompt.js";
export { Screenshot } from "./screenshot.js";
export { Terminal, terminalUrl } from "./terminal.js";
export type {
  ActionResult,
  ComputerData,
  ComputerStatus,
  CursorPosition,
  ExecResult,
  FileEntry,
  Health,
  ModelProvider,
  MouseButton,
  PromptResult,
  PromptStep,
  PromptUsage,
  ScreenshotJson,
  ScreenshotMetadata,
  ScrollDirection,
  StopReason,
  TerminalMessage,
  Workspace,
  WorkspaceDeleted,
} from "./types.js";
export { VERSION } from "./version.js";

/** `APIError` is `APIStatusError` (the Python SDK's alias). */
export { APIStatusError as APIError } from "./errors.js";

let defaultClient: { key: string; client: Corix } | null = null;

/** The client `create()` uses: `CORIX_API_KEY` and `CORIX_BASE_URL` from the environment. */
export function getDefaultClient(): Corix {
  const key = `${process.env.CORIX_API_KEY ?? ""} ${process.env.CORIX_BASE_URL ?? ""}`;
  if (!defaultClient || defaultClient.key !== key) defaultClient = { key, client: new Corix() };
  return defaultClient.client;
}

/** Creates a computer with the environment's key: `await create({ os: "linux", cpu: 2, ram: "8gb" })`. */
export function create(options: CreateComputerOptions = {}): Promise<Computer> {
  return getDefaultClient().computers.create(options);
}

export default Corix;
