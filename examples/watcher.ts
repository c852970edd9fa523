/**
 * The Watcher beside an app using the raindrops middleware and
 * LastDataRecv, on loopback: one page shows the listeners and the app's
 * workers (calling, writing).
 *
 *   node_modules/.bin/deno run -A examples/watcher.ts [--for=SECONDS] [LISTENER...]
 *   node_modules/.bin/bun examples/watcher.ts [--for=SECONDS] [LISTENER...]
 *
 * LISTENER is `host:port` or a unix socket path; by default every TCP and
 * unix listener on the machine (the first 100). The Watcher serves on
 * http://127.0.0.1:9418/ (or a free port if taken), the app on a free port
 * with its stats at /_raindrops, its last_data_recv histogram at
 * /_raindrops/last_data_recv and a slow route at /slow (try
 * `curl http://127.0.0.1:PORT/slow` a few times at once and watch
 * `calling`). Stops on Ctrl-C or after --for seconds.
 *
 * @module
 */
import { rmSync } from "node:fs";
import { Hono } from "hono";
import { LastDataRecv, raindrops, Watcher } from "../hono.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = g.Bun ? process.argv.slice(2) : g.Deno.args;
const seconds = Number(args.find((a) => a.startsWith("--for="))?.slice(6) ?? Infinity);
const listeners = args.filter((a) => !a.startsWith("--"));

type Fetch = (req: Request, env: unknown) => Response | Promise<Response>;

/** Serves `fetch` on 127.0.0.1 (port 0 = any), handing it the server's own `env` (which tells the client's address). */
function serve(port: number, fetch: Fetch): { port: number; stop(): Promise<void> } {
  if (g.Bun) {
    const s = g.Bun.serve({
      hostname: "127.0.0.1",
      port,
      idleTimeout: 0,
      fetch,
    });
    return { port: s.port, stop: () => s.stop(true) };
  }
  const ac = new AbortController();
  const s = g.Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen() {} },
    fetch,
  );
  return { port: s.addr.port, stop: () => (ac.abort(), s.finished) };
}

function serveSomewhere(preferred: number, fetch: Fetch) {
  try {
    return serve(preferred, fetch);
  } catch {
    return serve(0, fetch);
  }
}

const statsPath = `/dev/shm/raindrops-watcher-example-${process.pid}`;
const watcher = new Watcher({ listeners: listeners.length ? listeners : undefined, stats: statsPath });
const watcherServer = serveSomewhere(9418, (req) => watcher.fetch(req));

let appPort = 0;
const ldr = new LastDataRecv(); // each connection found from the server's env
const app = new Hono();
app.use(raindrops({ stats: statsPath }));
app.use(ldr.middleware);
app.get("/", (c) => c.text("hello from the watched app\n"));
app.get("/slow", async (c) => {
  await new Promise((r) => setTimeout(r, 3000));
  return c.text("slow hello\n");
});
app.get("/_raindrops/last_data_recv", ldr.handler);
const appServer = serve(0, (req, env) => app.fetch(req, env));
appPort = appServer.port;

console.log(`Watcher:      http://127.0.0.1:${watcherServer.port}/`);
console.log(`app:          http://127.0.0.1:${appPort}/`);
console.log(`app's last_data_recv: http://127.0.0.1:${appPort}/_raindrops/last_data_recv`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  watcher.close(); // ends tails, so the servers can stop
  ldr.close();
  await Promise.all([watcherServer.stop(), appServer.stop()]);
  rmSync(statsPath, { force: true });
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
if (Number.isFinite(seconds)) setTimeout(stop, seconds * 1000);
