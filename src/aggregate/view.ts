/**
 * The read API common to {@link Aggregate} and {@link SharedAggregate}:
 * summary figures, bucket iteration, the ASCII chart and JSON.
 *
 * @module
 */
import type { Bucket, BucketLayout, HistogramRow } from "./histogram.ts";

/** Plain-object summary of an aggregate, as returned by `toJSON()`. */
export interface AggregateSummary {
  /** Samples added. */
  count: number;
  /** The smallest sample, undefined when none. */
  min: number | undefined;
  /** The largest sample, undefined when none. */
  max: number | undefined;
  /** The sum of the samples. */
  sum: number;
  /** The mean, undefined when no sample. */
  mean: number | undefined;
  /** The sample (n-1) standard deviation, undefined below 2 samples. */
  stddev: number | undefined;
  /** Samples below the first bucket. */
  outliersLow: number;
  /** Samples above the last bucket. */
  outliersHigh: number;
  /** The non-empty buckets only. */
  buckets: { lower: number; upper: number; count: number }[];
}

/**
 * What every aggregate offers. Figures that need samples are `undefined`
 * without them: `min`, `max` and `mean` for no sample, `stddev` (the sample
 * standard deviation, dividing by n-1) for fewer than 2.
 *
 * @example
 * ```ts
 * import { Aggregate, type AggregateView } from "@raindrops/raindrops";
 * function report(agg: AggregateView): string {
 *   return `${agg.count} samples, mean ${agg.mean ?? "-"}\n${agg.chart()}`;
 * }
 * report(new Aggregate());
 * ```
 */
export abstract class AggregateView {
  /** The bucket layout. */
  abstract readonly layout: BucketLayout;
  /** Samples added since creation or the last reset, outliers included. */
  abstract get count(): number;
  /** Sum of every sample. */
  abstract get sum(): number;
  /** Smallest sample, or undefined without samples. */
  abstract get min(): number | undefined;
  /** Largest sample, or undefined without samples. */
  abstract get max(): number | undefined;
  /** Arithmetic mean, or undefined without samples. */
  abstract get mean(): number | undefined;
  /** Sample variance (n-1 in the denominator), or undefined for fewer than 2 samples. */
  abstract get variance(): number | undefined;
  /** Samples below the first bucket. */
  abstract get outliersLow(): number;
  /** Samples at or above the end of the last bucket. */
  abstract get outliersHigh(): number;
  /** Adds one sample. */
  abstract add(sample: number): void;
  /** Forgets every sample; the bucket layout stays. */
  abstract reset(): void;
  /** A snapshot of every bucket's count, in bucket order. */
  protected abstract bucketCounts(): ArrayLike<number>;

  /** Sample standard deviation (n-1), or undefined for fewer than 2 samples. */
  get stddev(): number | undefined {
    const v = this.variance;
    return v === undefined ? undefined : Math.sqrt(v);
  }

  /** Every bucket in order, empty ones included. */
  *buckets(): IterableIterator<Bucket> {
    const counts = this.bucketCounts();
    const layout = this.layout;
    for (let i = 0; i < layout.size; i++) {
      yield { index: i, lower: layout.lower(i), upper: layout.lower(i + 1), count: counts[i] };
    }
  }

  /** The buckets holding at least one sample, in order. */
  *nonEmptyBuckets(): IterableIterator<Bucket> {
    for (const b of this.buckets()) if (b.count > 0) yield b;
  }

  /**
   * The rows {@link chart} draws (without its Total): a `{ label, count }`
   * per bucket from the first to the last non-empty one, and per kind of
   * outlier when there are any.
   */
  rows(): HistogramRow[] {
    return this.layout.rows(this.bucketCounts(), this.outliersLow, this.outliersHigh);
  }

  /**
   * An 80-column ASCII bar chart: a `range | bars count` row per bucket
   * from the first to the last non-empty one, outlier rows when there are
   * outliers, and a final `Total` row.
   */
  chart(): string {
    return this.layout.chart(this.bucketCounts(), this.outliersLow, this.outliersHigh, this.count);
  }

  /** Same as {@link chart}. */
  toString(): string {
    return this.chart();
  }

  /** The summary figures and non-empty buckets as a plain object. */
  toJSON(): AggregateSummary {
    return {
      count: this.count,
      min: this.min,
      max: this.max,
      sum: this.sum,
      mean: this.mean,
      stddev: this.stddev,
      outliersLow: this.outliersLow,
      outliersHigh: this.outliersHigh,
      buckets: [...this.nonEmptyBuckets()].map(({ lower, upper, count }) => ({ lower, upper, count })),
    };
  }
}
