/**
 * The Watcher's response headers: HTTP dates, caching by poll, and a
 * figure's summary with its peak times.
 *
 * @module
 */
import { aggregateHeaders } from "../aggregate/headers.ts";
import type { WatchedFigure, WatchedListener } from "./_watched_listener.ts";

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

/** Last-Modified at the last poll (now before any) and Expires at the next one. */
export function cacheHeaders(lastPoll: number, delay: number): Record<string, string> {
  const at = lastPoll || Date.now();
  return { "Last-Modified": httpDate(at), "Expires": httpDate(at + delay * 1000) };
}

/**
 * Every X-* header of one figure: the aggregate's (always, `NaN` where
 * undefined), X-Current, X-Last-Reset and the peak times.
 */
export function figureHeaders(listener: WatchedListener, figure: WatchedFigure): Record<string, string> {
  const h = aggregateHeaders(figure.aggregate, { always: true });
  h["X-Current"] = String(figure.current);
  h["X-Last-Reset"] = httpDate(listener.lastReset);
  // Before any peak above 0, both name the start of these statistics (the gem's name its start).
  h["X-First-Peak-At"] = httpDate(figure.firstPeakAt || listener.lastReset);
  h["X-Last-Peak-At"] = httpDate(figure.lastPeakAt || listener.lastReset);
  return h;
}
