/**
 * TCP_INFO for one connection: by file descriptor (getsockopt) or, for
 * servers that hide descriptors such as `Deno.serve` and `Bun.serve`, by
 * its address pair through sock_diag.
 *
 * @module
 */
import { NativeError } from "../errors.ts";
import { native } from "../native/library.ts";
import { ADDR_RECORD, encodeAddress, type InetAddress, parseAddress } from "./address.ts";
import { diagError, type InetDiagSocket, withSocket } from "./diag_socket.ts";
import { fieldEnd, readField, TCP_INFO_FIELDS, TCP_STATES, type TcpInfoField } from "./tcp_info_fields.ts";

export { TCP_STATES };

/** Room for the largest tcp_info a kernel returns today, with margin. */
const MAX_TCP_INFO = 512;

/** IPv4 address as the IPv4-mapped IPv6 address a dual-stack socket reports. */
function mapped(a: InetAddress): InetAddress {
  const bytes = new Uint8Array(16);
  bytes[10] = bytes[11] = 0xff;
  bytes.set(a.bytes, 12);
  return { family: 6, bytes, port: a.port };
}

type Source = { fd: number } | { local: InetAddress; remote: InetAddress; sock?: InetDiagSocket };

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
  readonly #source: Source;

  private constructor(source: Source) {
    this.#source = source;
    this.refresh();
  }

  /** Reads TCP_INFO of an open TCP socket descriptor. */
  static fromFd(fd: number): TcpInfo {
    if (typeof fd !== "number") throw new TypeError(`fd must be a number, got ${typeof fd}`);
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
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

  /** Reads the kernel's figures again, in place (the gem's `get!`). */
  refresh(): this {
    const out = new Uint8Array(MAX_TCP_INFO);
    let n: number;
    const src = this.#source;
    if ("fd" in src) {
      n = native().rd_tcp_info_fd(src.fd, out, out.length);
      if (n < 0) throw new NativeError("getsockopt(TCP_INFO)", -n);
    } else {
      n = withSocket(src.sock, (s) => {
        const pair = new Uint8Array(2 * ADDR_RECORD);
        const tryPair = (l: InetAddress, r: InetAddress) => {
          encodeAddress(l, pair, 0);
          encodeAddress(r, pair, ADDR_RECORD);
          return native().rd_tcp_info_by_addr(s.fd, pair.subarray(0, ADDR_RECORD), pair.subarray(ADDR_RECORD), out, out.length, s.scratch, s.scratch.length);
        };
        let rc = tryPair(src.local, src.remote);
        if (rc === -2 && src.local.family === 4) rc = tryPair(mapped(src.local), mapped(src.remote));
        if (rc < 0) throw rc === -2 ? new NativeError("sock_diag TCP_INFO", 2, "no such connection") : diagError("sock_diag TCP_INFO", rc);
        return rc;
      });
    }
    this.#raw = out.slice(0, Math.min(n, out.length));
    return this;
  }

  /** Every byte the kernel returned. */
  get raw(): Uint8Array {
    return this.#raw;
  }

  /** One field, or undefined when the kernel's struct is too short to hold it. */
  get(field: TcpInfoField): number | undefined {
    const spec = TCP_INFO_FIELDS.find((f) => f[0] === field);
    if (!spec) throw new RangeError(`unknown tcp_info field ${String(field)}`);
    if (fieldEnd(spec) > this.#raw.length) return undefined;
    return readField(new DataView(this.#raw.buffer), spec);
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

  toJSON(): Partial<Record<TcpInfoField, number>> {
    return this.fields;
  }
}
