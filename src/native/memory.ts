/**
 * Counter files as JS memory: map, grow and unmap them through
 * libraindrops, view them as an ArrayBuffer, and turn the library's
 * refusals into typed errors that name the file. When raindrops runs
 * in-process (no library for the platform), the same calls give memory of
 * this thread's own (in_process.ts); the choice is made once.
 *
 * @module
 */
import { Errno, ExhaustedError, ForeignFileError, NativeError } from "../errors.ts";
import { runtime } from "./ffi.ts";
import { IN_PROCESS_PAGE, IN_PROCESS_SLOT, mapInProcess } from "./in_process.ts";
import { native, runsInProcess } from "./library.ts";
import { MAPPING } from "./records.ts";

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

/** The text of a NUL-terminated path. */
function pathText(path: Uint8Array): string {
  return new TextDecoder().decode(path.subarray(0, -1));
}

/** A live file mapping: its address, length and an ArrayBuffer over it. */
export interface Mapping {
  readonly address: number;
  readonly bytes: number;
  readonly buffer: ArrayBuffer;
  /** The native `Mapping` record (address, st_dev, st_ino), kept for growing. */
  readonly record: BigUint64Array;
}

/** Why libraindrops refused a file, by the errno it returned. */
const REFUSALS: Partial<Record<number, string>> = {
  [Errno.ELOOP]: "is a symbolic link (counter files are never opened through one)",
  [Errno.EISDIR]: "is a directory",
  [Errno.ENODEV]: "is not a regular file",
  [Errno.EPERM]: "belongs to another user or is writable by group or others",
  [Errno.ESTALE]: "was deleted, replaced or truncated while mapped",
  [Errno.EMLINK]: "has another name (a hard link), so writing counters into it could overwrite an unrelated " +
    "file: remove this path and let raindrops create the file afresh",
};

/**
 * The error for a file the kernel would not let us open (EACCES): another
 * user's file is named with its owner, anything else (a file or directory
 * of ours without the permission) stays the open's error.
 */
function accessError(path: Uint8Array): Error {
  const ids = new Uint32Array(2);
  const [owner, us] = native().rd_file_owner(path, ids) === 0 ? ids : [];
  if (owner !== undefined && owner !== us) {
    return new ForeignFileError(
      pathText(path),
      `belongs to uid ${owner}, and this process (uid ${us}) may not open it (EACCES): ` +
        `use a path of your own (e.g. in privateDir()), or run as uid ${owner}, or have its owner remove it`,
      Errno.EACCES,
    );
  }
  return new NativeError("open", Errno.EACCES, `the counter file ${pathText(path)}: permission denied`);
}

/** The typed error for a failed map or grow of the file at `path`. */
function mappingError(syscall: string, rc: number, path: Uint8Array): Error {
  const errno = -rc, reason = REFUSALS[errno];
  if (reason) return new ForeignFileError(pathText(path), reason, errno);
  if (errno === Errno.EACCES) return accessError(path);
  if (errno === Errno.ENOMEM) {
    return new ExhaustedError(
      `cannot map ${pathText(path)}: out of memory or of mappings (raindrops uses at most half of ` +
        `vm.max_map_count per process); evaporate() counter files no longer in use`,
      errno,
    );
  }
  return new NativeError(syscall, errno, `the counter file ${pathText(path)}`);
}

function wrap(bytes: number, record: BigUint64Array): Mapping {
  const address = Number(record[MAPPING.addr / 8]);
  return { address, bytes, buffer: runtime().arrayBufferAt(address, bytes), record };
}

/**
 * Maps the first `bytes` of the counter file at `path`, creating it when
 * missing; refuses a file that is not safely ours with ForeignFileError.
 */
export function mapFile(bytes: number, path: Uint8Array, zero: boolean): Mapping {
  if (runsInProcess()) return mapInProcess(bytes, path, zero);
  const record = new BigUint64Array(MAPPING.size / 8);
  const rc = native().rd_map(path, bytes, zero ? 1 : 0, record);
  if (rc < 0) throw mappingError("mmap", rc, path);
  return wrap(bytes, record);
}

/** Grows a file mapping; the old one must no longer be used. */
export function growFile(old: Mapping, bytes: number, path: Uint8Array): Mapping {
  if (runsInProcess()) return mapInProcess(bytes, path, false);
  const record = old.record.slice();
  const rc = native().rd_grow(path, old.bytes, bytes, record);
  if (rc < 0) throw mappingError("mremap", rc, path);
  return wrap(bytes, record);
}

/** Unmaps a mapping (in-process memory stays, as a file would). */
export function unmap(address: number): void {
  if (address === 0) return;
  const rc = native().rd_unmap(address);
  if (rc < 0) throw new NativeError("munmap", -rc);
}

let page = 0, slot = 0;

/** The system page size. */
export function pageSize(): number {
  return page ||= runsInProcess() ? IN_PROCESS_PAGE : native().rd_page_size();
}

/**
 * Bytes per counter slot (one cache line), read once: a process keeps one
 * layout for every file it opens even if CPUs go on- or offline meanwhile.
 */
export function slotSize(): number {
  return slot ||= runsInProcess() ? IN_PROCESS_SLOT : native().rd_slot_size();
}
