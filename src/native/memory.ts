/**
 * Shared mappings as JS objects: map, grow and unmap through libraindrops,
 * and view the memory as typed arrays.
 *
 * @module
 */
import { check } from "../errors.ts";
import { runtime } from "./ffi.ts";
import { native } from "./library.ts";

/** A NUL-terminated copy of a string for a `const char *` argument. */
export function cString(text: string, what = "path"): Uint8Array {
  if (typeof text !== "string") throw new TypeError(`${what} must be a string, got ${typeof text}`);
  if (text.length === 0 || text.includes("\0")) {
    throw new RangeError(`${what} must be non-empty and contain no NUL byte`);
  }
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** A live mapping: its address, length and an ArrayBuffer over it. */
export interface Mapping {
  readonly address: number;
  readonly bytes: number;
  readonly buffer: ArrayBuffer;
}

const outAddress = new BigUint64Array(1);

function wrap(bytes: number): Mapping {
  const address = Number(outAddress[0]);
  return { address, bytes, buffer: runtime().arrayBufferAt(address, bytes) };
}

/** Maps `bytes` of shared memory, anonymous or backed by the file at `path`. */
export function mapShared(bytes: number, path: Uint8Array | null, zero: boolean): Mapping {
  check("mmap", native().rd_map(path, bytes, zero ? 1 : 0, outAddress), path ? "opening the counter file" : "");
  return wrap(bytes);
}

/** Grows a mapping; the old one must no longer be used. */
export function growShared(old: Mapping, bytes: number, path: Uint8Array | null): Mapping {
  check("mremap", native().rd_grow(path, old.address, old.bytes, bytes, outAddress));
  return wrap(bytes);
}

/** Unmaps a mapping. */
export function unmap(address: number, bytes: number): void {
  check("munmap", native().rd_unmap(address, bytes));
}

/** The system page size. */
export function pageSize(): number {
  return native().rd_page_size();
}

/** Bytes per counter slot (one cache line). */
export function slotSize(): number {
  return native().rd_slot_size();
}
