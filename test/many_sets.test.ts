/**
 * A million forgotten counter sets (as the Ruby gem's GC test makes),
 * running out of mappings (a typed error that leaves the process alive), and
 * Workers terminated while holding a counter file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { Raindrops } from "../mod.ts";
import { runFixture, type RuntimeName, RUNTIMES, startThread, tempShm } from "./_helpers.ts";

test("1,000,000 new Raindrops(24) in one synchronous loop, forgotten, in this process", () => {
  let last = 0;
  for (let i = 0; i < 1_000_000; i++) last = new Raindrops(24).incr(23, 2);
  assert.equal(last, 2);
});

for (const rt of Object.keys(RUNTIMES) as RuntimeName[]) {
  test(`${rt}: 1,000,000 forgotten sets in a child process`, { timeout: 120_000 }, async () => {
    const r = await runFixture(rt, "many_sets.ts", ["anonymous"], 120_000);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { made: 1_000_000, last: 1 });
  });

  test(`${rt}: mapping files until the budget runs out is an ExhaustedError; the process goes on`, {
    timeout: 120_000,
  }, async () => {
    using tmp = tempShm("budget");
    mkdirSync(tmp.path);
    const limit = Number(readFileSync("/proc/sys/vm/max_map_count", "utf8"));
    const r = await runFixture(rt, "many_sets.ts", ["files", tmp.path], 120_000);
    rmSync(tmp.path, { recursive: true });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.exhausted, true, out.message);
    assert.equal(out.code, "EXHAUSTED");
    assert.match(out.message, /max_map_count/);
    assert.ok(out.held > 0 && out.held <= Math.floor(limit / 2), `${out.held} of ${limit}`);
    assert.equal(out.again, 1, "after evaporating them it maps again");
  });
}

test("Workers terminated while holding one counter file leave one shared mapping, not one each", async () => {
  using tmp = tempShm("workers");
  const mapped = () => readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.endsWith(tmp.path)).length;
  for (let i = 0; i < 5; i++) {
    const worker = startThread("mapping_worker.ts");
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage(tmp.path);
    });
    worker.terminate(); // its finalizers never run
  }
  assert.equal(mapped(), 1);
  using mine = new Raindrops(1, { path: tmp.path });
  assert.equal(mine.get(0), 5, "every Worker counted in the one file");
  assert.equal(mapped(), 1);
});
