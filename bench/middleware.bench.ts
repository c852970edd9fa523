/**
 * What the middleware costs a hello-world Hono app, as the server's CPU
 * time per request (a benchmark, not a test), each variant measured side
 * by side with its baseline (see _paired.ts): `withRaindrops(app.fetch)`
 * and a no-op middleware against the bare app; `app.use(raindrops())`, the
 * same with `bodyTracking: "wrap"`, and @hono/prometheus (when installed)
 * against the no-op middleware, the floor of any Hono middleware;
 * `app.use(raindrops())` also against a no-op that awaits `next()`, the
 * floor of a middleware that does anything once the handler is done. Servers
 * (bench/middleware_app.ts) run on this script's runtime; the pairs are
 * interleaved within each round; printed are the median and spread of the
 * per-round ratios, each variant's median CPU µs per request and req/s.
 *
 *   node_modules/.bin/deno run -A bench/middleware.bench.ts
 *   node_modules/.bin/bun bench/middleware.bench.ts
 *   (ROUNDS, SECONDS_EACH, CONNS per wrk, VARIANTS=fetch,raindrops for some
 *   only; BENCH_QUICK=1: 3 rounds of 2 s)
 *
 * @module
 */
import { existsSync, rmSync } from "node:fs";
import process from "node:process";
import { emit, median, quick, runtimeLabel } from "./_bench.ts";
import { type BenchServer, type Measured, pairedRound, pinned, requireWrk, startServer, warmUp } from "./_paired.ts";

const ROUNDS = Number(process.env.ROUNDS ?? (quick ? 3 : 6));
const SECONDS_EACH = Number(process.env.SECONDS_EACH ?? (quick ? 2 : 4));
const CONNS = Number(process.env.CONNS ?? 16);
const LABELS = {
  bare: "bare app",
  noop: "no-op middleware",
  awaitNoop: "no-op middleware awaiting next()",
  raindrops: "app.use(raindrops())",
  wrap: 'app.use(raindrops({ bodyTracking: "wrap" }))',
  fetch: "withRaindrops(app.fetch)",
  prometheus: "@hono/prometheus",
} as const;
type Variant = keyof typeof LABELS;
/** Each measured variant and its baseline, with the target where the project sets one. */
const PAIRS: [Variant, Variant, number?][] = [
  ["noop", "bare"],
  ["raindrops", "noop", 1.02],
  ["raindrops", "awaitNoop"],
  ["wrap", "noop"],
  ["fetch", "bare", 1.02],
];
const root = new URL("..", import.meta.url).pathname;
if (existsSync(`${root}node_modules/@hono/prometheus`)) PAIRS.push(["prometheus", "noop"]);
const only = process.env.VARIANTS?.split(",");
if (only) PAIRS.splice(0, PAIRS.length, ...PAIRS.filter(([v]) => only.includes(v)));

requireWrk("middleware bench");
const app = new URL("./middleware_app.ts", import.meta.url).pathname;
const statsFile = (v: Variant) => `/dev/shm/raindrops-bench-${process.pid}-${v}`;
const servers = {} as Record<Variant, BenchServer>;
const results = PAIRS.map(() => ({ variant: [] as Measured[], base: [] as Measured[] }));
try {
  for (const v of new Set(PAIRS.flatMap(([v, base]) => [v, base]))) {
    servers[v] = await startServer(LABELS[v], app, { MODE: v, RAINDROPS_STATS: statsFile(v) });
  }
  await warmUp(Object.values(servers), 2, CONNS);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [v, base]] of PAIRS.entries()) {
      const [mv, mb] = await pairedRound(servers[v], servers[base], SECONDS_EACH, CONNS);
      results[i].variant.push(mv);
      results[i].base.push(mb);
    }
  }
} finally {
  for (const s of Object.values(servers)) s.child.kill();
  for (const v of Object.keys(LABELS) as Variant[]) rmSync(statsFile(v), { force: true });
}

console.log(
  `\nHono hello world, server CPU µs per request, each variant side by side with its baseline (${ROUNDS} rounds of ${SECONDS_EACH} s, wrk -c${CONNS} each${
    pinned ? ", servers on CPU 0, wrk on CPU 1" : ""
  }) — ${runtimeLabel()}`,
);
for (const [i, [v, base, target]] of PAIRS.entries()) {
  const { variant, base: baseline } = results[i];
  const ratios = variant.map((m, r) => m.us / baseline[r].us);
  const ratio = median(ratios);
  const us = median(variant.map((m) => m.us)), baseUs = median(baseline.map((m) => m.us));
  const verdict = target === undefined ? "" : `  target <= ${target}: ${ratio <= target ? "met" : "NOT met"}`;
  console.log(
    `  ${LABELS[v].padEnd(46)} ${ratio.toFixed(3)}x ${LABELS[base]} (rounds ${Math.min(...ratios).toFixed(3)}–${
      Math.max(...ratios).toFixed(3)
    })  ${us.toFixed(2)} vs ${baseUs.toFixed(2)} µs  ${Math.round(median(variant.map((m) => m.rps)))} vs ${
      Math.round(median(baseline.map((m) => m.rps)))
    } req/s${verdict}`,
  );
  emit({
    group: `Hono middleware, side by side with its baseline (wrk -c${CONNS} each)`,
    name: LABELS[v],
    value: us,
    unit: "CPU µs/request",
    baseline: LABELS[base],
    baselineValue: baseUs,
    ratio,
    ratioSpread: [Math.min(...ratios), Math.max(...ratios)],
  });
}
process.exit(0);
