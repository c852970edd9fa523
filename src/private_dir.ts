/**
 * This user's private directory for default shared files. A file name in a
 * world-writable directory such as /dev/shm is predictable, so another
 * local user could plant a file or symlink there first; inside a directory
 * that only we can write, no one can. Another user can plant the
 * directory's own name too, so there are fallbacks no one else can create.
 *
 * @module
 */
import process from "node:process";
import { Errno, ForeignFileError, NativeError } from "./errors.ts";
import { cString } from "./native/memory.ts";
import { native } from "./native/library.ts";

/** Why libraindrops refused the directory, by the errno it returned. */
const REFUSALS: Partial<Record<number, string>> = {
  [Errno.ENOTDIR]: "is not a directory (or is a symbolic link)",
  [Errno.EPERM]: "belongs to another user or is not mode 0700",
  [Errno.EACCES]: "cannot be used: it belongs to another user, or other users may replace entries of its " +
    "parent (which must be this user's or root's, and sticky if others may write it)",
};

type DirCall = "rd_private_dir" | "rd_private_temp_dir";

/** The directory a native call makes or finds in `parent`, or its typed refusal. */
function dirIn(call: DirCall, parent: string): string {
  const out = new Uint8Array(4096);
  const rc = native()[call](cString(parent, "parent"), out, out.length);
  // The path is in `out` whenever it was long enough to be tried.
  const path = new TextDecoder().decode(out.subarray(0, rc < 0 ? out.indexOf(0) : rc));
  if (rc < 0) {
    const errno = -rc, reason = REFUSALS[errno];
    if (reason) throw new ForeignFileError(path || parent, reason, errno);
    throw new NativeError("mkdir", errno, `the private directory ${path || `in ${parent}`}`);
  }
  return path;
}

/** `$XDG_RUNTIME_DIR` when set to an absolute path (and readable: Deno may lack --allow-env). */
function runtimeDir(): string | undefined {
  try {
    const dir = process.env.XDG_RUNTIME_DIR;
    return dir?.startsWith("/") ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Parents whose refused default was already reported, so each is reported once per process. */
const warned = new Set<string>();

/**
 * This user's private directory for shared files, created mode 0700 when
 * missing and checked (a real directory, ours, mode 0700, in a parent no
 * other user can swap it out of) on every call: it is a few system calls.
 * The first of these that is usable:
 *
 * 1. `<parent>/raindrops-<euid>` (parent default `/dev/shm`);
 * 2. `$XDG_RUNTIME_DIR/raindrops-<euid>`, when that variable is set (the
 *    login manager makes it ours and mode 0700, so no one else can plant
 *    anything there);
 * 3. `<parent>/raindrops-<euid>.<12 random letters>`, then the same in
 *    `/tmp`: a name no one can guess in advance. Every process of this user
 *    finds the same one (the first such directory, by name, that is ours and
 *    mode 0700).
 *
 * The first is the usual one. Another user can pre-create its name (a
 * directory of theirs, a file, a symlink), which we cannot remove from a
 * sticky `/dev/shm`; then the next usable one is returned and one warning
 * per process says so. Only when none is usable does it throw (the first
 * refusal: {@link ForeignFileError}, or NativeError).
 *
 * @example
 * ```ts
 * import { privateDir } from "raindrops";
 * const path = `${privateDir()}/myapp.stats`; // e.g. "/dev/shm/raindrops-1000/myapp.stats"
 * ```
 */
export function privateDir(parent = "/dev/shm"): string {
  let refusal: unknown;
  try {
    return dirIn("rd_private_dir", parent);
  } catch (e) {
    refusal = e;
  }
  const fallbacks: [DirCall, string][] = [["rd_private_temp_dir", parent], ["rd_private_temp_dir", "/tmp"]];
  const xdg = runtimeDir();
  if (xdg) fallbacks.unshift(["rd_private_dir", xdg]);
  for (const [call, where] of fallbacks) {
    let path: string;
    try {
      path = dirIn(call, where);
    } catch {
      continue;
    }
    if (!warned.has(parent)) {
      warned.add(parent);
      console.warn(
        `raindrops: ${(refusal as Error).message}; using ${path} instead. Processes of this user ` +
          "find shared files there as long as it stays the first usable place (see privateDir).",
      );
    }
    return path;
  }
  throw refusal;
}
