/**
 * Reading a metrics file: each label set's cells added up over the regions
 * that count for it (every region ever used for counters and histograms,
 * live workers' regions for gauges, combined as the gauge says).
 *
 * @module
 */
import { alive } from "../worker_stats.ts";
import { CLAIMING, type MetricsFile, RELEASED, SEGMENT_CELLS } from "./_file.ts";
import type { MetricEntry, SeriesEntry } from "./_series_log.ts";
import type { FamilyRow } from "../exposition/registry_text.ts";

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
    if (!file.used(r)) continue;
    used.push(r);
    if (!gauges) continue;
    const owner = file.owner(r);
    if (owner === RELEASED || (owner & CLAIMING) !== 0n) continue;
    if (owner === file.identity || alive(owner)) live.push(r);
  }
  return { used, live };
}

/**
 * Every cell handed out, added up over `regions`: what counters and
 * histograms show. Page by page (a region's cells of a segment are one
 * page), so the reads are sequential; reading one label set across every
 * region instead would hit pages 4 KiB apart, which share cache sets.
 */
export function totalsOf(file: MetricsFile, regions: readonly number[]): Float64Array {
  file.mapCells();
  const top = file.cellTop, out = new Float64Array(top), f = file.f64, count = regions.length;
  for (let from = 0; from < top; from += SEGMENT_CELLS) {
    const end = Math.min(from + SEGMENT_CELLS, top);
    // Offsets of each region's page of this segment; four pages per pass (a quarter of the stores to `out`).
    const at = regions.map((r) => file.layout.cellIndex(r, from) - from);
    let j = 0;
    for (; j + 4 <= count; j += 4) {
      const a = at[j], b = at[j + 1], c = at[j + 2], d = at[j + 3];
      for (let k = from; k < end; k++) out[k] += (f[a + k] + f[b + k]) + (f[c + k] + f[d + k]);
    }
    for (; j < count; j++) {
      const a = at[j];
      for (let k = from; k < end; k++) out[k] += f[a + k];
    }
  }
  return out;
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
 * The rows of a metric (`totals` from {@link totalsOf} over `regions.used`): every label set that has counted anything (an
 * overflow set last, once it has), in the order they were made; a gauge's
 * label set only while a live worker has set it.
 */
export function rowsOf(file: MetricsFile, regions: Regions, totals: Float64Array, m: MetricEntry): FamilyRow[] {
  const rows: FamilyRow[] = [], gauge = m.definition.type === "gauge";
  // The overflow set (made with its metric) goes last.
  const order = m.series.map((_, i) => i).sort((a, b) => Number(m.series[a].overflow) - Number(m.series[b].overflow));
  for (const i of order) {
    const series = m.series[i];
    if (!gauge) {
      const cells = totals.subarray(series.cell, series.cell + m.cells);
      if (!series.overflow || cells.some((v) => v !== 0)) rows.push({ values: series.values, cells });
    } else if (m.definition.aggregate === "perWorker") {
      for (const worker of regions.live) {
        const at = file.layout.cellIndex(worker, series.cell);
        if (file.f64[at + 1] !== 0) rows.push({ values: series.values, worker, cells: Float64Array.of(file.f64[at]) });
      }
    } else {
      const value = gaugeValue(file, regions.live, series);
      if (value !== undefined) rows.push({ values: series.values, cells: Float64Array.of(value) });
    }
  }
  return rows;
}
