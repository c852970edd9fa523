/**
 * A gauge over every worker sharing a registry's file: each worker sets its
 * own value, and readers combine the live workers' values as the gauge
 * says.
 *
 * @module
 */
import type { GaugeAggregation } from "./definition.ts";
import { badNumber, type LabelValues, Metric, type MetricConfiguration, SeriesCells, WORKER_LABEL } from "./metric.ts";

export type { GaugeAggregation };
const AGGREGATIONS: readonly GaugeAggregation[] = ["sum", "max", "min", "last", "perWorker"];

/** Configuration of a {@link Gauge}. */
export interface GaugeConfiguration<T extends string> extends MetricConfiguration<T> {
  /**
   * How the live workers' values combine (a dead or exited worker's value
   * drops out at once):
   * - `"sum"` (default): their sum, e.g. jobs in flight;
   * - `"max"` / `"min"`: the highest / lowest of the workers that set it;
   * - `"last"`: the value most recently set by any of them;
   * - `"perWorker"`: one series per worker, labelled `worker` with its slot
   *   number (stable across restarts: a new worker takes a free slot).
   */
  aggregate?: GaugeAggregation;
}

/** A gauge's label set, from `labels(...)`. */
export class GaugeChild extends SeriesCells {
  readonly #stamped: boolean;

  /** The label set `values` of `metric` (made by `labels()`). */
  constructor(metric: Gauge<string>, values: readonly string[]) {
    super(metric, values);
    this.#stamped = metric.definition.aggregate === "last";
  }

  /** Sets this worker's value; the second cell marks it set (with the time, for "last"). */
  set(value: number): void {
    if (typeof value !== "number" || Number.isNaN(value)) throw badNumber("a gauge's value", value, "a number");
    let f = this.file.f64;
    if (this.at >= f.length) f = this.cells();
    f[this.at] = value;
    f[this.at + 1] = this.#stamped ? Date.now() : 1;
  }

  /** Adds `value` (default 1) to this worker's value. */
  inc(value: number = 1): void {
    if (typeof value !== "number" || !Number.isFinite(value)) throw badNumber("a gauge's increment", value, "finite");
    let f = this.file.f64;
    if (this.at >= f.length) f = this.cells();
    f[this.at] += value;
    f[this.at + 1] = this.#stamped ? Date.now() : 1;
  }

  /** Subtracts `value` (default 1) from this worker's value. */
  dec(value: number = 1): void {
    if (typeof value !== "number" || !Number.isFinite(value)) throw badNumber("a gauge's decrement", value, "finite");
    this.inc(-value);
  }

  /** Sets this worker's value to the current Unix time in seconds. */
  setToCurrentTime(): void {
    this.set(Date.now() / 1000);
  }

  /** Starts a timer; the function returned sets the seconds since and returns them. */
  startTimer(): () => number {
    const start = performance.now();
    return () => {
      const seconds = (performance.now() - start) / 1000;
      this.set(seconds);
      return seconds;
    };
  }
}

/**
 * A value that goes up and down, kept per worker and combined over the
 * live workers as `aggregate` says.
 *
 * @example
 * ```ts
 * import { Gauge } from "raindrops";
 * const inFlight = new Gauge({ name: "app_jobs_in_flight", help: "Jobs running now." }); // summed
 * inFlight.inc();
 * inFlight.dec();
 * const heap = new Gauge({ name: "app_heap_bytes", help: "Heap in use.", aggregate: "perWorker" });
 * heap.set(12_345_678);
 * ```
 */
export class Gauge<T extends string = string> extends Metric<T, GaugeChild> {
  /** A gauge named and labelled as `config` says; TypeError or RangeError for a bad configuration. */
  constructor(config: GaugeConfiguration<T>) {
    const aggregate = config?.aggregate ?? "sum";
    if (!AGGREGATIONS.includes(aggregate)) throw new RangeError(`aggregate must be one of ${AGGREGATIONS.join(", ")}`);
    super("gauge", config, { aggregate }, aggregate === "perWorker" ? [WORKER_LABEL] : []);
  }

  /** The child of checked label values. */
  protected child(values: readonly string[]): GaugeChild {
    return new GaugeChild(this, values);
  }

  /** Sets this worker's value of the label set `labels` (default: every label empty). */
  set(labels: LabelValues<T>, value: number): void;
  /** Sets this worker's value of the series without labels. */
  set(value: number): void;
  set(a: unknown, b?: unknown): void {
    const [child, value] = this.split(a, b);
    child.set(value as number);
  }

  /** Adds `value` (default 1). */
  inc(labels: LabelValues<T>, value?: number): void;
  /** Adds `value` (default 1) to the series without labels. */
  inc(value?: number): void;
  inc(a?: unknown, b?: unknown): void {
    const [child, value] = this.split(a, b);
    child.inc(value as number | undefined);
  }

  /** Subtracts `value` (default 1). */
  dec(labels: LabelValues<T>, value?: number): void;
  /** Subtracts `value` (default 1) from the series without labels. */
  dec(value?: number): void;
  dec(a?: unknown, b?: unknown): void {
    const [child, value] = this.split(a, b);
    child.dec(value as number | undefined);
  }

  /** Sets the value to the current Unix time in seconds. */
  setToCurrentTime(labels: LabelValues<T> = {}): void {
    this.labels(labels).setToCurrentTime();
  }

  /**
   * Starts a timer; the function returned sets the seconds since in
   * `labels` merged with the labels it is given, and returns them.
   */
  startTimer(labels: LabelValues<T> = {}): (more?: LabelValues<T>) => number {
    const start = performance.now();
    return (more = {}) => {
      const seconds = (performance.now() - start) / 1000;
      this.labels({ ...labels, ...more }).set(seconds);
      return seconds;
    };
  }
}
