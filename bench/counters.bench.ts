/**
 * Raindrops.incr on a shared file mapping, beside raw `Atomics.add` on the
 * same mapping (the baseline), `Atomics.add` on a SharedArrayBuffer and a
 * plain JS increment, measured in the same run, rounds interleaved.
 * Run: node_modules/.bin/deno run -A bench/counters.bench.ts
 *      node_modules/.bin/bun bench/counters.bench.ts
 *      node_modules/.bin/node --disable-warning=ExperimentalWarning bench/counters.bench.ts
 */
import { rmSync } from "node:fs";
import { Raindrops } from "../mod.ts";
import { counterWords } from "../src/raindrops.ts";
import { nsPerOpInterleaved, quick, report } from "./_bench.ts";

const N = quick ? 1_000_000 : 4_000_000;
const ROUNDS = quick ? 5 : 25;
const path = `/dev/shm/raindrops-bench-${Date.now()}`;
try {
  using counters = new Raindrops(4, { path, zero: true });
  using anonymous = new Raindrops(4);
  // The mapping's own memory, a word of a counter slot the other loops do not touch.
  const { words, stride } = counterWords(counters);
  const shared = new Int32Array(new SharedArrayBuffer(64));
  const plainCell = [0];
  const { sameMemory, incr, incrAnonymous, decr, atomics, plain } = nsPerOpInterleaved(
    {
      sameMemory: (n) => {
        for (let i = 0; i < n; i++) Atomics.add(words, 3 * stride, 1);
      },
      incr: (n) => {
        for (let i = 0; i < n; i++) counters.incr(1);
      },
      incrAnonymous: (n) => {
        for (let i = 0; i < n; i++) anonymous.incr(1);
      },
      decr: (n) => {
        for (let i = 0; i < n; i++) counters.decr(1);
      },
      atomics: (n) => {
        for (let i = 0; i < n; i++) Atomics.add(shared, 0, 1);
      },
      plain: (n) => {
        for (let i = 0; i < n; i++) plainCell[0]++;
      },
    },
    N,
    ROUNDS,
  );
  const versus = { baseline: sameMemory, baselineName: "Atomics.add, same mapping" };
  report(`counters: ns per operation (best of ${ROUNDS} interleaved rounds x ${N / 1e6}M)`, [
    { label: "Atomics.add, the same mapping (baseline)", value: sameMemory, unit: "ns/op" },
    { label: "Raindrops#incr, /dev/shm mapping", value: incr, unit: "ns/op", ...versus },
    { label: "Raindrops#incr, anonymous", value: incrAnonymous, unit: "ns/op", ...versus },
    { label: "Raindrops#decr, /dev/shm mapping", value: decr, unit: "ns/op", ...versus },
    { label: "Atomics.add, SharedArrayBuffer", value: atomics, unit: "ns/op", ...versus },
    { label: "plain JS increment (not atomic)", value: plain, unit: "ns/op", ...versus },
  ]);
} finally {
  rmSync(path, { force: true });
}
