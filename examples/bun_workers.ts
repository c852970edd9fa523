/**
 * N Bun worker processes on one port (reusePort), sharing one stats file.
 *
 *   bun examples/bun_workers.ts [workers=2] [port=8080]
 *   curl http://127.0.0.1:8080/_raindrops
 *
 * The first process spawns the workers and stops them on SIGINT/SIGTERM;
 * each worker runs examples/hono_app.ts with the raindrops middleware. Each
 * worker reads a pipe from the parent on its stdin and exits when it closes,
 * so workers never outlive the parent, even one killed with SIGKILL.
 */
import process from "node:process";
import { exampleApp } from "./hono_app.ts";

// deno-lint-ignore no-explicit-any
const Bun = (globalThis as any).Bun;
const workers = Number(process.argv[2] ?? 2);
const port = Number(process.argv[3] ?? 8080);
const stats = process.env.RAINDROPS_STATS ?? `/dev/shm/raindrops-example-${port}`;

if (process.env.RAINDROPS_EXAMPLE_WORKER) {
  Bun.serve({ hostname: "127.0.0.1", port, reusePort: true, fetch: exampleApp(stats).fetch });
  // The parent never writes: the end of stdin means it is gone.
  (async () => {
    for await (const _ of Bun.stdin.stream()) { /* nothing is sent */ }
    process.exit(0);
  })();
} else {
  const children = Array.from(
    { length: workers },
    () =>
      Bun.spawn([process.execPath, new URL(import.meta.url).pathname, String(workers), String(port)], {
        env: { ...process.env, RAINDROPS_EXAMPLE_WORKER: "1", RAINDROPS_STATS: stats },
        stdio: ["pipe", "inherit", "inherit"],
      }),
  );
  console.log(
    `${workers} workers on http://127.0.0.1:${port}/  stats: http://127.0.0.1:${port}/_raindrops (file ${stats})`,
  );
  const stop = () => {
    for (const c of children) c.kill();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
