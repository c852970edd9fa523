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
 *   node_modules/.bin/node --disable-warning=ExperimentalWarning bench/middleware.bench.ts
 *     (servers on @hono/node-server)
 *   (ROUNDS, SECONDS_EACH, CONNS per wrk, VARIANTS=fetch,raindrops for some
 *   only; BENCH_QUICK=1: 3 rounds of 2 s)
 *
 * @module
 */
import { existsSync, rmSync } from "node:fs";
import process from "node:process";
import { measurePairs, type Pair, reportPairs, requireWrk } from "./_paired.ts";

const LABELS = {
  bare: "bare app",
  noop: "no-op middleware",
  awaitNoop: "no-op middleware awaiting next()",
  raindrops: "app.use(raindrops())",
  wrap: 'app.use(raindrops({ bodyTracking: "wrap" }))',
  fetch: "withRaindrops(app.fetch)",
  fetchOff: "withRaindrops, request metrics off",
  fetchDuration: "withRaindrops, defaults + duration histogram",
  fetchAll: "withRaindrops, every request metric",
  prometheus: "@hono/prometheus",
} as const;
type Variant = keyof typeof LABELS;
const PAIRS: Pair<Variant>[] = [
  ["noop", "bare"],
  ["raindrops", "noop", 1.02],
  ["raindrops", "awaitNoop"],
  ["wrap", "noop"],
  ["fetch", "bare", 1.02],
  ["fetchOff", "bare"],
  ["fetch", "fetchOff"],
  ["fetchDuration", "bare", 1.04],
  ["fetchAll", "bare"], // no target: the queue wait reads a header, which costs Deno more than the rest
];
const root = new URL("..", import.meta.url).pathname;
if (existsSync(`${root}node_modules/@hono/prometheus`)) PAIRS.push(["prometheus", "noop"]);
const only = process.env.VARIANTS?.split(",");
if (only) PAIRS.splice(0, PAIRS.length, ...PAIRS.filter(([v]) => only.includes(v)));

requireWrk("middleware bench");
const app = new URL("./middleware_app.ts", import.meta.url).pathname;
const statsFile = (v: Variant) => `/dev/shm/raindrops-bench-${process.pid}-${v}`;
try {
  const results = await measurePairs(app, LABELS, PAIRS, (v) => ({ RAINDROPS_STATS: statsFile(v) }));
  reportPairs("Hono hello world", "Hono middleware", LABELS, PAIRS, results);
} finally {
  for (const v of Object.keys(LABELS) as Variant[]) {
    rmSync(statsFile(v), { force: true });
    rmSync(`${statsFile(v)}.metrics`, { force: true }); // the request metrics' registry
  }
}
process.exit(0);
