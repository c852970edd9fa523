import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { RUNTIMES, tempShm } from "./_helpers.ts";
import { freePort, waitFor } from "./fixtures/middleware_serve.ts";
import { childrenOf, running } from "./fixtures/processes.ts";

test("examples/bun_workers.ts killed with SIGKILL leaves no worker serving", { timeout: 30_000 }, async () => {
  using tmp = tempShm("bun-workers");
  const port = await freePort();
  const script = new URL("../examples/bun_workers.ts", import.meta.url).pathname;
  const parent = spawn(RUNTIMES.bun, [script, "2", String(port)], {
    env: { ...process.env, RAINDROPS_STATS: tmp.path },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let workers: number[] = [];
  try {
    const up = await waitFor(async () => {
      try {
        const s = await (await fetch(`http://127.0.0.1:${port}/_raindrops?format=json`)).json();
        return s.workers === 2;
      } catch {
        return false;
      }
    }, 15_000);
    assert.ok(up, "both workers serve");
    workers = childrenOf(parent.pid!);
    assert.equal(workers.length, 2);
    parent.kill("SIGKILL");
    assert.ok(await waitFor(() => workers.every((pid) => !running(pid)), 5000), "the workers exit with the parent");
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`), "nothing serves the port any more");
  } finally {
    parent.kill("SIGKILL");
    for (const pid of workers) if (running(pid)) process.kill(pid, "SIGKILL");
  }
});
