// WorkerStats#incr/decr: a worker's own counts are stored without atomics
// (only its thread writes them), so other processes must still read every
// value whole, across the 32-bit carry too; misuse is a typed error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EvaporatedError } from "../src/errors.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { runFixture, tempShm } from "./_helpers.ts";
import { TID } from "./fixtures/middleware_serve.ts";

const onBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const { CALLING, WRITING, FINISHED } = WorkerStats;

/** This thread's counts as another process (of the other runtime) reads them from the file. */
async function peek(path: string): Promise<{ calling: number; writing: number }> {
  const r = await runFixture(onBun ? "deno" : "bun", "worker_stats_peek.ts", [path]);
  assert.equal(r.code, 0, r.stderr);
  const mine = (JSON.parse(r.stdout) as { tid: number; calling: number; writing: number }[]).find((w) => w.tid === TID);
  assert.ok(mine, `this thread (${TID}) is not among the workers read: ${r.stdout}`);
  return { calling: mine.calling, writing: mine.writing };
}

test("a worker's counts are read whole by another process, across the 2^32 carry and borrow", async () => {
  using tmp = tempShm("ws-carry");
  const stats = WorkerStats.open(tmp.path);
  try {
    stats.incr(CALLING, 3);
    stats.decr(CALLING);
    stats.incr(WRITING, 0xffff_fffe);
    stats.incr(WRITING);
    assert.deepEqual(await peek(tmp.path), { calling: 2, writing: 0xffff_ffff });
    stats.incr(WRITING); // carries into the high word
    stats.incr(CALLING, 0xffff_ffff); // carries too: 2 + 2^32 - 1
    assert.deepEqual(await peek(tmp.path), { calling: 2 ** 32 + 1, writing: 2 ** 32 });
    stats.decr(WRITING, 2); // borrows from the high word
    stats.decr(CALLING, 2 ** 32); // a delta beyond 32 bits
    assert.deepEqual(await peek(tmp.path), { calling: 1, writing: 0xffff_fffe });
    assert.deepEqual(stats.own(), { calling: 1, writing: 0xffff_fffe });
    const before = stats.finished();
    for (let i = 0; i < 1000; i++) stats.incr(FINISHED);
    assert.equal(stats.finished() - before, 1000);
  } finally {
    stats.release();
  }
});

test("WorkerStats#incr/decr refuse a bad counter or delta, and a released worker, with typed errors", () => {
  using tmp = tempShm("ws-misuse");
  const stats = WorkerStats.open(tmp.path);
  // deno-lint-ignore no-explicit-any
  const loose = stats as any;
  try {
    for (const which of [3, -1, 0.5, NaN]) {
      assert.throws(() => loose.incr(which), RangeError, `incr(${which})`);
      assert.throws(() => loose.decr(which), RangeError, `decr(${which})`);
    }
    for (const which of ["0", undefined, null, 0n]) {
      assert.throws(() => loose.incr(which), TypeError, `incr(${String(which)})`);
    }
    assert.throws(() => loose.decr(FINISHED), /finished requests only rise/);
    for (const delta of [-1, 1.5, NaN, Infinity]) {
      assert.throws(() => stats.incr(CALLING, delta), RangeError, `incr delta ${delta}`);
      assert.throws(() => stats.decr(CALLING, delta), RangeError, `decr delta ${delta}`);
    }
    assert.throws(() => loose.incr(CALLING, "1"), TypeError);
    assert.deepEqual(stats.own(), { calling: 0, writing: 0 }, "no refused call changed a count");
  } finally {
    stats.release();
  }
  assert.throws(() => stats.incr(CALLING), EvaporatedError);
  assert.throws(() => stats.decr(WRITING), EvaporatedError);
});
