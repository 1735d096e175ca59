// Test helpers: start the real `corix serve` binary, a fake model server, cleanup.
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = resolve(PACKAGE, "../..");
export const BINARY = process.env.CORIX_BIN || join(REPO, "target", "release", "corix");
export const HAS_BINARY = existsSync(BINARY);
export const FAKE_OUTPUT = "FAKE-MODEL-DONE";

export function freshKey() {
  return "crx_" + randomBytes(20).toString("hex");
}

/** A real `corix serve` on a free port with a fresh store; `stop()` kills it and removes its computers. */
export class CorixServer {
  static async start(env = {}) {
    const server = new CorixServer(env);
    await server.ready;
    return server;
  }

  constructor(env = {}) {
    this.data = mkdtempSync(join(tmpdir(), "corix-ts-sdk-test-"));
    this.key = freshKey();
    this.env = { ...process.env, CORIX_LISTEN: "127.0.0.1:0", CORIX_DATA_DIR: this.data, CORIX_BOOTSTRAP_API_KEY: this.key, ...env };
    const err = openSync(join(this.data, "server.err"), "w");
    this.process = spawn(BINARY, ["serve"], { env: this.env, stdio: ["ignore", "pipe", err] });
    closeSync(err);
    this.ready = new Promise((resolveReady, reject) => {
      let buffer = "";
      const timer = setTimeout(() => {
        this.process.kill("SIGKILL");
        reject(new Error("corix serve did not start: " + this.stderr()));
      }, 600_000);
      this.process.stdout.setEncoding("utf8");
      this.process.stdout.on("data", (chunk) => {
        buffer += chunk;
        const m = /listening on http:\/\/(\S+)/.exec(buffer);
        if (m && !this.addr) {
          clearTimeout(timer);
          this.addr = m[1];
          this.baseUrl = `http://${this.addr}/api`;
          resolveReady();
        }
      });
      this.process.once("exit", (code) => {
        clearTimeout(timer);
        if (!this.addr) reject(new Error(`corix serve exited (${code}): ${this.stderr()}`));
      });
    });
  }

  stderr() {
    try {
      return readFileSync(join(this.data, "server.err"), "utf8").slice(-4000);
    } catch {
      return "";
    }
  }

  /** Runs `corix ARGS` on this server's store; returns the last line of stdout. */
  cli(...args) {
    const out = execFileSync(BINARY, args, { env: { ...this.env, CORIX_DATA_DIR: this.data }, encoding: "utf8" });
    const lines = out.trim().split("\n");
    return lines[lines.length - 1].trim();
  }

  instance() {
    const r = spawnSync("python3", ["-c",
      "import sqlite3,sys\ntry:\n  r=sqlite3.connect(sys.argv[1]).execute(\"SELECT value FROM settings WHERE key='instance_id'\").fetchone()\n  print(r[0] if r else '')\nexcept Exception:\n  pass",
      join(this.data, "corix.db")], { encoding: "utf8" });
    return (r.stdout || "").trim() || null;
  }

  /** Terminates what the tests left (API, then the engine by label), kills the server. */
  async stop() {
    if (this.process.exitCode === null && this.baseUrl) {
      try {
        const headers = { Authorization: `Bearer ${this.key}` };
        const listed = await fetch(`${this.baseUrl}/v1/computers`, { headers, signal: AbortSignal.timeout(60_000) });
        if (listed.ok) {
          for (const c of (await listed.json()).computers ?? []) {
            await fetch(`${this.baseUrl}/v1/computers/${c.id}`, { method: "DELETE", headers, signal: AbortSignal.timeout(60_000) }).catch(() => {});
          }
        }
      } catch {
        // the server is gone: the engine cleanup below still runs
      }
    }
    if (this.process.exitCode === null) {
      const exited = new Promise((r) => this.process.once("exit", r));
      this.process.kill("SIGKILL");
      await exited;
    }
    const instance = this.instance();
    if (instance) {
      const ids = spawnSync("docker", ["ps", "-aq", "--filter", `label=dev.corix.instance=${instance}`], { encoding: "utf8" }).stdout?.split(/\s+/).filter(Boolean) ?? [];
      if (ids.length) spawnSync("docker", ["rm", "-f", ...ids]);
    }
    rmSync(this.data, { recursive: true, force: true });
  }
}

/**
 * A stand-in model provider (Anthropic Messages, OpenAI Chat Completions and Responses). The first
 * turn asks for one action (a screenshot, or `echo hi` in bash for chat completions); once the
 * conversation carries a tool result it answers FAKE_OUTPUT.
 */
export class FakeModel {
  static async start() {
    const fake = new FakeModel();
    await new Promise((r) => fake.server.listen(0, "127.0.0.1", r));
    fake.url = `http://127.0.0.1:${fake.server.address().port}`;
    return fake;
  }

  constructor() {
    this.requests = [];
    this.server = createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        let body = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
        } catch {}
        this.requests.push({ path: req.url, body, headers: req.headers });
        const answer = FakeModel.answer(req.url, body);
        const data = JSON.stringify(answer);
        res.writeHead(answer === null ? 404 : 200, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
        res.end(data);
      });
    });
  }

  static answer(path, body) {
    const p = path.split("?")[0].replace(/\/+$/, "");
    const text = JSON.stringify(body);
    if (p.endsWith("/messages")) {
      const done = text.includes("tool_result");
      return {
        id: "msg_fake", type: "message", role: "assistant", model: body.model,
        content: done ? [{ type: "text", text: FAKE_OUTPUT }] : [{ type: "tool_use", id: "toolu_1", name: "computer", input: { action: "screenshot" } }],
        stop_reason: done ? "end_turn" : "tool_use", stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 5 },
      };
    }
    if (p.endsWith("/chat/completions")) {
      const done = (body.messages ?? []).some((m) => m.role === "tool");
      const names = (body.tools ?? []).map((t) => t.function?.name);
      const message = done || !names.includes("bash")
        ? { role: "assistant", content: FAKE_OUTPUT }
        : { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "bash", arguments: JSON.stringify({ command: "echo hi" }) } }] };
      return {
        id: "chatcmpl-fake", object: "chat.completion", created: Math.floor(Date.now() / 1000), model: body.model,
        choices: [{ index: 0, message, finish_reason: message.tool_calls ? "tool_calls" : "stop" }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      };
    }
    if (p.endsWith("/responses")) {
      return {
        id: "resp_fake", object: "response", status: "completed", model: body.model,
        output: [{ type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: FAKE_OUTPUT, annotations: [] }] }],
        usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
      };
    }
    return null;
  }

  /** Environment that points a server's agent loop at this fake. */
  env() {
    return {
      ANTHROPIC_BASE_URL: this.url,
      OPENAI_BASE_URL: this.url + "/v1",
      ANTHROPIC_API_KEY: "fake-model-key",
      OPENAI_API_KEY: "fake-model-key",
    };
  }

  close() {
    return new Promise((r) => {
      this.server.closeAllConnections?.();
      this.server.close(() => r());
    });
  }
}

/** Whether the server has `POST /computers/{id}/prompt`: on a computer we own, 404 (or 405) means no route. */
export async function promptRouteExists(baseUrl, key, computerId) {
  const r = await fetch(`${baseUrl}/v1/computers/${computerId}/prompt`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: "{}",
    signal: AbortSignal.timeout(30_000),
  });
  await r.text();
  return r.status !== 404 && r.status !== 405;
}
