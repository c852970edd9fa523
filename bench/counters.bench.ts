/**
 * Raindrops.incr on a shared file mapping, beside Atomics.add on a
 * SharedArrayBuffer and a plain JS increment measured in the same run.
 * Run: node_modules/.bin/deno run -A bench/counters.bench.ts
 *      node_modules/.bin/bun bench/counters.bench.ts
 */
import { rmSync } from "node:fs";
import { Raindrops } from "../mod.ts";
import { nsPerOp, quick, report } from "./_bench.ts";

const N = quick ? 2_000_000 : 20_000_000;
const path = `/dev/shm/raindrops-bench-${Date.now()}`;
try {
  using counters = new Raindrops(4, { path, zero: true });
  const incr = nsPerOp((n) => {
    for (let i = 0; i < n; i++) counters.incr(1);
  }, N);
  using anonymous = new Raindrops(4);
  const incrAnonymous = nsPerOp((n) => {
    for (let i = 0; i < n; i++) anonymous.incr(1);
  }, N);
  const decr = nsPerOp((n) => {
    for (let i = 0; i < n; i++) counters.decr(1);
  }, N);
  const shared = new Int32Array(new SharedArrayBuffer(64));
  const atomics = nsPerOp((n) => {
    for (let i = 0; i < n; i++) Atomics.add(shared, 0, 1);
  }, N);
  const plainCell = [0];
  const plain = nsPerOp((n) => {
    for (let i = 0; i < n; i++) plainCell[0]++;
  }, N);
  report(`counters: ns per operation (best of 5 x ${N / 1e6}M)`, [
    { label: "Atomics.add, SharedArrayBuffer (baseline)", value: atomics, unit: "ns/op" },
    {
      label: "Raindrops#incr, /dev/shm mapping",
      value: incr,
      unit: "ns/op",
      baseline: atomics,
      baselineName: "Atomics.add",
    },
    {
      label: "Raindrops#incr, anonymous",
      value: incrAnonymous,
      unit: "ns/op",
      baseline: atomics,
      baselineName: "Atomics.add",
    },
    {
      label: "Raindrops#decr, /dev/shm mapping",
      value: decr,
      unit: "ns/op",
      baseline: atomics,
      baselineName: "Atomics.add",
    },
    {
      label: "plain JS increment (not atomic)",
      value: plain,
      unit: "ns/op",
      baseline: atomics,
      baselineName: "Atomics.add",
    },
  ]);
} finally {
  rmSync(path, { force: true });
}
