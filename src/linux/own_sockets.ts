/**
 * This process's own sockets, looked at through their descriptors (which
 * the runtime keeps owning: nothing here duplicates or closes one): the
 * listing of every socket descriptor with its inode (made natively from
 * /proc/self/fd, so Deno needs no read permission for it), a TCP socket's
 * local port in a role, a connection's two ends, and whether a
 * descriptor still holds a given socket.
 *
 * @module
 */
import { Errno, NativeError } from "../errors.ts";
import { native } from "../native/library.ts";
import { ADDR_RECORD, decodeAddress, type InetAddress } from "./address.ts";

/** What a TCP socket is for: accepting connections, or one connection. */
export type SocketRole = "listener" | "connection";

/** Errnos that mean "this descriptor is not (or no longer) what was asked for". */
const NOT_THAT: ReadonlySet<number> = new Set([
  Errno.ENOENT,
  Errno.EBADF,
  Errno.ENOTSOCK,
  Errno.ESTALE,
  Errno.EOPNOTSUPP,
]);

/** Undefined for a descriptor that is not what was asked; a NativeError for any other failure. */
function notThat(rc: number, what: string): undefined {
  if (NOT_THAT.has(-rc)) return undefined;
  throw new NativeError(what, -rc);
}

/**
 * Every socket descriptor of this process by its socket's inode. `expected`
 * sizes the first attempt (a second one makes room for all). Costs one
 * fstat per open descriptor: keep the answer and ask again rarely.
 * NativeError when /proc/self/fd cannot be read.
 *
 * @example
 * ```ts
 * import { ownSocketFds } from "./own_sockets.ts";
 * for (const [inode, fd] of ownSocketFds()) console.log(`fd ${fd}: socket:[${inode}]`);
 * ```
 */
export function ownSocketFds(expected = 0): Map<number, number> {
  const lib = native();
  let pairs = new Uint32Array(Math.max(1024, 2 * expected + 256));
  let n = lib.rd_socket_fds(pairs, pairs.byteLength);
  if (n > pairs.length / 2) n = lib.rd_socket_fds(pairs = new Uint32Array(2 * n + 256), pairs.byteLength);
  if (n < 0) throw new NativeError("listing /proc/self/fd", -n);
  const byInode = new Map<number, number>();
  for (let i = 0; i < 2 * Math.min(n, pairs.length / 2); i += 2) byInode.set(pairs[i + 1], pairs[i]);
  return byInode;
}

/**
 * The local port of descriptor `fd` when it is an IPv4 or IPv6 TCP socket
 * in `role`; undefined for another socket, another role, or a descriptor
 * that is no (longer a) socket.
 *
 * @example
 * ```ts
 * import { ownSocketFds, tcpLocalPort } from "./own_sockets.ts";
 * const listening = [...ownSocketFds().values()].map((fd) => tcpLocalPort(fd, "listener")).filter(Boolean);
 * ```
 */
export function tcpLocalPort(fd: number, role: SocketRole): number | undefined {
  const port = native().rd_tcp_local_port(fd, role === "listener" ? 1 : 0);
  return port > 0 ? port : notThat(port, "getsockname");
}

/** Both ends of a TCP connection. */
export interface ConnectionEnds {
  readonly local: InetAddress;
  readonly remote: InetAddress;
}

const endRecords = new Uint8Array(2 * ADDR_RECORD);

/**
 * Both ends of descriptor `fd` when it is a connected TCP socket (the IPv4
 * ends of a dual-stack socket come back as IPv4); undefined for anything
 * else.
 *
 * @example
 * ```ts
 * import { tcpEnds } from "./own_sockets.ts";
 * tcpEnds(12)?.remote; // { family: 4, bytes: Uint8Array [127, 0, 0, 1], port: 50312 }
 * ```
 */
export function tcpEnds(fd: number): ConnectionEnds | undefined {
  const rc = native().rd_tcp_ends(fd, endRecords);
  if (rc < 0) return notThat(rc, "getpeername");
  return { local: unmapped(decodeAddress(endRecords)), remote: unmapped(decodeAddress(endRecords, ADDR_RECORD)) };
}

/** `::ffff:a.b.c.d` as the IPv4 address it carries; any other address as it is. */
export function unmapped(a: InetAddress): InetAddress {
  const b = a.bytes;
  if (a.family !== 6 || b[10] !== 0xff || b[11] !== 0xff || b.subarray(0, 10).some((x) => x !== 0)) return a;
  return { family: 4, bytes: b.slice(12, 16), port: a.port };
}

/**
 * The TCP_INFO of descriptor `fd` into `out` (returns the bytes the kernel
 * returned, which may exceed `out`), when `fd` still holds the socket with
 * inode `inode`; undefined when it does not (closed, or reused for another
 * file: descriptors are reused, a socket's inode is not while it is open).
 *
 * @example
 * ```ts
 * import { heldTcpInfo } from "./own_sockets.ts";
 * const info = new Uint8Array(256);
 * heldTcpInfo(12, 4242, info); // e.g. 248, or undefined once fd 12 is another file
 * ```
 */
export function heldTcpInfo(fd: number, inode: number, out: Uint8Array): number | undefined {
  const n = native().rd_tcp_info_fd_checked(fd, inode, out, out.byteLength);
  return n >= 0 ? n : notThat(n, "getsockopt(TCP_INFO)");
}

const NO_BYTES = new Uint8Array(0);

/** Whether descriptor `fd` still holds the TCP socket with inode `inode` (see {@link heldTcpInfo}). */
export function holdsSocket(fd: number, inode: number): boolean {
  return heldTcpInfo(fd, inode, NO_BYTES) !== undefined;
}
