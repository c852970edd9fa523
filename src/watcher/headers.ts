/**
 * The X-Count, X-Min, X-Max, X-Mean, X-Std-Dev, X-Outliers-Low and
 * X-Outliers-High response headers describing an aggregate, shared by the
 * Watcher's detail pages and the LastDataRecv endpoint.
 *
 * @module
 */
import type { AggregateView } from "../aggregate/view.ts";

/** Options for {@link aggregateHeaders}. */
export interface AggregateHeadersOptions {
  /**
   * Give each figure as soon as it is defined (min, max, mean and the
   * outliers from the first sample, the standard deviation from the second)
   * instead of all of them only from the second sample on. Default false.
   */
  eager?: boolean;
}

/**
 * Summary headers of an aggregate. X-Count is always there; the others
 * only when `count > 1` (as the gem's LastDataRecv does: the standard
 * deviation needs two samples), or with `eager` as soon as each is
 * defined. Numbers print as JavaScript prints them (`String(x)`).
 *
 * @example
 * ```ts
 * import { Aggregate, aggregateHeaders } from "@raindrops/raindrops";
 * const agg = new Aggregate();
 * agg.add(3); agg.add(5);
 * aggregateHeaders(agg);
 * // { "X-Count": "2", "X-Min": "3", "X-Max": "5", "X-Mean": "4", "X-Std-Dev": "1.414...",
 * //   "X-Outliers-Low": "0", "X-Outliers-High": "0" }
 * ```
 */
export function aggregateHeaders(agg: AggregateView, options: AggregateHeadersOptions = {}): Record<string, string> {
  const count = agg.count;
  const headers: Record<string, string> = { "X-Count": String(count) };
  if (count > 1 || (options.eager === true && count > 0)) {
    headers["X-Min"] = String(agg.min);
    headers["X-Max"] = String(agg.max);
    headers["X-Mean"] = String(agg.mean);
    if (count > 1) headers["X-Std-Dev"] = String(agg.stddev);
    headers["X-Outliers-Low"] = String(agg.outliersLow);
    headers["X-Outliers-High"] = String(agg.outliersHigh);
  }
  return headers;
}

/**
 * An HTTP date for ms since the epoch, as in Last-Modified and X-Last-Reset.
 *
 * @example
 * ```ts
 * httpDate(0); // "Thu, 01 Jan 1970 00:00:00 GMT"
 * ```
 */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
