/**
 * Prometheus text exposition format 0.0.4, and OpenMetrics 1.0 for
 * scrapers that ask for it, of a stats snapshot.
 *
 * @module
 */
import { metricFamilies, type MetricSample, type PrometheusStyle } from "./metric_families.ts";
import { constantLabels, counterFamily, escapeLabel, renderRegistry } from "./registry_text.ts";
import type { StatsSnapshot } from "./snapshot.ts";

function sampleLine(name: string, sample: MetricSample): string {
  const pairs = Object.entries(sample.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${sample.value}\n`;
}

/**
 * Renders the snapshot's families, then the families of its metrics
 * registry (with the style's constant labels); OpenMetrics names a counter
 * family without `_total` and ends with `# EOF`.
 */
function renderFamilies(s: StatsSnapshot, style: PrometheusStyle | undefined, openMetrics: boolean): string {
  let out = "";
  for (const f of metricFamilies(s, style)) {
    const family = openMetrics && f.type === "counter" ? counterFamily(f.name) : f.name;
    out += `# HELP ${family} ${f.help}\n# TYPE ${family} ${f.type}\n`;
    for (const sample of f.samples) out += sampleLine(f.name, sample);
  }
  if (s.metrics) out += renderRegistry(s.metrics, openMetrics, constantLabels(style?.labels ?? {}));
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
  return renderFamilies(s, style, false);
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
  return renderFamilies(s, style, true);
}
