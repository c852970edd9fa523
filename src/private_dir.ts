/**
 * This user's private directory for default shared files. A file name in a
 * world-writable directory such as /dev/shm is predictable, so another
 * local user could plant a file or symlink there first; inside a directory
 * that only we can write, no one can.
 *
 * @module
 */
import { Errno, ForeignFileError, NativeError } from "./errors.ts";
import { cString } from "./native/memory.ts";
import { native } from "./native/library.ts";

/** Why libraindrops refused the directory, by the errno it returned. */
const REFUSALS: Partial<Record<number, string>> = {
  [Errno.ENOTDIR]: "is not a directory (or is a symbolic link)",
  [Errno.EPERM]: "belongs to another user or is not mode 0700",
};

/**
 * `<parent>/raindrops-<euid>` (parent default `/dev/shm`), created mode 0700
 * when missing (checked on every call: it is a few system calls). An
 * existing one must be a real directory, ours and mode 0700, else
 * {@link ForeignFileError}: remove it and retry.
 *
 * @example
 * ```ts
 * const path = `${privateDir()}/myapp.stats`; // e.g. "/dev/shm/raindrops-1000/myapp.stats"
 * ```
 */
export function privateDir(parent = "/dev/shm"): string {
  const out = new Uint8Array(4096);
  const rc = native().rd_private_dir(cString(parent, "parent"), out, out.length);
  // The path is in `out` whenever it was long enough to be tried.
  const path = new TextDecoder().decode(out.subarray(0, rc < 0 ? out.indexOf(0) : rc));
  if (rc < 0) {
    const errno = -rc, reason = REFUSALS[errno];
    if (reason) throw new ForeignFileError(path, reason, errno);
    throw new NativeError("mkdir", errno, `the private directory ${path}`);
  }
  return path;
}
