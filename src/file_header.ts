/**
 * Formats built on a counter file (SharedAggregate, the middleware's worker
 * stats) mark it with a magic number in counter 0. Claiming a file sets the
 * mark on a blank file, and refuses a file that holds data but no mark: it
 * belongs to something else, and writing our layout into it would silently
 * corrupt both.
 *
 * @module
 */
import type { Raindrops } from "./raindrops.ts";

/** True when every counter the mapping holds (not only those in use) is 0. */
function blank(rd: Raindrops): boolean {
  const size = rd.size;
  rd.size = rd.capa;
  try {
    return rd.toBigIntArray().every((v) => v === 0n);
  } finally {
    rd.size = size;
  }
}

/**
 * Puts `mark` into counter 0 of a blank file. Returns 0n when this call
 * claimed the file, otherwise the mark already there (the caller checks
 * it), or `null` for a file with data and no mark.
 *
 * @example
 * ```ts
 * import { claimHeader } from "./file_header.ts";
 * import { Raindrops } from "./raindrops.ts";
 * const MAGIC = 0x52444d41524b3031n;
 * using rd = new Raindrops(4);
 * const found = claimHeader(rd, MAGIC);
 * if (found === null || (found !== 0n && found !== MAGIC)) throw new RangeError("not our file");
 * ```
 */
export function claimHeader(rd: Raindrops, mark: bigint): bigint | null {
  // Well-behaved openers write data only after the mark is set, so data seen
  // while counter 0 is still 0 (before and after looking) is foreign.
  if (rd.getBigInt(0) === 0n && !blank(rd) && rd.getBigInt(0) === 0n) return null;
  return rd.compareExchange(0, 0, mark);
}
