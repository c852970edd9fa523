/**
 * The metrics of shared registries (`src/metrics/`) as OpenTelemetry
 * observable instruments: one instrument (three for a histogram) per
 * metric of each registry's file, made when its name first appears, so
 * metrics defined later, or only by other processes, are picked up.
 *
 * @module
 */
import type { MetricDefinition } from "../metrics/definition.ts";
import { readFamilies, type Registry } from "../metrics/registry.ts";
import { numberText, type RegistryFamily, WORKER_LABEL } from "../exposition/registry_text.ts";
import type { OtelAttributes, OtelBatchCallback, OtelMeter, OtelObservable } from "./meter.ts";

/** The instruments of one registry metric. */
type MetricInstruments =
  | { readonly type: "counter" | "gauge"; readonly value: OtelObservable; ready: boolean }
  | {
    readonly type: "histogram";
    readonly bucket: OtelObservable;
    readonly count: OtelObservable;
    readonly sum: OtelObservable;
    ready: boolean;
  };

/** Units of the Prometheus base-unit suffixes, as UCUM (OTel's Prometheus compatibility table). */
const UNITS: readonly (readonly [string, string])[] = [["_seconds", "s"], ["_bytes", "By"], ["_ratio", "1"]];

/**
 * The instrument name of a registry metric: its own name, a counter's
 * `_total` dropped (OTel names carry none; Prometheus exporters add it
 * back to monotonic sums, so the scraped name is the same either way).
 */
export function instrumentName(d: MetricDefinition): string {
  return d.type === "counter" && d.name.endsWith("_total") && d.name !== "_total" ? d.name.slice(0, -6) : d.name;
}

/** The UCUM unit a metric's name ends with (`_seconds` is `s`), or undefined. */
function unitOf(name: string): string | undefined {
  return UNITS.find(([suffix]) => name.endsWith(suffix))?.[1];
}

/** The instruments of `d` on `meter`. */
function instrumentsOf(meter: OtelMeter, d: MetricDefinition): MetricInstruments {
  const name = instrumentName(d), unit = unitOf(name), description = d.help;
  if (d.type === "counter") {
    return { type: d.type, value: meter.createObservableCounter(name, { description, unit }), ready: false };
  }
  if (d.type === "gauge") {
    return { type: d.type, value: meter.createObservableGauge(name, { description, unit }), ready: false };
  }
  return {
    type: "histogram",
    bucket: meter.createObservableCounter(`${name}_bucket`, {
      description: `${description} (observations at or below the bound \`le\`, cumulative)`,
      unit: "{observation}",
    }),
    count: meter.createObservableCounter(`${name}_count`, {
      description: `${description} (observations)`,
      unit: "{observation}",
    }),
    // Not monotonic: a histogram takes negative observations too.
    sum: meter.createObservableUpDownCounter(`${name}_sum`, { description: `${description} (sum)`, unit }),
    ready: false,
  };
}

/** The observables of a registry metric's instruments. */
function observablesOf(m: MetricInstruments): OtelObservable[] {
  return m.type === "histogram" ? [m.bucket, m.count, m.sum] : [m.value];
}

/** Every family of `registries` now, a name already read from an earlier registry skipped. */
function familiesOf(registries: readonly Registry[]): RegistryFamily[] {
  if (registries.length === 1) return readFamilies(registries[0]);
  const seen = new Set<string>(), out: RegistryFamily[] = [];
  for (const r of registries) {
    for (const f of readFamilies(r)) {
      if (seen.has(f.definition.name)) continue;
      seen.add(f.definition.name);
      out.push(f);
    }
  }
  return out;
}

/**
 * Observes every metric of `registries` on `meter` in one batch callback,
 * which reads each registry's file once per collection, `constant` added
 * to every observation; returns what stops it. A metric first seen in a
 * collection gets its instruments then and is observed from the next
 * collection on (a batch callback's instruments are fixed when it is
 * added, so it is added again with them once the collection is over).
 * `raindrops.registry.series` (the series each metric shows) is always
 * there, so the callback has an instrument before any metric exists.
 */
export function observeRegistries(
  meter: OtelMeter,
  registries: readonly Registry[],
  constant: Readonly<OtelAttributes>,
): () => void {
  const byName = new Map<string, MetricInstruments>();
  const series = meter.createObservableGauge("raindrops.registry.series", {
    description: "Series (label sets, and workers of a per-worker gauge) each registry metric shows now.",
    unit: "{series}",
  });
  let registered: OtelObservable[] = [series];
  let open = true, readding = false;

  const add = (families: readonly RegistryFamily[]) => {
    let added = false;
    for (const f of families) {
      if (byName.has(f.definition.name)) continue;
      byName.set(f.definition.name, instrumentsOf(meter, f.definition));
      added = true;
    }
    return added;
  };
  /** Adds the callback again with every instrument made so far (after the collection that made them). */
  const readd = () => {
    readding = false;
    if (!open) return;
    meter.removeBatchObservableCallback(observe, registered);
    registered = [series, ...[...byName.values()].flatMap(observablesOf)];
    meter.addBatchObservableCallback(observe, registered);
    for (const m of byName.values()) m.ready = true;
  };

  const observe: OtelBatchCallback = (result) => {
    const families = familiesOf(registries);
    if (add(families) && !readding) {
      readding = true;
      queueMicrotask(readd); // the Meter runs every callback of a collection before a microtask
    }
    for (const { definition: d, rows } of families) {
      const m = byName.get(d.name)!;
      result.observe(series, rows.length, { ...constant, "raindrops.metric.name": d.name });
      if (!m.ready) continue;
      for (const row of rows) {
        const attributes: OtelAttributes = { ...constant };
        row.values.forEach((v, i) => v !== "" && (attributes[d.labelNames[i]] = v));
        if (row.worker !== undefined) attributes[WORKER_LABEL] = String(row.worker);
        const c = row.cells;
        if (m.type !== "histogram") {
          result.observe(m.value, c[0], attributes);
          continue;
        }
        const n = d.buckets!.length;
        let cumulative = 0;
        for (let i = 0; i <= n; i++) {
          cumulative += c[i];
          result.observe(m.bucket, cumulative, { ...attributes, le: i < n ? numberText(d.buckets![i]) : "+Inf" });
        }
        result.observe(m.count, cumulative, attributes);
        result.observe(m.sum, c[n + 1], attributes);
      }
    }
  };

  add(familiesOf(registries));
  readd();
  return () => {
    if (!open) return;
    open = false;
    meter.removeBatchObservableCallback(observe, registered);
  };
}
