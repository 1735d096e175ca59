// End to end against the real server and one real computer: actions, code, files, terminal,
// lifecycle, typed errors, and prompt() against a fake model server.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as corix from "@corix/sdk";
import { Corix, Computer } from "@corix/sdk";
import { CorixServer, FAKE_OUTPUT, FakeModel, HAS_BINARY, BINARY, promptRouteExists } from "./helpers.mjs";

describe("against a real server", { skip: HAS_BINARY ? false : `${BINARY} is missing: cargo build --release -p corix-cli` }, () => {
  let fake, server, client, computer, hasPrompt;
  const tmp = mkdtempSync(join(tmpdir(), "corix-ts-e2e-"));

  before(async () => {
    fake = await FakeModel.start();
    server = await CorixServer.start(fake.env());
    client = new Corix({ apiKey: server.key, baseUrl: server.baseUrl });
    computer = await client.computers.create({ name: "sdk-ts-shared", cpu: 1, ram: 4 });
    hasPrompt = await promptRouteExists(server.baseUrl, server.key, computer.id);
  });

  after(async () => {
    try {
      await computer?.terminate();
    } catch {}
    await server?.stop();
    await fake?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test("health, list, get, refresh", async () => {
    assert.equal((await client.health()).status, "ok");
    assert.ok(computer instanceof Computer);
    assert.equal(computer.status, "running");
    assert.equal(computer.cpu, 1);
    assert.equal(computer.ram, 4);
    assert.ok((await client.computers.list()).some((c) => c.id === computer.id));
    const again = await client.computers.get(computer.id);
    assert.equal(again.name, "sdk-ts-shared");
    assert.equal(again.workspaceId, computer.workspaceId);
    assert.equal(await computer.refresh(), computer);
    assert.equal(JSON.parse(JSON.stringify(computer)).id, computer.id);
  });

  test("screenshot", async () => {
    const shot = await computer.screenshot();
    assert.ok(shot instanceof corix.Screenshot);
    assert.deepEqual([...shot.data.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(shot.mediaType, "image/png");
    assert.deepEqual(shot.dimensions, { width: 1280, height: 720 });
    await shot.save(join(tmp, "s.png"));
    assert.ok(readFileSync(join(tmp, "s.png")).equals(shot.data));
    const small = await computer.screenshot({ format: "jpeg", quality: 60, width: 640 });
    assert.equal(small.mediaType, "image/jpeg");
    assert.deepEqual(small.dimensions, { width: 640, height: 360 });
    const b64 = await computer.screenshotBase64();
    assert.ok(b64.image.startsWith("data:image/png;base64,"));
    assert.equal(b64.metadata.width, 1280);
  });

  test("input actions", async () => {
    assert.ok((await computer.moveMouse(10, 20)).success);
    assert.deepEqual(await computer.cursor(), { x: 10, y: 20 });
    assert.ok((await computer.click(500, 300)).success);
    assert.ok((await computer.click(500, 300, "right")).success);
    assert.ok((await computer.key("Escape")).success);
    assert.ok((await computer.click(600, 400, { double: true })).success);
    assert.ok((await computer.doubleClick(600, 400)).success);
    assert.ok((await computer.drag(100, 200, 400, 300)).success);
    assert.ok((await computer.type("Hello from Corix")).success);
    assert.ok((await computer.key("ctrl+a")).success);
    assert.ok((await computer.scroll(640, 360, { direction: "down", amount: 3 })).success);
    const started = Date.now();
    assert.ok((await computer.wait(0.5)).success);
    assert.ok(Date.now() - started >= 450);
  });

  test("held buttons and keys", async () => {
    assert.ok((await computer.mouseDown({ x: 100, y: 120 })).success);
    assert.deepEqual(await computer.cursor(), { x: 100, y: 120 });
    assert.ok((await computer.moveMouse(200, 220)).success);
    assert.ok((await computer.mouseUp()).success);
    assert.deepEqual(await computer.cursor(), { x: 200, y: 220 });
    assert.ok((await computer.click(300, 320, { clicks: 3, holdKeys: "shift" })).success);
    assert.deepEqual(await computer.cursor(), { x: 300, y: 320 });
    assert.ok((await computer.scroll(640, 360, { direction: "up", amount: 1, holdKeys: "ctrl" })).success);
    const started = Date.now();
    assert.ok((await computer.holdKey("shift", 0.5)).success);
    assert.ok(Date.now() - started >= 450);
    await assert.rejects(computer.click(1, 1, { holdKeys: "nosuchkey" }), (e) => e instanceof corix.BadRequestError && /hold_keys/.test(e.message));
    await assert.rejects(computer.mouseDown({ x: 5 }), (e) => e instanceof corix.BadRequestError && /x and y/.test(e.message));
  });

  test("bash and python", async () => {
    assert.equal(await computer.bash("echo hello"), "hello\n");
    const full = await computer.bash("echo out; echo err >&2; exit 3", { full: true });
    assert.deepEqual([full.stdout, full.stderr, full.exitCode, full.timedOut], ["out\n", "err\n", 3, false]);
    const timed = await computer.bash("sleep 5", { timeout: 1, full: true });
    assert.equal(timed.timedOut, true);
    assert.equal(timed.exitCode, 124);
    assert.equal(await computer.python("print(6*7)"), "42\n");
    assert.equal((await computer.python("import sys; sys.exit(2)", { full: true })).exitCode, 2);
  });

  test("files round trip", async () => {
    const payload = Buffer.alloc(256 * 1000);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 256;
    assert.ok((await computer.upload("/root/sdk/data.bin", payload)).success);
    await computer.upload("/root/sdk/note.txt", "héllo\n");
    await computer.upload("/root/sdk/blob.csv", new Blob(["a,b\n1,2\n"]));
    await computer.upload("/root/sdk/ab.bin", new Uint8Array([1, 2, 3]).buffer);
    const entries = Object.fromEntries((await computer.listFiles("/root/sdk")).map((e) => [e.name, e]));
    assert.deepEqual(Object.keys(entries).sort(), ["ab.bin", "blob.csv", "data.bin", "note.txt"]);
    assert.equal(entries["data.bin"].size, payload.length);
    assert.equal(entries["data.bin"].type, "file");
    assert.ok((await computer.download("/root/sdk/data.bin")).equals(payload));
    const note = await computer.download("/root/sdk/note.txt", { to: join(tmp, "note.txt") });
    assert.equal(note.toString("utf8"), "héllo\n");
    assert.equal(readFileSync(join(tmp, "note.txt"), "utf8"), "héllo\n");
    assert.equal(await computer.bash("cat /root/sdk/blob.csv"), "a,b\n1,2\n");
    assert.ok((await computer.deleteFile("/root/sdk/note.txt")).success);
    await assert.rejects(computer.download("/root/sdk/note.txt"), corix.NotFoundError);
    await assert.rejects(computer.deleteFile("/root/sdk"), corix.BadRequestError);
    assert.ok((await computer.deleteFile("/root/sdk", { recursive: true })).success);
    assert.ok(!(await computer.listFiles("/root")).some((e) => e.name === "sdk"));
  });

  test("terminal", async () => {
    const term = await computer.terminal({ cols: 100, rows: 30 });
    try {
      term.send("echo corix-$((6*7))\n");
      assert.ok((await term.expect("corix-42", 30_000)).includes("corix-42"));
      term.resize(120, 40);
      term.send("stty size\n");
      await term.expect("40 120", 30_000);
      term.send("exit 7\n");
      while (term.exitCode === null) await term.recv(30_000);
      assert.equal(term.exitCode, 7);
    } finally {
      await term.close();
    }
  });

  test("terminal handshake errors are typed", async () => {
    const bad = new Corix({ apiKey: "crx_" + "f".repeat(40), baseUrl: server.baseUrl });
    const foreign = new Computer(bad, computer.toJSON());
    await assert.rejects(foreign.terminal(), (e) => e instanceof corix.AuthenticationError && e.code === "unauthorized");
    const unknown = new Computer(client, { ...computer.toJSON(), id: "00000000-0000-0000-0000-000000000000" });
    await assert.rejects(unknown.terminal(), corix.NotFoundError);
  });

  test("auto-stop and resize", async () => {
    assert.equal(await computer.autoStop(), null);
    assert.equal(await computer.autoStop(30), 30);
    assert.equal(computer.autoStopMinutes, 30);
    assert.equal(await computer.autoStop(), 30);
    assert.equal(await computer.autoStop(0), null);
    assert.equal(await computer.resize({ cpu: 2, ram: "8gb" }), computer);
    assert.deepEqual([computer.cpu, computer.ram], [2, 8]);
    await computer.resize({ cpu: 1, ram: 4 });
    assert.deepEqual([computer.cpu, computer.ram], [1, 4]);
  });

  test("workspaces, move and clone", async () => {
    const home = computer.workspaceId;
    const ws = await client.workspaces.create("sdk-ts-tests");
    assert.equal((await client.workspaces.get(ws.id)).name, "sdk-ts-tests");
    assert.ok((await client.workspaces.list()).some((w) => w.name === "sdk-ts-tests"));
    assert.equal((await computer.move(ws)).workspaceId, ws.id);
    assert.equal((await computer.move(home)).workspaceId, home);
    const copy = await computer.clone({ wait: false });
    let deleted;
    try {
      assert.equal(copy.name, "sdk-ts-shared (copy)");
      assert.notEqual(copy.id, computer.id);
      assert.equal(copy.cpu, computer.cpu);
      await copy.move(ws.id);
    } finally {
      deleted = await client.workspaces.delete(ws);
    }
    assert.equal(deleted.deleted, true);
    assert.equal(deleted.terminatedComputers, 1);
    assert.equal((await client.computers.get(copy.id)).status, "terminated");
  });

  test("typed errors: 400, 401, 403, 404, 409", async () => {
    const bad = new Corix({ apiKey: "crx_" + "f".repeat(40), baseUrl: server.baseUrl });
    await assert.rejects(bad.computers.list(), (e) => {
      assert.ok(e instanceof corix.AuthenticationError && e instanceof corix.APIStatusError && e instanceof corix.CorixError);
      assert.equal(e.status, 401);
      assert.equal(e.code, "unauthorized");
      assert.ok(e.error);
      return true;
    });
    const other = new Corix({ apiKey: server.cli("users", "create", "--email", "sdk-ts-starter@example.com", "--plan", "starter"), baseUrl: server.baseUrl });
    await assert.rejects(other.computers.get(computer.id), (e) => e instanceof corix.PermissionDeniedError && e.status === 403 && e.code === "forbidden");
    await assert.rejects(other.computers.create({ cpu: 2, ram: 4 }), (e) =>
      e instanceof corix.PlanLimitError && e instanceof corix.PermissionDeniedError && e.code === "plan_limit");
    await assert.rejects(client.computers.get("00000000-0000-0000-0000-000000000000"), (e) =>
      e instanceof corix.NotFoundError && e.status === 404 && e.code === "not_found");
    await assert.rejects(client.workspaces.get("00000000-0000-0000-0000-000000000000"), corix.NotFoundError);
    const ws = await client.workspaces.create("sdk-ts-dup");
    try {
      await assert.rejects(client.workspaces.create("sdk-ts-dup"), (e) => e instanceof corix.ConflictError && e.code === "conflict");
    } finally {
      await client.workspaces.delete(ws);
    }
    await assert.rejects(client.computers.create({ cpu: 3 }), (e) =>
      e instanceof corix.BadRequestError && e.code === "bad_request" && e.error.includes("cpu"));
    await assert.rejects(client.workspaces.create(""), corix.BadRequestError);
  });

  test("prompt() returns the loop's result (fake model server)", async (t) => {
    if (!hasPrompt) return t.skip("the server answers 404 for POST /computers/{id}/prompt: the endpoint is not there yet");
    const before = fake.requests.length;
    const result = await computer.prompt({
      model: "claude-sonnet-4-6",
      task: "Take a screenshot, then say done",
      maxSteps: 5,
      modelApiKey: "fake-model-key",
    });
    assert.ok(fake.requests.length > before, "the server did not call the fake model");
    assert.ok(fake.requests.slice(before).some((r) => r.headers["x-api-key"] === "fake-model-key"));
    assert.ok(result.output.includes(FAKE_OUTPUT));
    assert.equal(result.stopReason, "done");
    assert.ok(result.usage.inputTokens > 0 && result.usage.outputTokens > 0);
    assert.ok(result.steps.length >= 1 && result.steps[0].action);
  });

  test("prompt() streams steps to onStep", async (t) => {
    if (!hasPrompt) return t.skip("the server answers 404 for POST /computers/{id}/prompt: the endpoint is not there yet");
    const steps = [];
    const result = await computer.prompt({
      model: "claude-sonnet-4-6",
      task: "Take a screenshot, then say done",
      maxSteps: 5,
      onStep: (s) => steps.push(s),
    });
    assert.ok(result.output.includes(FAKE_OUTPUT));
    assert.equal(result.stopReason, "done");
    assert.ok(steps.length >= 1);
    assert.deepEqual(steps.map((s) => s.index), result.steps.map((s) => s.index));
    assert.equal(await computer.cancelPrompt(), false);
  });

  test("lifecycle: stop, not running, start, restart, terminate", async () => {
    await computer.upload("/root/kept.txt", "kept");
    assert.equal((await computer.stop()).status, "stopped");
    await assert.rejects(computer.bash("true"), (e) =>
      e instanceof corix.ComputerNotRunningError && e instanceof corix.ConflictError && e.status === 409 && e.code === "computer_not_running");
    assert.equal((await computer.start()).status, "running");
    assert.equal((await computer.download("/root/kept.txt")).toString(), "kept");
    assert.equal((await computer.restart()).status, "running");
    assert.equal(await computer.bash("cat /root/kept.txt"), "kept");
    assert.equal((await computer.terminate()).status, "terminated");
    assert.ok(!(await client.computers.list()).some((c) => c.id === computer.id));
  });
});
