/**
 * The example app shared by examples/bun_workers.ts and
 * examples/deno_parallel.ts: a hello world, a busy handler and a slow
 * streamed response so the numbers move, and the raindrops middleware at /_raindrops. Every worker
 * uses the stats file named by RAINDROPS_STATS (or the default path made
 * from the main script), so one request to any worker reports them all.
 */
import { Hono } from "hono";
import { raindrops } from "../src/middleware/index.ts";

/** Builds the app; `stats` overrides the shared stats file path. */
export function exampleApp(stats?: string): Hono {
  const app = new Hono();
  app.use(raindrops({ stats }));
  app.get("/", (c) => c.text("Hello from raindrops!\n"));
  // Inside the app for 300 ms: counted in `calling`.
  app.get("/busy", async (c) => {
    await new Promise((r) => setTimeout(r, 300));
    return c.text("done\n");
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
