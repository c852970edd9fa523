// deno-fmt-ignore-file: tables kept compact on purpose
/**
 * Errors raised by raindrops. Bad arguments throw the built-in `TypeError`
 * (wrong type) or `RangeError` (wrong value); everything else is a
 * {@link RaindropsError} subclass carrying the errno name the kernel gave.
 *
 * @module
 */

/** Linux errno numbers we can name; others are reported as `E<number>`. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 4: "EINTR", 7: "E2BIG", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM",
  13: "EACCES", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 20: "ENOTDIR",
  21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 27: "EFBIG",
  28: "ENOSPC", 30: "EROFS", 36: "ENAMETOOLONG", 40: "ELOOP", 71: "EPROTO",
  88: "ENOTSOCK", 93: "EPROTONOSUPPORT", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT",
  105: "ENOBUFS",
};

/** Symbolic name of a Linux errno, e.g. `errnoName(2) === "ENOENT"`. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/**
 * Base class of every non-argument error from raindrops.
 *
 * @example
 * ```ts
 * import { Raindrops, RaindropsError } from "@raindrops/raindrops";
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

/** libraindrops.so could not be loaded; the message lists every path tried. */
export class NativeLibraryError extends RaindropsError {
  /** `message` lists every path tried and what to do. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, "NATIVE_LIBRARY", 0, options);
  }
}

/** Throws a {@link NativeError} when a native return code is a negative errno. */
export function check(syscall: string, rc: number, detail = ""): number {
  if (rc < 0) throw new NativeError(syscall, -rc, detail);
  return rc;
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
 * import { NoConnectionError } from "@raindrops/raindrops";
 * import { requestTcpInfo } from "@raindrops/raindrops/hono";
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
