/**
 * The per-request cost of LastDataRecv (a benchmark, not a test), as the
 * server's CPU time per request (user + system from /proc/<pid>/stat):
 * servers (bench/last_data_recv_server.ts) with an empty handler (the
 * baseline), a no-op middleware, `app.use(ldr.middleware)`,
 * `ldr.wrap(app.fetch)` and a wrapper that only reads the client's
 * address, each in a child process of this runtime, driven in turn by wrk
 * with 32 keep-alive connections, variants interleaved, median and spread
 * (lowest-highest) of 8 rounds, and ratios as the median of the per-round
 * ratios (a round's variants run seconds apart, so a change in the
 * machine's load mostly cancels out in them); server pinned to CPU 0 and wrk to CPU 1
 * when there are two. LastDataRecv records each connection once, so on
 * keep-alive connections its cost is what telling a request's connection
 * costs. Then, in this process, the two paths of a request: a
 * connection's first (the sock_diag lookup) and a later one (known by a
 * Map lookup).
 *
 *   node_modules/.bin/deno run -A bench/last_data_recv.bench.ts
 *   node_modules/.bin/bun bench/last_data_recv.bench.ts
 *   (BENCH_QUICK=1: 3 rounds of 1 s)
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import { sharedChannel } from "../src/linux/diag_socket.ts";
import { ConnectionSockets } from "../src/last_data_recv/connection_sockets.ts";
import { emit, median, nsPerOp, quick, report, runtimeLabel } from "./_bench.ts";

const ROUNDS = quick ? 3 : 8, SECONDS_EACH = quick ? 1 : 2, CONNECTIONS = 32;
const VARIANTS = ["empty", "noop", "middleware", "wrap", "address"] as const;
type Variant = (typeof VARIANTS)[number];
const LABELS: Record<Variant, string> = {
  empty: "empty handler",
  noop: "no-op middleware",
  middleware: "app.use(ldr.middleware)",
  wrap: "ldr.wrap(app.fetch)",
  address: "client address only (wrapper)",
};
/** Each variant's baseline: the empty handler, and for the middleware also the no-op middleware. */
const BASELINES: [Variant, Variant][] = [
  ["noop", "empty"],
  ["middleware", "empty"],
  ["wrap", "empty"],
  ["address", "empty"],
  ["middleware", "noop"],
];
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
if (spawnSync("wrk", ["--version"]).error) {
  console.error("last_data_recv bench: wrk not found (Debian package wrk)");
  process.exit(1);
}
const pinned = availableParallelism() >= 2 && !spawnSync("taskset", ["-c", "0", "true"]).error;
const pin = (cpu: number, cmd: string[]) => (pinned ? ["taskset", "-c", String(cpu), ...cmd] : cmd);

interface Server {
  child: ChildProcess;
  port: number;
}

async function start(mode: Variant): Promise<Server> {
  const script = new URL("./last_data_recv_server.ts", import.meta.url).pathname;
  const cmd = pin(0, g.Bun ? [process.execPath, script] : [g.Deno.execPath(), "run", "-A", script]);
  const child = spawn(cmd[0], cmd.slice(1), {
    env: { ...process.env, MODE: mode },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`${mode} server silent for 20 s`)), 20_000);
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) (clearTimeout(t), resolve(Number(m[1])));
    });
  });
  return { child, port };
}

/** User + system CPU seconds the process has used (all its threads). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

/** Runs wrk (new keep-alive connections) against the server; returns requests completed. */
function load(port: number, seconds: number): number {
  const cmd = pin(1, ["wrk", "-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`]);
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
  const n = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  if (!n || /Non-2xx|Socket errors/.test(r.stdout)) throw new Error(`wrk: ${r.stdout}${r.stderr}`);
  return n;
}

const servers = {} as Record<Variant, Server>;
for (const v of VARIANTS) servers[v] = await start(v);
const us = {} as Record<Variant, number[]>, rps = {} as Record<Variant, number[]>;
try {
  for (const v of VARIANTS) load(servers[v].port, 1); // warm up
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = VARIANTS[(r + k) % VARIANTS.length]; // the order rotates from round to round
      const { child, port } = servers[v];
      const before = cpuSeconds(child.pid!);
      const n = load(port, SECONDS_EACH);
      (us[v] ??= []).push(((cpuSeconds(child.pid!) - before) * 1e6) / n);
      (rps[v] ??= []).push(n / SECONDS_EACH);
    }
  }
  for (const v of ["middleware", "wrap"] as const) {
    const check = await (await fetch(`http://127.0.0.1:${servers[v].port}/_ldr`)).json();
    // Every wrk run opens CONNECTIONS connections; each is recorded once.
    const runs = ROUNDS + 1;
    if (check.count < CONNECTIONS * runs || check.count > CONNECTIONS * runs + 2 || check.missed !== 0) {
      throw new Error(`${v}: LastDataRecv recorded ${JSON.stringify(check)} over ${runs} runs of ${CONNECTIONS}`);
    }
  }
} finally {
  for (const { child } of Object.values(servers)) child.kill();
}

const med = Object.fromEntries(VARIANTS.map((v) => [v, median(us[v])])) as Record<Variant, number>;
/** Median of the per-round ratios of `v` to `base`. */
const ratio = (v: Variant, base: Variant) => median(us[v].map((x, r) => x / us[base][r]));
/** Median of the per-round differences of `v` and `base`, µs. */
const added = (v: Variant, base: Variant) => median(us[v].map((x, r) => x - us[base][r]));
console.log(
  `\nLastDataRecv, server CPU µs per request (wrk -c${CONNECTIONS} keep-alive, ${ROUNDS} interleaved rounds of ${SECONDS_EACH} s${
    pinned ? ", server on CPU 0, wrk on CPU 1" : ""
  }) — ${runtimeLabel()}`,
);
for (const v of VARIANTS) {
  console.log(
    `  ${LABELS[v].padEnd(32)} ${med[v].toFixed(2).padStart(7)} µs  ${ratio(v, "empty").toFixed(3)}x empty  spread ${
      Math.min(...us[v]).toFixed(2)
    }–${Math.max(...us[v]).toFixed(2)} µs  ${Math.round(median(rps[v]))} req/s`,
  );
}
for (const [v, base] of [["middleware", "noop"], ["wrap", "empty"]] as const) {
  const r = ratio(v, "empty"), plus = added(v, base);
  console.log(
    `  ${LABELS[v]}: ${r.toFixed(3)}x empty (target <= 1.05: ${r <= 1.05 ? "met" : "not met"}), adds ${
      plus.toFixed(2)
    } µs over the ${LABELS[base]} (target <= 1 µs: ${plus <= 1 ? "met" : "not met"})`,
  );
}
for (const [v, base] of BASELINES) {
  emit({
    group: "LastDataRecv, wrk -c32 keep-alive",
    name: LABELS[v],
    value: med[v],
    unit: "CPU µs/request",
    baseline: LABELS[base],
    baselineValue: med[base],
    ratio: ratio(v, base),
    spread: [Math.min(...us[v]), Math.max(...us[v])],
  });
}

// The two paths of a request, in this process, on one established loopback connection.
const target = net.createServer(() => {});
await new Promise<void>((r) => target.listen(0, "127.0.0.1", () => r()));
const tport = (target.address() as net.AddressInfo).port;
const probe = net.connect(tport, "127.0.0.1");
await new Promise<void>((r) => probe.once("connect", () => r()));
const remote = `127.0.0.1:${probe.localPort}`;
const conn = { key: remote, remote, localPort: tport };
const connections = new ConnectionSockets(sharedChannel);
const first = nsPerOp((n) => {
  for (let i = 0; i < n; i++) connections.first(conn);
}, quick ? 2_000 : 20_000);
const later = nsPerOp((n) => {
  for (let i = 0; i < n; i++) connections.known(conn.key);
}, quick ? 200_000 : 2_000_000);
report("a request's path in LastDataRecv, µs per request", [
  { label: "first request: sock_diag lookup", value: first / 1000, unit: "µs" },
  {
    label: "later request: known connection",
    value: later / 1000,
    unit: "µs",
    baseline: first / 1000,
    baselineName: "first request: sock_diag lookup",
  },
]);
probe.destroy();
target.close();
process.exit(0);
