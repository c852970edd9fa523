/**
 * CPU time per request of two HTTP servers measured side by side: both run
 * at once (pinned to CPU 0 when there are two CPUs) and are loaded at the
 * same time by two wrk processes (on CPU 1), so whatever else the machine
 * does in that moment (other tenants, frequency changes) weighs on both
 * alike and cancels out of their ratio. Measured one after the other, the
 * same pair of servers swings by more than the few percent a middleware
 * costs; side by side, the per-round ratio holds within about a percent.
 *
 * Each server is a script run by the benchmark's own runtime (Deno, Bun or
 * Node.js) that listens on port 0 and prints `ready PORT`.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import process from "node:process";
import { emit, median, quick, runtimeLabel } from "./_bench.ts";

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
async function startServer(label: string, script: string, env: Record<string, string>): Promise<BenchServer> {
  const cmd = pin(
    0,
    g.Bun
      ? [process.execPath, script]
      : g.Deno
      ? [g.Deno.execPath(), "run", "-A", script]
      : [process.execPath, "--disable-warning=ExperimentalWarning", script],
  );
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
async function pairedRound(
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
async function warmUp(servers: BenchServer[], seconds: number, connections: number): Promise<void> {
  await Promise.all(servers.map((s) => load(s.port, seconds, connections)));
}

/** ROUNDS, SECONDS_EACH and CONNS (per wrk) from the environment; fewer, shorter rounds with BENCH_QUICK=1. */
export const settings = {
  rounds: Number(process.env.ROUNDS ?? (quick ? 3 : 6)),
  seconds: Number(process.env.SECONDS_EACH ?? (quick ? 2 : 4)),
  connections: Number(process.env.CONNS ?? 16),
};

/** A measured variant, its baseline, and the target ratio the project sets, if any. */
export type Pair<V extends string> = readonly [V, V, number?];

/** Each round's measurement of a pair's variant and baseline. */
export interface PairRounds {
  readonly variant: Measured[];
  readonly base: Measured[];
}

/**
 * Starts one server per variant named in `pairs` (`script` with `MODE` and
 * `envOf(variant)` in its environment), warms them up, runs every pair side
 * by side once per round, then hands the servers to `check` and stops them.
 */
export async function measurePairs<V extends string>(
  script: string,
  labels: Record<V, string>,
  pairs: readonly Pair<V>[],
  envOf: (variant: V) => Record<string, string> = () => ({}),
  check: (servers: Record<V, BenchServer>) => Promise<void> = async () => {},
): Promise<PairRounds[]> {
  const servers = {} as Record<V, BenchServer>;
  const results = pairs.map((): PairRounds => ({ variant: [], base: [] }));
  try {
    for (const v of new Set(pairs.flatMap(([v, base]) => [v, base]))) {
      servers[v] = await startServer(labels[v], script, { MODE: v, ...envOf(v) });
    }
    await warmUp(Object.values(servers), 2, settings.connections);
    for (let r = 0; r < settings.rounds; r++) {
      for (const [i, [v, base]] of pairs.entries()) {
        const [mv, mb] = await pairedRound(servers[v], servers[base], settings.seconds, settings.connections);
        results[i].variant.push(mv);
        results[i].base.push(mb);
      }
    }
    await check(servers);
  } finally {
    for (const s of Object.values<BenchServer>(servers)) s.child.kill();
  }
  return results;
}

/** Prints each pair's median ratio with its spread, CPU µs and req/s, and the verdict on its target; emits its BENCH line in `group`. */
export function reportPairs<V extends string>(
  title: string,
  group: string,
  labels: Record<V, string>,
  pairs: readonly Pair<V>[],
  results: PairRounds[],
): void {
  const { rounds, seconds, connections } = settings;
  const where = pinned ? ", servers on CPU 0, wrk on CPU 1" : "";
  console.log(
    `\n${title}, server CPU µs per request, each variant side by side with its baseline (${rounds} rounds of ${seconds} s, wrk -c${connections} keep-alive each${where}) — ${runtimeLabel()}`,
  );
  const width = Math.max(...pairs.map(([v]) => labels[v].length));
  for (const [i, [v, base, target]] of pairs.entries()) {
    const { variant, base: baseline } = results[i];
    const ratios = variant.map((m, r) => m.us / baseline[r].us);
    const ratio = median(ratios);
    const us = median(variant.map((m) => m.us)), baseUs = median(baseline.map((m) => m.us));
    const added = median(variant.map((m, r) => m.us - baseline[r].us));
    const rps = (ms: Measured[]) => Math.round(median(ms.map((m) => m.rps)));
    const verdict = target === undefined ? "" : `  target <= ${target}: ${ratio <= target ? "met" : "NOT met"}`;
    console.log(
      `  ${labels[v].padEnd(width)} ${ratio.toFixed(3)}x ${labels[base]} (rounds ${Math.min(...ratios).toFixed(3)}–${
        Math.max(...ratios).toFixed(3)
      })  ${us.toFixed(2)} vs ${baseUs.toFixed(2)} µs (${added >= 0 ? "+" : ""}${added.toFixed(2)})  ${
        rps(variant)
      } vs ${rps(baseline)} req/s${verdict}`,
    );
    emit({
      group: `${group}, side by side with its baseline (wrk -c${connections} each)`,
      name: labels[v],
      value: us,
      unit: "CPU µs/request",
      baseline: labels[base],
      baselineValue: baseUs,
      ratio,
      ratioSpread: [Math.min(...ratios), Math.max(...ratios)],
    });
  }
}
