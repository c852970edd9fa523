/**
 * The sockets of connections this process serves, found once per
 * connection and then read with getsockopt(TCP_INFO): the server runtimes
 * hide descriptors, so the first request on a connection asks sock_diag
 * (which tells the socket's inode), the second finds this process's
 * descriptor with that inode in /proc/self/fd (natively, so Deno needs no
 * read permission for it), and every later one is one getsockopt on it.
 *
 * @module
 */
import { parseAddress } from "../linux/address.ts";
import type { DiagChannel } from "../linux/diag_socket.ts";
import { searchByRemote } from "../linux/tcp_info.ts";
import { native } from "../native/library.ts";

/** What is known of one connection: its socket's inode, and its descriptor once found. */
interface Entry {
  readonly inode: number;
  /** The descriptor, or NOT_YET before the connection's second request, or NOT_HERE. */
  fd: number;
}

/** The descriptor has not been looked for yet. */
const NOT_YET = -1;
/** This process holds no descriptor for the socket (or /proc/self/fd cannot be read): sock_diag every time. */
const NOT_HERE = -2;

/** Room for the largest tcp_info a kernel returns today, with margin. */
const MAX_TCP_INFO = 512;
/** Connections remembered at most; a sweep at this size forgets the closed ones. */
const MAX_ENTRIES = 4096;
/** New connections between two sweeps. */
const SWEEP_EVERY = 1024;

/**
 * Where a request's connection is, as the server tells it: the client's
 * end, and the server's end or port when known. `key` names the connection
 * (its address pair as far as it is known) in the cache.
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
 * TCP_INFO of the connections of this process's servers, by connection.
 * Correctness rests on two checks: a descriptor is used only while it
 * still holds the socket whose inode the kernel named for this connection
 * (checked after each read, so a reused descriptor is never believed), and
 * a key is the connection's address pair, which two open connections never
 * share. With only the client's end as key (Deno tells no local port), two
 * connections from the same client address and port to two servers of this
 * process would be confused.
 *
 * @example
 * ```ts
 * const sockets = new ConnectionSockets(sharedChannel);
 * const n = sockets.read({ key: "127.0.0.1:50312", remote: "127.0.0.1:50312" });
 * sockets.info; // the connection's tcp_info, n bytes
 * ```
 */
export class ConnectionSockets {
  /** The last read's tcp_info bytes. */
  readonly info: Uint8Array = new Uint8Array(MAX_TCP_INFO);
  readonly #entries = new Map<string, Entry>();
  readonly #channel: () => DiagChannel;
  #found = 0;

  /** `channel` gives the sock_diag socket for first lookups. */
  constructor(channel: () => DiagChannel) {
    this.#channel = channel;
  }

  /** Connections remembered now (closed ones linger until the next sweep). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Reads the connection's tcp_info into {@link info}; returns its length.
   * Throws a NativeError when the connection cannot be found (ENOENT: it
   * is gone), a RangeError for a malformed address.
   */
  read(conn: ConnectionKey): number {
    const e = this.#entries.get(conn.key);
    if (e !== undefined) {
      const lib = native();
      if (e.fd === NOT_YET) e.fd = Math.max(lib.rd_fd_of_socket(e.inode), NOT_HERE);
      if (e.fd >= 0) {
        const n = lib.rd_tcp_info_fd_checked(e.fd, e.inode, this.info, this.info.length);
        if (n >= 0) return n;
      } else return this.#find(conn, e);
      // Closed, or its descriptor now holds another socket: find it again.
      this.#entries.delete(conn.key);
    }
    return this.#find(conn);
  }

  /**
   * A lookup through sock_diag: the first of a connection, or every one of
   * a connection whose descriptor is not here (`known`, kept while the
   * kernel names the same socket).
   */
  #find(conn: ConnectionKey, known?: Entry): number {
    const remote = parseAddress(conn.remote);
    const local = conn.local === undefined ? undefined : parseAddress(conn.local);
    const found = searchByRemote(this.#channel(), remote, local?.port ?? conn.localPort, this.info, local);
    if (found.inode !== 0 && found.inode !== known?.inode) {
      if (this.#entries.size >= MAX_ENTRIES || ++this.#found % SWEEP_EVERY === 0) this.#sweep();
      this.#entries.set(conn.key, { inode: found.inode, fd: NOT_YET });
    }
    return found.length;
  }

  /**
   * Forgets connections that have closed (their descriptor no longer holds
   * their socket) and those without a descriptor; if that frees nothing,
   * everything (entries come back on their next request).
   */
  #sweep(): void {
    const lib = native();
    for (const [key, e] of this.#entries) {
      if (e.fd < 0 || lib.rd_tcp_info_fd_checked(e.fd, e.inode, this.info, 0) < 0) this.#entries.delete(key);
    }
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
  }
}
