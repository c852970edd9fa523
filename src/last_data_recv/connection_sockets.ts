/**
 * The connections this process serves, each remembered from its first
 * request until it closes, so that later requests on a keep-alive
 * connection are known by a Map lookup alone. The first request asks
 * sock_diag for the connection's TCP_INFO (what LastDataRecv records) and
 * its socket's inode; sweeps, at most one per interval and run from a
 * request, find this process's descriptor for each new inode (a listing of
 * /proc/self/fd made natively, so Deno needs no read permission for it) and
 * forget the connections whose descriptor no longer holds their socket.
 *
 * @module
 */
import { type InetAddress, parseAddress } from "../linux/address.ts";
import type { DiagChannel } from "../linux/diag_socket.ts";
import { searchByRemote } from "../linux/tcp_info.ts";
import { native } from "../native/library.ts";
import { ownSocketFds } from "./own_sockets.ts";

/** What is known of one connection: its socket's inode, and its descriptor once found. */
interface Entry {
  readonly inode: number;
  readonly remote: InetAddress;
  readonly local: InetAddress;
  readonly localPort: number | undefined;
  /** The descriptor, or NOT_YET before the sweep after its first request, or NOT_HERE. */
  fd: number;
}

/** The descriptor has not been looked for yet. */
const NOT_YET = -1;
/** This process holds no descriptor for the socket: its liveness is asked of sock_diag. */
const NOT_HERE = -2;

/** Room for the largest tcp_info a kernel returns today, with margin. */
const MAX_TCP_INFO = 512;
/** Connections remembered at most; new ones beyond it are looked up but not remembered. */
export const MAX_CONNECTIONS = 65536;
/**
 * Least time between two sweeps. A connection that reuses the address pair
 * of one that closed since the last sweep is taken for it until the next.
 */
const MIN_SWEEP_MS = 100;
/** Sweep interval per remembered connection, which keeps a sweep (one syscall per connection) near 1% of one CPU. */
const SWEEP_MS_PER_CONNECTION = 0.1;

/**
 * Where a request's connection is, as the server tells it: the client's
 * end, and the server's end or port when known. `key` names the connection
 * (its address pair as far as it is known).
 */
export interface ConnectionKey {
  key: string;
  remote: string;
  /** The server's end `host:port`, when known. */
  local?: string;
  /** The server's port, when known without its address. */
  localPort?: number;
}

/**
 * This process's open connections by key. Correctness rests on two checks:
 * a descriptor counts as the connection's only while it holds the socket
 * whose inode the kernel named for it (descriptors are reused), and a key
 * is the connection's address pair, which two open connections never
 * share. With only the client's end as key (Deno tells no local port), two
 * connections from the same client address and port to two servers of this
 * process would be confused.
 *
 * @example
 * ```ts
 * import { ConnectionSockets } from "./connection_sockets.ts";
 * import { sharedChannel } from "../linux/diag_socket.ts";
 * const connections = new ConnectionSockets(sharedChannel);
 * const conn = { key: "127.0.0.1:50312", remote: "127.0.0.1:50312" };
 * if (!connections.known(conn.key)) {
 *   const n = connections.first(conn); // connections.info: its tcp_info, n bytes
 * }
 * ```
 */
export class ConnectionSockets {
  /** The last first lookup's tcp_info bytes. */
  readonly info: Uint8Array = new Uint8Array(MAX_TCP_INFO);
  readonly #entries = new Map<string, Entry>();
  /** The inodes of the entries' sockets. */
  readonly #inodes = new Set<number>();
  readonly #channel: () => DiagChannel;
  #nextSweep = 0;
  #unlisted = false;

  /** `channel` gives the sock_diag socket for first lookups. */
  constructor(channel: () => DiagChannel) {
    this.#channel = channel;
  }

  /** Connections remembered now (closed ones linger until the next sweep). */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether a remembered connection's socket has this inode. */
  knowsInode(inode: number): boolean {
    return this.#inodes.has(inode);
  }

  /** Whether the connection has been seen (its first request is past); sweeps when one is due. */
  known(key: string): boolean {
    if (performance.now() >= this.#nextSweep) this.sweep();
    return this.#entries.has(key);
  }

  /**
   * A connection's first lookup, through sock_diag: reads its tcp_info into
   * {@link info} and returns its length, and remembers the connection.
   * Throws a NativeError when the connection cannot be found (ENOENT: it is
   * gone), a RangeError for a malformed address.
   */
  first(conn: ConnectionKey): number {
    const remote = parseAddress(conn.remote);
    const local = conn.local === undefined ? undefined : parseAddress(conn.local);
    const localPort = local?.port ?? conn.localPort;
    const found = searchByRemote(this.#channel(), remote, localPort, this.info, local);
    if (found.inode !== 0 && this.#entries.size < MAX_CONNECTIONS) {
      const replaced = this.#entries.get(conn.key);
      if (replaced) this.#inodes.delete(replaced.inode);
      this.#entries.set(conn.key, { inode: found.inode, fd: NOT_YET, remote, local: found.local, localPort });
      this.#inodes.add(found.inode);
      this.#unlisted = true;
    }
    return found.length;
  }

  /** Forgets the connections that have closed. Runs by itself from {@link known} when one is due. */
  sweep(): void {
    const fdByInode = this.#unlisted ? this.#socketFds() : undefined;
    this.#unlisted = false;
    const lib = native();
    for (const [key, e] of this.#entries) {
      if (e.fd === NOT_YET) e.fd = fdByInode?.get(e.inode) ?? NOT_HERE;
      const open = e.fd >= 0 ? lib.rd_tcp_info_fd_checked(e.fd, e.inode, this.info, 0) >= 0 : this.#stillThere(e);
      if (!open) (this.#entries.delete(key), this.#inodes.delete(e.inode));
    }
    this.#nextSweep = performance.now() + Math.max(MIN_SWEEP_MS, this.#entries.size * SWEEP_MS_PER_CONNECTION);
  }

  /** This process's socket descriptors by inode. */
  #socketFds(): Map<number, number> {
    const pairs = ownSocketFds(this.#entries.size);
    const byInode = new Map<number, number>();
    for (let i = 0; i < pairs.length; i += 2) byInode.set(pairs[i + 1], pairs[i]);
    return byInode;
  }

  /** Whether sock_diag still names the socket of a connection whose descriptor is not here. */
  #stillThere(e: Entry): boolean {
    try {
      return searchByRemote(this.#channel(), e.remote, e.localPort, this.info.subarray(0, 0), e.local).inode ===
        e.inode;
    } catch {
      return false;
    }
  }
}
