/**
 * Prometheus text exposition format 0.0.4, and OpenMetrics 1.0 for
 * scrapers that ask for it, of a stats snapshot.
 *
 * @module
 */
import { metricFamilies, type MetricFamily, type MetricSample, type PrometheusStyle } from "./metric_families.ts";
import type { StatsSnapshot } from "./snapshot.ts";

/** Escapes a label value (backslash, double quote, newline). */
function labelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function sampleLine(name: string, sample: MetricSample): string {
  const pairs = Object.entries(sample.labels).map(([k, v]) => `${k}="${labelValue(v)}"`);
  return `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${sample.value}\n`;
}

/** Renders families; OpenMetrics names a counter family without `_total` and ends with `# EOF`. */
function renderFamilies(families: readonly MetricFamily[], openMetrics: boolean): string {
  let out = "";
  for (const f of families) {
    const family = openMetrics && f.type === "counter" ? f.name.replace(/_total$/, "") : f.name;
    out += `# HELP ${family} ${f.help}\n# TYPE ${family} ${f.type}\n`;
    for (const sample of f.samples) out += sampleLine(f.name, sample);
  }
  return openMetrics ? `${out}# EOF\n` : out;
}

/**
 * Prometheus text format 0.0.4 of {@link metricFamilies}, with HELP and
 * TYPE lines.
 *
 * @example
 * ```ts
 * renderPrometheus({ calling: 3, writing: 1, workers: 2, requests: 10, listeners: new Map() });
 * // "# HELP raindrops_calling_requests ...\n# TYPE raindrops_calling_requests gauge\nraindrops_calling_requests 3\n..."
 * ```
 */
export function renderPrometheus(s: StatsSnapshot, style?: PrometheusStyle): string {
  return renderFamilies(metricFamilies(s, style), false);
}

/**
 * OpenMetrics 1.0 text of {@link metricFamilies}: as {@link renderPrometheus},
 * but a counter's family is named without `_total` and the text ends with `# EOF`.
 *
 * @example
 * ```ts
 * renderOpenMetrics({ calling: 0, writing: 0, requests: 5, listeners: new Map() }).endsWith("# EOF\n"); // true
 * ```
 */
export function renderOpenMetrics(s: StatsSnapshot, style?: PrometheusStyle): string {
  return renderFamilies(metricFamilies(s, style), true);
}
