/**
 * The kernel's report of connections arriving at listening sockets this
 * process holds, although the server accepts each at once (an io_uring
 * multishot poll of a private epoll instance holding the listeners, in
 * the native library: see zig/src/arrivals.zig). Asking costs no syscall
 * while nothing arrived.
 *
 * @module
 */
import { Errno, ExhaustedError, NativeError } from "../errors.ts";
import { native } from "../native/library.ts";

/** Listeners one watch covers (the native library's limit). */
export const MAX_WATCHED_LISTENERS = 8;

/** Closes the watches their owner dropped without closing them. */
const closer = new FinalizationRegistry<number>((handle) => {
  native().rd_arrivals_close(handle);
});

/**
 * Arrivals at a set of listening sockets of this process. Open it on the
 * thread that runs their server (the kernel posts an arrival when that
 * thread next leaves the kernel). Close it with `close()` or `using`; one
 * dropped unclosed is closed by the garbage collector, and one whose thread
 * ended (a terminated Worker) by the next watch opened in the process.
 *
 * @example
 * ```ts
 * import { ArrivalWatch } from "./arrival_watch.ts";
 * import { ownSocketFds, tcpLocalPort } from "./own_sockets.ts";
 * const listeners = [...ownSocketFds().values()].filter((fd) => tcpLocalPort(fd, "listener") !== undefined);
 * using watch = ArrivalWatch.open(listeners.slice(0, 1));
 * if (watch.take()) console.log("connections arrived since the last look");
 * ```
 */
export class ArrivalWatch implements Disposable {
  #handle: number;
  readonly #token = {};

  private constructor(handle: number) {
    this.#handle = handle;
    closer.register(this, handle, this.#token);
  }

  /**
   * Watches the listening sockets with descriptors `fds` (1 to
   * {@link MAX_WATCHED_LISTENERS}). RangeError for another count;
   * ExhaustedError when the process holds as many watches as the library
   * keeps; NativeError otherwise (EINVAL: a descriptor epoll cannot watch;
   * ENOSYS or EPERM: no io_uring).
   */
  static open(fds: readonly number[]): ArrivalWatch {
    if (fds.length === 0 || fds.length > MAX_WATCHED_LISTENERS) {
      throw new RangeError(`a watch covers 1 to ${MAX_WATCHED_LISTENERS} listeners, got ${fds.length}`);
    }
    const list = Int32Array.from(fds);
    const handle = native().rd_arrivals_open(list, list.byteLength);
    if (handle === -Errno.EMFILE) {
      throw new ExhaustedError(
        "every arrival watch of the process is open: close() those no longer used",
        Errno.EMFILE,
      );
    }
    if (handle < 0) throw new NativeError("opening an arrival watch (io_uring)", -handle);
    return new ArrivalWatch(handle);
  }

  /** Whether the watch is closed. */
  get closed(): boolean {
    return this.#handle < 0;
  }

  /**
   * Whether one or more connections arrived since the last call (or since
   * the watch opened); true once closed, when nothing is known.
   */
  take(): boolean {
    if (this.#handle < 0) return true;
    const rc = native().rd_arrivals_take(this.#handle);
    if (rc < 0) throw new NativeError("reading an arrival watch", -rc);
    return rc !== 0;
  }

  /** Stops watching and frees the watch's descriptors; later calls do nothing. */
  close(): void {
    if (this.#handle < 0) return;
    closer.unregister(this.#token);
    native().rd_arrivals_close(this.#handle);
    this.#handle = -1;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
