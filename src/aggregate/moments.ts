/**
 * Mean and variance from exact integer sums, the one formula both
 * {@link Aggregate} (while its samples are integers) and
 * {@link SharedAggregate} use, so that they agree to the last bit.
 *
 * @module
 */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The mean of `count` samples whose exact sum is `sum`: the sum divided in
 * integers first, so a sum beyond 2^53 is not rounded before the division.
 *
 * @example
 * ```ts
 * exactMean(400, 20200n); // 50.5
 * ```
 */
export function exactMean(count: number, sum: bigint): number {
  if (sum <= MAX_SAFE && sum >= -MAX_SAFE) return Number(sum) / count;
  const n = BigInt(count);
  const whole = sum / n;
  return Number(whole) + Number(sum - whole * n) / count;
}

/**
 * The sample variance (n-1 in the denominator) of `count` samples from
 * their exact sum and sum of squares: `n·Σx² − (Σx)²` is computed exactly,
 * so large samples close together lose nothing to cancellation.
 *
 * @example
 * ```ts
 * exactVariance(8, 40n, 232n); // 32 / 7
 * ```
 */
export function exactVariance(count: number, sum: bigint, squares: bigint): number {
  const scaled = BigInt(count) * squares - sum * sum;
  // Below 0 only in a shared read racing with add(): no sample is missing, some are half-added.
  return scaled <= 0n ? 0 : Number(scaled) / (count * (count - 1));
}
