/**
 * CPU time per sample of SharedAggregate.add (a /dev/shm file) beside the
 * in-process Aggregate.add, interleaved in the same run: each round times
 * one pass of each in turn (the order rotates), and the table shows
 * medians, the spread (lowest-highest) and the median of the per-round
 * ratios to Aggregate.add. "SharedAggregate.add" writes its own region of
 * the file; "no region free" is a writer that found every region taken and
 * uses the file's atomic counters.
 *
 *   node_modules/.bin/deno run -A bench/aggregate.bench.ts
 *   node_modules/.bin/bun bench/aggregate.bench.ts
 *
 * @module
 */
import { rmSync } from "node:fs";
import process from "node:process";
import { Aggregate, SharedAggregate } from "../mod.ts";
import { emit, median, quick, runtimeLabel } from "./_bench.ts";

const SAMPLES = 1 << 16;
const PASSES = quick ? 2 : 8; // per timed pass: 524,288 adds
const ROUNDS = quick ? 5 : 15;

const small = new Float64Array(SAMPLES);
let seed = 12345;
for (let i = 0; i < SAMPLES; i++) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  small[i] = seed % 2000; // milliseconds: squares below 2^32
}
const wide = small.map((x, i) => (i % 16 === 0 ? x * 50_000 : x)); // some up to 10^8: squares above 2^53

interface Sink {
  add(x: number): void;
  reset(): void;
}

/** CPU nanoseconds (user + system) per add over one timed pass. */
function cpuNsPerAdd(agg: Sink, samples: Float64Array): number {
  agg.reset();
  const before = process.cpuUsage();
  for (let p = 0; p < PASSES; p++) for (let i = 0; i < samples.length; i++) agg.add(samples[i]);
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1e3) / (PASSES * samples.length);
}

function figure(xs: number[], digits = 1): string {
  return `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;
}

const path = `/dev/shm/raindrops-bench-aggregate-${process.pid}`;
try {
  const local = new Aggregate({ buckets: 32 });
  using shared = new SharedAggregate({ path, zero: true, buckets: 32 });
  const holders = Array.from(
    { length: SharedAggregate.WRITER_REGIONS - 1 },
    () => new SharedAggregate({ path, buckets: 32 }),
  );
  for (const h of [shared, ...holders]) h.add(1); // every region taken
  using atomic = new SharedAggregate({ path, buckets: 32 });
  const variants = [local, shared, atomic];
  for (const agg of variants) for (const set of [small, wide]) cpuNsPerAdd(agg, set); // warm up
  console.log(
    `aggregate add, ${runtimeLabel()}: CPU ns per sample, median (lowest-highest) of ${ROUNDS} interleaved rounds of ${
      PASSES * SAMPLES
    } adds; ratio to Aggregate.add`,
  );
  const columns = ["Aggregate.add", "SharedAggregate.add", "ratio", "no region free", "ratio"];
  console.log(`  ${"samples".padEnd(20)} ${columns.map((c) => c.padEnd(20)).join(" ")}`);
  for (const [name, samples] of [["ms, 0..1999", small], ["1 in 16 up to 10^8", wide]] as const) {
    const ns: number[][] = variants.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < variants.length; k++) {
        const v = (r + k) % variants.length;
        ns[v].push(cpuNsPerAdd(variants[v], samples));
      }
    }
    const ratios = (v: number) => ns[v].map((x, r) => x / ns[0][r]);
    const cells = [figure(ns[0]), figure(ns[1]), `${figure(ratios(1), 2)}x`, figure(ns[2]), `${figure(ratios(2), 2)}x`];
    console.log(`  ${name.padEnd(20)} ${cells.map((c) => c.padEnd(20)).join(" ")}`);
    for (
      const [v, label] of [[0, "Aggregate.add"], [1, "SharedAggregate.add"], [
        2,
        "SharedAggregate.add, no region free",
      ]] as const
    ) {
      emit({
        group: "aggregate add",
        name: `${label} (${name})`,
        value: median(ns[v]),
        unit: "ns/sample",
        spread: [Math.min(...ns[v]), Math.max(...ns[v])],
        ...(v ? { baseline: `Aggregate.add (${name})`, baselineValue: median(ns[0]) } : {}),
      });
    }
  }
  holders.forEach((h) => h.evaporate());
} finally {
  rmSync(path, { force: true });
}
