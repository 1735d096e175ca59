// The Corix dashboard: sign in with an API key (kept in sessionStorage), then workspaces,
// computers, the live view, the terminal, prompts and API keys, all through the public API.

import "./style.css";
import { Api, ApiError, Computer, readEvents, storedKey, storeKey, Workspace } from "./api";
import { LiveView } from "./liveview";
import { TerminalPanel } from "./terminal";

const CPU_CHOICES = [1, 2, 4, 8, 16];
const RAM_CHOICES = [4, 8, 16, 32, 64];

const app = document.getElementById("app")!;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function button(label: string, onClick: () => void, attrs: Record<string, string> = {}): HTMLButtonElement {
  const b = el("button", { type: "button", ...attrs }, label);
  b.addEventListener("click", onClick);
  return b;
}

function options(select: HTMLSelectElement, values: { value: string; label: string }[], selected?: string): void {
  select.replaceChildren(...values.map((v) => el("option", { value: v.value }, v.label)));
  if (selected !== undefined) select.value = selected;
}

// ---------------------------------------------------------------- sign-in

function showSignIn(message = ""): void {
  const input = el("input", { id: "key-input", type: "password", placeholder: "crx_...", autocomplete: "off", size: "60" });
  const error = el("p", { id: "signin-error", class: "error" }, message);
  const form = el(
    "form",
    { id: "signin", class: "card signin" },
    el("h1", {}, "Corix"),
    el("p", {}, "Sign in with an API key. It stays in this browser tab's session only."),
    input,
    el("button", { type: "submit", id: "signin-button" }, "Sign in"),
    error,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    error.textContent = "";
    try {
      await new Api(key).workspaces();
      storeKey(key);
      showDashboard(new Api(key));
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? "That API key was refused." : String((err as Error).message);
    }
  });
  app.replaceChildren(form);
  input.focus();
}

// ---------------------------------------------------------------- dashboard

class Dashboard {
  private workspaces: Workspace[] = [];
  private computers: Computer[] = [];
  private selectedWorkspace = "";
  private openComputer: string | null = null;
  private live: LiveView | null = null;
  private terminal: TerminalPanel | null = null;
  private prompt: AbortController | null = null;
  private poller: number | undefined;

  private workspaceSelect = el("select", { id: "workspace-select" });
  private computerRows = el("tbody", { id: "computer-rows" });
  private message = el("p", { id: "message", class: "message" });
  private keyRows = el("tbody", { id: "key-rows" });
  private newKey = el("p", { id: "new-key", class: "new-key" });
  private detail = el("section", { id: "detail", class: "card detail hidden" });

  constructor(private api: Api) {}

  mount(): void {
    const header = el(
      "header",
      {},
      el("strong", {}, "Corix"),
      el("span", { class: "muted" }, " dashboard"),
      el("span", { class: "spacer" }),
      button("Sign out", () => this.signOut(), { id: "signout" }),
    );
    app.replaceChildren(header, this.message, this.computersCard(), this.detail, this.keysCard());
    this.workspaceSelect.addEventListener("change", () => {
      this.selectedWorkspace = this.workspaceSelect.value;
      this.renderComputers();
    });
    void this.refresh();
    void this.refreshKeys();
    this.poller = window.setInterval(() => void this.refresh(), 2000);
  }

  private say(text: string, error = false): void {
    this.message.textContent = text;
    this.message.classList.toggle("error", error);
  }

  /// Runs an API call, reporting a failure (a 401 signs out).
  private async run<T>(what: string, action: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await action();
      return value;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        this.signOut("The API key is no longer valid.");
        return undefined;
      }
      this.say(`${what}: ${(err as Error).message}`, true);
      return undefined;
    }
  }

  private signOut(message = ""): void {
    window.clearInterval(this.poller);
    this.closeDetail();
    storeKey(null);
    showSignIn(message);
  }

  // ------------------------------------------------ workspaces and computers

  private computersCard(): HTMLElement {
    const name = el("input", { id: "new-name", placeholder: "name", value: "" });
    const cpu = el("select", { id: "new-cpu" });
    options(cpu, CPU_CHOICES.map((c) => ({ value: String(c), label: `${c} vCPU` })), "2");
    const ram = el("select", { id: "new-ram" });
    options(ram, RAM_CHOICES.map((r) => ({ value: String(r), label: `${r} GB` })), "4");
    const create = el("form", { id: "create-computer", class: "row" }, name, cpu, ram, el("button", { type: "submit", id: "create-button" }, "Create computer"));
    create.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body: Record<string, unknown> = { cpu: Number(cpu.value), ram: Number(ram.value) };
      if (name.value.trim()) body.name = name.value.trim();
      if (this.selectedWorkspace) body.workspace_id = this.selectedWorkspace;
      const made = await this.run("Create", () => this.api.call<Computer>("POST", "/computers?wait=false", body));
      if (made) {
        this.say(`Created ${made.name}; it is starting.`);
        name.value = "";
        await this.refresh();
      }
    });
    const wsName = el("input", { id: "new-workspace", placeholder: "new workspace" });
    const wsForm = el("form", { class: "row" }, wsName, el("button", { type: "submit" }, "Add workspace"));
    wsForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!wsName.value.trim()) return;
      const made = await this.run("Add workspace", () => this.api.call<Workspace>("POST", "/workspaces", { name: wsName.value.trim() }));
      if (made) {
        wsName.value = "";
        this.selectedWorkspace = made.id;
        await this.refresh();
      }
    });
    const deleteWs = button("Delete workspace", async () => {
      const ws = this.workspaces.find((w) => w.id === this.selectedWorkspace);
      if (!ws || !confirm(`Delete workspace ${ws.name} and terminate its computers?`)) return;
      if (await this.run("Delete workspace", () => this.api.call("DELETE", `/workspaces/${ws.id}`))) {
        this.selectedWorkspace = "";
        await this.refresh();
      }
    });
    return el(
      "section",
      { class: "card" },
      el("h2", {}, "Computers"),
      el("div", { class: "row" }, el("label", {}, "Workspace ", this.workspaceSelect), deleteWs, wsForm),
      create,
      el(
        "table",
        { class: "computers" },
        el("thead", {}, el("tr", {}, ...["Name", "Status", "CPU", "RAM", "Workspace", "Auto-stop", ""].map((h) => el("th", {}, h)))),
        this.computerRows,
      ),
    );
  }

  private async refresh(): Promise<void> {
    const [ws, cs] = await Promise.all([
      this.run("Workspaces", () => this.api.workspaces()),
      this.run("Computers", () => this.api.computers()),
    ]);
    if (!ws || !cs) return;
    this.workspaces = ws.workspaces;
    this.computers = cs.computers.filter((c) => c.status !== "terminated");
    const choices = [{ value: "", label: "All workspaces" }, ...this.workspaces.map((w) => ({ value: w.id, label: w.name }))];
    if (!this.workspaces.some((w) => w.id === this.selectedWorkspace)) this.selectedWorkspace = "";
    options(this.workspaceSelect, choices, this.selectedWorkspace);
    this.renderComputers();
    this.renderDetailStatus();
  }

  private renderComputers(): void {
    const shown = this.computers.filter((c) => !this.selectedWorkspace || c.workspace_id === this.selectedWorkspace);
    const wsName = (id: string) => this.workspaces.find((w) => w.id === id)?.name ?? id;
    this.computerRows.replaceChildren(
      ...shown.map((c) => {
        const act = (label: string, fn: () => void) => button(label, fn, { "data-action": label.toLowerCase() });
        const actions = el(
          "td",
          { class: "actions" },
          act("Open", () => this.open(c.id)),
          act("Start", () => this.lifecycle(c, "start")),
          act("Stop", () => this.lifecycle(c, "stop")),
          act("Restart", () => this.lifecycle(c, "restart")),
          act("Clone", () => this.clone(c)),
          act("Resize", () => this.resize(c)),
          act("Move", () => this.move(c)),
          act("Auto-stop", () => this.autoStop(c)),
          act("Delete", () => this.remove(c)),
        );
        return el(
          "tr",
          { "data-id": c.id, "data-name": c.name, "data-status": c.status },
          el("td", {}, c.name),
          el("td", {}, el("span", { class: `status ${c.status}` }, c.status)),
          el("td", {}, String(c.cpu)),
          el("td", {}, `${c.ram} GB`),
          el("td", {}, wsName(c.workspace_id)),
          el("td", {}, c.auto_stop_minutes ? `${c.auto_stop_minutes} min` : "off"),
          actions,
        );
      }),
    );
    if (!shown.length) this.computerRows.append(el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No computers yet.")));
  }

  private async lifecycle(c: Computer, action: "start" | "stop" | "restart"): Promise<void> {
    this.say(`${action} ${c.name}...`);
    const done = this.run(action, () => this.api.call<Computer>("POST", `/computers/${c.id}/${action}`));
    setTimeout(() => void this.refresh(), 300);
    if (await done) this.say(`${c.name}: ${action} done.`);
    await this.refresh();
  }

  private async clone(c: Computer): Promise<void> {
    const name = prompt("Name of the clone", `${c.name}-clone`);
    if (name === null) return;
    this.say(`Cloning ${c.name}...`);
    const done = this.run("Clone", () => this.api.call<Computer>("POST", `/computers/${c.id}/clone`, name ? { name } : {}));
    setTimeout(() => void this.refresh(), 300);
    if (await done) this.say(`Cloned ${c.name}.`);
    await this.refresh();
  }

  private async resize(c: Computer): Promise<void> {
    const cpu = prompt(`vCPUs (${CPU_CHOICES.join(", ")})`, String(c.cpu));
    if (cpu === null) return;
    const ram = prompt(`RAM in GB (${RAM_CHOICES.join(", ")})`, String(c.ram));
    if (ram === null) return;
    if (await this.run("Resize", () => this.api.call("POST", `/computers/${c.id}/resize`, { cpu: Number(cpu), ram: Number(ram) }))) {
      this.say(`Resized ${c.name}.`);
    }
    await this.refresh();
  }

  private async move(c: Computer): Promise<void> {
    const others = this.workspaces.filter((w) => w.id !== c.workspace_id);
    if (!others.length) return this.say("There is no other workspace to move to; add one first.", true);
    const name = prompt(`Move ${c.name} to which workspace? (${others.map((w) => w.name).join(", ")})`, others[0].name);
    const target = others.find((w) => w.name === name);
    if (!target) return;
    if (await this.run("Move", () => this.api.call("POST", `/computers/${c.id}/move`, { workspace_id: target.id }))) {
      this.say(`Moved ${c.name} to ${target.name}.`);
    }
    await this.refresh();
  }

  private async autoStop(c: Computer): Promise<void> {
    const minutes = prompt("Stop after how many idle minutes? (0: never)", String(c.auto_stop_minutes ?? 0));
    if (minutes === null) return;
    if (await this.run("Auto-stop", () => this.api.call("PATCH", `/computers/${c.id}/auto-stop`, { minutes: Number(minutes) }))) {
      this.say(`Auto-stop of ${c.name} set.`);
    }
    await this.refresh();
  }

  private async remove(c: Computer): Promise<void> {
    if (!confirm(`Delete ${c.name}? Its disk is lost.`)) return;
    if (this.openComputer === c.id) this.closeDetail();
    if (await this.run("Delete", () => this.api.call("DELETE", `/computers/${c.id}`))) this.say(`Deleted ${c.name}.`);
    await this.refresh();
  }

  // ------------------------------------------------ one computer: live view, terminal, prompt

  private open(id: string): void {
    this.closeDetail();
    const c = this.computers.find((x) => x.id === id);
    if (!c) return;
    this.openComputer = id;
    const screen = el("div", { id: "screen-box", class: "screen-box" });
    const liveStatus = el("span", { id: "live-status", class: "muted" });
    const interactive = el("input", { type: "checkbox", id: "interactive" });
    const termBox = el("div", { id: "terminal", class: "terminal" });
    const termStatus = el("span", { id: "terminal-status", class: "muted" });
    const steps = el("ol", { id: "prompt-steps", class: "steps" });
    const promptStatus = el("p", { id: "prompt-status", class: "muted" });
    const task = el("textarea", { id: "prompt-task", rows: "3", placeholder: "What should the agent do?" });
    const model = el("input", { id: "prompt-model", value: "claude-sonnet-4-5", size: "22" });
    const modelKey = el("input", { id: "prompt-model-key", type: "password", placeholder: "model API key (optional)", autocomplete: "off" });
    const runButton = el("button", { type: "submit", id: "prompt-run" }, "Run");
    const cancelButton = button("Cancel", () => void this.cancelPrompt(id, promptStatus), { id: "prompt-cancel" });
    const promptForm = el("form", { id: "prompt-form" }, task, el("div", { class: "row" }, model, modelKey, runButton, cancelButton));
    promptForm.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.runPrompt(id, { task: task.value, model: model.value }, modelKey.value, steps, promptStatus);
    });

    this.detail.replaceChildren(
      el("div", { class: "row" }, el("h2", { id: "detail-title" }, c.name), el("span", { id: "detail-status", class: `status ${c.status}` }, c.status), el("span", { class: "spacer" }), button("Close", () => this.closeDetail())),
      el(
        "div",
        { class: "split" },
        el(
          "div",
          { class: "live" },
          el("div", { class: "row" }, el("label", {}, interactive, " Interactive (mouse and keyboard go to the computer)"), el("span", { class: "spacer" }), liveStatus),
          screen,
        ),
        el(
          "div",
          { class: "side" },
          el("h3", {}, "Prompt"),
          promptForm,
          promptStatus,
          steps,
        ),
      ),
      el("div", { class: "row" }, el("h3", {}, "Terminal"), el("span", { class: "spacer" }), termStatus),
      termBox,
    );
    this.detail.classList.remove("hidden");
    this.live = new LiveView(this.api, id, screen);
    this.live.onStatus = (text) => (liveStatus.textContent = text);
    this.live.onError = (text) => this.say(text, true);
    interactive.addEventListener("change", () => this.live?.setInteractive(interactive.checked));
    this.terminal = new TerminalPanel(this.api, id, termBox, (text) => (termStatus.textContent = text));
  }

  private renderDetailStatus(): void {
    if (!this.openComputer) return;
    const c = this.computers.find((x) => x.id === this.openComputer);
    const badge = document.getElementById("detail-status");
    if (!c) return this.closeDetail();
    if (badge) {
      badge.textContent = c.status;
      badge.className = `status ${c.status}`;
    }
  }

  private closeDetail(): void {
    this.live?.close();
    this.terminal?.close();
    this.prompt?.abort();
    this.live = null;
    this.terminal = null;
    this.prompt = null;
    this.openComputer = null;
    this.detail.classList.add("hidden");
    this.detail.replaceChildren();
  }

  private async runPrompt(id: string, body: { task: string; model: string }, modelKey: string, steps: HTMLElement, status: HTMLElement): Promise<void> {
    if (!body.task.trim()) return;
    this.prompt?.abort();
    const controller = new AbortController();
    this.prompt = controller;
    steps.replaceChildren();
    status.textContent = "running...";
    status.classList.remove("error");
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.api.key}`,
      "Content-Type": "application/json",
      Accept: "text/event-stream",
    };
    if (modelKey) headers["X-Model-Api-Key"] = modelKey;
    try {
      const response = await fetch(`/api/v1/computers/${id}/prompt`, { method: "POST", headers, body: JSON.stringify(body), signal: controller.signal });
      if (!response.ok || !response.body) {
        const err = (await response.json().catch(() => ({}))) as { error?: string };
        throw new Error(err.error ?? `HTTP ${response.status}`);
      }
      await readEvents(response.body, (event, data) => {
        const value = JSON.parse(data);
        if (event === "step") {
          const args = JSON.stringify(value.arguments ?? {});
          const tail = value.error ? ` - error: ${value.error}` : value.output ? ` - ${String(value.output).slice(0, 200)}` : "";
          steps.append(el("li", {}, `${value.action} ${args}${tail}`));
          steps.scrollTop = steps.scrollHeight;
        } else if (event === "result") {
          status.textContent = `done (${value.stop_reason})${value.error ? `: ${value.error}` : ""}${value.output ? ` - ${value.output}` : ""}`;
        }
      });
      if (status.textContent === "running...") status.textContent = "stream ended";
    } catch (err) {
      if (controller.signal.aborted) status.textContent = "cancelled";
      else {
        status.textContent = `Prompt failed: ${(err as Error).message}`;
        status.classList.add("error");
      }
    } finally {
      if (this.prompt === controller) this.prompt = null;
    }
  }

  private async cancelPrompt(id: string, status: HTMLElement): Promise<void> {
    this.prompt?.abort();
    this.prompt = null;
    try {
      await this.api.call("DELETE", `/computers/${id}/prompt`);
      status.textContent = "cancelled";
    } catch (err) {
      status.textContent = `Cancel: ${(err as Error).message}`;
    }
  }

  // ------------------------------------------------ API keys

  private keysCard(): HTMLElement {
    return el(
      "section",
      { class: "card" },
      el("h2", {}, "API keys"),
      button("Create key", () => void this.createKey(), { id: "create-key" }),
      this.newKey,
      el("table", {}, el("thead", {}, el("tr", {}, ...["Prefix", "Created", ""].map((h) => el("th", {}, h)))), this.keyRows),
    );
  }

  private async refreshKeys(): Promise<void> {
    const list = await this.run("Keys", () => this.api.keys());
    if (!list) return;
    this.keyRows.replaceChildren(
      ...list.keys.map((k) =>
        el(
          "tr",
          { "data-id": k.id },
          el("td", {}, el("code", {}, `${k.prefix}...`), k.current ? el("span", { class: "muted" }, " (this session)") : ""),
          el("td", {}, new Date(k.created_at).toLocaleString()),
          el("td", {}, button("Revoke", () => void this.revokeKey(k.id, k.prefix, k.current), { "data-action": "revoke" })),
        ),
      ),
    );
  }

  private async createKey(): Promise<void> {
    const made = await this.run("Create key", () => this.api.call<{ key: string; prefix: string }>("POST", "/keys"));
    if (!made) return;
    this.newKey.replaceChildren("New key (shown once; copy it now): ", el("code", { id: "new-key-value" }, made.key));
    await this.refreshKeys();
  }

  private async revokeKey(id: string, prefix: string, current: boolean): Promise<void> {
    const warning = current ? " This is the key you are signed in with; you will be signed out." : "";
    if (!confirm(`Revoke ${prefix}...?${warning}`)) return;
    if (await this.run("Revoke", () => this.api.call("DELETE", `/keys/${id}`))) {
      if (current) return this.signOut("You revoked the key of this session.");
      this.say(`Revoked ${prefix}...`);
    }
    await this.refreshKeys();
  }
}

function showDashboard(api: Api): void {
  new Dashboard(api).mount();
}

const key = storedKey();
if (key) showDashboard(new Api(key));
else showSignIn();
