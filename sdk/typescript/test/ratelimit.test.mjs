// Retries against a real server whose rate limit is 0.5 calls/s with a burst of 1: a 429 is retried
// after its Retry-After, and after the retries the typed RateLimitError is thrown.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { Corix, RateLimitError } from "@corix/sdk";
import { BINARY, CorixServer, HAS_BINARY } from "./helpers.mjs";

describe("rate limits of a real server", { skip: HAS_BINARY ? false : `${BINARY} is missing` }, () => {
  let server;
  before(async () => {
    server = await CorixServer.start({ CORIX_RATE_LIMIT_PER_SECOND: "0.5", CORIX_RATE_LIMIT_BURST: "1" });
  });
  after(async () => {
    await server?.stop();
  });

  test("a 429 is retried after Retry-After", async () => {
    const waits = [];
    const client = new Corix({
      apiKey: server.key,
      baseUrl: server.baseUrl,
      maxRetries: 3,
      sleep: (ms) => {
        waits.push(ms);
        return sleep(ms);
      },
    });
    await sleep(2100); // a full bucket
    await client.workspaces.list();
    const started = Date.now();
    assert.deepEqual((await client.workspaces.list()).map((w) => w.name), ["Default"]);
    assert.deepEqual(waits, [2000]); // the server's Retry-After for an empty bucket at 0.5/s
    assert.ok(Date.now() - started >= 1900);
  });

  test("after the retries the typed RateLimitError is thrown", async () => {
    const waits = [];
    const client = new Corix({
      apiKey: server.key,
      baseUrl: server.baseUrl,
      maxRetries: 2,
      sleep: async (ms) => {
        waits.push(ms); // do not wait: every retry meets an empty bucket
      },
    });
    await sleep(2100);
    await client.workspaces.list();
    await assert.rejects(client.workspaces.list(), (e) => {
      assert.ok(e instanceof RateLimitError);
      assert.equal(e.status, 429);
      assert.equal(e.code, "rate_limited");
      assert.ok(e.retryAfter !== null && e.retryAfter >= 1);
      return true;
    });
    assert.deepEqual(waits, [2000, 2000]);
    await assert.rejects(client.withOptions({ maxRetries: 0 }).workspaces.list(), RateLimitError);
    assert.deepEqual(waits, [2000, 2000]);
  });
});
