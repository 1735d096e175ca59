// Unit tests: configuration, the retry policy (against a local scripted HTTP server), typed errors,
// parsing helpers, the SSE decoder and both module formats.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import * as corix from "@corix/sdk";
import { Corix } from "@corix/sdk";

/** A local server answering a script of [status, headers, body] in turn (the last repeats). */
async function scripted(script) {
  const hits = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      hits.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const [status, headers, body, delay] = script[Math.min(hits.length - 1, script.length - 1)];
      setTimeout(() => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(typeof body === "string" ? body : JSON.stringify(body));
      }, delay ?? 0);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    hits,
    baseUrl: `http://127.0.0.1:${server.address().port}/api`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

function recordingClient(baseUrl, options = {}) {
  const waits = [];
  const client = new Corix({ apiKey: "crx_test", baseUrl, sleep: async (ms) => { waits.push(ms); }, ...options });
  return { client, waits };
}

const WS = { workspaces: [{ id: "w1", name: "Default", status: "active", created_at: "2026-01-01T00:00:00Z" }] };

describe("configuration", () => {
  test("env fallbacks and defaults", () => {
    const saved = { ...process.env };
    try {
      process.env.CORIX_API_KEY = "crx_from_env";
      process.env.CORIX_BASE_URL = "http://127.0.0.1:9/api/";
      const c = new Corix();
      assert.equal(c.apiKey, "crx_from_env");
      assert.equal(c.baseUrl, "http://127.0.0.1:9/api");
      assert.equal(c.terminalUrl, "ws://127.0.0.1:9");
      assert.equal(c.maxRetries, 3);
      assert.equal(c.timeout, 180_000);
      delete process.env.CORIX_BASE_URL;
      assert.equal(new Corix({ apiKey: "crx_x" }).baseUrl, "https://corix.dev/api");
      assert.equal(new Corix({ apiKey: "crx_x" }).terminalUrl, "wss://compute.corix.dev");
      assert.equal(new Corix({ apiKey: "crx_x", baseUrl: "http://h:1/api/v1" }).url("/computers", { a: 1, b: undefined }), "http://h:1/api/v1/computers?a=1");
      delete process.env.CORIX_API_KEY;
      assert.throws(() => new Corix(), corix.CorixError);
      assert.throws(() => new Corix({ apiKey: "crx_x", maxRetries: -1 }), RangeError);
      const clone = new Corix({ apiKey: "crx_x", maxRetries: 5, timeout: 1000 }).withOptions({ maxRetries: 0 });
      assert.deepEqual([clone.maxRetries, clone.timeout, clone.apiKey], [0, 1000, "crx_x"]);
    } finally {
      process.env = saved;
    }
  });

  test("backoff, Retry-After, RAM, terminal URLs", () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 20].map(corix.backoffDelay), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    assert.equal(corix.parseRetryAfter("2"), 2);
    assert.equal(corix.parseRetryAfter(" 0.5 "), 0.5);
    assert.equal(corix.parseRetryAfter(null), null);
    assert.equal(corix.parseRetryAfter("soon"), null);
    const inTen = corix.parseRetryAfter(new Date(Date.now() + 10_000).toUTCString());
    assert.ok(inTen > 8 && inTen <= 10);
    assert.deepEqual([8, "8gb", "8 GB", "8g", "8192mb", "4GiB"].map(corix.parseRam), [8, 8, 8, 8, 8, 4]);
    assert.equal(corix.parseRam(undefined), undefined);
    assert.throws(() => corix.parseRam("eight"), TypeError);
    assert.throws(() => corix.parseRam("1000mb"), TypeError);
    assert.equal(corix.terminalBaseUrl("https://example.com/corix/api"), "wss://example.com/corix");
    assert.equal(corix.terminalUrl("ws://h:1", "a b", "crx_k", 80, 24), "ws://h:1/ws/terminal/a%20b?token=crx_k&cols=80&rows=24");
  });
});

describe("typed errors", () => {
  test("classes by status and code", () => {
    const h = new Headers({ "retry-after": "3" });
    const e = (status, code, text = JSON.stringify({ error: "x", code })) => corix.makeStatusError(status, h, text);
    const cases = [
      [400, "bad_request", corix.BadRequestError], [401, "unauthorized", corix.AuthenticationError],
      [403, "forbidden", corix.PermissionDeniedError], [403, "plan_limit", corix.PlanLimitError],
      [404, "not_found", corix.NotFoundError], [409, "conflict", corix.ConflictError],
      [409, "computer_not_running", corix.ComputerNotRunningError], [409, "prompt_running", corix.PromptRunningError],
      [413, "payload_too_large", corix.PayloadTooLargeError], [429, "rate_limited", corix.RateLimitError],
      [500, "internal_error", corix.InternalServerError], [502, "agent_unreachable", corix.AgentUnreachableError],
      [503, "display_unavailable", corix.ServiceUnavailableError], [504, null, corix.InternalServerError],
      [418, null, corix.APIStatusError], [404, "plan_limit", corix.NotFoundError],
    ];
    for (const [status, code, cls] of cases) {
      const err = e(status, code);
      assert.equal(err.constructor, cls, `${status} ${code}`);
      assert.ok(err instanceof corix.APIStatusError && err instanceof corix.CorixError && err instanceof Error);
      assert.equal(err.status, status);
      assert.equal(err.statusCode, status);
      assert.equal(err.code, code ?? null);
      assert.equal(err.error, "x");
      assert.equal(err.name, cls.name);
    }
    assert.equal(e(429, "rate_limited").retryAfter, 3);
    const plain = corix.makeStatusError(500, new Headers(), "boom");
    assert.deepEqual([plain.error, plain.code, plain.body], ["boom", null, "boom"]);
    assert.ok(corix.AgentUnreachableError.prototype instanceof corix.InternalServerError);
    assert.equal(corix.APIError, corix.APIStatusError);
  });
});

describe("the retry policy", () => {
  let srv;
  after(async () => srv?.close());

  test("502 then 200: retried after 1 s of backoff", async () => {
    srv = await scripted([[502, {}, { error: "agent down", code: "agent_unreachable" }], [200, {}, WS]]);
    const { client, waits } = recordingClient(srv.baseUrl);
    assert.equal((await client.workspaces.list())[0].name, "Default");
    assert.deepEqual(waits, [1000]);
    assert.equal(srv.hits.length, 2);
    assert.equal(srv.hits[0].headers.authorization, "Bearer crx_test");
    await srv.close();
  });

  test("5xx: exponential backoff, then the typed error", async () => {
    srv = await scripted([[500, {}, { error: "boom", code: "internal_error" }]]);
    const { client, waits } = recordingClient(srv.baseUrl, { maxRetries: 4 });
    await assert.rejects(client.workspaces.list(), (e) => e instanceof corix.InternalServerError && e.error === "boom");
    assert.deepEqual(waits, [1000, 2000, 4000, 8000]);
    assert.equal(srv.hits.length, 5);
    await srv.close();
  });

  test("429 honours Retry-After; over 60 s it throws at once", async () => {
    srv = await scripted([[429, { "retry-after": "7" }, { error: "slow down", code: "rate_limited" }], [200, {}, WS],
      [429, { "retry-after": "3600" }, { error: "daily quota", code: "rate_limited" }]]);
    const { client, waits } = recordingClient(srv.baseUrl);
    await client.workspaces.list();
    assert.deepEqual(waits, [7000]);
    await assert.rejects(client.workspaces.list(), (e) => e instanceof corix.RateLimitError && e.retryAfter === 3600);
    assert.deepEqual(waits, [7000]);
    await srv.close();
  });

  test("4xx other than 429 is not retried; maxRetries 0 never retries", async () => {
    srv = await scripted([[404, {}, { error: "Computer not found", code: "not_found" }], [502, {}, { error: "x", code: "agent_unreachable" }]]);
    const { client, waits } = recordingClient(srv.baseUrl);
    await assert.rejects(client.computers.get("nope"), corix.NotFoundError);
    await assert.rejects(client.withOptions({ maxRetries: 0 }).computers.get("nope"), corix.AgentUnreachableError);
    assert.deepEqual(waits, []);
    await srv.close();
  });

  test("timeouts throw APITimeoutError; refused connections are retried then APIConnectionError", async () => {
    srv = await scripted([[200, {}, WS, 500]]);
    const { client } = recordingClient(srv.baseUrl, { timeout: 100 });
    await assert.rejects(client.workspaces.list(), corix.APITimeoutError);
    await srv.close();
    const { client: dead, waits } = recordingClient(srv.baseUrl, { maxRetries: 2 });
    await assert.rejects(dead.workspaces.list(), (e) => e instanceof corix.APIConnectionError && !(e instanceof corix.APITimeoutError));
    assert.deepEqual(waits, [1000, 2000]);
  });

  test("request bodies: snake_case JSON, query strings, model key header", async () => {
    const computer = { id: "c1", workspace_id: "w1", name: "n", os: "linux", cpu: 2, ram: 8, status: "creating", created_at: "t" };
    srv = await scripted([[201, {}, computer], [200, {}, { output: "ok", steps: [{ index: 0, action: "screenshot", arguments: { some_key: 1 } }], stop_reason: "done", usage: { input_tokens: 1, output_tokens: 2 } }]]);
    const { client } = recordingClient(srv.baseUrl);
    const c = await client.computers.create({ name: "n", cpu: 2, ram: "8gb", diskSizeGb: 8, workspaceId: "w1", wait: false });
    assert.deepEqual([c.workspaceId, c.status, c.userId, c.autoStopMinutes], ["w1", "creating", null, null]);
    assert.equal(srv.hits[0].url, "/api/v1/computers?wait=false");
    assert.deepEqual(JSON.parse(srv.hits[0].body), { name: "n", cpu: 2, ram: 8, disk_size_gb: 8, workspace_id: "w1" });
    const steps = [];
    const result = await c.prompt({ model: "m", task: "t", maxSteps: 3, modelApiKey: "mk", onStep: (s) => steps.push(s) });
    assert.deepEqual(result, { output: "ok", steps: [{ index: 0, action: "screenshot", arguments: { some_key: 1 }, output: null, error: null }], stopReason: "done", usage: { inputTokens: 1, outputTokens: 2 }, error: null });
    assert.equal(steps.length, 1);
    assert.equal(srv.hits[1].headers["x-model-api-key"], "mk");
    assert.equal(srv.hits[1].headers.accept, "text/event-stream");
    assert.deepEqual(JSON.parse(srv.hits[1].body), { model: "m", task: "t", max_steps: 3 });
    await srv.close();
  });

  test("prompt over SSE: steps, result, and error events", async () => {
    const sse = (body) => [200, { "content-type": "text/event-stream" }, body];
    srv = await scripted([
      [200, {}, { id: "c1", workspace_id: "w1", name: "n", cpu: 1, ram: 4, status: "running", created_at: "t" }],
      sse(': keep-alive\n\nevent: step\ndata: {"index":0,"action":"bash","arguments":{"command":"ls"},"output":"x"}\n\r\nevent: step\r\ndata: {"index":1,"action":"key","arguments":{}}\r\n\r\nevent: result\ndata: {"output":"done!","steps":[],"stop_reason":"done","usage":{"input_tokens":3,"output_tokens":4}}\n\n'),
      sse('event: error\ndata: the loop ended without a result\n\n'),
      sse('event: step\ndata: {"index":0,"action":"x","arguments":{}}\n\n'),
    ]);
    const { client } = recordingClient(srv.baseUrl);
    const c = await client.computers.get("c1");
    const steps = [];
    const result = await c.prompt({ model: "m", task: "t", onStep: async (s) => { steps.push(s); } });
    assert.equal(result.output, "done!");
    assert.deepEqual(steps.map((s) => [s.index, s.action, s.output]), [[0, "bash", "x"], [1, "key", null]]);
    await assert.rejects(c.prompt({ model: "m", task: "t" }), (e) => e instanceof corix.PromptError && e.error === "the loop ended without a result");
    await assert.rejects(c.prompt({ model: "m", task: "t" }), (e) => e instanceof corix.PromptError && /without a result/.test(e.message));
    await srv.close();
  });
});

describe("SSE decoder", () => {
  test("multi-line data, comments, flush", () => {
    const d = new corix.SSEDecoder();
    assert.equal(d.feed(": comment"), null);
    assert.equal(d.feed("event: step"), null);
    assert.equal(d.feed("data: a"), null);
    assert.equal(d.feed("data:b"), null);
    assert.deepEqual(d.feed(""), { event: "step", data: "a\nb" });
    d.feed("data: {\"output\":\"o\",\"stop_reason\":\"done\"}");
    const last = d.flush();
    assert.equal(corix.interpret(last).kind, "result");
    assert.equal(corix.interpret({ event: "ping", data: "{}" }).kind, "other");
  });
});

describe("module formats", () => {
  test("require() gives the same API as import", () => {
    const cjs = createRequire(import.meta.url)("@corix/sdk");
    assert.equal(typeof cjs.Corix, "function");
    assert.deepEqual(Object.keys(cjs).sort(), Object.keys(corix).sort());
    assert.ok(new cjs.RateLimitError(429, "x", "rate_limited", {}, new Headers()) instanceof cjs.APIStatusError);
  });
});
