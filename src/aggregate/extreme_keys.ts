/**
 * How {@link SharedAggregate} stores its smallest and largest sample: as
 * 64-bit keys that only grow, so that a counter's high 32-bit word, read
 * alone without a BigInt, usually settles whether a sample changes them.
 *
 * @module
 */

// A key is HIGH * 2^32 + LOW. HIGH is the float32 bit pattern of the sample
// (for MAX) or its distance below that of 2^53 (for MIN): float32 rounding is
// monotonic and its bit patterns of non-negative numbers sort like the
// numbers, so HIGH orders samples coarsely (exactly below 2^24). LOW orders
// samples with the same float32: the sample's offset from it, which is
// within ±2^29 below 2^53, shifted by 2^31. No key is 0: 0 means "none".
const FLOAT32_BITS_OF_2_53 = 0x5a000000;
const OFFSET = 2 ** 31;

const float32 = new Float32Array(1);
const float32Bits = new Int32Array(float32.buffer);

/**
 * The high word of `sample`'s MAX key; the MIN key's is
 * {@link minHigh}(this). A stored key whose high word is greater than the
 * sample's is greater than the sample's whole key.
 *
 * @example
 * ```ts
 * import { maxHigh } from "./extreme_keys.ts";
 * // A stored MAX key whose high word is above maxHigh(12) settles it: 12 is not a new maximum.
 * const storedHigh = maxHigh(900);
 * console.log(storedHigh > maxHigh(12)); // true
 * ```
 */
export function maxHigh(sample: number): number {
  float32[0] = sample;
  return float32Bits[0];
}

/** The high word of a MIN key from the high word of the sample's MAX key. */
export function minHigh(maxHigh: number): number {
  return FLOAT32_BITS_OF_2_53 - maxHigh;
}

/** The MAX key of a sample from 0 to 2^53-1. */
export function maxKey(sample: number): bigint {
  const high = maxHigh(sample);
  return (BigInt(high) << 32n) | BigInt(sample - float32[0] + OFFSET);
}

/** The MIN key of a sample from 0 to 2^53-1. */
export function minKey(sample: number): bigint {
  const high = maxHigh(sample);
  return (BigInt(minHigh(high)) << 32n) | BigInt(float32[0] - sample + OFFSET);
}

/** The sample of a MAX key, or undefined for 0 (no sample yet). */
export function sampleOfMaxKey(key: bigint): number | undefined {
  if (key === 0n) return undefined;
  float32Bits[0] = Number(key / 2n ** 32n);
  return float32[0] + (Number(key % 2n ** 32n) - OFFSET);
}

/** The sample of a MIN key, or undefined for 0 (no sample yet). */
export function sampleOfMinKey(key: bigint): number | undefined {
  if (key === 0n) return undefined;
  float32Bits[0] = minHigh(Number(key / 2n ** 32n));
  return float32[0] - (Number(key % 2n ** 32n) - OFFSET);
}
