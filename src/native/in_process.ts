/**
 * Counter files without libraindrops: where the library has no build for
 * the platform (macOS, Windows) and `RAINDROPS_NATIVE` allows it, each
 * path names a block of ordinary memory in this JS thread instead of a
 * shared file. Counters, Struct and WorkerStats work unchanged, but nothing
 * is shared: every process and every Worker thread has its own blocks.
 *
 * @module
 */
import process from "node:process";
import type { Mapping } from "./memory.ts";

/** Page and slot sizes of in-process memory: the usual 4 KiB page, 64-byte cache line. */
export const IN_PROCESS_PAGE = 4096, IN_PROCESS_SLOT = 64;

/** The most bytes one block may grow to: Raindrops' 2^26 counters of one slot each. */
const MAX_BYTES = 2 ** 26 * IN_PROCESS_SLOT;

/**
 * One block per path, as a file would be. Blocks are resizable, so every
 * Raindrops on the path sees a growth made through any of them, and they
 * live as long as the thread, as a file stays until it is removed.
 */
const blocks = new Map<string, ArrayBuffer>();

/** The block named `path`, created or grown to at least `bytes` (new bytes are zero, as in a grown file). */
function block(path: Uint8Array, bytes: number): ArrayBuffer {
  const name = new TextDecoder().decode(path.subarray(0, -1));
  let buffer = blocks.get(name);
  if (!buffer) blocks.set(name, buffer = new ArrayBuffer(bytes, { maxByteLength: MAX_BYTES }));
  if (buffer.byteLength < bytes) buffer.resize(bytes);
  return buffer;
}

/** The stand-in for a mapping of the first `bytes` of the file at `path`. */
export function mapInProcess(bytes: number, path: Uint8Array, zero: boolean): Mapping {
  const buffer = block(path, bytes);
  if (zero) new Uint8Array(buffer, 0, bytes).fill(0);
  return { address: 0, bytes, buffer, record: new BigUint64Array(0) };
}

/**
 * This thread's identity for WorkerStats' owner words: the process id and
 * a fixed start time. Only this thread ever sees its blocks, so every
 * other owner is one that is gone.
 */
export const IN_PROCESS_THREAD = { id: process.pid, startTicks: 1 } as const;
