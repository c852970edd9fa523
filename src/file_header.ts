/**
 * Formats built on a counter file (SharedAggregate, the middleware's worker
 * stats) mark it with a header in counter 0. Claiming a file sets the
 * header on a blank file, and refuses a file that holds data but no header:
 * it belongs to something else, and writing our layout into it would
 * silently corrupt both.
 *
 * The header's top byte records the slot size the file was laid out with
 * (counter 0 is the one counter every slot size places at the same byte), so
 * a process that sees another slot size (e.g. a single CPU online, where
 * slots are one word) refuses the file instead of reading every other
 * counter at the wrong offset. The caller's mark keeps the low 56 bits.
 *
 * @module
 */
import { ForeignFileError } from "./errors.ts";
import { slotSize } from "./native/memory.ts";
import type { Raindrops } from "./raindrops.ts";

const MARK_BITS = 56n;
const MARK_MASK = (1n << MARK_BITS) - 1n;
/** Set in every slot tag, so that 0 is no tag. */
const TAGGED = 0x80n;

/** The top byte of a header written by this process: TAGGED | log2(slot size). */
function slotTag(): bigint {
  return TAGGED | BigInt(Math.log2(slotSize()));
}

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
 * The mark `found` in counter 0 as the caller wrote it (its top byte from
 * `mark`), after checking the slot-size tag; 0n when `found` is 0n.
 */
function decode(rd: Raindrops, found: bigint, mark: bigint, kind: string): bigint {
  if (found === 0n) return 0n;
  const tag = slotTag(), theirs = found >> MARK_BITS;
  if (theirs === tag) return (found & MARK_MASK) | (mark & ~MARK_MASK);
  const path = rd.path ?? "anonymous memory";
  if ((theirs & TAGGED) !== 0n && theirs < (TAGGED | 13n)) {
    throw new ForeignFileError(
      path,
      `was laid out with ${2 ** Number(theirs & ~TAGGED)}-byte counter slots, but this process uses ${slotSize()}`,
    );
  }
  throw new ForeignFileError(path, `is not a ${kind} file: no raindrops header (another program's file)`);
}

/**
 * Puts `mark` (its low 56 bits, under this process's slot-size tag) into
 * counter 0 of a blank file. Returns 0n when this call claimed the file,
 * otherwise the mark already there, with `mark`'s own top byte (the caller
 * checks it). Throws {@link ForeignFileError} for a file with data and no
 * header, or one laid out with another slot size; `kind` names the format
 * in the message.
 *
 * @example
 * ```ts
 * import { claimHeader } from "./file_header.ts";
 * import { Raindrops } from "./raindrops.ts";
 * const MAGIC = 0x5244_4558n;
 * using rd = new Raindrops(4);
 * const found = claimHeader(rd, MAGIC, "example"); // 0n: this call claimed it
 * if (found !== 0n && found !== MAGIC) throw new Error("another format's file");
 * ```
 */
export function claimHeader(rd: Raindrops, mark: bigint, kind: string): bigint {
  // Well-behaved openers write data only after the header is set, so data
  // seen while counter 0 is still 0 (before and after looking) is foreign.
  if (rd.getBigInt(0) === 0n && !blank(rd) && rd.getBigInt(0) === 0n) {
    throw new ForeignFileError(
      rd.path ?? "anonymous memory",
      `is not a ${kind} file: it holds data but no raindrops header`,
    );
  }
  return decode(rd, rd.compareExchange(0, 0, (slotTag() << MARK_BITS) | (mark & MARK_MASK)), mark, kind);
}

/**
 * The mark in counter 0 as {@link claimHeader} returns it, without claiming
 * a blank file (0n), for readers that must not write.
 *
 * @example
 * ```ts
 * import { readHeader } from "./file_header.ts";
 * import { Raindrops } from "./raindrops.ts";
 * using rd = new Raindrops(4);
 * if (readHeader(rd, 0x5244_4558n, "example") === 0n) console.log("not set up yet");
 * ```
 */
export function readHeader(rd: Raindrops, mark: bigint, kind: string): bigint {
  return decode(rd, rd.getBigInt(0), mark, kind);
}
