/**
 * Reading a metrics file: each label set's cells added up over the regions
 * that count for it (every region ever used for counters and histograms,
 * live workers' regions for gauges, combined as the gauge says).
 *
 * @module
 */
import { alive } from "../worker_stats.ts";
import { CLAIMING, type MetricsFile, RELEASED } from "./_file.ts";
import type { MetricEntry, SeriesEntry } from "./_series_log.ts";

/** Regions to read, taken once per scrape. */
export interface Regions {
  /** Regions ever used: their counts stay, whoever owns them now. */
  readonly used: readonly number[];
  /** Regions of live workers, for gauges. */
  readonly live: readonly number[];
}

/** The regions of `file` now; `live` is found only when `gauges` (it reads /proc once per owner). */
export function regionsOf(file: MetricsFile, gauges: boolean): Regions {
  const used: number[] = [], live: number[] = [];
  for (let r = 0; r < file.layout.regions; r++) {
    const owner = file.owner(r);
    if (owner === 0n) continue;
    used.push(r);
    if (!gauges || owner === RELEASED || (owner & CLAIMING) !== 0n) continue;
    if (owner === file.identity || alive(owner)) live.push(r);
  }
  return { used, live };
}

/** One row of a family: a label set's figures, and the worker it belongs to for per-worker gauges. */
export interface Row {
  readonly series: SeriesEntry;
  /** The region (worker slot) of a per-worker gauge's row. */
  readonly worker?: number;
  /** A counter's or gauge's value; a histogram's bucket counts, +Inf count and sum. */
  readonly cells: Float64Array;
}

/** Adds the label set's cells over `regions` into `out`. */
function addUp(file: MetricsFile, regions: readonly number[], s: SeriesEntry, out: Float64Array): void {
  const f = file.f64, n = out.length;
  for (const r of regions) {
    const at = file.layout.cellIndex(r, s.cell);
    for (let k = 0; k < n; k++) out[k] += f[at + k];
  }
}

/**
 * A gauge's value over the live regions that have set it (a gauge's second
 * cell is non-zero once its worker set it: the time for "last", else 1),
 * combined as its definition says; undefined when none has.
 */
function gaugeValue(file: MetricsFile, regions: readonly number[], s: SeriesEntry): number | undefined {
  const f = file.f64, how = s.metric.definition.aggregate;
  let value: number | undefined, latest = 0;
  for (const r of regions) {
    const at = file.layout.cellIndex(r, s.cell), v = f[at], time = f[at + 1];
    if (time === 0) continue;
    if (value === undefined) [value, latest] = [v, time];
    else if (how === "max") value = Math.max(value, v);
    else if (how === "min") value = Math.min(value, v);
    else if (how === "last") {
      if (time > latest) [value, latest] = [v, time];
    } else value += v;
  }
  return value;
}

/**
 * The rows of a metric: every label set that has counted anything (an
 * overflow set last, once it has), in the order they were made; a gauge's
 * label set only while a live worker has set it.
 */
export function rowsOf(file: MetricsFile, regions: Regions, m: MetricEntry): Row[] {
  const rows: Row[] = [], type = m.definition.type;
  const ordered = m.overflow ? [...m.series.filter((s) => !s.overflow), m.overflow] : m.series;
  for (const series of ordered) {
    if (type !== "gauge") {
      const cells = new Float64Array(m.cells);
      addUp(file, regions.used, series, cells);
      if (series.overflow && cells.every((v) => v === 0)) continue;
      rows.push({ series, cells });
    } else if (m.definition.aggregate === "perWorker") {
      for (const worker of regions.live) {
        const at = file.layout.cellIndex(worker, series.cell);
        if (file.f64[at + 1] !== 0) rows.push({ series, worker, cells: Float64Array.of(file.f64[at]) });
      }
    } else {
      const value = gaugeValue(file, regions.live, series);
      if (value !== undefined) rows.push({ series, cells: Float64Array.of(value) });
    }
  }
  return rows;
}
