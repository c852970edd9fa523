/**
 * What the exporter's peak sampling costs: raindrops-exporter (on the
 * runtime running this script) watches one listener with
 * `--peak.interval` 60 (the baseline: almost no sampling), 1 (the
 * default) and 0.1 seconds; its own `process_cpu_seconds_total` (user +
 * system: the kernel's sock_diag walk runs in the asking process) is read
 * before and after the same wall time. Prints CPU milliseconds per second
 * of wall time, and per sample above the baseline.
 * Run: node_modules/.bin/deno run -A bench/exporter_sampling.bench.ts
 *      node_modules/.bin/bun bench/exporter_sampling.bench.ts
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { emit, quick, report } from "./_bench.ts";
import { freePort } from "../prometheus/local_prometheus.ts";

const EXPORTER = new URL("../src/exporter/main.ts", import.meta.url).pathname;
const SECONDS = quick ? 10 : 30;
// deno-lint-ignore no-explicit-any
const g = globalThis as any;

async function cpuSeconds(url: string): Promise<number> {
  const text = await (await fetch(url)).text();
  return Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)![1]);
}

/** CPU seconds the exporter spends over SECONDS of wall time at `interval`. */
async function measure(interval: number): Promise<number> {
  const port = await freePort();
  const runtime = g.Bun ? [process.execPath, EXPORTER] : [g.Deno.execPath(), "run", "-A", EXPORTER];
  const child = spawn(runtime[0], [
    ...runtime.slice(1),
    `--web.listen-address=127.0.0.1:${port}`,
    `--peak.interval=${interval}`,
    "127.0.0.1:1",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    for (let i = 0; !err.includes("serving http://"); i++) {
      if (i > 600 || child.exitCode !== null) throw new Error(`exporter did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = `http://127.0.0.1:${port}/metrics`;
    await new Promise((r) => setTimeout(r, 2000)); // past start-up
    const before = await cpuSeconds(url);
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    return (await cpuSeconds(url)) - before;
  } finally {
    process.kill(child.pid!, "SIGTERM");
    await exited;
  }
}

const idle = await measure(60);
const rows = [{ label: "--peak.interval 60 (baseline)", value: (idle / SECONDS) * 1000, unit: "ms CPU/s" }];
for (const interval of [1, 0.1]) {
  const cpu = await measure(interval);
  rows.push({ label: `--peak.interval ${interval}`, value: (cpu / SECONDS) * 1000, unit: "ms CPU/s" });
  const samples = SECONDS / interval;
  const perSample = ((cpu - idle) / samples) * 1000;
  console.log(`  one sample at --peak.interval ${interval}: ${perSample.toFixed(2)} ms CPU`);
  emit({ group: "exporter sampling", name: `one sample (interval ${interval} s)`, value: perSample, unit: "ms CPU" });
}
report("exporter sampling", rows.map((r) => ({ ...r, baseline: rows[0].value, baselineName: rows[0].label })));
