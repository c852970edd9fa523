/**
 * raindrops beside prom-client's cluster aggregation on Node.js cluster
 * workers, side by side in one run (three clusters of WORKERS workers each,
 * on loopback): the bare app, the app with `raindrops()`, and the app with
 * a prom-client counter plus an in-flight gauge, the usual request metrics
 * of a prom-client cluster setup.
 *
 * - CPU per request of the workers (from /proc), rounds alternating between
 *   the clusters; the cost of counting is each variant minus the bare app.
 * - Scrape latency while one worker is busy: `/_raindrops` answered by the
 *   primary from the shared stats file, against
 *   `AggregatorRegistry.clusterMetrics()` in the primary, which asks every
 *   worker over IPC.
 * - Totals after a worker is SIGKILLed under load: raindrops' calling and
 *   writing, against prom-client's summed counter and gauge.
 *
 *   node bench/node_cluster.bench.ts        (WORKERS=8 REQUESTS=8000 BENCH_QUICK=1)
 */
import cluster, { type Worker } from "node:cluster";
import http from "node:http";
import { readFileSync } from "node:fs";
import process from "node:process";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { AggregatorRegistry, Counter, Gauge } from "prom-client";
import { raindrops } from "../hono.ts";
import { median, quick, report } from "./_bench.ts";

const VARIANTS = ["bare", "raindrops", "prom-client"] as const;
type Variant = typeof VARIANTS[number];
const WORKERS = Number(process.env.WORKERS ?? 8);
const REQUESTS = Number(process.env.REQUESTS ?? (quick ? 4000 : 20_000));
const ROUNDS = quick ? 3 : 5;
const CONCURRENCY = 16;
const BASE_PORT = 20_000 + (process.pid % 20_000);
/** One stats file for the primary and every raindrops worker (workers inherit the primary's environment). */
const STATS = process.env.RAINDROPS_BENCH_STATS ??= `/dev/shm/raindrops-bench-cluster-${process.pid}`;

/** The app every variant serves: `/` answers at once, `/work?ms=` holds its worker's event loop. */
function app(variant: Variant): Hono {
  const app = new Hono();
  if (variant === "raindrops") app.use(raindrops({ stats: STATS }));
  if (variant === "prom-client") {
    const requests = new Counter({ name: "http_requests_total", help: "Requests served" });
    const inFlight = new Gauge({ name: "http_requests_in_flight", help: "Requests being served" });
    app.use(async (_c, next) => {
      inFlight.inc();
      try {
        await next();
      } finally {
        inFlight.dec();
        requests.inc();
      }
    });
  }
  app.get("/", (c) => c.text("hi"));
  app.get("/work", (c) => {
    const until = performance.now() + Number(c.req.query("ms") ?? 0);
    while (performance.now() < until) { /* busy */ }
    return c.text("worked");
  });
  return app;
}

/** A worker's CPU time so far, in ms (utime + stime from /proc). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** GET `path` on loopback; resolves with the status (0 when the connection failed) and the body. */
function get(port: number, path: string, opts: { agent?: http.Agent | false } = {}) {
  return new Promise<{ status: number; body: string }>((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: opts.agent ?? agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", () => resolve({ status: 0, body }));
    });
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.setTimeout(30_000, () => req.destroy());
  });
}

/** `n` GETs of / with CONCURRENCY in flight; `onProgress` sees the count of answered ones. */
async function load(port: number, n: number, onProgress?: (done: number) => void): Promise<number> {
  let next = 0, ok = 0;
  const lane = async () => {
    while (next < n) {
      next++;
      if ((await get(port, "/")).status === 200) ok++;
      onProgress?.(ok);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return ok;
}

async function primary(): Promise<void> {
  const byVariant = new Map<Variant, Set<Worker>>(VARIANTS.map((v) => [v, new Set()]));
  const portOf = (v: Variant) => BASE_PORT + VARIANTS.indexOf(v);
  const fork = (variant: Variant) => {
    const worker = cluster.fork({ VARIANT: variant, PORT: String(portOf(variant)) });
    byVariant.get(variant)!.add(worker);
    worker.on("exit", () => {
      byVariant.get(variant)!.delete(worker);
      if (!stopping) fork(variant);
    });
  };
  let stopping = false;
  for (const v of VARIANTS) for (let i = 0; i < WORKERS; i++) fork(v);
  const registry = new AggregatorRegistry();
  const metrics = serve({
    port: BASE_PORT + 10,
    hostname: "127.0.0.1",
    fetch: async () => {
      try {
        return new Response(await registry.clusterMetrics());
      } catch (e) {
        return new Response(String(e), { status: 500 });
      }
    },
  });
  const statsApp = new Hono().use(raindrops({ stats: STATS }));
  const stats = serve({ port: BASE_PORT + 11, hostname: "127.0.0.1", fetch: statsApp.fetch });
  try {
    for (const v of VARIANTS) {
      for (let i = 0; i < 600; i++) if ((await get(portOf(v), "/")).status === 200) break;
      await new Promise((r) => setTimeout(r, 2000)); // every worker up
      await load(portOf(v), 2000); // warm up
    }
    console.log(`Node.js ${process.version}, ${WORKERS} workers per cluster, ${REQUESTS} requests per round`);

    // CPU per request, rounds alternating between the clusters.
    const perRequest = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of VARIANTS) {
        const pids = [...byVariant.get(v)!].map((w) => w.process.pid!);
        const before = pids.reduce((s, p) => s + cpuMs(p), 0);
        await load(portOf(v), REQUESTS);
        const after = pids.reduce((s, p) => s + cpuMs(p), 0);
        perRequest.get(v)!.push(((after - before) * 1000) / REQUESTS);
      }
    }
    const us = (v: Variant) => median(perRequest.get(v)!);
    const bare = us("bare");
    report(`Node cluster, worker CPU per request (µs, median of ${ROUNDS} rounds)`, [
      { label: "bare app", value: bare, unit: "µs" },
      { label: "raindrops()", value: us("raindrops"), unit: "µs", baseline: bare, baselineName: "bare app" },
      {
        label: "prom-client counter + gauge",
        value: us("prom-client"),
        unit: "µs",
        baseline: bare,
        baselineName: "bare app",
      },
    ]);
    const cost = (v: Variant) => Math.max(us(v) - bare, 0.01);
    report("Node cluster, CPU of counting per request (variant minus bare app)", [
      { label: "prom-client counter + gauge", value: cost("prom-client"), unit: "µs" },
      {
        label: "raindrops()",
        value: cost("raindrops"),
        unit: "µs",
        baseline: cost("prom-client"),
        baselineName: "prom-client counter + gauge",
      },
    ]);

    // Scrape latency with one worker busy for 1 s.
    const scrapes = { raindrops: [] as number[], "prom-client": [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      for (
        const [v, port, path] of [["raindrops", BASE_PORT + 11, "/_raindrops"], [
          "prom-client",
          BASE_PORT + 10,
          "/",
        ]] as const
      ) {
        const busy = get(portOf(v), "/work?ms=1000", { agent: false });
        await new Promise((r) => setTimeout(r, 100)); // the busy request has reached its worker
        const start = performance.now();
        const res = await get(port, path, { agent: false });
        scrapes[v].push(performance.now() - start);
        if (res.status !== 200) throw new Error(`${v} scrape: ${res.status} ${res.body}`);
        await busy;
      }
    }
    const promScrape = median(scrapes["prom-client"]);
    report("Node cluster, scrape latency with one worker busy 1 s (ms, median)", [
      { label: "AggregatorRegistry.clusterMetrics()", value: promScrape, unit: "ms" },
      {
        label: "/_raindrops from the primary",
        value: median(scrapes.raindrops),
        unit: "ms",
        baseline: promScrape,
        baselineName: "AggregatorRegistry.clusterMetrics()",
      },
    ]);

    // A worker SIGKILLed under load.
    const promMetric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    for (const v of ["raindrops", "prom-client"] as const) {
      const promBefore = v === "prom-client"
        ? promMetric((await get(BASE_PORT + 10, "/", { agent: false })).body, "http_requests_total")
        : 0;
      const victim = [...byVariant.get(v)!][0]!.process.pid!;
      let killed = false;
      const served = await load(portOf(v), REQUESTS, (done) => {
        if (!killed && done >= REQUESTS / 2) {
          killed = true;
          process.kill(victim, "SIGKILL");
        }
      });
      await new Promise((r) => setTimeout(r, 1000)); // the replacement starts
      if (v === "raindrops") {
        const s = JSON.parse((await get(BASE_PORT + 11, "/_raindrops?format=json", { agent: false })).body);
        console.log(
          `raindrops after SIGKILL: ${served} served; calling ${s.calling}, writing ${s.writing} (exact: 0, 0)`,
        );
      } else {
        const text = (await get(BASE_PORT + 10, "/", { agent: false })).body;
        const total = promMetric(text, "http_requests_total");
        const lost = promBefore + served - total;
        const inFlight = promMetric(text, "http_requests_in_flight");
        console.log(
          `prom-client after SIGKILL: ${served} served; http_requests_total went from ${promBefore} to ${total} ` +
            `(${lost} counted requests lost with the worker), http_requests_in_flight ${inFlight}`,
        );
      }
    }
  } finally {
    stopping = true;
    for (const set of byVariant.values()) for (const w of set) w.process.kill("SIGKILL");
    metrics.close();
    stats.close();
    agent.destroy();
    (await import("node:fs")).rmSync(STATS, { force: true });
    setTimeout(() => process.exit(0), 100);
  }
}

if (cluster.isWorker) {
  const variant = process.env.VARIANT as Variant;
  new AggregatorRegistry(); // in a worker: answers the primary's requests for this worker's metrics
  serve({ fetch: app(variant).fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
  process.on("disconnect", () => process.exit(0));
} else {
  await primary();
}
