/**
 * HTTP dates for the Watcher's headers.
 *
 * @module
 */

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
