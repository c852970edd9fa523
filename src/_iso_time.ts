/**
 * Times as the apps print them: ISO 8601 in UTC, to the second.
 *
 * @module
 */

/**
 * `ms` (milliseconds since the epoch) as ISO 8601 in UTC to the second.
 *
 * @example
 * ```ts
 * import { isoSeconds } from "./_iso_time.ts";
 * isoSeconds(Date.UTC(2026, 0, 2, 3, 4, 5, 678)); // "2026-01-02T03:04:05Z"
 * ```
 */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
