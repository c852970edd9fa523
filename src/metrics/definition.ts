/**
 * What a metric is, as every worker sharing a registry's file agrees on it.
 *
 * @module
 */

/** The kinds of metric. */
export type MetricType = "counter" | "gauge" | "histogram";

/** How a gauge's per-worker values combine into what is shown. */
export type GaugeAggregation = "sum" | "max" | "min" | "last" | "perWorker";

/**
 * A metric as its registry's file stores it: what every worker must agree
 * on (type, label names, buckets, aggregation), and the first definer's
 * help text and label cap.
 */
export interface MetricDefinition {
  /** The metric name. */
  readonly name: string;
  /** Counter, gauge or histogram. */
  readonly type: MetricType;
  /** The HELP text. */
  readonly help: string;
  /** Its label names, in order. */
  readonly labelNames: readonly string[];
  /** Upper bounds of a histogram's buckets, ascending, without +Inf. */
  readonly buckets?: readonly number[];
  /** A gauge's aggregation. */
  readonly aggregate?: GaugeAggregation;
  /** Label sets kept before the overflow set takes the rest. */
  readonly maxLabelSets: number;
  /** The label value of every label in the overflow set. */
  readonly overflowValue: string;
}
