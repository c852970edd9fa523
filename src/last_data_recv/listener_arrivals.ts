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
import { TCP_INFO_FIELDS } from "../linux/tcp_info_fields.ts";
import { native } from "../native/library.ts";
import { ownSocketFds } from "./own_sockets.ts";

const UNACKED = TCP_INFO_FIELDS.find((f) => f[0] === "unacked")!; // a listener's accept queue length
/** Least time between two checks for waiting connections while requests are identified. */
const CHECK_MS = 20;
/** Checks are spaced at least this many times their own duration apart (a check lists every socket of the process). */
const CHECK_SPACING = 100;
/** Listeners one watch covers (the native library's limit). */
const MAX_LISTENERS = 8;

/** One of this process's listening sockets. */
interface Listener {
  readonly fd: number;
  readonly inode: number;
  readonly port: number;
}

/** This process's TCP listening sockets, on `port` or on any port. */
function ownListeners(port?: number): Listener[] {
  const lib = native();
  const pairs = ownSocketFds();
  const listeners: Listener[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const p = lib.rd_tcp_local_port(pairs[i], 1);
    if (p > 0 && (port === undefined || p === port)) listeners.push({ fd: pairs[i], inode: pairs[i + 1], port: p });
  }
  return listeners;
}

/**
 * Arrivals at this process's listeners on one TCP port. `undefined` from
 * {@link watch} when there is none to watch, and `mayBeNew` true for good
 * once the listeners are gone: then every request is identified, as
 * without a watch.
 *
 * @example
 * ```ts
 * import { ListenerArrivals } from "./listener_arrivals.ts";
 * const arrivals = ListenerArrivals.watch(8080); // the port a server of this process listens on
 * // per request:
 * if (!arrivals || arrivals.mayBeNew()) {
 *   // identify the request's connection; then:
 *   arrivals?.settle((inode) => false); // whether a connection's socket is one already seen
 * }
 * arrivals?.close();
 * ```
 */
export class ListenerArrivals implements Disposable {
  /** The port watched, or undefined when every TCP listener of the process is (see {@link watchAll}). */
  readonly port: number | undefined;
  readonly #ports: ReadonlySet<number>;
  readonly #listeners: readonly Listener[];
  readonly #info = new Uint8Array(256);
  #handle: number;
  #identifying = true; // connections accepted before the watch are not known yet
  #nextCheck = 0;

  private constructor(port: number | undefined, listeners: Listener[], handle: number) {
    this.port = port;
    this.#ports = new Set(listeners.map((l) => l.port));
    this.#listeners = listeners;
    this.#handle = handle;
  }

  /**
   * Watches this process's TCP listeners on `port`; undefined when it holds
   * none (a listener of another process, a unix socket), more than the
   * native library covers, or the kernel offers no io_uring.
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
    if (listeners.length === 0 || listeners.length > MAX_LISTENERS) return undefined;
    const fds = Int32Array.from(listeners, (l) => l.fd);
    const handle = native().rd_arrivals_open(fds, fds.byteLength);
    return handle < 0 ? undefined : new ListenerArrivals(port, listeners, handle);
  }

  /** Whether the process's TCP listeners (on the watched port, if one) are no longer the ones watched. Lists every socket of the process. */
  stale(): boolean {
    const now = ownListeners(this.port);
    return now.length !== this.#listeners.length ||
      now.some((l) => !this.#listeners.some((w) => w.fd === l.fd && w.inode === l.inode));
  }

  /** Whether the connection of a request starting now may be one not seen yet. Costs no syscall when none arrived. */
  mayBeNew(): boolean {
    if (this.#identifying || this.#handle < 0) return true;
    if (native().rd_arrivals_take(this.#handle) !== 0) this.#identifying = true;
    return this.#identifying;
  }

  /**
   * After a request identified while {@link mayBeNew}: ends the period of
   * identified requests when no connection waits for its first request.
   * `seen` tells whether a socket (by inode) belongs to a connection
   * already seen. Checks at most once per interval, and take about 1% of
   * the time at most.
   */
  settle(seen: (inode: number) => boolean): void {
    if (!this.#identifying || this.#handle < 0) return;
    const start = performance.now();
    if (start < this.#nextCheck) return;
    native().rd_arrivals_take(this.#handle); // what arrived until now is in the listing below
    if (!this.#waiting(seen)) this.#identifying = false;
    const end = performance.now();
    this.#nextCheck = end + Math.max(CHECK_MS, CHECK_SPACING * (end - start));
  }

  /** Whether a connection waits in a listener's accept queue, or is held here and not seen. */
  #waiting(seen: (inode: number) => boolean): boolean {
    const lib = native();
    const view = new DataView(this.#info.buffer);
    for (const l of this.#listeners) {
      if (lib.rd_tcp_info_fd_checked(l.fd, l.inode, this.#info, this.#info.byteLength) < 0) {
        this.close(); // the server closed it: identify every request from now on
        return true;
      }
      if (view.getUint32(UNACKED[1], true) > 0) return true;
    }
    const pairs = ownSocketFds();
    for (let i = 0; i < pairs.length; i += 2) {
      if (!seen(pairs[i + 1]) && this.#ports.has(lib.rd_tcp_local_port(pairs[i], 0))) return true;
    }
    return false;
  }

  /** Stops watching; later requests are all taken for possibly new ones. */
  close(): void {
    if (this.#handle < 0) return;
    native().rd_arrivals_close(this.#handle);
    this.#handle = -1;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
