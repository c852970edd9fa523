/**
 * `make demo`: the live demo, all on loopback.
 *
 * - 2 Bun worker processes on one port (reusePort), examples/bun_workers.ts;
 * - `deno serve --parallel` (one isolate per CPU) on a second port,
 *   examples/deno_parallel.ts;
 * - all of them count into ONE shared stats file, so /_raindrops on any
 *   worker of either server reports calling/writing for every worker;
 * - the Watcher dashboard in this process, polling both listeners;
 * - with --load, bounded clients keep requests in flight so the numbers move.
 *
 *   node_modules/.bin/deno run -A examples/demo.ts [--load] [--for=SECONDS] [--port=8080]
 *
 * Stops on Ctrl-C, or after --for seconds; removes its stats file.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { Watcher } from "../hono.ts";

const args = Deno.args;
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const load = args.includes("--load");
const seconds = Number(flag("for") ?? Infinity);
const bunPort = Number(flag("port") ?? 8080);
const denoPort = bunPort + 1;
const watcherPort = bunPort + 2;
const stats = `/dev/shm/raindrops-demo-${Deno.pid}`;
const bin = (name: string) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
const example = (name: string) => new URL(`./${name}`, import.meta.url).pathname;
const env = { ...Deno.env.toObject(), RAINDROPS_STATS: stats };

const children = [
  spawn(bin("bun"), [example("bun_workers.ts"), "2", String(bunPort)], { env, stdio: "inherit" }),
  spawn(bin("deno"), [
    "serve",
    "-A",
    "--quiet",
    "--parallel",
    "--host",
    "127.0.0.1",
    "--port",
    String(denoPort),
    example("deno_parallel.ts"),
  ], { env, stdio: ["ignore", "ignore", "inherit"] }),
];
const listeners = [`127.0.0.1:${bunPort}`, `127.0.0.1:${denoPort}`];
const watcher = new Watcher({ listeners, delay: 1 });
const watcherServer = Deno.serve({ hostname: "127.0.0.1", port: watcherPort, onListen() {} }, watcher.fetch);

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await (await fetch(url)).body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}
await waitFor(`http://127.0.0.1:${bunPort}/`);
await waitFor(`http://127.0.0.1:${denoPort}/`);

console.log(`
  Bun workers (2 processes, reusePort)  http://127.0.0.1:${bunPort}/      slow stream: /slow
  deno serve --parallel                 http://127.0.0.1:${denoPort}/
  stats, from any worker                http://127.0.0.1:${bunPort}/_raindrops   (?format=json, ?format=prometheus)
                                        http://127.0.0.1:${denoPort}/_raindrops
  Watcher dashboard                     http://127.0.0.1:${watcherPort}/
  shared stats file                     ${stats}
  ${load ? "load: 24 clients on /slow, /busy and /" : "add --load to generate traffic"}; Ctrl-C to stop
`);

let running = true;
/** One bounded client: alternates slow streams and quick requests until stopped. */
async function client(id: number): Promise<void> {
  const port = id % 2 ? bunPort : denoPort;
  for (let i = id; running && i < id + 100_000; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/${["slow", "busy", "", "busy"][i % 4]}`);
      await res.arrayBuffer();
    } catch { /* a server going away at shutdown */ }
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
  }
}
const clients = load ? Array.from({ length: 24 }, (_, i) => client(i)) : [];

const ticker = setInterval(async () => {
  try {
    // Any worker reports calling/writing of all; each reports its own listener.
    const [s, d] = await Promise.all(
      [bunPort, denoPort].map(async (p) => (await fetch(`http://127.0.0.1:${p}/_raindrops?format=json`)).json()),
    );
    const all = { ...s.listeners, ...d.listeners };
    const queues = Object.entries(all).map(([a, l]: [string, any]) => `${a} active ${l.active} queued ${l.queued}`);
    console.log(
      `${new Date().toISOString().slice(11, 19)}  calling ${s.calling}  writing ${s.writing}  workers ${s.workers}  ${
        queues.join("  ")
      }`,
    );
  } catch (e) {
    console.log(`stats unavailable: ${(e as Error).message}`);
  }
}, 1000);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  running = false;
  clearInterval(ticker);
  await Promise.race([Promise.all(clients), new Promise((r) => setTimeout(r, 3000))]);
  watcher.close();
  await watcherServer.shutdown();
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on("close", r)))));
  rmSync(stats, { force: true });
  console.log("demo stopped");
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
if (Number.isFinite(seconds)) setTimeout(stop, seconds * 1000);
