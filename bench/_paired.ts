/**
 * CPU time per request of two HTTP servers measured side by side: both run
 * at once (pinned to CPU 0 when there are two CPUs) and are loaded at the
 * same time by two wrk processes (on CPU 1), so whatever else the machine
 * does in that moment (other tenants, frequency changes) weighs on both
 * alike and cancels out of their ratio. Measured one after the other, the
 * same pair of servers swings by more than the few percent a middleware
 * costs; side by side, the per-round ratio holds within about a percent.
 *
 * Each server is a script of the benchmark's own runtime that listens on
 * port 0 and prints `ready PORT`.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import process from "node:process";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ). */
const TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** Whether servers run on CPU 0 and load generators on CPU 1. */
export const pinned: boolean = availableParallelism() >= 2 && !spawnSync("taskset", ["-c", "0", "true"]).error;

const pin = (cpu: number, cmd: string[]) => (pinned ? ["taskset", "-c", String(cpu), ...cmd] : cmd);

/** Exits with a message when wrk is missing (Debian package wrk). */
export function requireWrk(bench: string): void {
  if (spawnSync("wrk", ["--version"]).error) {
    console.error(`${bench}: wrk not found (Debian package wrk)`);
    process.exit(1);
  }
}

/** A server under measurement. */
export interface BenchServer {
  readonly label: string;
  readonly child: ChildProcess;
  readonly port: number;
}

/** Starts `script` with this runtime and `env` added, and waits for its `ready PORT`. */
export async function startServer(label: string, script: string, env: Record<string, string>): Promise<BenchServer> {
  const cmd = pin(0, g.Bun ? [process.execPath, script] : [g.Deno.execPath(), "run", "-A", script]);
  const child = spawn(cmd[0], cmd.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`${label}: server silent for 20 s`)), 20_000);
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) (clearTimeout(t), resolve(Number(m[1])));
    });
    child.once("exit", (code) => (clearTimeout(t), reject(new Error(`${label}: server exited (${code})`))));
  });
  return { label, child, port };
}

/** User + system CPU seconds the process has used (all its threads). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

/** Runs wrk against `port` for `seconds` over `connections` keep-alive connections; resolves to the requests done. */
function load(port: number, seconds: number, connections: number): Promise<number> {
  const cmd = pin(1, ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`]);
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.once("close", () => {
      const n = Number(/(\d+) requests in/.exec(out)?.[1]);
      if (!n || /Non-2xx|Socket errors/.test(out)) reject(new Error(`wrk on port ${port}: ${out}`));
      else resolve(n);
    });
  });
}

/** One server's share of a paired round. */
export interface Measured {
  /** CPU µs per request. */
  readonly us: number;
  readonly rps: number;
}

/** Loads `a` and `b` at the same time for `seconds`; returns each one's CPU per request. */
export async function pairedRound(
  a: BenchServer,
  b: BenchServer,
  seconds: number,
  connections: number,
): Promise<[Measured, Measured]> {
  const before = [cpuSeconds(a.child.pid!), cpuSeconds(b.child.pid!)];
  const done = await Promise.all([load(a.port, seconds, connections), load(b.port, seconds, connections)]);
  const after = [cpuSeconds(a.child.pid!), cpuSeconds(b.child.pid!)];
  const measured = (i: number): Measured => ({ us: ((after[i] - before[i]) * 1e6) / done[i], rps: done[i] / seconds });
  return [measured(0), measured(1)];
}

/** Warms up servers (JIT) by loading them all at once for `seconds`. */
export async function warmUp(servers: BenchServer[], seconds: number, connections: number): Promise<void> {
  await Promise.all(servers.map((s) => load(s.port, seconds, connections)));
}
