/**
 * The connections this process serves, each remembered from its first
 * request until it closes, so that later requests on a keep-alive
 * connection are known by a Map lookup alone. The first request finds the
 * connection's socket (this process's own, see `findOwnConnection`) and
 * reads its TCP_INFO; sweeps, at most one per interval and run from a
 * request, find this process's descriptor of each new socket in one
 * listing of its descriptors, and forget the connections whose descriptor
 * no longer holds their socket. A socket absent from the listing is gone
 * (or not this process's): no kernel dump is ever asked by a sweep, and
 * every sweep stops after a few milliseconds, going on where it stopped at
 * the next.
 *
 * @module
 */
import { type InetAddress, parseHost } from "../linux/address.ts";
import type { DiagChannel } from "../linux/diag_socket.ts";
import { AddressError } from "../errors.ts";
import { findOwnConnection, type OwnConnection } from "../linux/own_connection.ts";
import { holdsSocket, ownSocketFds } from "../linux/own_sockets.ts";
import type { Connection } from "../server/connection.ts";

/** What is known of one connection: its socket's inode, and its descriptor once found. */
interface Entry {
  readonly inode: number;
  /** The descriptor, or NOT_YET before the sweep after its first request. */
  fd: number;
}

/** The descriptor has not been looked for yet. */
const NOT_YET = -1;

/** Connections remembered at most; new ones beyond it are looked up but not remembered. */
export const MAX_CONNECTIONS = 65536;
/**
 * Least time between two sweeps. A connection that reuses the address pair
 * of one that closed since its last check is taken for it until the next.
 */
const SWEEP_MS = 100;
/** Longest a sweep runs (one syscall per remembered connection): the rest waits for the next one. */
const SWEEP_BUDGET_MS = 2;

/**
 * The name of a connection: its address pair as far as the server tells
 * it. Two open connections never share their pair; with only the client's
 * end (Deno tells no local end), two connections from the same client
 * address and port to two servers of this process would be confused.
 */
export function connectionKey(conn: Connection): string {
  const local = conn.localAddress === undefined ? "" : `${conn.localAddress}:`;
  return `${conn.remoteAddress}:${conn.remotePort}>${local}${conn.localPort ?? ""}`;
}

/** An address and port as an InetAddress; AddressError for an address that is no IP literal. */
function inetAddress(host: string, port: number): InetAddress {
  const parsed = parseHost(host);
  if (!parsed || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AddressError(`${host}:${port}`, "not an IP address and port (connection option)");
  }
  return { ...parsed, port };
}

/**
 * This process's open connections by {@link connectionKey}. Correctness
 * rests on two checks: a descriptor counts as the connection's only while
 * it holds the socket whose inode was found for it (descriptors are
 * reused), and a key is the connection's address pair.
 *
 * @example
 * ```ts
 * import { ConnectionSockets } from "./_connection_sockets.ts";
 * import { sharedChannel } from "../linux/diag_socket.ts";
 * const connections = new ConnectionSockets(sharedChannel);
 * const conn = { remoteAddress: "127.0.0.1", remotePort: 50312, localPort: 8080 };
 * if (!connections.known(conn)) connections.first(conn).info; // its tcp_info bytes
 * ```
 */
export class ConnectionSockets {
  readonly #entries = new Map<string, Entry>();
  /** The inodes of the entries' sockets. */
  readonly #inodes = new Set<number>();
  /** Keys remembered since the last sweep, whose descriptor is not known yet. */
  readonly #unlisted: string[] = [];
  /** The local end of this process's last connection found, per family and local port. */
  readonly #hints = new Map<string, InetAddress>();
  readonly #channel: () => DiagChannel;
  /** Where the last sweep stopped checking remembered connections. */
  #cursor: Iterator<[string, Entry]> | undefined;
  #nextSweep = 0;

  /** `channel` gives the sock_diag socket for first lookups. */
  constructor(channel: () => DiagChannel) {
    this.#channel = channel;
  }

  /** Connections remembered now (closed ones linger until a sweep checks them). */
  get size(): number {
    return this.#entries.size;
  }

  /** The inodes of the remembered connections' sockets. */
  get inodes(): ReadonlySet<number> {
    return this.#inodes;
  }

  /** Whether the connection has been seen (its first request is past); sweeps when one is due. */
  known(conn: Connection): boolean {
    if (performance.now() >= this.#nextSweep) this.sweep();
    return this.#entries.has(connectionKey(conn));
  }

  /**
   * A connection's first lookup: finds this process's socket of it with
   * its tcp_info, and remembers it. NativeError when it cannot be found
   * (ENOENT: it is gone), AddressError for an address that is no IP.
   */
  first(conn: Connection): OwnConnection {
    const remote = inetAddress(conn.remoteAddress, conn.remotePort);
    const hintKey = `${remote.family}/${conn.localPort ?? 0}`;
    const local = conn.localAddress !== undefined && conn.localPort !== undefined
      ? inetAddress(conn.localAddress, conn.localPort)
      : undefined;
    const found = findOwnConnection(this.#channel(), remote, {
      localPort: conn.localPort,
      local,
      ownHint: this.#hints.get(hintKey),
      known: this.#inodes,
    });
    if (this.#hints.size > 64) this.#hints.clear();
    this.#hints.set(hintKey, found.local);
    if (this.#entries.size < MAX_CONNECTIONS) {
      const key = connectionKey(conn);
      const replaced = this.#entries.get(key);
      if (replaced) this.#inodes.delete(replaced.inode);
      this.#entries.set(key, { inode: found.inode, fd: found.fd });
      this.#inodes.add(found.inode);
      if (found.fd === NOT_YET) this.#unlisted.push(key);
    }
    return found;
  }

  /** Forgets the connections that have closed. Runs by itself from {@link known} when one is due. */
  sweep(): void {
    const start = performance.now();
    if (this.#unlisted.length > 0) this.#placeUnlisted();
    const entries = this.#cursor ??= this.#entries.entries();
    for (let n = 1;; n++) {
      if ((n & 63) === 0 && performance.now() - start > SWEEP_BUDGET_MS) break;
      const next = entries.next();
      if (next.done) {
        this.#cursor = undefined;
        break;
      }
      const [key, e] = next.value;
      if (e.fd !== NOT_YET && !holdsSocket(e.fd, e.inode)) this.#forget(key, e);
    }
    this.#nextSweep = performance.now() + SWEEP_MS;
  }

  /** Finds the descriptors of connections remembered since the last sweep; forgets those this process does not hold. */
  #placeUnlisted(): void {
    let fds: Map<number, number>;
    try {
      fds = ownSocketFds(this.#entries.size);
    } catch {
      fds = new Map(); // no listing: none can be checked, so none is kept
    }
    for (const key of this.#unlisted) {
      const e = this.#entries.get(key);
      if (e?.fd !== NOT_YET) continue;
      const fd = fds.get(e.inode);
      if (fd === undefined) this.#forget(key, e);
      else e.fd = fd;
    }
    this.#unlisted.length = 0;
  }

  #forget(key: string, e: Entry): void {
    this.#entries.delete(key);
    this.#inodes.delete(e.inode);
  }
}
