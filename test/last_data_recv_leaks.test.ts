import { test } from "node:test";
import assert from "node:assert/strict";
import { descriptors } from "./fixtures/descriptors.ts";
import { LastDataRecv } from "../src/last_data_recv/last_data_recv.ts";
import { spawn } from "node:child_process";
import { type ChildResult, fixture, runFixture, RUNTIMES } from "./_helpers.ts";
import { rawGet } from "./fixtures/hono_servers.ts";
import { runtimeName } from "./fixtures/watcher_servers.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
/** More than the native library's table of watches (64). */
const CYCLES = 70;

/** `fetch` served on 127.0.0.1, port 0, by this runtime's server. */
function serve(
  fetch: (req: Request, env?: unknown) => Response | Promise<Response>,
): { port: number; stop(): Promise<void> } {
  if (g.Bun) {
    const s = g.Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch });
    return { port: s.port, stop: async () => void (await s.stop(true)) };
  }
  const ac = new AbortController();
  const s = g.Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} }, fetch);
  return { port: s.addr.port, stop: async () => (ac.abort(), await s.finished) };
}

test(`one LastDataRecv across ${CYCLES} server restarts leaves no descriptors and keeps watching (${runtimeName})`, async () => {
  using ldr = new LastDataRecv();
  const fetch = ldr.wrap(() => new Response("ok"));
  const warm = serve(fetch); // the runtime's own descriptors for serving exist before counting
  assert.equal((await rawGet("127.0.0.1", warm.port, "/")).body, "ok");
  await warm.stop();
  const before = descriptors();
  for (let i = 0; i < CYCLES; i++) {
    const server = serve(fetch);
    for (let r = 0; r < 2; r++) assert.equal((await rawGet("127.0.0.1", server.port, "/")).body, "ok");
    await server.stop();
  }
  const after = descriptors();
  assert.ok(after.rings <= before.rings + 1, `${after.rings - before.rings} io_uring descriptors more`);
  assert.ok(after.all <= before.all + 4, `${after.all - before.all} descriptors more after ${CYCLES} restarts`);
  assert.ok(ldr.watches <= 1, `${ldr.watches} watches open`);
  if (runtimeName === "bun") {
    const server = serve(fetch);
    assert.equal((await rawGet("127.0.0.1", server.port, "/")).body, "ok");
    assert.equal(ldr.watches, 1, "a new server is still watched");
    await server.stop();
  }
  assert.equal(ldr.missed, 0, String(ldr.lastError));
  assert.equal(ldr.aggregate.count, 2 * CYCLES + 1 + (runtimeName === "bun" ? 1 : 0));
});

/** Runs a fixture with Deno and its garbage collector exposed as globalThis.gc (a V8 flag), bounded. */
function runDenoWithGc(name: string, ms = 60_000): Promise<ChildResult> {
  const child = spawn(RUNTIMES.deno, ["run", "-A", "--v8-flags=--expose-gc", fixture(name)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "", stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  return new Promise((resolve) =>
    child.on("close", (code, signal) => (clearTimeout(timer), resolve({ code, signal, stdout, stderr })))
  );
}

test(`a LastDataRecv dropped without close() has its watch closed by the garbage collector (${runtimeName})`, async () => {
  // A child of this runtime, where a collection can be forced (Bun.gc; Deno needs a V8 flag for globalThis.gc).
  const r = runtimeName === "deno" ? await runDenoWithGc("ldr_dropped.ts") : await runFixture("bun", "ldr_dropped.ts");
  assert.equal(r.code, 0, r.stderr);
  const { watches, opened, left } = JSON.parse(r.stdout);
  assert.ok(watches >= 1, r.stdout);
  assert.equal(left, opened - watches, r.stdout);
});

test(`${CYCLES} Workers terminated with a watch open leave no descriptors; the main thread's watch still opens (${runtimeName})`, async () => {
  const r = await runFixture(runtimeName, "ldr_worker_cycles.ts", [String(CYCLES)], 110_000);
  assert.equal(r.code, 0, r.stderr);
  const { before, after, mainWatches, end } = JSON.parse(r.stdout);
  assert.ok(after.rings <= before.rings + 1, r.stdout);
  // The runtime's own descriptors vary by a few between Workers; a leak is 3 per Worker.
  assert.ok(after.all <= before.all + 16, r.stdout);
  assert.equal(mainWatches, 1, r.stdout);
  assert.ok(end.rings <= before.rings + 1, r.stdout);
});
