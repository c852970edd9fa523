/**
 * Prometheus text exposition format 0.0.4, and OpenMetrics 1.0 for
 * scrapers that ask for it, of a stats snapshot.
 *
 * @module
 */
import { metricFamilies, type MetricFamily, type MetricSample, type PrometheusStyle } from "./metric_families.ts";
import { constantLabels, counterFamily, escapeLabel, renderRegistry } from "./registry_text.ts";
import type { StatsSnapshot } from "./snapshot.ts";

function sampleLine(name: string, sample: MetricSample): string {
  const pairs = Object.entries(sample.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${sample.value}\n`;
}

function familiesText(families: readonly MetricFamily[], openMetrics: boolean): string {
  let out = "";
  for (const f of families) {
    const family = openMetrics && f.type === "counter" ? counterFamily(f.name) : f.name;
    out += `# HELP ${family} ${f.help}\n# TYPE ${family} ${f.type}\n`;
    for (const sample of f.samples) out += sampleLine(f.name, sample);
  }
  return out;
}

/**
 * Renders metric families as Prometheus text 0.0.4, or as OpenMetrics 1.0
 * (a counter's family named without `_total`, ending with `# EOF`): for
 * outputs that add families of their own, such as the exporter's.
 *
 * @example
 * ```ts
 * renderFamilies([{ name: "up_things", help: "Things up.", type: "gauge", samples: [{ labels: {}, value: 1 }] }], false);
 * // "# HELP up_things Things up.\n# TYPE up_things gauge\nup_things 1\n"
 * ```
 */
export function renderFamilies(families: readonly MetricFamily[], openMetrics: boolean): string {
  const out = familiesText(families, openMetrics);
  return openMetrics ? `${out}# EOF\n` : out;
}

/** The snapshot's families, then those of its metrics registry (with the style's constant labels). */
function renderSnapshot(s: StatsSnapshot, style: PrometheusStyle | undefined, openMetrics: boolean): string {
  let out = familiesText(metricFamilies(s, style), openMetrics);
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
  return renderSnapshot(s, style, false);
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
  return renderSnapshot(s, style, true);
}
