/**
 * Hello-world Hono app for bench/middleware.bench.ts. MODE=bare | noop (one
 * middleware that only calls next: the floor of any Hono middleware) |
 * awaitNoop (one that awaits next and does nothing after it: the floor of
 * a middleware that runs code once the handler is done) |
 * raindrops | wrap (raindrops with bodyTracking "wrap") | fetch (withRaindrops around app.fetch, default options) |
 * fetchOff (withRaindrops with every request metric off) | fetchDuration (the defaults plus the duration histogram) |
 * fetchAll (every request metric on, the queue wait included) |
 * prometheus (@hono/prometheus, when installed). Listens on PORT (default:
 * any free port) and prints "ready PORT". Serves with `Bun.serve`, `Deno.serve`
 * or, on Node.js, `@hono/node-server`, whichever runtime runs it.
 */
import process from "node:process";
import { Hono } from "hono";
import { raindrops, withRaindrops } from "../hono.ts";

const mode = process.env.MODE ?? "bare";
const port = Number(process.env.PORT ?? 0);
const app = new Hono();
const stats = process.env.RAINDROPS_STATS ?? `/dev/shm/raindrops-bench-${process.pid}`;
if (mode === "raindrops" || mode === "wrap") {
  app.use(raindrops({ stats, bodyTracking: mode === "wrap" ? "wrap" : "auto" }));
} else if (mode === "prometheus") {
  const specifier = "@hono/prometheus"; // optional: not a dependency
  const { prometheus } = await import(specifier);
  const { printMetrics, registerMetrics } = prometheus();
  app.use(registerMetrics);
  app.get("/metrics", printMetrics);
} else if (mode === "noop") {
  app.use((_c, next) => next());
} else if (mode === "awaitNoop") {
  app.use(async (_c, next) => {
    await next();
  });
} else if (!["bare", "fetch", "fetchOff", "fetchDuration", "fetchAll"].includes(mode)) {
  throw new RangeError(
    `MODE must be bare, noop, awaitNoop, raindrops, wrap, fetch(Off|Duration|All) or prometheus, got ${mode}`,
  );
}
app.get("/", (c) => c.text("Hello World!"));
const off = { requestDuration: false, busySeconds: false, peaks: false, kernelDrops: false } as const;
const fetchOptions = {
  fetch: {},
  fetchOff: off,
  fetchDuration: { requestDuration: true },
  fetchAll: { queueWait: true },
}[mode];
const fetch = fetchOptions ? withRaindrops(app.fetch, { stats, ...fetchOptions }) : app.fetch;

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
if (g.Bun) console.log(`ready ${g.Bun.serve({ hostname: "127.0.0.1", port, fetch }).port}`);
else if (g.Deno) {
  g.Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: (a: { port: number }) => console.log(`ready ${a.port}`),
  }, fetch);
} else {
  const { serve } = await import("@hono/node-server"); // Node.js
  serve({ hostname: "127.0.0.1", port, fetch }, (a) => console.log(`ready ${a.port}`));
}
