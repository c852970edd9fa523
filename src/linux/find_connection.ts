/**
 * A TCP connection found by its remote end through sock_diag, for servers
 * that tell a handler only the client's address and port (`Deno.serve`,
 * `Bun.serve`): its local end, its socket's inode and its TCP_INFO, read in
 * one native call. {@link TcpInfo.fromRemote} and LastDataRecv's
 * connection lookups are built on it.
 *
 * @module
 */
import { Errno, NativeError } from "../errors.ts";
import { native } from "../native/library.ts";
import { ADDR_RECORD, decodeAddress, encodeAddress, formatAddress, type InetAddress } from "./address.ts";
import { type DiagChannel, diagError } from "./diag_socket.ts";

/** Room for the largest tcp_info a kernel returns today, with margin. */
export const MAX_TCP_INFO = 512;

/**
 * The last local end found, per remote family and local port asked: tried
 * first with an exact lookup (a few µs) before a dump that walks the
 * kernel's whole connection table (hundreds of µs or more). A server's
 * connections share few local ends, so it usually hits; a miss costs only
 * that lookup.
 */
const localHints = new Map<string, Uint8Array>();
const MAX_HINTS = 64;

/** The NativeError of a failed lookup: ENOENT says `what` was not found. */
export function lookupError(rc: number, what: string): NativeError {
  return rc === -Errno.ENOENT
    ? new NativeError("sock_diag TCP_INFO", Errno.ENOENT, what)
    : diagError("sock_diag TCP_INFO", rc);
}

/** A connection {@link findConnection} found. */
export interface FoundConnection {
  /** The connection's local end (IPv4 for an IPv4 client of a dual-stack socket). */
  readonly local: InetAddress;
  /** The socket's inode; 0 while it waits in an accept queue. */
  readonly inode: number;
  /** The kernel's `struct tcp_info` bytes (read fields with `tcpInfoField`). */
  readonly info: Uint8Array;
  /** Whether it is the connection of the hinted local end (the exact four-tuple asked first). */
  readonly byHint: boolean;
}

/** Options for {@link findConnection}. */
export interface FindConnectionOptions {
  /** Only a connection on this local port; by default any. */
  readonly localPort?: number;
  /**
   * A local end to try first with an exact lookup; by default the last one
   * found for this family and port; null for none (a dump at once).
   */
  readonly hint?: InetAddress | null;
}

/**
 * The connection whose remote end is `remote` (on `options.localPort` when
 * given), of any process on the host: first the exact lookup of a hinted
 * local end, else a dump of the connections of the remote's family (and,
 * for IPv4, of dual-stack IPv6 sockets), where an accepted ESTABLISHED
 * socket with tcp_info wins over others. NativeError with code ENOENT when
 * no connection matches, another NativeError when sock_diag fails.
 *
 * @example
 * ```ts
 * import { parseAddress } from "./address.ts";
 * import { sharedChannel } from "./diag_socket.ts";
 * import { findConnection } from "./find_connection.ts";
 * const found = findConnection(sharedChannel(), parseAddress("127.0.0.1:50312"), { localPort: 8080 });
 * found.inode; // e.g. 123456
 * ```
 */
export function findConnection(
  channel: DiagChannel,
  remote: InetAddress,
  options: FindConnectionOptions = {},
): FoundConnection {
  const { localPort, hint } = options;
  const rec = new Uint8Array(2 * ADDR_RECORD + 4);
  const out = new Uint8Array(MAX_TCP_INFO);
  encodeAddress(remote, rec);
  const local = rec.subarray(ADDR_RECORD, 2 * ADDR_RECORD);
  const inode = rec.subarray(2 * ADDR_RECORD);
  const key = `${remote.family}/${localPort ?? 0}`;
  if (hint) encodeAddress(hint, local);
  else if (hint === undefined) {
    const last = localHints.get(key);
    if (last) local.set(last);
  }
  const hinted = local.slice();
  const rc = native().rd_tcp_info_by_remote(
    channel.fd,
    rec.subarray(0, ADDR_RECORD),
    localPort ?? 0,
    local,
    inode,
    out,
    out.length,
    channel.scratch,
    channel.scratch.length,
  );
  if (rc < 0) {
    throw lookupError(
      rc,
      `no connection from ${formatAddress(remote)}${localPort ? ` on local port ${localPort}` : ""}`,
    );
  }
  if (localHints.size >= MAX_HINTS && !localHints.has(key)) localHints.clear();
  localHints.set(key, local.slice());
  return {
    local: decodeAddress(local),
    inode: new DataView(inode.buffer, inode.byteOffset).getUint32(0, true),
    info: out.slice(0, Math.min(rc, out.length)),
    byHint: hinted[0] !== 0 && hinted.every((b, i) => b === local[i]),
  };
}
