/**
 * A histogram over every worker sharing a registry's file: bucket counts
 * and sums per worker, added up by readers.
 *
 * @module
 */
import { badNumber, checkBuckets, type LabelValues, Metric, type MetricConfiguration, SeriesCells } from "./metric.ts";

/** Bucket upper bounds used when none are given: seconds, from 5 ms to 10 s. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);

/** Configuration of a {@link Histogram}. */
export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
  /**
   * Upper bounds (`le`) of the buckets in base units (seconds, bytes),
   * strictly ascending; +Inf is always added. Default {@link DEFAULT_BUCKETS}.
   */
  buckets?: readonly number[];
}

/** A histogram's label set, from `labels(...)`. */
export class HistogramChild extends SeriesCells {
  /** The bounds as a typed array: a frozen array's elements are slow to read on JavaScriptCore. */
  readonly #bounds: Float64Array;

  /** The label set `values` of `metric` (made by `labels()`). */
  constructor(metric: Histogram<string>, values: readonly string[]) {
    super(metric, values);
    this.#bounds = Float64Array.from(metric.definition.buckets!);
  }

  /** Counts `value` (a finite number, in base units) in its bucket and adds it to the sum. */
  observe(value: number): void {
    if (!Number.isFinite(value)) throw badNumber("an observed value", value, "finite"); // false for non-numbers too
    // The first bound not below the value, by bisection: as few comparisons for any value.
    const bounds = this.#bounds, n = bounds.length;
    let i = 0, end = n;
    while (i < end) {
      const mid = (i + end) >> 1;
      if (value > bounds[mid]) i = mid + 1;
      else end = mid;
    }
    let f = this.file.f64;
    if (this.at >= f.length) f = this.cells();
    const at = this.at;
    f[at + i]++;
    f[at + n + 1] += value;
  }

  /** Starts a timer; the function returned observes the seconds since and returns them. */
  startTimer(): () => number {
    const start = performance.now();
    return () => {
      const seconds = (performance.now() - start) / 1000;
      this.observe(seconds);
      return seconds;
    };
  }
}

/**
 * A histogram summed over every worker, past and present: bucket counts,
 * count and sum only grow (with non-negative values), whichever workers
 * die. Buckets are in base units, as Prometheus names them
 * (`…_seconds`, `…_bytes`).
 *
 * @example
 * ```ts
 * import { Histogram } from "raindrops";
 * const duration = new Histogram({
 *   name: "app_request_duration_seconds", help: "Request duration.",
 *   labelNames: ["route"], buckets: [0.01, 0.1, 1],
 * });
 * duration.labels("/").observe(0.042);
 * const done = duration.startTimer({ route: "/slow" });
 * done(); // observes the seconds since startTimer
 * ```
 */
export class Histogram<T extends string = string> extends Metric<T, HistogramChild> {
  /** A histogram named and labelled as `config` says; TypeError or RangeError for a bad configuration. */
  constructor(config: HistogramConfiguration<T>) {
    super("histogram", config, { buckets: Object.freeze(checkBuckets(config?.buckets ?? DEFAULT_BUCKETS)) }, ["le"]);
  }

  /** The child of checked label values. */
  protected child(values: readonly string[]): HistogramChild {
    return new HistogramChild(this, values);
  }

  /** Observes `value` in the label set `labels` (default: every label empty). */
  observe(labels: LabelValues<T>, value: number): void;
  /** Observes `value` in the series without labels (every label empty). */
  observe(value: number): void;
  observe(a: unknown, b?: unknown): void {
    const [child, value] = this.split(a, b);
    child.observe(value as number);
  }

  /**
   * Starts a timer; the function returned observes the seconds since in
   * `labels` merged with the labels it is given, and returns them.
   */
  startTimer(labels: LabelValues<T> = {}): (more?: LabelValues<T>) => number {
    const start = performance.now();
    return (more = {}) => {
      const seconds = (performance.now() - start) / 1000;
      this.labels({ ...labels, ...more }).observe(seconds);
      return seconds;
    };
  }
}
