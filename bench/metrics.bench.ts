/**
 * The metrics registry: `inc` on a prepared child beside a raw
 * `Atomics.add`, `observe` beside that `inc`, and a scrape of 64 workers ×
 * 50 label sets × 12 buckets beside prom-client's own `registry.metrics()`
 * for the same data in one process, all in the same run.
 * Run: node_modules/.bin/deno run -A bench/metrics.bench.ts
 *      node_modules/.bin/bun bench/metrics.bench.ts
 */
import { rmSync } from "node:fs";
import { Histogram as PromHistogram, Registry as PromRegistry } from "prom-client";
import { Counter, Histogram, Registry } from "../mod.ts";
import process from "node:process";
import { emit, median, nsPerOp, quick, report, runtimeLabel } from "./_bench.ts";

const N = quick ? 2_000_000 : 20_000_000;
const WORKERS = 64, LABEL_SETS = 50;
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]; // 12 bounds (+Inf besides)
const path = `/dev/shm/raindrops-bench-metrics-${Date.now()}`;

/** CPU milliseconds (this process, user + system) per call of `call`, over `calls` calls. */
async function cpuMsPerCall(call: () => Promise<unknown>, calls: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) await call();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / calls;
}

/**
 * Both scrapes in alternating rounds, timed in CPU time (the machine may be
 * shared: wall time would count waiting for a core): the median of each
 * and of the per-round ratios.
 */
async function pairedScrapes(ours: () => Promise<unknown>, theirs: () => Promise<unknown>) {
  // Rounds of about 100 ms each: CPU time is counted in scheduler ticks (a few ms).
  const rounds = quick ? 5 : 11, oursCalls = quick ? 100 : 1000, theirsCalls = quick ? 20 : 200;
  for (let i = 0; i < 20; i++) await Promise.all([ours(), theirs()]);
  const o: number[] = [], t: number[] = [], ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    o.push(await cpuMsPerCall(ours, oursCalls));
    t.push(await cpuMsPerCall(theirs, theirsCalls));
    ratios.push(o[r] / t[r]);
  }
  return {
    ours: median(o),
    theirs: median(t),
    ratio: median(ratios),
    spread: [Math.min(...ratios), Math.max(...ratios)],
  };
}

const registries: Registry[] = [];
try {
  // Hot paths, in a registry on a shared file.
  const registry = new Registry({ path, workerSlots: WORKERS + 1 });
  registries.push(registry);
  const child = new Counter({ name: "bench_total", help: "Bench.", labelNames: ["a"], registers: [registry] }).labels(
    "x",
  );
  const timing = new Histogram({
    name: "bench_seconds",
    help: "Bench.",
    labelNames: ["a"],
    buckets: BUCKETS,
    registers: [registry],
  })
    .labels("x");
  const shared = new Int32Array(new SharedArrayBuffer(64));
  const atomics = nsPerOp((n) => {
    for (let i = 0; i < n; i++) Atomics.add(shared, 0, 1);
  }, N);
  const inc = nsPerOp((n) => {
    for (let i = 0; i < n; i++) child.inc();
  }, N);
  const observe = nsPerOp((n) => {
    for (let i = 0; i < n; i++) timing.observe((i & 1023) / 512);
  }, N);

  // 64 workers' regions (64 registries on one file, each claims its own), 50 label sets each.
  const values = (i: number) => ((i * 7919) % 6000) / 1000;
  for (let w = 0; w < WORKERS; w++) {
    const worker = w === 0 ? registry : new Registry({ path });
    if (w > 0) registries.push(worker);
    const h = new Histogram({
      name: "scrape_seconds",
      help: "Scraped.",
      labelNames: ["route"],
      buckets: BUCKETS,
      registers: [worker],
    });
    for (let s = 0; s < LABEL_SETS; s++) {
      for (let i = 0; i < 20; i++) h.labels(`/route/${s}`).observe(values(w * 1000 + s * 20 + i));
    }
  }
  const reader = new Registry({ path });
  registries.push(reader);

  // prom-client, the same data in one process.
  const prom = new PromRegistry();
  const ph = new PromHistogram({
    name: "scrape_seconds",
    help: "Scraped.",
    labelNames: ["route"],
    buckets: BUCKETS,
    registers: [prom],
  });
  for (let w = 0; w < WORKERS; w++) {
    for (let s = 0; s < LABEL_SETS; s++) {
      for (let i = 0; i < 20; i++) ph.labels(`/route/${s}`).observe(values(w * 1000 + s * 20 + i));
    }
  }
  const scrape = await pairedScrapes(() => reader.metrics(), () => prom.metrics());

  report(`metrics: writes, ns per operation (best of 5 x ${N / 1e6}M)`, [
    { label: "Atomics.add, SharedArrayBuffer (baseline)", value: atomics, unit: "ns/op" },
    {
      label: "Counter child inc(), /dev/shm file",
      value: inc,
      unit: "ns/op",
      baseline: atomics,
      baselineName: "Atomics.add",
    },
    {
      label: "Histogram child observe(), 12 buckets",
      value: observe,
      unit: "ns/op",
      baseline: inc,
      baselineName: "Counter child inc()",
    },
  ]);
  const title = `metrics: scrape of ${WORKERS} workers x ${LABEL_SETS} label sets x ${BUCKETS.length} buckets, CPU ms`;
  console.log(`\n${title} — ${runtimeLabel()}`);
  console.log(
    `  ${"prom-client registry.metrics(), one process (baseline)".padEnd(56)} ${scrape.theirs.toFixed(3)} ms`,
  );
  console.log(
    `  ${"Registry#metrics(), 64 worker regions".padEnd(56)} ${scrape.ours.toFixed(3)} ms  ` +
      `${scrape.ratio.toFixed(2)}x baseline (median of per-round ratios, ${
        scrape.spread.map((x) => x.toFixed(2)).join("-")
      })`,
  );
  emit({ group: title, name: "prom-client registry.metrics()", value: scrape.theirs, unit: "ms" });
  emit({
    group: title,
    name: "Registry#metrics()",
    value: scrape.ours,
    unit: "ms",
    baseline: "prom-client registry.metrics()",
    baselineValue: scrape.theirs,
    ratio: scrape.ratio,
    ratioSpread: scrape.spread as [number, number],
  });
} finally {
  for (const r of registries) r.close();
  rmSync(path, { force: true });
}
