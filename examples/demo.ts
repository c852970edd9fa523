/**
 * `make demo`: the live demo, all on loopback.
 *
 * - 2 Bun worker processes on one port (reusePort), examples/bun_workers.ts;
 * - `deno serve --parallel` (one isolate per CPU) on a second port,
 *   examples/deno_parallel.ts;
 * - a Node.js cluster (a primary and 2 workers, @hono/node-server) on a
 *   third port, examples/node_cluster.ts;
 * - all of them count into ONE shared stats file, so /_raindrops on any
 *   worker of either server reports calling/writing for every worker, and
 *   both listeners;
 * - the Watcher dashboard in this process, polling both listeners;
 * - when Prometheus is installed (Debian package `prometheus`), one scraping
 *   both servers every second with the rules in prometheus/ loaded;
 * - with --load, bounded clients keep requests in flight, each on a new
 *   connection; every other 4 s a burst of requests to /work blocks workers'
 *   event loops (CPU-bound), so connections wait in the kernel's accept queue
 *   and `queued` rises, then falls back when the burst ends.
 *
 *   node_modules/.bin/deno run -A examples/demo.ts [--load] [--for=SECONDS] [--port=8080]
 *
 * Ports: Bun workers --port, deno serve +1, Watcher +2, Prometheus +3,
 * Node cluster +4.
 * Stops on Ctrl-C, or after --for seconds; removes its stats file and
 * Prometheus' data.
 *
 * @module
 */
import { rmSync } from "node:fs";
import { connect } from "node:net";
import { tcpListenerStats } from "../mod.ts";
import { Watcher } from "../hono.ts";
import { spawnExampleServers, spawnNodeCluster } from "./example_servers.ts";
import { type LocalPrometheus, prometheusBinary, startPrometheus } from "../prometheus/local_prometheus.ts";

const args = Deno.args;
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const load = args.includes("--load");
const seconds = Number(flag("for") ?? Infinity);
const bunPort = Number(flag("port") ?? 8080);
const denoPort = bunPort + 1;
const watcherPort = bunPort + 2;
const prometheusPort = bunPort + 3;
const nodePort = bunPort + 4;
/** The servers' ports, in the order the clients take turns. */
const serverPorts = [bunPort, denoPort, nodePort];
const stats = `/dev/shm/raindrops-demo-${Deno.pid}`;
const listeners = serverPorts.map((p) => `127.0.0.1:${p}`);
const env = { ...Deno.env.toObject(), RAINDROPS_STATS: stats, RAINDROPS_LISTENERS: listeners.join(",") };
Object.assign(env, { RAINDROPS_REQUEST_METRICS: "all" }); // every request metric, off-by-default ones too

const children = [
  ...spawnExampleServers(bunPort, denoPort, env, "inherit"),
  spawnNodeCluster(nodePort, env, "inherit"),
];
// Each row says what serves it; the workers panel reads the stats file they all share.
const labels = { [listeners[0]]: "Bun workers (2 processes, reusePort)", [listeners[1]]: "deno serve --parallel" };
labels[listeners[2]] = "Node cluster (primary + 2 workers)";
const watcher = new Watcher({ listeners, delay: 1, stats, labels });
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
await waitFor(`http://127.0.0.1:${nodePort}/`);

let prometheus: LocalPrometheus | undefined;
let prometheusLine = "Prometheus                            not installed (apt install prometheus) - skipped";
if (prometheusBinary()) {
  try {
    prometheus = await startPrometheus({
      targets: listeners,
      port: prometheusPort,
      dirPrefix: "/tmp/raindrops-demo-prometheus-",
    });
    const graph = `${prometheus.url}/graph?g0.expr=${encodeURIComponent("raindrops_listener_queued_connections")}` +
      `&g0.tab=0&g0.range_input=5m&g1.expr=${encodeURIComponent("rate(raindrops_requests_total[10s])")}&g1.tab=0`;
    prometheusLine = `Prometheus (scrapes all every 1 s)    ${graph}`;
  } catch (e) {
    prometheusLine = `Prometheus                            failed to start: ${(e as Error).message.split("\n")[0]}`;
  }
}

console.log(`
  Bun workers (2 processes, reusePort)  http://127.0.0.1:${bunPort}/      slow stream: /slow, CPU-bound: /work?ms=400
  deno serve --parallel                 http://127.0.0.1:${denoPort}/
  Node cluster (primary + 2 workers)    http://127.0.0.1:${nodePort}/
  stats, from any worker                http://127.0.0.1:${bunPort}/_raindrops   (?format=json, ?format=prometheus)
                                        http://127.0.0.1:${denoPort}/_raindrops
                                        http://127.0.0.1:${nodePort}/_raindrops
  Watcher dashboard                     http://127.0.0.1:${watcherPort}/
  ${prometheusLine}
  shared stats file                     ${stats}
  ${
  load
    ? "load: 22 clients on /, /busy and /slow, each request on a new connection; every other 4 s\n  a burst of /work blocks event loops (CPU-bound): queued rises, then falls back"
    : "add --load to generate traffic"
}; Ctrl-C to stop
`);

/** GET over a new connection (so a blocked worker's accept queue shows it); resolves when the response ends. */
function get(port: number, path: string): Promise<void> {
  return new Promise((resolve) => {
    const start = `X-Request-Start: t=${Date.now() * 1000}\r\n`; // as a proxy would: raindrops_queue_wait_seconds
    const sock = connect(port, "127.0.0.1", () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${start}Connection: close\r\n\r\n`);
    });
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on("data", () => {});
    sock.on("error", () => {});
    sock.on("close", () => resolve());
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let running = true;
/** A burst phase: on for 4 s, off for 4 s. */
const bursting = () => Math.floor(performance.now() / 4000) % 2 === 1;

/** One bounded client on `paths` (in turn, the servers in turn) until stopped. */
async function client(id: number, paths: string[], pauseMs: number): Promise<void> {
  for (let i = id; running && i < id + 1_000_000; i++) {
    await get(serverPorts[i % serverPorts.length], paths[i % paths.length]);
    await sleep(pauseMs * (0.5 + Math.random()));
  }
}
/** Blocks a worker's event loop for 500 ms at a time, during bursts. */
async function blocker(id: number): Promise<void> {
  for (let i = 0; running && i < 100_000; i++) {
    if (bursting()) await get(serverPorts[id % serverPorts.length], "/work?ms=500");
    else await sleep(100);
  }
}
const clients = load
  ? [
    ...Array.from({ length: 6 }, (_, i) => client(i, ["/slow", "/busy"], 200)),
    ...Array.from({ length: 16 }, (_, i) => client(i, ["/"], 20)),
    ...Array.from({ length: 4 }, (_, i) => blocker(i)),
  ]
  : [];

/** The highest `queued` per listener since the last line, sampled every 100 ms from the kernel. */
const peaks = new Map<string, number>();
const sampler = setInterval(() => {
  for (const [a, l] of tcpListenerStats(listeners)) peaks.set(a, Math.max(peaks.get(a) ?? 0, l.queued));
}, 100);

/** A figure from Prometheus text. */
const figure = (text: string, name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1]);
let lastRequests: number | undefined;

const ticker = setInterval(async () => {
  const time = new Date().toISOString().slice(11, 19);
  // Queues straight from the kernel (this process is never blocked); the
  // counts from whichever server answers first.
  const queues = [...tcpListenerStats(listeners)].map(([a, l]) =>
    `${a} active ${l.active} queued ${l.queued} (peak ${Math.max(peaks.get(a) ?? 0, l.queued)}) of ${
      Math.round(l.backlog / Math.max(1, l.listeners))
    } per socket`
  );
  peaks.clear();
  let counts = "calling ?  writing ?  workers ?  req/s ?";
  try {
    const text = await Promise.any(
      serverPorts.map(async (p) =>
        (await fetch(`http://127.0.0.1:${p}/_raindrops?format=prometheus`, { signal: AbortSignal.timeout(900) })).text()
      ),
    );
    const requests = figure(text, "raindrops_requests_total");
    const rate = lastRequests === undefined ? "-" : String(requests - lastRequests);
    lastRequests = requests;
    counts = `calling ${figure(text, "raindrops_calling_requests")}  writing ${
      figure(text, "raindrops_writing_requests")
    }  workers ${figure(text, "raindrops_workers")}  req/s ${rate}`;
  } catch { /* every worker busy for the whole second: the queues say why */ }
  console.log(`${time}  ${counts}  ${queues.join("  ")}${load && bursting() ? "  [/work burst]" : ""}`);
}, 1000);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  running = false;
  clearInterval(ticker);
  clearInterval(sampler);
  await Promise.race([Promise.all(clients), sleep(3000)]);
  await prometheus?.stop();
  watcher.close();
  await watcherServer.shutdown();
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on("close", r)))));
  rmSync(stats, { force: true });
  rmSync(`${stats}.metrics`, { force: true });
  console.log("demo stopped");
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
if (Number.isFinite(seconds)) setTimeout(stop, seconds * 1000);
