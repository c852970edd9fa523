/**
 * The per-request cost of the LastDataRecv middleware (a benchmark, not a
 * test), as the server's CPU time per request: four servers
 * (bench/last_data_recv_server.ts: an empty handler, a no-op middleware,
 * LastDataRecv on every request, LastDataRecv with `sample: 16`) in child
 * processes of this runtime, driven in turn by wrk with 32 keep-alive connections, variants
 * interleaved, median and spread of 5 rounds; server pinned to CPU 0 and
 * wrk to CPU 1 when there are two. Then, in this process, the two ways a
 * request's TCP_INFO is read: the sock_diag lookup of a connection's first
 * request, and the checked getsockopt on its cached descriptor.
 *
 *   node_modules/.bin/deno run -A bench/last_data_recv.bench.ts
 *   node_modules/.bin/bun bench/last_data_recv.bench.ts
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import { sharedChannel } from "../src/linux/diag_socket.ts";
import { TcpInfo } from "../src/linux/tcp_info.ts";
import { ConnectionSockets } from "../src/last_data_recv/connection_sockets.ts";
import { nsPerOp, report, runtimeLabel } from "./_bench.ts";

const ROUNDS = 5, SECONDS_EACH = 3, CONNECTIONS = 32;
const VARIANTS = ["empty", "noop", "ldr", "ldr16"] as const;
const LABELS = {
  empty: "empty handler (baseline)",
  noop: "no-op middleware",
  ldr: "LastDataRecv, every request",
  ldr16: "LastDataRecv, sample: 16",
};
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

async function start(mode: string): Promise<Server> {
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

/** Runs wrk against the server; returns requests completed. */
function load(port: number, seconds: number): number {
  const cmd = pin(1, ["wrk", "-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`]);
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
  const n = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  if (!n || /Non-2xx/.test(r.stdout)) throw new Error(`wrk: ${r.stdout}${r.stderr}`);
  return n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const servers = Object.fromEntries(await Promise.all(VARIANTS.map(async (v) => [v, await start(v)]))) as Record<
  (typeof VARIANTS)[number],
  Server
>;
try {
  for (const v of VARIANTS) load(servers[v].port, 1); // warm up
  const us: Record<string, number[]> = {}, rps: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of VARIANTS) {
      const { child, port } = servers[v];
      const before = cpuSeconds(child.pid!);
      const n = load(port, SECONDS_EACH);
      (us[v] ??= []).push(((cpuSeconds(child.pid!) - before) * 1e6) / n);
      (rps[v] ??= []).push(n / SECONDS_EACH);
    }
  }
  const check = await (await fetch(`http://127.0.0.1:${servers.ldr.port}/_ldr`)).json();
  if (!(check.count > 0) || check.missed !== 0) throw new Error(`LastDataRecv recorded ${JSON.stringify(check)}`);

  const base = median(us.empty);
  console.log(
    `\nLastDataRecv, server CPU µs per request (wrk -c${CONNECTIONS} keep-alive, ${ROUNDS} interleaved rounds of ${SECONDS_EACH} s${
      pinned ? ", server on CPU 0, wrk on CPU 1" : ""
    }) — ${runtimeLabel()}`,
  );
  for (const v of VARIANTS) {
    const m = median(us[v]);
    console.log(
      `  ${LABELS[v].padEnd(30)} ${m.toFixed(2).padStart(7)} µs  ${(m / base).toFixed(3)}x baseline  spread ${
        Math.min(...us[v]).toFixed(2)
      }–${Math.max(...us[v]).toFixed(2)} µs  ${Math.round(median(rps[v]))} req/s`,
    );
  }
  console.log(
    `  LastDataRecv adds ${(median(us.ldr) - base).toFixed(2)} µs per request over the empty handler, ${
      (median(us.ldr) - median(us.noop)).toFixed(2)
    } µs over the no-op middleware (recorded ${check.count}, missed ${check.missed})`,
  );
} finally {
  for (const { child } of Object.values(servers)) child.kill();
}

// The two reads, in this process, on one established loopback connection.
const target = net.createServer(() => {});
await new Promise<void>((r) => target.listen(0, "127.0.0.1", () => r()));
const tport = (target.address() as net.AddressInfo).port;
const probe = net.connect(tport, "127.0.0.1");
await new Promise<void>((r) => probe.once("connect", () => r()));
const local = `127.0.0.1:${tport}`, remote = `127.0.0.1:${probe.localPort}`;
const sockets = new ConnectionSockets(sharedChannel);
const conn = { key: remote, remote, local };
sockets.read(conn);
sockets.read(conn); // the second read finds the descriptor
const diag = nsPerOp((n) => {
  for (let i = 0; i < n; i++) TcpInfo.fromAddress(local, remote);
}, 20_000);
const cached = nsPerOp((n) => {
  for (let i = 0; i < n; i++) sockets.read(conn);
}, 200_000);
report("TCP_INFO of one connection, µs per read", [
  { label: "sock_diag lookup by address (first request)", value: diag / 1000, unit: "µs" },
  { label: "checked getsockopt, cached descriptor", value: cached / 1000, unit: "µs", baseline: diag / 1000 },
]);
probe.destroy();
target.close();
process.exit(0);
