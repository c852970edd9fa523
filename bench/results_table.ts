/**
 * Reads benchmark output on stdin and prints every figure in one aligned
 * table, each beside its baseline and ratio: the `BENCH {json}` lines the
 * bench scripts print (see `emit` in _bench.ts).
 *
 *   scripts/bench-all.sh   (runs every benchmark, then this)
 *   node_modules/.bin/deno run bench/results_table.ts < bench.log
 *
 * @module
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import type { BenchResult } from "./_bench.ts";

type Row = BenchResult & { runtime: string; ratio?: number };

/** The rows found in `text`, in order. */
export function parseResults(text: string): Row[] {
  const rows: Row[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("BENCH ")) continue;
    try {
      rows.push(JSON.parse(line.slice(6)));
    } catch {
      // a line cut off by a crashed bench: its figures are lost, the others stand
    }
  }
  return rows;
}

/** Three significant digits, at most two decimals past a whole unit. */
function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return "";
  return x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

/** The table's text: one row per figure, columns aligned. */
export function formatTable(rows: Row[]): string {
  const head = ["runtime", "what", "figure", "value", "spread", "unit", "baseline", "baseline value", "ratio"];
  const cells = rows.map((r) => [
    r.runtime,
    r.group,
    r.name,
    fmt(r.value),
    r.spread ? `${fmt(r.spread[0])}–${fmt(r.spread[1])}` : "",
    r.unit,
    r.baseline ?? "",
    fmt(r.baselineValue),
    r.ratio === undefined
      ? ""
      : `${r.ratio.toFixed(3)}x${
        r.ratioSpread ? ` (${r.ratioSpread[0].toFixed(3)}–${r.ratioSpread[1].toFixed(3)})` : ""
      }`,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const numeric = new Set([3, 4, 7, 8]);
  const line = (c: string[]) =>
    c.map((x, i) => (numeric.has(i) ? x.padStart(width[i]) : x.padEnd(width[i]))).join("  ").trimEnd();
  return [line(head), width.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

if (import.meta.main) {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const rows = parseResults(Buffer.concat(chunks).toString("utf8"));
  console.log(rows.length ? formatTable(rows) : "(no benchmark figures found)");
}
