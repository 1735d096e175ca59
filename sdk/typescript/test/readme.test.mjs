// The README's examples (the API reference's TypeScript example first) compile with tsc against the
// built package and run as written against a real server, with only the base URL and the key
// changed (CORIX_BASE_URL, CORIX_API_KEY, and the placeholder key crx_your_api_key replaced).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BINARY, CorixServer, FAKE_OUTPUT, FakeModel, HAS_BINARY, PACKAGE, promptRouteExists } from "./helpers.mjs";

/** Runs a file with node without blocking this process (the fake model server lives here). */
function runNode(file, options) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeout ?? 600_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const README = readFileSync(join(PACKAGE, "README.md"), "utf8");

/** [heading, lang, code] of every ```ts and ```js block. */
function blocks() {
  const found = [];
  let heading = "top";
  for (const m of README.matchAll(/^(#+ [^\n]*)$|^```(ts|js)\n([\s\S]*?)^```/gm)) {
    if (m[1]) heading = m[1].replace(/^#+ /, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    else found.push([heading, m[2], m[3]]);
  }
  return found;
}

const BLOCKS = blocks();

// Used only while the server has no POST /computers/{id}/prompt: the rest of the example still runs.
const PROMPT_STUB = `import { Computer as __C } from "@corix/sdk";
(__C.prototype as any).prompt = async () => ({ output: "(no prompt endpoint on this server)", steps: [], stopReason: "done", usage: { inputTokens: 0, outputTokens: 0 }, error: null });
`;

const SPEC_EXAMPLE = `import { Corix } from "@corix/sdk";
const client = new Corix({ apiKey: "crx_your_api_key" });
const computer = await client.computers.create({
name: "my-agent", cpu: 2, ram: 8,
});
const result = await computer.prompt({
model: "claude-sonnet-4-6",
task: "Open Firefox and screenshot the homepage",
});
await computer.click(500, 300);
await computer.type("Hello from Corix");
const output = await computer.bash("ls -la");
const pyOutput = await computer.python("print('hello')");
await computer.stop();
await computer.start();
await computer.terminate();
`;

test("the API reference's TypeScript example is the README's first block, verbatim", () => {
  assert.equal(BLOCKS[0][0], "usage");
  assert.equal(BLOCKS[0][1], "ts");
  assert.equal(BLOCKS[0][2], SPEC_EXAMPLE);
  assert.ok(BLOCKS.length >= 5);
});

describe("README examples against a real server", { skip: HAS_BINARY ? false : `${BINARY} is missing` }, () => {
  let fake, server, work, hasPrompt;

  before(async () => {
    fake = await FakeModel.start();
    server = await CorixServer.start(fake.env());
    // A scratch project where "@corix/sdk" resolves to this package, as after `npm install`.
    work = mkdtempSync(join(tmpdir(), "corix-ts-readme-"));
    mkdirSync(join(work, "node_modules", "@corix"), { recursive: true });
    symlinkSync(PACKAGE, join(work, "node_modules", "@corix", "sdk"), "dir");
    const probe = await fetch(`${server.baseUrl}/v1/computers`, { headers: { Authorization: `Bearer ${server.key}` } });
    assert.equal(probe.status, 200);
    // prompt route: probe with an unknown computer would answer 404 either way, so ask the OpenAPI document.
    const spec = await (await fetch(`${server.baseUrl}/openapi.json`)).json().catch(() => ({}));
    hasPrompt = Boolean(spec?.paths?.["/api/v1/computers/{id}/prompt"]?.post);
  });

  after(async () => {
    await server?.stop();
    await fake?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("every TypeScript block compiles with tsc (strict) against the built package", () => {
    const files = [];
    BLOCKS.forEach(([name, lang, code], i) => {
      if (lang !== "ts") return;
      const stubbed = code.includes(".prompt(") && !hasPrompt;
      const file = join(work, `example-${i}-${name}.mts`);
      writeFileSync(file, (stubbed ? PROMPT_STUB : "") + code.replaceAll("crx_your_api_key", server.key));
      files.push(file);
    });
    const tsc = join(PACKAGE, "node_modules", "typescript", "bin", "tsc");
    const run = spawnSync(process.execPath, [tsc, "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext",
      "--skipLibCheck", "--types", "node", "--typeRoots", join(PACKAGE, "node_modules", "@types"), "--outDir", join(work, "out"), ...files],
      { cwd: work, encoding: "utf8" });
    assert.equal(run.status, 0, `tsc failed:\n${run.stdout}\n${run.stderr}`);
  });

  BLOCKS.forEach(([name, lang, code], i) => {
    test(`README example ${i} (${name}, ${lang}) runs`, { timeout: 600_000 }, async () => {
      const file = lang === "ts" ? join(work, "out", `example-${i}-${name}.mjs`) : join(work, `example-${i}-${name}.cjs`);
      if (lang === "js") writeFileSync(file, code.replaceAll("crx_your_api_key", server.key));
      const env = { ...process.env, CORIX_API_KEY: server.key, CORIX_BASE_URL: server.baseUrl, CORIX_MODEL_API_KEY: "fake-model-key" };
      const calls = fake.requests.length;
      const run = await runNode(file, { cwd: work, env, timeout: 590_000 });
      assert.equal(run.status, 0, `README example ${name} failed:\n${run.stdout}\n${run.stderr}`);
      if (code.includes(".prompt(") && hasPrompt) {
        assert.ok(fake.requests.length > calls, "the server did not call the fake model");
        if (code.includes("result.output")) assert.ok(run.stdout.includes(FAKE_OUTPUT), run.stdout);
      }
    });
  });
});
