/**
 * The X-Count, X-Min, X-Max, X-Mean, X-Std-Dev, X-Outliers-Low and
 * X-Outliers-High response headers describing an aggregate, shared by the
 * Watcher's detail pages and the LastDataRecv endpoint.
 *
 * @module
 */
import type { AggregateView } from "./view.ts";

/** Options for {@link aggregateHeaders}. */
export interface AggregateHeadersOptions {
  /**
   * Send every header whatever the count, `NaN` where a figure is not
   * defined (min, max and mean without samples, the standard deviation
   * below two), as the gem's Watcher does. Default true, for the Watcher
   * and LastDataRecv alike, so a client reads the same headers whatever
   * the count; false sends X-Count alone below two samples, as the gem's
   * LastDataRecv does.
   */
  always?: boolean;
}

/** A figure as a header value: JavaScript's own printing, `NaN` when undefined. */
function figure(x: number | undefined): string {
  return x === undefined ? "NaN" : String(x);
}

/**
 * Summary headers of an aggregate: all of them every time, `NaN` where a
 * figure is undefined; with `always: false`, X-Count alone until
 * `count > 1` (the standard deviation needs two samples). Numbers print as
 * JavaScript prints them (`String(x)`).
 *
 * @example
 * ```ts
 * import { Aggregate, aggregateHeaders } from "raindrops";
 * const agg = new Aggregate();
 * agg.add(3);
 * aggregateHeaders(agg);
 * // { "X-Count": "1", "X-Min": "3", "X-Max": "3", "X-Mean": "3", "X-Std-Dev": "NaN",
 * //   "X-Outliers-Low": "0", "X-Outliers-High": "0" }
 * aggregateHeaders(agg, { always: false }); // { "X-Count": "1" }
 * ```
 */
export function aggregateHeaders(agg: AggregateView, options: AggregateHeadersOptions = {}): Record<string, string> {
  const count = agg.count;
  const headers: Record<string, string> = { "X-Count": String(count) };
  if (count > 1 || options.always !== false) {
    headers["X-Min"] = figure(agg.min);
    headers["X-Max"] = figure(agg.max);
    headers["X-Mean"] = figure(agg.mean);
    headers["X-Std-Dev"] = figure(agg.stddev);
    headers["X-Outliers-Low"] = String(agg.outliersLow);
    headers["X-Outliers-High"] = String(agg.outliersHigh);
  }
  return headers;
}
