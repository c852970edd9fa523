/**
 * The time a proxy saw a request, from its `X-Request-Start` header, as
 * nginx (`X-Request-Start: t=${msec}`, seconds with a fraction), hosting
 * routers (Heroku: milliseconds, no `t=`) and APM agents (`t=` in
 * microseconds) send it.
 *
 * @module
 */

/** Why a queue-wait figure was dropped: the `reason` label of `raindrops_queue_wait_dropped_total`. */
export type DroppedReason = "unparsable" | "negative" | "too_large";

/**
 * The Unix time in seconds in an `X-Request-Start` value (`t=` optional),
 * its unit told by magnitude: below 1e11 seconds, below 1e14
 * milliseconds, below 1e17 microseconds, else nanoseconds (for any date
 * from 1973 to 5138 the units cannot be confused). Undefined for anything
 * else (empty, not a number, not positive).
 *
 * @example
 * ```ts
 * requestStartSeconds("t=1700000000.250");    // 1700000000.25 (nginx, seconds)
 * requestStartSeconds("1700000000250");       // 1700000000.25 (milliseconds)
 * requestStartSeconds("t=1700000000250000");  // 1700000000.25 (microseconds)
 * requestStartSeconds("soon");                // undefined
 * ```
 */
export function requestStartSeconds(value: string): number | undefined {
  const text = value.charCodeAt(0) === 0x74 /* t */ && value.charCodeAt(1) === 0x3d /* = */ ? value.slice(2) : value;
  if (!/^\s*\d+(\.\d*)?\s*$/.test(text)) return undefined;
  const n = Number(text);
  if (!(n > 0)) return undefined;
  return n < 1e11 ? n : n < 1e14 ? n / 1e3 : n < 1e17 ? n / 1e6 : n / 1e9;
}

/**
 * The seconds between the proxy's start and `nowSeconds`, or why that
 * figure is not believed: a value that does not parse, a start in the
 * future (the proxy's clock ahead of ours), or a wait above `maxSeconds`
 * (a clock far behind, or a header a client forged).
 *
 * @example
 * ```ts
 * queueWaitOf("t=100.5", 101, 60);  // 0.5
 * queueWaitOf("t=102", 101, 60);    // "negative"
 * ```
 */
export function queueWaitOf(value: string, nowSeconds: number, maxSeconds: number): number | DroppedReason {
  const start = requestStartSeconds(value);
  if (start === undefined) return "unparsable";
  const wait = nowSeconds - start;
  if (wait < 0) return "negative";
  if (wait > maxSeconds) return "too_large";
  return wait;
}
