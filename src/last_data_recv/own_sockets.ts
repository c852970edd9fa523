/**
 * This process's socket descriptors with their inodes, listed natively
 * from /proc/self/fd (so Deno needs no read permission for it).
 *
 * @module
 */
import { native } from "../native/library.ts";

/**
 * Every socket descriptor of this process as pairs `[fd, inode, fd, inode,
 * ...]`; empty when /proc/self/fd cannot be read. `expected` sizes the
 * first attempt (a second one makes room for all).
 *
 * @example
 * ```ts
 * import { ownSocketFds } from "./own_sockets.ts";
 * const pairs = ownSocketFds();
 * for (let i = 0; i < pairs.length; i += 2) console.log(`fd ${pairs[i]}: socket:[${pairs[i + 1]}]`);
 * ```
 */
export function ownSocketFds(expected = 0): Uint32Array {
  const lib = native();
  let pairs = new Uint32Array(Math.max(1024, 2 * expected + 256));
  let n = lib.rd_socket_fds(pairs, pairs.byteLength);
  if (n > pairs.length / 2) n = lib.rd_socket_fds(pairs = new Uint32Array(2 * n + 256), pairs.byteLength);
  return pairs.subarray(0, 2 * Math.max(0, Math.min(n, pairs.length / 2)));
}
