/**
 * The families of a metrics registry (`src/metrics/`) as Prometheus text
 * (0.0.4) or OpenMetrics 1.0, as JSON, and as the values prom-client's
 * `Registry` reads from a metric's `get()`; and the escaping and naming
 * rules every Prometheus exposition here follows.
 *
 * @module
 */
import type { MetricDefinition } from "../metrics/definition.ts";

/** One series of a registry's metric as read at one moment. */
export interface FamilyRow {
  /** Its label values, in the order of the metric's label names ("" for a label left out). */
  readonly values: readonly string[];
  /** The worker slot of a per-worker gauge's series. */
  readonly worker?: number;
  /** A counter's or gauge's value; a histogram's bucket counts (not cumulative), +Inf count and sum. */
  readonly cells: Float64Array;
}

/** A metric of a registry as read at one moment: its definition and its series. */
export interface RegistryFamily {
  /** The metric, as its file defines it. */
  readonly definition: MetricDefinition;
  /** Its series, in the order they were made (the overflow set last). */
  readonly rows: readonly FamilyRow[];
}

/** The label that tells the workers of a per-worker gauge apart. */
export const WORKER_LABEL = "worker";

/** A number as the exposition formats write it. */
export function numberText(v: number): string {
  return Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v);
}

/** Escapes a label value (backslash, double quote, newline). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** `a="x",b="y"` of a label set (labels whose value is empty are left out, as Prometheus reads them). */
function labelText(names: readonly string[], values: readonly string[]): string {
  return values.map((v, i) => (v === "" ? "" : `${names[i]}="${escapeLabel(v)}"`)).filter(Boolean).join(",");
}

/** The labels of a row without braces: constant labels first, then the set's own, then its worker. */
function rowLabels(d: MetricDefinition, constant: string, row: FamilyRow): string {
  const own = labelText(d.labelNames, row.values),
    worker = row.worker === undefined ? "" : `${WORKER_LABEL}="${row.worker}"`;
  return [constant, own, worker].filter(Boolean).join(",");
}

/** The family name OpenMetrics gives a counter (without `_total`). */
export function counterFamily(name: string): string {
  return name.endsWith("_total") ? name.slice(0, -6) : name;
}

/**
 * Each row's line starts (name and labels, up to the value), kept for the
 * next scrape by its label values (the same array as long as its registry
 * is open).
 */
const lineStarts = new WeakMap<readonly string[], { key: string; starts: string[] }>();

/**
 * The starts of a row's lines, up to the value: one for a counter or
 * gauge; a histogram's buckets, +Inf, sum and count.
 */
function startsOf(d: MetricDefinition, row: FamilyRow, openMetrics: boolean, constant: string): string[] {
  const key = `${openMetrics}${d.name}${constant}`;
  const cached = row.worker === undefined ? lineStarts.get(row.values) : undefined;
  if (cached?.key === key) return cached.starts;
  const labels = rowLabels(d, constant, row), own = labels ? `{${labels}}` : "";
  let starts: string[];
  if (d.type !== "histogram") {
    const name = openMetrics && d.type === "counter" ? `${counterFamily(d.name)}_total` : d.name;
    starts = [`${name}${own} `];
  } else {
    const bucket = `${d.name}_bucket{${labels ? `${labels},` : ""}le="`;
    starts = [...d.buckets!.map((b) => `${bucket}${numberText(b)}"} `), `${bucket}+Inf"} `];
    starts.push(`${d.name}_sum${own} `, `${d.name}_count${own} `);
  }
  if (row.worker === undefined) lineStarts.set(row.values, { key, starts });
  return starts;
}

/**
 * One metric family in Prometheus text or OpenMetrics, every line ending in
 * a newline. `constant` is a rendered list of labels put on every series.
 */
export function renderFamily(
  d: MetricDefinition,
  rows: readonly FamilyRow[],
  openMetrics: boolean,
  constant = "",
): string {
  const family = openMetrics && d.type === "counter" ? counterFamily(d.name) : d.name;
  const help = openMetrics ? d.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"') : d.help
    .replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  let out = `# HELP ${family} ${help}\n# TYPE ${family} ${d.type}\n`;
  for (const row of rows) {
    const starts = startsOf(d, row, openMetrics, constant), c = row.cells;
    if (d.type !== "histogram") {
      out += `${starts[0]}${numberText(c[0])}\n`;
      continue;
    }
    const n = c.length - 1; // buckets and +Inf
    let cumulative = 0;
    for (let i = 0; i < n; i++) {
      cumulative += c[i];
      out += `${starts[i]}${cumulative}\n`;
    }
    out += `${starts[n]}${numberText(c[n])}\n${starts[n + 1]}${cumulative}\n`;
  }
  return out;
}

/** `a="x",b="y"` of constant labels, put on every series. */
export function constantLabels(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
}

/**
 * Every family of a registry in Prometheus text or OpenMetrics (without
 * `# EOF`); `constant` from {@link constantLabels}.
 *
 * @example
 * ```ts
 * import { readFamilies, register } from "../metrics/registry.ts";
 * renderRegistry(readFamilies(register), false); // "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total 3\n"
 * ```
 */
export function renderRegistry(families: readonly RegistryFamily[], openMetrics: boolean, constant = ""): string {
  let out = "";
  for (const f of families) out += renderFamily(f.definition, f.rows, openMetrics, constant);
  return out;
}

/**
 * A registry's families for the stats endpoint's JSON: by name, the type,
 * help and each series' labels with its value, or for a histogram its
 * cumulative bucket counts by bound, sum and count.
 *
 * @example
 * ```ts
 * import { readFamilies, register } from "../metrics/registry.ts";
 * registryJson(readFamilies(register));
 * // { jobs_total: { type: "counter", help: "Jobs run.", series: [{ labels: {}, value: 3 }] } }
 * ```
 */
export function registryJson(families: readonly RegistryFamily[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { definition: d, rows } of families) {
    const series = rows.map((row) => {
      const labels: Record<string, string> = {};
      row.values.forEach((v, i) => v !== "" && (labels[d.labelNames[i]] = v));
      if (row.worker !== undefined) labels[WORKER_LABEL] = String(row.worker);
      if (d.type !== "histogram") return { labels, value: row.cells[0] };
      const buckets: Record<string, number> = {}, n = d.buckets!.length;
      let cumulative = 0;
      for (let i = 0; i <= n; i++) buckets[i < n ? numberText(d.buckets![i]) : "+Inf"] = cumulative += row.cells[i];
      return { labels, buckets, sum: row.cells[n + 1], count: cumulative };
    });
    out[d.name] = { type: d.type, help: d.help, series };
  }
  return out;
}

/** One value as prom-client's `Registry` reads it. */
export interface PromClientValue {
  /** The series' value. */
  value: number;
  /** Its labels (a histogram bucket's `le` is its bound, or `"+Inf"`). */
  labels: Record<string, string | number>;
  /** The series' own name when it is not the metric's (`…_bucket`, `…_sum`, `…_count`). */
  metricName?: string;
}

/** The rows as prom-client's `get()` values (histograms as `_bucket`, `_sum` and `_count` values). */
export function promClientValues(d: MetricDefinition, rows: readonly FamilyRow[]): PromClientValue[] {
  const out: PromClientValue[] = [];
  for (const row of rows) {
    const labels: Record<string, string | number> = {};
    row.values.forEach((v, i) => v !== "" && (labels[d.labelNames[i]] = v));
    if (row.worker !== undefined) labels[WORKER_LABEL] = String(row.worker);
    if (d.type !== "histogram") {
      out.push({ value: row.cells[0], labels });
      continue;
    }
    const c = row.cells, n = d.buckets!.length;
    let cumulative = 0;
    for (let i = 0; i <= n; i++) {
      cumulative += c[i];
      const le = i < n ? d.buckets![i] : "+Inf";
      out.push({ value: cumulative, labels: { ...labels, le }, metricName: `${d.name}_bucket` });
    }
    out.push({ value: c[n + 1], labels, metricName: `${d.name}_sum` });
    out.push({ value: cumulative, labels, metricName: `${d.name}_count` });
  }
  return out;
}
