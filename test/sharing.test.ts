import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Raindrops } from "../mod.ts";
import { fixture, runFixture, RUNTIMES, scriptArgs, startThread, tempShm } from "./_helpers.ts";

const PER_PROCESS = 3_000_000;

test("2 Deno, 2 Bun and 2 Node.js processes incrementing one counter at once give an exact total", async () => {
  using tmp = tempShm("procs");
  using counters = new Raindrops(2, { path: tmp.path, zero: true });
  const runs = (["deno", "bun", "node", "deno", "bun", "node"] as const).map((rt) =>
    runFixture(rt, "incr_worker.ts", [tmp.path, String(PER_PROCESS), "6"])
  );
  for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
  assert.equal(counters.get(0), 6 * PER_PROCESS);
  assert.equal(counters.get(1), 6, "all six passed the start barrier");
});

test("large deltas that carry past 2^32 in two processes mix exactly with small ones in two others", async () => {
  using tmp = tempShm("procs-carry");
  using counters = new Raindrops(2, { path: tmp.path, zero: true });
  const big = 2 ** 31 + 7, bigCount = 200_000, smallCount = 1_000_000;
  const runs = [
    runFixture("deno", "incr_worker.ts", [tmp.path, String(bigCount), "4", String(big)]),
    runFixture("bun", "incr_worker.ts", [tmp.path, String(bigCount), "4", String(big)]),
    runFixture("deno", "incr_worker.ts", [tmp.path, String(smallCount), "4", "1"]),
    runFixture("bun", "incr_worker.ts", [tmp.path, String(smallCount), "4", "1"]),
  ];
  for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
  assert.equal(counters.getBigInt(0), 2n * BigInt(bigCount) * BigInt(big) + 2n * BigInt(smallCount));
});

test("4 Worker threads incrementing one counter at once give an exact total", async () => {
  using tmp = tempShm("threads");
  using counters = new Raindrops(2, { path: tmp.path, zero: true });
  const workers = Array.from(
    { length: 4 },
    () => startThread("incr_thread.ts"),
  );
  try {
    await Promise.all(workers.map((w) =>
      new Promise<void>((resolve, reject) => {
        w.onmessage = () => resolve();
        w.onerror = (e) => reject(e);
        w.postMessage({ path: tmp.path, count: 500_000 });
      })
    ));
  } finally {
    workers.forEach((w) => w.terminate());
  }
  assert.equal(counters.get(0), 2_000_000);
});

for (const runtime of ["deno", "bun", "node"] as const) {
  test(`a ${runtime} writer killed with SIGKILL loses no committed increment; values survive reopen`, async () => {
    using tmp = tempShm(`kill-${runtime}`);
    new Raindrops(2, { path: tmp.path, zero: true }).evaporate();
    const child = spawn(RUNTIMES[runtime], scriptArgs(runtime, fixture("killed_writer.ts")).concat(tmp.path), {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let lastCommitted = 0, buffered = "";
    const exited = new Promise<string | null>((resolve) => child.on("close", (_c, sig) => resolve(sig)));
    await new Promise<void>((resolve, reject) => {
      child.on("close", () => reject(new Error(`writer exited before reporting 200,000 increments`)));
      const timer = setTimeout(() => reject(new Error("writer too slow")), 30_000);
      child.on("close", () => clearTimeout(timer));
      child.stdout!.on("data", (d) => {
        buffered += d;
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        if (lines.length) lastCommitted = Number(lines[lines.length - 1]);
        if (lastCommitted >= 200_000 && !child.killed) {
          child.kill("SIGKILL");
          resolve();
        }
      });
    });
    assert.equal(await exited, "SIGKILL");
    using reopened = new Raindrops(2, { path: tmp.path });
    const value = reopened.get(0);
    assert.ok(value >= lastCommitted, `counter ${value} < committed ${lastCommitted}`);
    assert.ok(value < lastCommitted + 1_000_000, `counter ${value} far above what was reported`);
  });
}
