/** Objects of the Corix API, in camelCase, and the converters from the server's snake_case JSON. */

export type ComputerStatus =
  | "creating"
  | "starting"
  | "running"
  | "stopping"
  | "stopped"
  | "restarting"
  | "terminated"
  | "error";

export type MouseButton = "left" | "right" | "middle";
export type ScrollDirection = "up" | "down" | "left" | "right";
export type ModelProvider = "anthropic" | "openai_responses" | "openai_chat";
export type StopReason = "done" | "max_steps" | "error" | "cancelled";

/** The computer object, as the API returns it (camelCase). */
export interface ComputerData {
  id: string;
  workspaceId: string;
  userId: string | null;
  name: string;
  os: string;
  /** vCPU: 1, 2, 4, 8 or 16. */
  cpu: number;
  /** GB: 4, 8, 16, 32 or 64. */
  ram: number;
  diskSizeGb: number | null;
  resolution: string | null;
  status: ComputerStatus | (string & {});
  containerId: string | null;
  hostname: string | null;
  /** `null`: auto-stop is off. */
  autoStopMinutes: number | null;
  createdAt: string;
  updatedAt: string | null;
  terminatedAt: string | null;
}

/** A workspace: a group of computers. */
export interface Workspace {
  id: string;
  userId: string | null;
  name: string;
  status: "active" | "inactive" | (string & {});
  iconUrl: string | null;
  createdAt: string;
  updatedAt: string | null;
}

/** The answer of deleting a workspace. */
export interface WorkspaceDeleted {
  id: string;
  deleted: boolean;
  terminatedComputers: number;
}

/** The result of `bash` or `python` with `{ full: true }`. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** The command ran past its timeout and was killed (exit code 124). */
  timedOut: boolean;
  /** stdout or stderr was cut at 1 MiB. */
  truncated: boolean;
}

/** The answer of every input action. */
export interface ActionResult {
  success: boolean;
}

/** One entry of a directory listing. */
export interface FileEntry {
  name: string;
  type: "file" | "directory" | "symlink" | "other" | (string & {});
  size: number;
  modifiedAt: string | null;
}

export interface ScreenshotMetadata {
  width: number;
  height: number;
  format: string;
  size: number;
  timestamp: string;
}

/** `GET /screenshot?format=base64`. */
export interface ScreenshotJson {
  success: boolean;
  /** `data:image/png;base64,...` */
  image: string;
  metadata: ScreenshotMetadata;
}

export interface CursorPosition {
  x: number;
  y: number;
}

/** A message from the terminal: `stdout`, `stderr` (with `data`) or `exit` (with `code`). */
export interface TerminalMessage {
  type: "stdout" | "stderr" | "exit" | (string & {});
  data?: string;
  code?: number;
}

/** One action the model asked for, as the agent loop performed it. */
export interface PromptStep {
  index: number;
  action: string;
  /** The action's arguments as the model sent them (keys untouched). */
  arguments: Record<string, unknown>;
  output: string | null;
  error: string | null;
}

/** Tokens over all model turns. */
export interface PromptUsage {
  inputTokens: number;
  outputTokens: number;
}

/** The result of `computer.prompt()`. */
export interface PromptResult {
  /** The model's final text. */
  output: string;
  steps: PromptStep[];
  stopReason: StopReason | (string & {});
  usage: PromptUsage;
  /** With `stopReason: "error"`, what went wrong. */
  error: string | null;
}

export interface Health {
  status: string;
  version: string;
}

type Json = Record<string, any>;

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" ? v : null);

export function toComputerData(j: Json): ComputerData {
  return {
    id: j.id,
    workspaceId: j.workspace_id,
    userId: str(j.user_id),
    name: j.name,
    os: j.os ?? "linux",
    cpu: j.cpu,
    ram: j.ram,
    diskSizeGb: num(j.disk_size_gb),
    resolution: str(j.resolution),
    status: j.status,
    containerId: str(j.container_id),
    hostname: str(j.hostname),
    autoStopMinutes: num(j.auto_stop_minutes),
    createdAt: j.created_at,
    updatedAt: str(j.updated_at),
    terminatedAt: str(j.terminated_at),
  };
}

export function toWorkspace(j: Json): Workspace {
  return {
    id: j.id,
    userId: str(j.user_id),
    name: j.name,
    status: j.status,
    iconUrl: str(j.icon_url),
    createdAt: j.created_at,
    updatedAt: str(j.updated_at),
  };
}

export function toWorkspaceDeleted(j: Json): WorkspaceDeleted {
  return { id: j.id, deleted: Boolean(j.deleted), terminatedComputers: j.terminated_computers ?? 0 };
}

export function toExecResult(j: Json): ExecResult {
  return {
    stdout: j.stdout ?? "",
    stderr: j.stderr ?? "",
    exitCode: j.exit_code,
    timedOut: Boolean(j.timed_out),
    truncated: Boolean(j.truncated),
  };
}

export function toActionResult(j: Json): ActionResult {
  return { success: Boolean(j.success) };
}

export function toFileEntry(j: Json): FileEntry {
  return { name: j.name, type: j.type, size: j.size, modifiedAt: str(j.modified_at) };
}

export function toScreenshotJson(j: Json): ScreenshotJson {
  return { success: Boolean(j.success), image: j.image, metadata: { ...j.metadata } };
}

export function toPromptStep(j: Json): PromptStep {
  return {
    index: j.index ?? 0,
    action: j.action ?? "",
    arguments: j.arguments && typeof j.arguments === "object" ? j.arguments : {},
    output: str(j.output),
    error: str(j.error),
  };
}

export function toPromptResult(j: Json): PromptResult {
  const usage = j.usage ?? {};
  return {
    output: j.output ?? "",
    steps: Array.isArray(j.steps) ? j.steps.map(toPromptStep) : [],
    stopReason: j.stop_reason ?? "done",
    usage: { inputTokens: usage.input_tokens ?? 0, outputTokens: usage.output_tokens ?? 0 },
    error: str(j.error),
  };
}

/** Drops `undefined` and `null` values from a request body or query. */
export function compact<T extends Record<string, unknown>>(value: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) out[k] = v;
  return out as Partial<T>;
}
