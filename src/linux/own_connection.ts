/**
 * A connection of this process found by its remote end, for servers that
 * tell a handler only the client's end: never another process's socket
 * that happens to have the same remote end (a client may use one port for
 * connections to several services).
 *
 * @module
 */
import { Errno, NativeError } from "../errors.ts";
import { formatAddress, type InetAddress } from "./address.ts";
import type { DiagChannel } from "./diag_socket.ts";
import { findConnection, type FoundConnection, MAX_TCP_INFO } from "./find_connection.ts";
import { heldTcpInfo, ownSocketFds, tcpEnds, unmapped } from "./own_sockets.ts";

/** A connection of this process, as {@link findOwnConnection} found it. */
export interface OwnConnection {
  /** The socket's inode. */
  readonly inode: number;
  /** Its descriptor in this process, or -1 when not looked for (found by `ownHint`). */
  readonly fd: number;
  /** Its local end. */
  readonly local: InetAddress;
  /** The kernel's `struct tcp_info` bytes, read now (read fields with `tcpInfoField`). */
  readonly info: Uint8Array;
}

/** Options for {@link findOwnConnection}. */
export interface FindOwnConnectionOptions {
  /** Only a connection on this local port; by default any. */
  readonly localPort?: number;
  /**
   * The connection's local end, when told: its four-tuple is looked up
   * first, and taken when this process holds its socket.
   */
  readonly local?: InetAddress;
  /**
   * A local end of this process's own connections (one this function
   * found), for when `local` is not told: the four-tuple it makes with
   * `remote` exists once on the host and is taken without listing this
   * process's descriptors (it is another process's only if that process
   * shares this process's listening address and port).
   */
  readonly ownHint?: InetAddress;
  /** Inodes of connections known already: skipped when this process's descriptors are searched. */
  readonly known?: ReadonlySet<number>;
}

function sameEnd(a: InetAddress, b: InetAddress): boolean {
  return a.port === b.port && a.family === b.family && a.bytes.every((x, i) => x === b.bytes[i]);
}

/**
 * This process's connection whose remote end is `remote`: the four-tuple
 * of `ownHint` when it exists; else the one sock_diag finds, when this
 * process holds its socket; else the one found among this process's own
 * socket descriptors by their ends (the sock_diag match was another
 * process's). NativeError with code ENOENT when this process holds no such
 * connection, another NativeError when the kernel refuses.
 *
 * @example
 * ```ts
 * import { parseAddress } from "./address.ts";
 * import { sharedChannel } from "./diag_socket.ts";
 * import { findOwnConnection } from "./own_connection.ts";
 * const conn = findOwnConnection(sharedChannel(), parseAddress("127.0.0.1:50312"), { localPort: 8080 });
 * conn.fd; // this process's descriptor of it, or -1 when found by the hint
 * ```
 */
export function findOwnConnection(
  channel: DiagChannel,
  remote: InetAddress,
  options: FindOwnConnectionOptions = {},
): OwnConnection {
  const { localPort, local, ownHint } = options;
  let found: FoundConnection | undefined;
  try {
    found = findConnection(channel, remote, { localPort, hint: local ?? ownHint ?? null });
  } catch (e) {
    if (!(e instanceof NativeError) || e.errno !== Errno.ENOENT) throw e;
  }
  if (found && found.inode !== 0 && found.byHint && !local && ownHint) return { ...found, fd: -1 };
  const fds = ownSocketFds();
  const fd = found && found.inode !== 0 ? fds.get(found.inode) : undefined;
  if (found && fd !== undefined) return { ...found, fd };
  const want = unmapped(remote);
  for (const [inode, fd] of fds) {
    if (options.known?.has(inode)) continue;
    const ends = tcpEnds(fd);
    if (!ends || !sameEnd(ends.remote, want) || (localPort !== undefined && ends.local.port !== localPort)) continue;
    const info = new Uint8Array(MAX_TCP_INFO);
    const n = heldTcpInfo(fd, inode, info);
    if (n !== undefined) return { inode, fd, local: ends.local, info: info.subarray(0, Math.min(n, info.length)) };
  }
  throw new NativeError(
    "finding a connection of this process",
    Errno.ENOENT,
    `none from ${formatAddress(remote)}${localPort ? ` on local port ${localPort}` : ""}`,
  );
}
