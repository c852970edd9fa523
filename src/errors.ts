// deno-fmt-ignore-file: tables kept compact on purpose
/**
 * Errors raised by raindrops. Bad arguments throw the built-in `TypeError`
 * (wrong type) or `RangeError` (wrong value); everything else is a
 * {@link RaindropsError} subclass carrying the errno name the kernel gave.
 *
 * @module
 */

/**
 * Linux errno numbers by name, for comparing native results without bare
 * numbers: a native call returns `-Errno.ENOENT` when a file is missing.
 * Others are reported as `E<number>`.
 */
export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12,
  EACCES: 13, EBUSY: 16, EEXIST: 17, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22,
  ENFILE: 23, EMFILE: 24, EFBIG: 27, ENOSPC: 28, EROFS: 30, EMLINK: 31, ENAMETOOLONG: 36, ELOOP: 40,
  EPROTO: 71, ENOTSOCK: 88, EPROTONOSUPPORT: 93, EOPNOTSUPP: 95, EAFNOSUPPORT: 97,
  ENOBUFS: 105, ESTALE: 116,
} as const;

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Errno).map(([name, n]) => [n, name]));

/** Symbolic name of a Linux errno, e.g. `errnoName(2) === "ENOENT"`. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/**
 * Base class of every non-argument error from raindrops.
 *
 * @example
 * ```ts
 * import { Raindrops, RaindropsError } from "raindrops";
 * try { new Raindrops(1, { path: "/no/such/dir/x" }); }
 * catch (e) { if (e instanceof RaindropsError) console.log(e.code); } // "ENOENT"
 * ```
 */
export class RaindropsError extends Error {
  /** Errno name such as `"ENOENT"`, or a raindrops code such as `"EVAPORATED"`. */
  readonly code: string;
  /** The positive Linux errno, or 0 when the error did not come from the kernel. */
  readonly errno: number;

  /** An error with a raindrops `code` and, when the kernel gave one, its `errno`. */
  constructor(message: string, code: string, errno = 0, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.errno = errno;
  }
}

/** A native call failed; `syscall` names what was attempted. */
export class NativeError extends RaindropsError {
  /** The native operation that failed, such as `"mmap"`. */
  readonly syscall: string;

  /** Names the failed operation and its errno; `detail` is added to the message. */
  constructor(syscall: string, errno: number, detail = "") {
    const code = errnoName(errno);
    super(`${syscall} failed: ${code}${detail ? ` (${detail})` : ""}`, code, errno);
    this.syscall = syscall;
  }
}

/** Use of a counter set (or anything built on one) after `evaporate()`. */
export class EvaporatedError extends RaindropsError {
  /** `what` names the evaporated object in the message. */
  constructor(what = "Raindrops") {
    super(`${what} has been evaporated`, "EVAPORATED");
  }
}

/** Use of a socket or other handle after `close()`. */
export class ClosedError extends RaindropsError {
  /** `what` names the closed handle in the message. */
  constructor(what: string) {
    super(`${what} is closed`, "CLOSED");
  }
}

/**
 * A file that is not ours to use (code `FOREIGN_FILE`): reached through a
 * symlink, not a regular file, owned by another user or writable by others,
 * with a second name (hard link),
 * replaced or truncated under a live mapping, or holding data of another
 * format or slot size. Nothing was written to it. `errno` is the kernel's
 * or libraindrops' reason when there is one.
 *
 * @example
 * ```ts
 * import { ForeignFileError, SharedAggregate } from "raindrops";
 * try { new SharedAggregate({ path: "/dev/shm/app.latency" }); }
 * catch (e) { if (e instanceof ForeignFileError) console.log(e.path, e.reason); }
 * ```
 */
export class ForeignFileError extends RaindropsError {
  /** The file refused. */
  readonly path: string;
  /** Why, e.g. "is a symbolic link". */
  readonly reason: string;

  /** `reason` completes the sentence "`path` …", e.g. "is a symbolic link". */
  constructor(path: string, reason: string, errno = 0) {
    super(`${path} ${reason}: refused`, "FOREIGN_FILE", errno);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * A limited resource is used up (code `EXHAUSTED`): every worker slot of a
 * stats file is held, or this process holds as many file mappings as it
 * may. The process is unharmed; release some and retry.
 *
 * @example
 * ```ts
 * import { ExhaustedError, Raindrops } from "raindrops";
 * try { new Raindrops(1, { path: "/dev/shm/app.counters" }); }
 * catch (e) { if (e instanceof ExhaustedError) console.log(e.message); }
 * ```
 */
export class ExhaustedError extends RaindropsError {
  /** `errno` is the kernel's reason when there is one (e.g. ENOMEM), else 0. */
  constructor(message: string, errno = 0) {
    super(message, "EXHAUSTED", errno);
  }
}

/** libraindrops.so could not be loaded; the message lists every path tried. */
export class NativeLibraryError extends RaindropsError {
  /** `message` lists every path tried and what to do. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, "NATIVE_LIBRARY", 0, options);
  }
}

/**
 * raindrops runs in-process, without its native library (see
 * `RAINDROPS_NATIVE` in the README): counters work, but this needs the
 * kernel (listener statistics, TCP_INFO). The message says why the library
 * is missing.
 */
export class NativeUnavailableError extends NativeLibraryError {
  /** `why` is the loader's reason the library is missing. */
  constructor(why: string) {
    super(
      `unavailable without the native library (raindrops runs in-process, RAINDROPS_NATIVE=optional): ${why}`,
    );
  }
}

/** A malformed `host:port` address or socket path. */
export class AddressError extends RangeError {
  /** The text that failed to parse. */
  readonly input: string;

  /** `input` is the text that failed to parse, `why` the reason. */
  constructor(input: string, why: string) {
    super(`invalid address ${JSON.stringify(input)}: ${why}`);
    this.name = "AddressError";
    this.input = input;
  }
}

/**
 * A request whose server did not tell the client's address, so its
 * connection cannot be found (code `NO_CONNECTION`): the app was not given
 * Bun's `Server` or Deno's `ServeHandlerInfo` as its env.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { NoConnectionError } from "raindrops";
 * import { requestTcpInfo } from "raindrops/hono";
 * new Hono().get("/", (c) => {
 *   try { return c.json(requestTcpInfo(c).fields); }
 *   catch (e) { return c.text(e instanceof NoConnectionError ? e.code : "error"); } // "NO_CONNECTION"
 * });
 * ```
 */
export class NoConnectionError extends RaindropsError {
  /** `detail` says what the server's env lacked. */
  constructor(detail: string) {
    super(`cannot find the request's connection: ${detail}`, "NO_CONNECTION");
  }
}

/**
 * A process opened a `SharedAggregate` file that holds another bucket
 * layout, or that is not an aggregate file at all. Code `AGGREGATE_MISMATCH`.
 *
 * @example
 * ```ts
 * import { AggregateMismatchError, SharedAggregate } from "raindrops";
 * const path = "/dev/shm/app.latency";
 * try { new SharedAggregate({ path, buckets: { min: 0, max: 100, width: 10 } }); }
 * catch (e) { if (e instanceof AggregateMismatchError) console.log(e.message); }
 * ```
 */
export class AggregateMismatchError extends RaindropsError {
  /** `message` says which layout the file holds and which was asked for. */
  constructor(message: string) {
    super(message, "AGGREGATE_MISMATCH");
  }
}

/**
 * A metric defined differently from the one of the same name already in its
 * shared file (another type, label names, buckets or gauge aggregation):
 * every worker sharing the file must define it the same way. Code
 * `METRIC_MISMATCH`.
 *
 * @example
 * ```ts
 * import { Counter, MetricMismatchError, Registry } from "raindrops";
 * const registry = new Registry({ path: "/dev/shm/app.metrics" });
 * const jobs = new Counter({ name: "jobs_total", help: "Jobs.", labelNames: ["queue"], registers: [registry] });
 * try { jobs.inc({ queue: "mail" }); } // another worker defined jobs_total with other labels
 * catch (e) { if (e instanceof MetricMismatchError) console.log(e.message); }
 * ```
 */
export class MetricMismatchError extends RaindropsError {
  /** `message` names the metric, the file, and both definitions. */
  constructor(message: string) {
    super(message, "METRIC_MISMATCH");
  }
}
