/**
 * A tiny benchmark harness shared by the bench scripts: warm up, then time
 * a fixed number of iterations and report ns per operation.
 */

/** The runtime running this script, for labelling output only. */
export function runtimeLabel(): string {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  return g.Bun ? `bun ${g.Bun.version}` : g.Deno ? `deno ${g.Deno.version.deno}` : "unknown";
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

/** Prints `label  value unit  (ratio x baseline)` rows. */
export function report(title: string, rows: { label: string; value: number; unit: string; baseline?: number }[]): void {
  console.log(`\n${title} — ${runtimeLabel()}`);
  for (const r of rows) {
    const ratio = r.baseline ? `  ${(r.value / r.baseline).toFixed(2)}x baseline` : "";
    console.log(`  ${r.label.padEnd(44)} ${r.value.toFixed(2).padStart(10)} ${r.unit}${ratio}`);
  }
}
