/**
 * The example app shared by examples/bun_workers.ts and
 * examples/deno_parallel.ts: a hello world, a busy handler, a handler that
 * blocks its worker's event loop and a slow streamed response so the
 * numbers move, and the raindrops middleware at /_raindrops. Every worker
 * uses the stats file named by RAINDROPS_STATS (or the default path made
 * from the main script), so one request to any worker reports them all.
 * RAINDROPS_LISTENERS (comma-separated `host:port`) makes every worker
 * report those listeners instead of only its own. RAINDROPS_REQUEST_METRICS=all
 * turns on the request metrics that are off by default (the duration
 * histogram with its route label, busy seconds, the queue wait from
 * X-Request-Start).
 */
import process from "node:process";
import { Hono } from "hono";
import { raindrops } from "../hono.ts";

/** The longest /work may block its worker. */
const MAX_WORK_MS = 5000;

/** Builds the app; `stats` overrides the shared stats file path. */
export function exampleApp(stats?: string): Hono {
  const app = new Hono();
  const listeners = process.env.RAINDROPS_LISTENERS?.split(",").filter(Boolean);
  const all = process.env.RAINDROPS_REQUEST_METRICS === "all";
  app.use(raindrops({
    stats,
    listeners: listeners?.length ? listeners : "auto",
    ...(all ? { requestDuration: { route: true }, busySeconds: true, queueWait: true } : {}),
  }));
  app.get("/", (c) => c.text("Hello from raindrops!\n"));
  // Inside the app for 300 ms: counted in `calling`.
  app.get("/busy", async (c) => {
    await new Promise((r) => setTimeout(r, 300));
    return c.text("done\n");
  });
  // CPU-bound for ?ms= (default 200): the worker's event loop is blocked, so
  // new connections to it wait in the kernel's accept queue (`queued`).
  app.get("/work", (c) => {
    const ms = Math.min(Number(c.req.query("ms") ?? 200) || 0, MAX_WORK_MS);
    const until = performance.now() + ms;
    let spins = 0;
    while (performance.now() < until) spins++;
    return c.text(`worked ${ms} ms (${spins} spins)\n`);
  });
  // Written for 2 s: counted in `writing`.
  app.get("/slow", (c) => {
    let n = 0;
    return c.body(
      new ReadableStream({
        async pull(ctl) {
          await new Promise((r) => setTimeout(r, 100));
          if (n++ < 20) ctl.enqueue(new TextEncoder().encode(`tick ${n}\n`));
          else ctl.close();
        },
      }),
    );
  });
  return app;
}
