/**
 * The sockets of connections this process serves, found once per
 * connection and then read with getsockopt(TCP_INFO): the server runtimes
 * hide descriptors, so the first request on a connection asks sock_diag
 * (which tells the socket's inode), the second finds this process's
 * descriptor with that inode in a listing of /proc/self/fd (made natively,
 * so Deno needs no read permission for it; at most one per RELIST_MS, kept
 * for the connections that follow), and every later one is one getsockopt
 * on it.
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
 * Least time between two listings of this process's sockets (one fstat per
 * open descriptor): with many descriptors open, new connections wait for the
 * next listing and are read through sock_diag meanwhile.
 */
const RELIST_MS = 50;

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
  /** This process's socket descriptors by inode, as last listed. */
  #fdByInode = new Map<number, number>();
  #listedAt = -Infinity;

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
      if (e.fd === NOT_YET) e.fd = this.#descriptorOf(e.inode);
      if (e.fd >= 0) {
        const n = lib.rd_tcp_info_fd_checked(e.fd, e.inode, this.info, this.info.length);
        if (n >= 0) return n;
      } else return this.#find(conn, e); // not here, or not listed yet
      // Closed, or its descriptor now holds another socket: find it again.
      this.#entries.delete(conn.key);
    }
    return this.#find(conn);
  }

  /**
   * The descriptor of the socket with this inode: from the last listing, or
   * from a new one unless one was made less than RELIST_MS ago (NOT_YET:
   * ask again later). NOT_HERE when a fresh listing lacks it.
   */
  #descriptorOf(inode: number): number {
    const known = this.#fdByInode.get(inode);
    if (known !== undefined) return known;
    const now = performance.now();
    if (now - this.#listedAt < RELIST_MS) return NOT_YET;
    this.#listedAt = now;
    const lib = native();
    let pairs = new Uint32Array(Math.max(1024, 2 * this.#fdByInode.size + 256));
    let n = lib.rd_socket_fds(pairs, pairs.byteLength);
    if (n > pairs.length / 2) n = lib.rd_socket_fds(pairs = new Uint32Array(2 * n + 256), pairs.byteLength);
    if (n < 0) return NOT_HERE;
    this.#fdByInode = new Map();
    for (let i = 0; i < Math.min(n, pairs.length / 2); i++) this.#fdByInode.set(pairs[2 * i + 1], pairs[2 * i]);
    return this.#fdByInode.get(inode) ?? NOT_HERE;
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
