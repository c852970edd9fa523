/**
 * A counter over every worker sharing a registry's file: each worker adds
 * to its own cells, readers add up every worker's, past and present.
 *
 * @module
 */
import { badNumber, type LabelValues, Metric, type MetricConfiguration, SeriesCells } from "./metric.ts";

/** A counter's label set, from `labels(...)`: keep it to count without a lookup. */
export class CounterChild extends SeriesCells {
  /** Adds `value` (default 1; finite, not negative). */
  inc(value: number = 1): void {
    if (typeof value !== "number" || !(value >= 0 && value < Infinity)) {
      throw badNumber("a counter's increment", value, "finite and not negative");
    }
    let f = this.file.f64;
    if (this.at >= f.length) f = this.cells();
    f[this.at] += value;
  }
}

/**
 * A value that only goes up, summed over every worker that ever wrote it:
 * a worker that dies or exits keeps its share, and the next worker in its
 * region adds on, so the total never goes down.
 *
 * @example
 * ```ts
 * import { Counter } from "raindrops";
 * const requests = new Counter({ name: "app_requests_total", help: "Requests served.", labelNames: ["method"] });
 * const gets = requests.labels("GET"); // keep it: inc() on it is a plain store
 * gets.inc();
 * requests.inc({ method: "POST" }, 2);
 * ```
 */
export class Counter<T extends string = string> extends Metric<T, CounterChild> {
  /** A counter named and labelled as `config` says; TypeError or RangeError for a bad configuration. */
  constructor(config: MetricConfiguration<T>) {
    super("counter", config, {}, []);
  }

  /** The child of checked label values. */
  protected child(values: readonly string[]): CounterChild {
    return new CounterChild(this, values);
  }

  /** Adds `value` (default 1) to the label set `labels` (default: every label empty). */
  inc(labels: LabelValues<T>, value?: number): void;
  /** Adds `value` (default 1) to the series without labels (every label empty). */
  inc(value?: number): void;
  inc(a?: unknown, b?: unknown): void {
    const [child, value] = this.split(a, b);
    child.inc(value as number | undefined);
  }
}
