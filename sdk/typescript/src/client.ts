/** `new Corix({ apiKey, baseUrl })`: the client, with `computers` and `workspaces`. */

import { Computer } from "./computer.js";
import { BaseClient, type ClientOptions, parseRam } from "./core.js";
import { makeStatusError } from "./errors.js";
import {
  type Health,
  type Workspace,
  type WorkspaceDeleted,
  compact,
  toComputerData,
  toWorkspace,
  toWorkspaceDeleted,
} from "./types.js";

export interface CreateComputerOptions {
  /** Default: a generated `computer-xxxxxxxx`. */
  name?: string;
  /** Only `"linux"`. */
  os?: string;
  /** vCPU: 1, 2, 4, 8 or 16. */
  cpu?: number;
  /** GB as a number (4, 8, 16, 32, 64) or a string like `"8gb"`. */
  ram?: number | string;
  diskSizeGb?: number;
  /** A workspace id or `Workspace` (default: the default workspace). */
  workspaceId?: string | Workspace;
  /** `"WxH"` or `"WxHxD"` (default `1280x720x24`). */
  resolution?: string;
  /** `false`: answer at once, with status `creating` (default: once the desktop is up). */
  wait?: boolean;
}

const q = (value: string) => encodeURIComponent(value);
const wsId = (w: string | Workspace) => (typeof w === "string" ? w : w.id);

/** `client.computers`: create, get, list and delete computers. */
export class Computers {
  readonly #client: Corix;

  constructor(client: Corix) {
    this.#client = client;
  }

  /** Creates a computer; resolves once its desktop is up (`wait: false`: at once, status `creating`). */
  async create(options: CreateComputerOptions = {}): Promise<Computer> {
    const body = compact({
      name: options.name,
      os: options.os,
      cpu: options.cpu,
      ram: parseRam(options.ram),
      disk_size_gb: options.diskSizeGb,
      workspace_id: options.workspaceId === undefined ? undefined : wsId(options.workspaceId),
      resolution: options.resolution,
    });
    const data = await this.#client.requestJson({
      method: "POST",
      path: "/computers",
      query: { wait: options.wait === false ? "false" : undefined },
      json: body,
    });
    return new Computer(this.#client, toComputerData(data));
  }

  /** The computer with this id. */
  async get(computerId: string): Promise<Computer> {
    const data = await this.#client.requestJson({ method: "GET", path: `/computers/${q(computerId)}` });
    return new Computer(this.#client, toComputerData(data));
  }

  /** Every computer of the caller that is not terminated. */
  async list(): Promise<Computer[]> {
    const data = await this.#client.requestJson({ method: "GET", path: "/computers" });
    return (data.computers ?? []).map((c: any) => new Computer(this.#client, toComputerData(c)));
  }

  /** Terminates the computer with this id for good. */
  async delete(computerId: string): Promise<Computer> {
    const data = await this.#client.requestJson({ method: "DELETE", path: `/computers/${q(computerId)}` });
    return new Computer(this.#client, toComputerData(data));
  }
}

/** `client.workspaces`: create, get, list and delete workspaces. */
export class Workspaces {
  readonly #client: Corix;

  constructor(client: Corix) {
    this.#client = client;
  }

  /** Creates a workspace (409 `ConflictError` when the name is taken). */
  async create(name: string): Promise<Workspace> {
    return toWorkspace(await this.#client.requestJson({ method: "POST", path: "/workspaces", json: { name } }));
  }

  /** The workspace with this id. */
  async get(workspaceId: string): Promise<Workspace> {
    return toWorkspace(await this.#client.requestJson({ method: "GET", path: `/workspaces/${q(workspaceId)}` }));
  }

  /** Every workspace of the caller. */
  async list(): Promise<Workspace[]> {
    const data = await this.#client.requestJson({ method: "GET", path: "/workspaces" });
    return (data.workspaces ?? []).map(toWorkspace);
  }

  /** Deletes the workspace and terminates its computers. */
  async delete(workspace: string | Workspace): Promise<WorkspaceDeleted> {
    const data = await this.#client.requestJson({ method: "DELETE", path: `/workspaces/${q(wsId(workspace))}` });
    return toWorkspaceDeleted(data);
  }
}

/**
 * The Corix client.
 *
 * ```ts
 * import { Corix } from "@corix/sdk";
 * const client = new Corix({ apiKey: "crx_..." });   // or CORIX_API_KEY, CORIX_BASE_URL
 * const computer = await client.computers.create({ cpu: 2, ram: 8 });
 * ```
 */
export class Corix extends BaseClient {
  readonly computers: Computers;
  readonly workspaces: Workspaces;
  readonly #options: ClientOptions;

  constructor(options: ClientOptions = {}) {
    super(options);
    this.#options = { ...options, apiKey: this.apiKey, baseUrl: this.baseUrl, terminalUrl: this.terminalUrl };
    this.computers = new Computers(this);
    this.workspaces = new Workspaces(this);
  }

  /** A copy of this client with another timeout or retry count (or any other option). */
  withOptions(options: Pick<ClientOptions, "timeout" | "maxRetries"> & ClientOptions): Corix {
    const clone = new Corix({ ...this.#options, sleep: this._sleep, ...options });
    return clone;
  }

  /** `GET /api/health`: `{ status: "ok", version }` (needs no key). */
  async health(): Promise<Health> {
    const response = await this.fetchImpl(this.baseUrl + "/health", { signal: AbortSignal.timeout(this.timeout) });
    const text = await response.text();
    if (!response.ok) throw makeStatusError(response.status, response.headers, text, response.statusText);
    return JSON.parse(text) as Health;
  }
}
