/**
 * TCP_INFO for one connection: by file descriptor (getsockopt) or, for
 * servers that hide descriptors such as `Deno.serve` and `Bun.serve`, by
 * its address pair or by its remote end alone through sock_diag.
 *
 * @module
 */
import { NativeError } from "../errors.ts";
import { native } from "../native/library.ts";
import { ADDR_RECORD, encodeAddress, formatAddress, type InetAddress, parseAddress } from "./address.ts";
import { type DiagChannel, type InetDiagSocket, withSocket } from "./diag_socket.ts";
import { findConnection, lookupError, MAX_TCP_INFO } from "./find_connection.ts";
import {
  fieldEnd,
  readField,
  TCP_INFO_FIELDS,
  TCP_STATES,
  type TcpInfoField,
  tcpInfoField,
} from "./tcp_info_fields.ts";

export { TCP_STATES };

/** Where the figures come from; a connection found by its remote end gets its `local` on the first read. */
type Source = { fd: number } | { local?: InetAddress; remote: InetAddress; localPort?: number; sock?: InetDiagSocket };

/** Options for {@link TcpInfo.fromRemote}. */
export interface FromRemoteOptions {
  /** Only a connection on this local port (the server's port), 1-65535; by default any. */
  localPort?: number;
  /** A netlink socket of its own; by default the process's shared one. */
  sock?: InetDiagSocket;
}

/**
 * The kernel's `struct tcp_info` for one TCP socket, fields by name
 * (`info.get("rtt")`, `info.fields`). Only the fields inside the length the
 * kernel returned are present; `raw` holds every byte it returned.
 *
 * @example
 * ```ts
 * const info = TcpInfo.fromAddress("127.0.0.1:8080", "127.0.0.1:50312");
 * info.get("last_data_recv"); // ms since data last arrived
 * info.refresh();
 * ```
 */
export class TcpInfo {
  #raw = new Uint8Array(0);
  #source: Source;

  private constructor(source: Source) {
    this.#source = source;
    this.refresh();
  }

  /** Reads TCP_INFO of an open TCP socket descriptor. */
  static fromFd(fd: number): TcpInfo {
    if (typeof fd !== "number") throw new TypeError(`fd must be a number, got ${typeof fd}`);
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
    }
    return new TcpInfo({ fd });
  }

  /**
   * Reads TCP_INFO of the connection with this local and remote
   * `host:port` (as the server sees it). An IPv4 pair also matches a
   * dual-stack IPv6 socket that carries it as `::ffff:a.b.c.d`.
   * Throws a NativeError with code ENOENT when no such connection exists.
   */
  static fromAddress(local: string, remote: string, sock?: InetDiagSocket): TcpInfo {
    const l = parseAddress(local), r = parseAddress(remote);
    if (l.family !== r.family) throw new RangeError("local and remote addresses must be of the same family");
    return new TcpInfo({ local: l, remote: r, sock });
  }

  /**
   * Reads TCP_INFO of the connection whose remote end (the client, as the
   * server sees it) is `remote`, and finds its local end, exposed as
   * {@link local}: what `Deno.serve` and `Bun.serve` do not tell a
   * handler. With `localPort`, only a connection on that port counts. An
   * IPv4 `remote` also matches a dual-stack IPv6 socket (its local end is
   * then reported as IPv4). When several sockets match, an accepted one
   * wins over one still in an accept queue. {@link refresh} reads again
   * by the address pair found. Throws a NativeError with code ENOENT when
   * no connection has this remote end.
   *
   * @example
   * ```ts
   * const info = TcpInfo.fromRemote("127.0.0.1:50312", { localPort: 8080 });
   * info.local; // "127.0.0.1:8080"
   * ```
   */
  static fromRemote(remote: string, options: FromRemoteOptions = {}): TcpInfo {
    const r = parseAddress(remote);
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
    const { localPort, sock } = options;
    if (localPort !== undefined) {
      if (typeof localPort !== "number") throw new TypeError(`localPort must be a number, got ${typeof localPort}`);
      if (!Number.isInteger(localPort) || localPort < 1 || localPort > 65535) {
        throw new RangeError(`localPort must be an integer from 1 to 65535, got ${localPort}`);
      }
    }
    return new TcpInfo({ remote: r, localPort, sock });
  }

  /** The connection's local end `host:port` (undefined for {@link fromFd}). */
  get local(): string | undefined {
    const src = this.#source;
    return "local" in src && src.local ? formatAddress(src.local) : undefined;
  }

  /** The connection's remote end `host:port` (undefined for {@link fromFd}). */
  get remote(): string | undefined {
    const src = this.#source;
    return "remote" in src ? formatAddress(src.remote) : undefined;
  }

  /** Reads the kernel's figures again, in place (the gem's `get!`). */
  refresh(): this {
    const out = new Uint8Array(MAX_TCP_INFO);
    const src = this.#source;
    let n: number;
    if ("fd" in src) {
      n = native().rd_tcp_info_fd(src.fd, out, out.length);
      if (n < 0) throw new NativeError("getsockopt(TCP_INFO)", -n);
    } else {
      n = withSocket(
        src.sock,
        (s) => (src.local ? this.#byPair(s, src.local, src.remote, out) : this.#byRemote(s, src, out)),
      );
    }
    this.#raw = out.slice(0, Math.min(n, out.length));
    return this;
  }

  /** The first read of {@link fromRemote}: finds the connection and keeps its local end. */
  #byRemote(s: DiagChannel, src: { remote: InetAddress; localPort?: number }, out: Uint8Array): number {
    const found = findConnection(s, src.remote, { localPort: src.localPort });
    this.#source = { ...src, local: found.local };
    out.set(found.info);
    return found.info.length;
  }

  #byPair(s: DiagChannel, local: InetAddress, remote: InetAddress, out: Uint8Array): number {
    const pair = new Uint8Array(2 * ADDR_RECORD);
    encodeAddress(local, pair, 0);
    encodeAddress(remote, pair, ADDR_RECORD);
    // The native side also asks for an IPv4 pair IPv4-mapped (a dual-stack socket).
    const rc = native().rd_tcp_info_by_addr(
      s.fd,
      pair.subarray(0, ADDR_RECORD),
      pair.subarray(ADDR_RECORD),
      out,
      out.length,
      s.scratch,
      s.scratch.length,
    );
    if (rc < 0) throw lookupError(rc, "no such connection");
    return rc;
  }

  /** Every byte the kernel returned. */
  get raw(): Uint8Array {
    return this.#raw;
  }

  /** One field, or undefined when the kernel's struct is too short to hold it. */
  get(field: TcpInfoField): number | undefined {
    return tcpInfoField(this.#raw, field);
  }

  /** Every field the kernel returned, by name. */
  get fields(): Partial<Record<TcpInfoField, number>> {
    const view = new DataView(this.#raw.buffer);
    const out: Partial<Record<TcpInfoField, number>> = {};
    for (const spec of TCP_INFO_FIELDS) if (fieldEnd(spec) <= this.#raw.length) out[spec[0]] = readField(view, spec);
    return out;
  }

  /** The TCP state's name, e.g. "ESTABLISHED". */
  get stateName(): string {
    const s = this.#raw[0];
    return Object.entries(TCP_STATES).find(([, n]) => n === s)?.[0] ?? `UNKNOWN(${s})`;
  }

  /** The named fields the kernel returned, as a plain object. */
  toJSON(): Partial<Record<TcpInfoField, number>> {
    return this.fields;
  }
}
