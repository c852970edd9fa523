/**
 * A tiny benchmark harness shared by the bench scripts: warm up, then time
 * a fixed number of iterations and report ns per operation; and the
 * machine-readable result lines (`BENCH {json}`) that scripts/bench-all.sh
 * gathers into one table.
 */
import process from "node:process";

/** The runtime running this script, for labelling output only. */
export function runtimeLabel(): string {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  return g.Bun
    ? `bun ${g.Bun.version}`
    : g.Deno
    ? `deno ${g.Deno.version.deno}`
    : g.process?.versions?.node
    ? `node ${g.process.versions.node}`
    : "unknown";
}

/** BENCH_QUICK=1: fewer and shorter rounds, for a quick look (noisier figures). */
export const quick: boolean = Boolean(process.env.BENCH_QUICK);

/** One figure with the baseline it is compared with, measured in the same run. */
export interface BenchResult {
  /** What was measured, e.g. "counters" or "LastDataRecv". */
  group: string;
  name: string;
  value: number;
  unit: string;
  /** The baseline's name and value, when the figure has one. */
  baseline?: string;
  baselineValue?: number;
  /** Lowest and highest of the rounds, when there were several. */
  spread?: [number, number];
  /** The ratio to the baseline when it is not value / baselineValue (e.g. the median of per-round ratios). */
  ratio?: number;
  /** Lowest and highest per-round ratio, when the ratio is a median of rounds. */
  ratioSpread?: [number, number];
}

/** Prints `BENCH {json}`: the result with the runtime and its ratio to its baseline. */
export function emit(r: BenchResult): void {
  const ratio = r.ratio ?? (r.baselineValue ? r.value / r.baselineValue : undefined);
  console.log(`BENCH ${JSON.stringify({ runtime: runtimeLabel(), ...r, ratio })}`);
}

/** Best-of-`rounds` nanoseconds per call of `body(iterations)`. */
export function nsPerOp(body: (iterations: number) => unknown, iterations: number, rounds = 5): number {
  body(Math.min(iterations, 100_000)); // warm up the JIT
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    body(iterations);
    best = Math.min(best, ((performance.now() - start) * 1e6) / iterations);
  }
  return best;
}

/**
 * Best-of-`rounds` nanoseconds per call of each body, the rounds
 * interleaved (one call of every body per round), so that a busy moment of
 * the machine weighs on all of them alike rather than on whichever body it
 * fell on.
 */
export function nsPerOpInterleaved<K extends string>(
  bodies: Record<K, (iterations: number) => unknown>,
  iterations: number,
  rounds = 5,
): Record<K, number> {
  const keys = Object.keys(bodies) as K[];
  const best = {} as Record<K, number>;
  for (const k of keys) {
    bodies[k](Math.min(iterations, 100_000)); // warm up the JIT
    best[k] = Infinity;
  }
  for (let r = 0; r < rounds; r++) {
    for (const k of keys) {
      const start = performance.now();
      bodies[k](iterations);
      best[k] = Math.min(best[k], ((performance.now() - start) * 1e6) / iterations);
    }
  }
  return best;
}

/** The median of `xs` (the mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Prints `label  value unit  (ratio x baseline)` rows, and each row as a
 * BENCH line (`baseline` names the row whose value is `baseline`).
 */
export function report(
  title: string,
  rows: { label: string; value: number; unit: string; baseline?: number; baselineName?: string }[],
): void {
  console.log(`\n${title} — ${runtimeLabel()}`);
  for (const r of rows) {
    const ratio = r.baseline ? `  ${(r.value / r.baseline).toFixed(2)}x baseline` : "";
    console.log(`  ${r.label.padEnd(44)} ${r.value.toFixed(2).padStart(10)} ${r.unit}${ratio}`);
  }
  for (const r of rows) {
    emit({
      group: title,
      name: r.label,
      value: r.value,
      unit: r.unit,
      baseline: r.baselineName,
      baselineValue: r.baseline,
    });
  }
}
