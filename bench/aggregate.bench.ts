/**
 * ns per sample of SharedAggregate.add (atomic counters in a /dev/shm file)
 * beside the in-process Aggregate.add, measured in the same run.
 *
 *   node_modules/.bin/deno run -A bench/aggregate.bench.ts
 *   node_modules/.bin/bun bench/aggregate.bench.ts
 *
 * @module
 */
import { rmSync } from "node:fs";
import { Aggregate } from "../src/aggregate/aggregate.ts";
import { SharedAggregate } from "../src/aggregate/shared_aggregate.ts";

const runtime = "Bun" in globalThis
  ? `bun ${(globalThis as any).Bun.version}`
  : `deno ${(globalThis as any).Deno.version.deno}`;

const SAMPLES = 1 << 16;
const ROUNDS = 40; // 2.6 M adds per measured round set
const data = new Float64Array(SAMPLES);
let seed = 12345;
for (let i = 0; i < SAMPLES; i++) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  data[i] = seed % 2000; // milliseconds, squares stay below 2^32
}
const wide = data.map((x, i) => (i % 16 === 0 ? x * 50_000 : x)); // some samples up to 10^8

function nsPerAdd(agg: { add(x: number): void }, samples: Float64Array): number {
  const start = performance.now();
  for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < samples.length; i++) agg.add(samples[i]);
  return ((performance.now() - start) * 1e6) / (ROUNDS * samples.length);
}

function best(agg: { add(x: number): void; reset(): void }, samples: Float64Array): number {
  let ns = Infinity;
  for (let trial = 0; trial < 5; trial++) {
    agg.reset();
    ns = Math.min(ns, nsPerAdd(agg, samples));
  }
  return ns;
}

const path = `/dev/shm/raindrops-bench-aggregate-${process.pid}`;
try {
  const local = new Aggregate({ buckets: 32 });
  using shared = new SharedAggregate({ path, zero: true, buckets: 32 });
  nsPerAdd(local, data); // warm up both
  nsPerAdd(shared, data);
  console.log(`aggregate add, ${runtime}, best of 5 x ${ROUNDS * SAMPLES} samples`);
  for (const [name, samples] of [["ms samples 0..1999", data], ["1 in 16 up to 10^8", wide]] as const) {
    const a = best(local, samples);
    const s = best(shared, samples);
    console.log(
      `  ${name.padEnd(20)} Aggregate.add ${a.toFixed(1).padStart(6)} ns   ` +
        `SharedAggregate.add ${s.toFixed(1).padStart(6)} ns   ratio ${(s / a).toFixed(1)}x`,
    );
  }
} finally {
  rmSync(path, { force: true });
}
