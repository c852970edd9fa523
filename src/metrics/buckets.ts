/**
 * Bucket bound generators for histograms.
 *
 * @module
 */

/**
 * `count` bounds from `start`, `width` apart.
 *
 * @example
 * ```ts
 * import { linearBuckets } from "raindrops";
 * linearBuckets(0.1, 0.1, 3); // [0.1, 0.2, 0.30000000000000004]
 * ```
 */
export function linearBuckets(start: number, width: number, count: number): number[] {
  if (![start, width, count].every(Number.isFinite) || width <= 0 || !Number.isInteger(count) || count < 1) {
    throw new RangeError("linearBuckets needs finite start, positive width and a positive integer count");
  }
  return Array.from({ length: count }, (_, i) => start + i * width);
}

/**
 * `count` bounds from `start`, each `factor` times the one before.
 *
 * @example
 * ```ts
 * import { exponentialBuckets } from "raindrops";
 * exponentialBuckets(0.001, 10, 4); // [0.001, 0.01, 0.1, 1]
 * ```
 */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (
    ![start, factor, count].every(Number.isFinite) || start <= 0 || factor <= 1 || !Number.isInteger(count) || count < 1
  ) {
    throw new RangeError("exponentialBuckets needs a positive start, a factor above 1 and a positive integer count");
  }
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}
