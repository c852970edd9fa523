/**
 * New connections at this process's TCP listeners (a server's own, or
 * all of them), for servers that tell a request's connection only at a
 * price per request (Bun's `server.requestIP`, Deno's `info.remoteAddr`):
 * while no connection is waiting for its first request, a request's
 * connection is one seen before and need not be identified.
 *
 * The kernel reports each arrival at the listener through a watch held in
 * the native library (an io_uring multishot poll of a private epoll
 * instance holding the listener: the completion survives the server's
 * immediate accept, which a poll of the listener would not, and the
 * listener's port is released when the server closes it); asking costs no
 * syscall while nothing arrived. An arrival starts a period in which
 * requests are identified; it ends when nothing waits: the listeners'
 * accept queues are empty and every connection this process holds on the
 * port is a remembered one, which one listing of the process's socket
 * descriptors tells exactly. A connection closed before its first request
 * drops out of that listing; one that stays open without a request keeps
 * requests identified until it sends or closes.
 *
 * @module
 */
import { ArrivalWatch, MAX_WATCHED_LISTENERS } from "../linux/arrival_watch.ts";
import { MAX_TCP_INFO } from "../linux/find_connection.ts";
import { heldTcpInfo, holdsSocket, ownSocketFds, tcpLocalPort } from "../linux/own_sockets.ts";
import { tcpInfoField } from "../linux/tcp_info_fields.ts";

/** Least time between two checks for waiting connections while requests are identified. */
const CHECK_MS = 20;
/** Checks are spaced at least this many times their own duration apart (a check lists every socket of the process). */
const CHECK_SPACING = 100;

/** One of this process's listening sockets. */
export interface Listener {
  readonly fd: number;
  readonly inode: number;
  readonly port: number;
}

/** This process's TCP listening sockets, on `port` or on any port. */
export function ownListeners(port?: number): Listener[] {
  const listeners: Listener[] = [];
  for (const [inode, fd] of ownSocketFds()) {
    const p = tcpLocalPort(fd, "listener");
    if (p !== undefined && (port === undefined || p === port)) listeners.push({ fd, inode, port: p });
  }
  return listeners;
}

/**
 * Arrivals at this process's listeners on one TCP port (or on all).
 * `undefined` from {@link watch} when there is none to watch, and
 * `mayBeNew` true for good once the listeners are gone: then every request
 * is identified, as without a watch.
 *
 * @example
 * ```ts
 * import { ListenerArrivals } from "./_listener_arrivals.ts";
 * const arrivals = ListenerArrivals.watch(8080); // the port a server of this process listens on
 * // per request:
 * if (!arrivals || arrivals.mayBeNew()) {
 *   // identify the request's connection; then, with the inodes of the connections seen:
 *   arrivals?.settle(new Set<number>());
 * }
 * arrivals?.close();
 * ```
 */
export class ListenerArrivals implements Disposable {
  /** The port watched, or undefined when every TCP listener of the process is (see {@link watchAll}). */
  readonly port: number | undefined;
  /** The listeners watched. */
  readonly listeners: readonly Listener[];
  readonly #ports: ReadonlySet<number>;
  readonly #info = new Uint8Array(MAX_TCP_INFO);
  readonly #watch: ArrivalWatch;
  #identifying = true; // connections accepted before the watch are not known yet
  #nextCheck = 0;

  private constructor(port: number | undefined, listeners: Listener[], watch: ArrivalWatch) {
    this.port = port;
    this.listeners = listeners;
    this.#ports = new Set(listeners.map((l) => l.port));
    this.#watch = watch;
  }

  /**
   * Watches this process's TCP listeners on `port`; undefined when it holds
   * none (a listener of another process, a unix socket) or more than one
   * watch covers. Errors of the kernel as `ArrivalWatch.open` throws them.
   */
  static watch(port: number): ListenerArrivals | undefined {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new RangeError(`bad port ${port}`);
    return ListenerArrivals.#open(port, ownListeners(port));
  }

  /**
   * Watches every TCP listener this process holds, for a server that does
   * not tell its port (Deno's); undefined as for {@link watch}. A listener
   * opened later is not covered: {@link stale} tells when the set changed.
   */
  static watchAll(): ListenerArrivals | undefined {
    return ListenerArrivals.#open(undefined, ownListeners());
  }

  static #open(port: number | undefined, listeners: Listener[]): ListenerArrivals | undefined {
    if (listeners.length === 0 || listeners.length > MAX_WATCHED_LISTENERS) return undefined;
    return new ListenerArrivals(port, listeners, ArrivalWatch.open(listeners.map((l) => l.fd)));
  }

  /** Whether the watch is closed (by {@link close}, or because its listeners went). */
  get closed(): boolean {
    return this.#watch.closed;
  }

  /** Whether every listener watched is still open; closes the watch when one is not. */
  listening(): boolean {
    if (!this.#watch.closed && this.listeners.every((l) => holdsSocket(l.fd, l.inode))) return true;
    this.close();
    return false;
  }

  /**
   * Whether the process's TCP listeners (on the watched port, if one) are
   * no longer the ones watched; `now` are the listeners now (by default
   * listed, which lists every socket of the process).
   */
  stale(now: readonly Listener[] = ownListeners(this.port)): boolean {
    return now.length !== this.listeners.length ||
      now.some((l) => !this.listeners.some((w) => w.fd === l.fd && w.inode === l.inode));
  }

  /** Whether the connection of a request starting now may be one not seen yet. Costs no syscall when none arrived. */
  mayBeNew(): boolean {
    if (this.#identifying) return true;
    if (this.#watch.take()) this.#identifying = true;
    return this.#identifying;
  }

  /**
   * After a request identified while {@link mayBeNew}: ends the period of
   * identified requests when no connection waits for its first request.
   * `seen` holds the inodes of the connections already seen. Checks at
   * most once per interval, and take about 1% of the time at most.
   */
  settle(seen: ReadonlySet<number>): void {
    if (!this.#identifying || this.#watch.closed) return;
    const start = performance.now();
    if (start < this.#nextCheck) return;
    this.#watch.take(); // what arrived until now is in the listing below
    if (!this.#waiting(seen)) this.#identifying = false;
    const end = performance.now();
    this.#nextCheck = end + Math.max(CHECK_MS, CHECK_SPACING * (end - start));
  }

  /** Whether a connection waits in a listener's accept queue, or is held here and not seen. */
  #waiting(seen: ReadonlySet<number>): boolean {
    for (const l of this.listeners) {
      if (heldTcpInfo(l.fd, l.inode, this.#info) === undefined) {
        this.close(); // the server closed it: identify every request from now on
        return true;
      }
      if (tcpInfoField(this.#info, "unacked")! > 0) return true; // a listener's accept queue length
    }
    for (const inode of ListenerArrivals.connectionsOn(this.#ports)) if (!seen.has(inode)) return true;
    return false;
  }

  /** The inodes of this process's TCP connections on these local ports. Lists every socket of the process. */
  static connectionsOn(ports: ReadonlySet<number>): number[] {
    const inodes: number[] = [];
    for (const [inode, fd] of ownSocketFds()) if (ports.has(tcpLocalPort(fd, "connection") ?? 0)) inodes.push(inode);
    return inodes;
  }

  /** Stops watching; later requests are all taken for possibly new ones. */
  close(): void {
    this.#watch.close();
    this.#identifying = true;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
