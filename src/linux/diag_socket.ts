/**
 * A reusable NETLINK_SOCK_DIAG socket, with the receive buffer the native
 * side parses replies in, so repeated queries open nothing and allocate
 * nothing.
 *
 * @module
 */
import { ClosedError, Errno, NativeError } from "../errors.ts";
import { native } from "../native/library.ts";

/**
 * Receive buffer for one netlink datagram. The kernel sends sock_diag dumps
 * in datagrams of at most 32 KiB (about 370 sockets each); twice that leaves
 * room for larger pages.
 */
const SCRATCH_BYTES = 64 * 1024;

const closer = new FinalizationRegistry<number>((fd) => {
  native().rd_diag_close(fd);
});

/** Explains a netlink failure, naming the kernel module when one is missing. */
export function diagError(what: string, rc: number): NativeError {
  const errno = -rc;
  const missing = errno === Errno.EPROTONOSUPPORT || errno === Errno.ENOENT;
  return new NativeError(
    what,
    errno,
    missing
      ? `the kernel lacks sock_diag support for this family: load inet_diag and tcp_diag (TCP) or unix_diag (unix sockets)`
      : "",
  );
}

/**
 * A netlink socket of its own for socket statistics, reusable across
 * queries; without one, queries share one socket per process. Close it
 * with `close()` (safe to call twice) or `using`: the garbage collector
 * closes a forgotten one only when it happens to run, which may be after
 * the process has run out of descriptors.
 *
 * @example
 * ```ts
 * import { InetDiagSocket, tcpListenerStats } from "raindrops";
 * using sock = new InetDiagSocket();
 * tcpListenerStats("0.0.0.0:8080", sock);
 * ```
 */
export class InetDiagSocket {
  #fd: number;
  readonly #token = {};
  /** @internal Receive buffer handed to the native parser. */
  readonly scratch: Uint8Array = new Uint8Array(SCRATCH_BYTES);

  constructor() {
    const fd = native().rd_diag_open();
    if (fd < 0) throw diagError("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", fd);
    this.#fd = fd;
    closer.register(this, fd, this.#token);
  }

  /** The file descriptor; throws ClosedError after close(). */
  get fd(): number {
    if (this.#fd < 0) throw new ClosedError("InetDiagSocket");
    return this.#fd;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Closes the socket; later calls do nothing. */
  close(): void {
    if (this.#fd < 0) return;
    closer.unregister(this.#token);
    native().rd_diag_close(this.#fd);
    this.#fd = -1;
  }

  /** Closes the socket at the end of a `using` scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** What one query needs: a sock_diag descriptor and a receive buffer. */
export interface DiagChannel {
  readonly fd: number;
  /** @internal Receive buffer handed to the native parser. */
  readonly scratch: Uint8Array;
}

let shared: DiagChannel | undefined;

/**
 * The process's one shared sock_diag socket (opened natively on first use,
 * open for the process's life, requests on it taken in turn by the
 * process's threads) with this thread's receive buffer. Queries given no
 * socket use it, so they open nothing per call and a Worker that ends
 * leaves no descriptor behind.
 */
export function sharedChannel(): DiagChannel {
  if (shared) return shared;
  const fd = native().rd_diag_shared();
  if (fd < 0) throw diagError("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", fd);
  return (shared = { fd, scratch: new Uint8Array(SCRATCH_BYTES) });
}

/** Runs `body` with `sock`, or with the process's shared socket. */
export function withSocket<T>(sock: InetDiagSocket | undefined, body: (s: DiagChannel) => T): T {
  if (sock === undefined) return body(sharedChannel());
  if (!(sock instanceof InetDiagSocket)) throw new TypeError("sock must be an InetDiagSocket");
  return body(sock);
}
