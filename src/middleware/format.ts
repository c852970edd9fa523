/**
 * The stats endpoint's formats: the gem's text and JSON rendered here, the
 * Prometheus ones by `src/exposition/`, and the choice of format for a
 * request (`?format=`, then `Accept`).
 *
 * @module
 */
import type { PrometheusStyle } from "../exposition/metric_families.ts";
import { renderOpenMetrics, renderPrometheus } from "../exposition/_prometheus_text.ts";
import type { StatsSnapshot } from "../exposition/snapshot.ts";
import { registryJson } from "../exposition/registry_text.ts";

/** The output formats. */
export type StatsFormat = "text" | "json" | "prometheus" | "openmetrics";

/** The formats, as accepted by `?format=`. */
export const FORMATS: readonly StatsFormat[] = Object.freeze(["text", "json", "prometheus", "openmetrics"]);

/** Content-Type of each format. */
export const CONTENT_TYPES: Readonly<Record<StatsFormat, string>> = Object.freeze({
  text: "text/plain; charset=utf-8",
  json: "application/json; charset=utf-8",
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
});

/**
 * The gem's format: `calling`, `writing`, then an `active` and a `queued`
 * line per listener.
 *
 * @example
 * ```ts
 * renderText({ calling: 1, writing: 0, listeners: new Map([["0.0.0.0:8080", { active: 2, queued: 0 }]]) });
 * // "calling: 1\nwriting: 0\n0.0.0.0:8080 active: 2\n0.0.0.0:8080 queued: 0\n"
 * ```
 */
export function renderText(s: StatsSnapshot): string {
  let out = `calling: ${s.calling}\nwriting: ${s.writing}\n`;
  for (const [address, l] of s.listeners) out += `${address} active: ${l.active}\n${address} queued: ${l.queued}\n`;
  return out;
}

/**
 * JSON: `{ calling, writing, workers, listeners: { [address]: { active, queued } } }`.
 *
 * @example
 * ```ts
 * JSON.parse(renderJson({ calling: 0, writing: 0, workers: 2, listeners: new Map() }));
 * // { calling: 0, writing: 0, workers: 2, listeners: {} }
 * ```
 */
export function renderJson(s: StatsSnapshot): string {
  const listeners: Record<string, { active: number; queued: number }> = {};
  for (const [address, l] of s.listeners) listeners[address] = { active: l.active, queued: l.queued };
  const metrics = s.metrics?.length ? { metrics: registryJson(s.metrics) } : {};
  return JSON.stringify({ calling: s.calling, writing: s.writing, workers: s.workers ?? null, listeners, ...metrics }) +
    "\n";
}

/** Renders a snapshot in a format (`style` applies to the Prometheus formats). */
export function render(format: StatsFormat, s: StatsSnapshot, style?: PrometheusStyle): string {
  switch (format) {
    case "json":
      return renderJson(s);
    case "prometheus":
      return renderPrometheus(s, style);
    case "openmetrics":
      return renderOpenMetrics(s, style);
    default:
      return renderText(s);
  }
}

/** The format an `Accept` media range asks for, if it is one of ours. */
function formatOfMediaType(type: string, version: string | undefined): StatsFormat | undefined {
  if (type === "application/openmetrics-text") return "openmetrics";
  if (type === "text/plain" && version !== undefined) return "prometheus"; // Prometheus' text format, versioned
  if (type === "application/json") return "json";
  return undefined;
}

/**
 * The format for a request: `?format=text|json|prometheus|openmetrics`
 * wins; otherwise the `Accept` media range with the highest `q` among
 * `application/openmetrics-text` (OpenMetrics), a versioned `text/plain`
 * such as `text/plain;version=0.0.4` (Prometheus text) and
 * `application/json`; anything else gives `fallback` (the gem's text).
 * Undefined for an unknown `?format=`.
 *
 * @example
 * ```ts
 * chooseFormat(undefined, "application/json"); // "json"
 * chooseFormat(undefined, "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"); // "openmetrics"
 * chooseFormat("prometheus", "*\/*");           // "prometheus"
 * chooseFormat(undefined, undefined);           // "text"
 * ```
 */
export function chooseFormat(
  query: string | undefined,
  accept: string | undefined,
  fallback: StatsFormat = "text",
): StatsFormat | undefined {
  if (query !== undefined && query !== "") {
    return (FORMATS as readonly string[]).includes(query) ? query as StatsFormat : undefined;
  }
  if (!accept) return fallback;
  let best: StatsFormat | undefined, bestQ = 0;
  for (const range of accept.toLowerCase().split(",")) {
    const [type, ...params] = range.split(";").map((x) => x.trim());
    let q = 1, version: string | undefined;
    for (const param of params) {
      const eq = param.indexOf("=");
      const key = param.slice(0, eq).trim(), value = param.slice(eq + 1).trim();
      if (key === "q") q = Number(value);
      else if (key === "version") version = value;
    }
    const format = formatOfMediaType(type, version);
    if (format !== undefined && q > bestQ) [best, bestQ] = [format, q];
  }
  return best ?? fallback;
}
