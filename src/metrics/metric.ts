/**
 * What counters, gauges and histograms share: their configuration, label
 * sets (`labels()`), and the cells of a label set in this thread's region.
 *
 * @module
 */
import type { GaugeAggregation, MetricDefinition, MetricType } from "./definition.ts";
import { adopt, type MetricValues, register, type RegisteredMetric, Registry, storeOf, valuesOf } from "./registry.ts";
import { SEGMENT_CELLS } from "./_file.ts";
import { WORKER_LABEL } from "../exposition/registry_text.ts";

/** Label values by label name; a missing label is the empty value. */
export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

/** Configuration shared by {@link Counter}, {@link Gauge} and {@link Histogram} (prom-client's names). */
export interface MetricConfiguration<T extends string> {
  /** The metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`); a counter's conventionally ends in `_total`. */
  name: string;
  /** The HELP text. */
  help: string;
  /** Names of its labels, in the order `labels(...)` takes values. */
  labelNames?: readonly T[];
  /**
   * Registries that render it (ours or prom-client's). Its figures live in
   * the file of the first of ours listed, else of the default
   * {@link register}; default `[register]`.
   */
  registers?: readonly (Registry | { registerMetric(metric: never): void })[];
  /**
   * The most label sets kept (default 1000, over every worker of the file):
   * a label value that would make one more (a user id, a raw URL) counts in
   * the overflow set instead, whose every label is {@link overflowValue}.
   */
  maxLabelSets?: number;
  /** The label value of the overflow set (default `"__overflow__"`). */
  overflowValue?: string;
}

/** Default of {@link MetricConfiguration.maxLabelSets}. */
export const DEFAULT_MAX_LABEL_SETS = 1000;
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Before first use: no cells, so the first write finds them. */
const UNOPENED = { f64: new Float64Array(0) };

/**
 * The cells of one label set in this thread's region. `file` and `at` are
 * read on every write: the mapping is renewed when the file grows, and
 * opened again after the registry is closed.
 */
export class SeriesCells {
  /** The open file (its current `f64`), or a stand-in with no cells before first use. */
  protected file: { f64: Float64Array } = UNOPENED;
  /** Index in `file.f64` of the first cell. */
  protected at = 0;
  readonly #metric: Metric<string>;
  readonly #values: readonly string[];

  /** The label set `values` of `metric` (made by `labels()`). */
  constructor(metric: Metric<string>, values: readonly string[]) {
    this.#metric = metric;
    this.#values = values;
  }

  /** Finds the cells (opening the file and claiming this thread's region as needed); returns `file.f64`. */
  protected cells(): Float64Array {
    const store = storeOf(this.#metric.home);
    const region = store.region();
    const series = store.log.series(store.log.metric(this.#metric.definition), this.#values);
    store.file.mapCells();
    this.file = store.file;
    this.at = store.file.layout.cellIndex(region, series.cell);
    return store.file.f64;
  }
}

/** RangeError naming a bad sample or increment. */
export function badNumber(what: string, value: unknown, rule: string): Error {
  if (typeof value !== "number") return new TypeError(`${what} must be a number, got ${typeof value}`);
  return new RangeError(`${what} must be ${rule}, got ${value}`);
}

/** The parts of a definition a metric type adds. */
export interface DefinitionExtras {
  /** A histogram's bucket bounds. */
  readonly buckets?: readonly number[];
  /** A gauge's aggregation. */
  readonly aggregate?: GaugeAggregation;
}

/**
 * A metric: its checked configuration, its label sets, and prom-client's
 * `get()`. `T` is the union of its label names.
 */
export abstract class Metric<T extends string, Child extends SeriesCells = SeriesCells> implements RegisteredMetric {
  /** Its name (prom-client's `Registry` may rewrite it when rendering OpenMetrics). */
  name: string;
  /** The HELP text. */
  readonly help: string;
  /** Counter, gauge or histogram. */
  readonly type: MetricType;
  /** How prom-client's cluster aggregation combines it: these figures are already totals over workers. */
  readonly aggregator = "first";
  /** Its label names, in the order `labels(...)` takes values. */
  readonly labelNames: readonly T[];
  /** What is stored in the file. */
  readonly definition: MetricDefinition;
  /** The registry whose file holds its figures. */
  readonly home: Registry;
  readonly #children = new Map<string, Child>();
  readonly #index: ReadonlyMap<string, number>;

  /**
   * Checks `config` (TypeError or RangeError) and registers the metric in
   * `config.registers`; `reserved` are label names its own series use.
   */
  constructor(type: MetricType, config: MetricConfiguration<T>, extras: DefinitionExtras, reserved: readonly string[]) {
    if (config === null || typeof config !== "object") throw new TypeError("configuration must be an object");
    const { name, help } = config;
    if (typeof name !== "string") throw new TypeError(`name must be a string, got ${typeof name}`);
    if (!NAME.test(name)) {
      throw new RangeError(`metric name ${JSON.stringify(name)} is invalid ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
    }
    if (typeof help !== "string" || help === "") throw new TypeError(`help of ${name} must be a non-empty string`);
    const labelNames = config.labelNames ?? [];
    if (!Array.isArray(labelNames)) throw new TypeError(`labelNames of ${name} must be an array of strings`);
    labelNames.forEach((l, i) => {
      if (typeof l !== "string") throw new TypeError(`label names of ${name} must be strings, got ${typeof l}`);
      if (!LABEL.test(l) || l.startsWith("__")) {
        throw new RangeError(`label name ${JSON.stringify(l)} is invalid ([a-zA-Z_][a-zA-Z0-9_]*, not starting "__")`);
      }
      if (reserved.includes(l)) throw new RangeError(`label name ${l} is used by ${name}'s own series`);
      if (labelNames.indexOf(l) !== i) throw new RangeError(`label name ${l} is given twice`);
    });
    const maxLabelSets = config.maxLabelSets ?? DEFAULT_MAX_LABEL_SETS;
    if (!Number.isSafeInteger(maxLabelSets) || maxLabelSets < 1) {
      throw new RangeError(`maxLabelSets must be a positive integer, got ${maxLabelSets}`);
    }
    const overflowValue = config.overflowValue ?? "__overflow__";
    if (typeof overflowValue !== "string") throw new TypeError("overflowValue must be a string");
    const registers = config.registers ?? [register];
    if (!Array.isArray(registers)) throw new TypeError("registers must be an array of registries");
    this.name = name;
    this.help = help;
    this.type = type;
    this.labelNames = Object.freeze([...labelNames]);
    this.#index = new Map(labelNames.map((l, i) => [l, i]));
    this.definition = Object.freeze({
      name,
      type,
      help,
      labelNames: this.labelNames,
      ...extras,
      maxLabelSets,
      overflowValue,
    });
    this.home = registers.find((r): r is Registry => r instanceof Registry) ?? register;
    adopt(this.home, this.definition);
    for (const r of registers) {
      if (r === null || typeof r !== "object" || typeof r.registerMetric !== "function") {
        throw new TypeError("each of registers must be a registry (an object with registerMetric)");
      }
      r.registerMetric(this as never);
    }
  }

  /** A new child for label values (checked). */
  protected abstract child(values: readonly string[]): Child;

  /**
   * The label set of these values, positional (in `labelNames` order) or
   * by name; a label left out has the empty value.
   */
  labels(...values: (string | number)[]): Child;
  /** The label set of these values by label name; a label left out has the empty value. */
  labels(labels: LabelValues<T>): Child;
  labels(...args: unknown[]): Child {
    const values = args.length === 1 && typeof args[0] === "object" && args[0] !== null
      ? this.#byName(args[0] as Record<string, unknown>)
      : this.#positional(args);
    const key = values.length === 1
      ? values[0]
      : values.some((v) => v.includes("\0"))
      ? JSON.stringify(values)
      : values.join("\0");
    let child = this.#children.get(key);
    if (child === undefined) {
      child = this.child(values);
      // Label sets past the cap all write the overflow set: keep no child for each.
      if (this.#children.size <= this.definition.maxLabelSets) this.#children.set(key, child);
    }
    return child;
  }

  #text(name: string, value: unknown): string {
    if (typeof value === "string") return value;
    if (typeof value === "number") return String(value);
    throw new TypeError(`label ${name} of ${this.name} must be a string or number, got ${typeof value}`);
  }

  #positional(args: unknown[]): string[] {
    if (args.length !== this.labelNames.length) {
      throw new RangeError(
        `${this.name} has ${this.labelNames.length} labels (${this.labelNames.join(", ")}), got ${args.length} values`,
      );
    }
    return args.map((v, i) => this.#text(this.labelNames[i], v));
  }

  #byName(labels: Record<string, unknown>): string[] {
    const values = this.labelNames.map(() => "");
    for (const [name, value] of Object.entries(labels)) {
      const i = this.#index.get(name);
      if (i === undefined) {
        throw new RangeError(`${this.name} has no label ${name} (it has ${this.labelNames.join(", ") || "none"})`);
      }
      if (value !== undefined) values[i] = this.#text(name, value);
    }
    return values;
  }

  /** The child of the metric's arguments: `(labels, value)` or `(value)`; returns it and the value. */
  protected split(a: unknown, b: unknown): [Child, unknown] {
    if (typeof a === "object" && a !== null) return [this.labels(a as LabelValues<T>), b];
    return [this.labels(...this.labelNames.map(() => "")), a];
  }

  /** Every label set's figures over every worker, as prom-client's `Registry` reads them. */
  get(): Promise<MetricValues> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: valuesOf(this.home, this.definition),
    });
  }
}

/** Checks histogram buckets: finite, strictly ascending, at most what one segment holds. */
export function checkBuckets(buckets: unknown): number[] {
  if (!Array.isArray(buckets) || buckets.length === 0) {
    throw new TypeError("buckets must be a non-empty array of numbers");
  }
  if (buckets.length > SEGMENT_CELLS - 2) {
    throw new RangeError(`at most ${SEGMENT_CELLS - 2} buckets, got ${buckets.length}`);
  }
  const out = buckets.filter((b) => b !== Infinity);
  out.forEach((b, i) => {
    if (typeof b !== "number" || !Number.isFinite(b)) {
      throw new RangeError(`bucket bounds must be finite numbers, got ${b}`);
    }
    if (i > 0 && !(b > out[i - 1])) {
      throw new RangeError(`bucket bounds must ascend strictly, got ${out[i - 1]} then ${b}`);
    }
  });
  return out;
}

/** The label a per-worker gauge adds. */
export { WORKER_LABEL };
