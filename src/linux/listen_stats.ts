/**
 * Listen-queue statistics for TCP (IPv4 and IPv6) and unix listeners, read
 * from the kernel over netlink sock_diag.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { native } from "../native/library.ts";
import { LISTENER_FIGURES, TCP_LISTENER, UNIX_LISTENER } from "../native/records.ts";
import { ADDR_RECORD, encodeAddress, formatAddress, formatRecord, parseAddress, withoutScope } from "./address.ts";
import { type DiagChannel, diagError, type InetDiagSocket, withSocket } from "./diag_socket.ts";
import { Errno } from "../errors.ts";

/**
 * One listener's figures: `queued` connections wait in its accept queue,
 * `active` ones were accepted and are open, `backlog` is the queue's limit
 * (summed over SO_REUSEPORT listeners sharing the address).
 */
export class ListenStats {
  /** Connections accepted and still open. */
  readonly active: number;
  /** Connections waiting in the accept queue. */
  readonly queued: number;
  /** The accept queue's limit (summed over SO_REUSEPORT listeners on the address). */
  readonly backlog: number;
  /** Listening sockets on this address (several with SO_REUSEPORT; 0 if none). */
  readonly listeners: number;

  /** Figures as the kernel gave them; `listeners` counts the listening sockets. */
  constructor(active: number, queued: number, backlog = 0, listeners = 0) {
    this.active = active;
    this.queued = queued;
    this.backlog = backlog;
    this.listeners = listeners;
  }

  /** active + queued. */
  get total(): number {
    return this.active + this.queued;
  }

  /** The figures as a plain object. */
  toJSON(): { active: number; queued: number; total: number; backlog: number } {
    return { active: this.active, queued: this.queued, total: this.total, backlog: this.backlog };
  }
}

/** Addresses one query may name: the in-kernel filter must fit a 64 KiB attribute. */
const MAX_QUERY = 1000;

function asList(input: unknown, what: string): string[] | undefined {
  if (input === undefined || input === null) return undefined;
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.every((a) => typeof a === "string")) return input;
  throw new TypeError(`${what} must be a string or an array of strings`);
}

type Query = (fd: number, query: Uint8Array, out: Uint8Array, scratch: Uint8Array) => number;

/**
 * The answer buffer, this thread's, reused by every query: each answer is
 * read out before the next query, and a fresh buffer per call would cost
 * page faults and garbage in proportion to the number of listeners. It
 * keeps the size the largest answer needed.
 */
let answerBuffer = new Uint8Array(4096);

/**
 * Calls a native query, growing the answer buffer while the kernel has more
 * to say (a too-small buffer costs a whole dump); returns the buffer and the
 * number of records written.
 */
function askRecords(sock: DiagChannel, what: string, call: Query, query: Uint8Array, minBytes: number) {
  if (answerBuffer.length < minBytes) answerBuffer = new Uint8Array(minBytes);
  for (;;) {
    const records = call(sock.fd, query, answerBuffer, sock.scratch);
    if (records === -Errno.ENOSPC && answerBuffer.length < 1 << 28) {
      answerBuffer = new Uint8Array(answerBuffer.length * 4);
      continue;
    }
    if (records < 0) throw diagError(what, records);
    return { out: answerBuffer, records };
  }
}

/** Every listener: no query. */
function askAll(sock: DiagChannel, what: string, call: Query, minBytes: number) {
  return askRecords(sock, what, call, new Uint8Array(0), minBytes);
}

/** One LISTENER_FIGURES record per queried address or path. */
function ask(sock: DiagChannel, what: string, call: Query, query: Uint8Array, count: number): Uint8Array {
  return askRecords(sock, what, call, query, count * LISTENER_FIGURES.size).out;
}

/**
 * The last all-TCP-listeners answer (a copy of its first `records`
 * records) with each record's key string and ListenStats. Listeners rarely
 * change between two scrapes and both answers are sorted by address
 * record, so walking them side by side finds each listener's record of
 * last time: it gives its key (a string already hashed for the Map) and,
 * when the figures are equal too, its ListenStats (immutable), so an
 * unchanged listener costs no new objects, whatever came or went around it.
 */
const lastTcp = { bytes: new Uint8Array(0), records: 0, keys: [] as string[], stats: [] as ListenStats[] };

/** The byte order of the address records of record `i` of `a` and record `j` of `b`. */
function keyOrder(
  a: Uint8Array,
  aWords: Uint32Array,
  i: number,
  b: Uint8Array,
  bWords: Uint32Array,
  j: number,
): number {
  const { size, addr } = TCP_LISTENER;
  const ai = i * size + addr, bj = j * size + addr;
  let same = true;
  for (let k = 0; k < ADDR_RECORD / 4 && same; k++) same = aWords[ai / 4 + k] === bWords[bj / 4 + k];
  if (same) return 0;
  for (let k = 0; k < ADDR_RECORD; k++) {
    if (a[ai + k] !== b[bj + k]) return a[ai + k] - b[bj + k];
  }
  return 0;
}

function sameWords(a: Uint32Array, i: number, b: Uint32Array, j: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[i + k] !== b[j + k]) return false;
  return true;
}

/** Every TCP listener in the answer of an all-listeners query (sorted records), keyed canonically. */
function tcpListeners(answer: Uint8Array, records: number): Map<string, ListenStats> {
  const { size, addr, active, queued, backlog } = TCP_LISTENER;
  const step = size / 4;
  // Records are 4-byte aligned at the start of the answer buffer.
  const words = new Uint32Array(answer.buffer, answer.byteOffset, records * step);
  const last = lastTcp, lastWords = new Uint32Array(last.bytes.buffer, 0, last.records * step);
  const keys = new Array<string>(records), stats = new Array<ListenStats>(records);
  const byKey = new Map<string, ListenStats>();
  for (let r = 0, j = 0; r < records; r++) {
    // Last time's records ordered before this one are gone.
    let order = 1;
    while (j < last.records && (order = keyOrder(last.bytes, lastWords, j, answer, words, r)) < 0) j++;
    const found = j < last.records && order === 0;
    keys[r] = found ? last.keys[j] : formatRecord(answer, r * size + addr);
    stats[r] = found && sameWords(lastWords, j * step, words, r * step, step)
      ? last.stats[j]
      : new ListenStats(words[r * step + active / 4], words[r * step + queued / 4], words[r * step + backlog / 4], 1);
    byKey.set(keys[r], stats[r]);
  }
  if (last.bytes.length < records * size) last.bytes = new Uint8Array(records * size);
  last.bytes.set(answer.subarray(0, records * size));
  Object.assign(last, { records, keys, stats });
  return byKey;
}

function perQuery(answer: Uint8Array, keys: string[]): Map<string, ListenStats> {
  const view = new DataView(answer.buffer, answer.byteOffset);
  const stats = new Map<string, ListenStats>();
  keys.forEach((key, i) => {
    const o = i * LISTENER_FIGURES.size;
    const u32 = (field: number) => view.getUint32(o + field, true);
    const { active, queued, backlog, listeners } = LISTENER_FIGURES;
    stats.set(key, new ListenStats(u32(active), u32(queued), u32(backlog), u32(listeners)));
  });
  return stats;
}

const tcpQuery: Query = (fd, q, out, s) =>
  native().rd_tcp_listener_stats(fd, q, q.length, out, out.length, s, s.length);
const unixQuery: Query = (fd, q, out, s) =>
  native().rd_unix_listener_stats(fd, q, q.length, out, out.length, s, s.length);

/**
 * TCP listener statistics, IPv4 and IPv6. With addresses, the answer is
 * keyed by exactly the strings given (an IPv6 scope id is dropped from the
 * key), and an address nothing listens on gives zeros. With none, every TCP
 * listener on the machine, keyed canonically (`127.0.0.1:80`, `[::1]:80`);
 * a listener whose figures did not change since the last such answer keeps
 * the same (immutable) ListenStats object.
 * A wildcard listener (`0.0.0.0:80`, `[::]:80`) counts connections made to
 * any local address on its port.
 *
 * @example
 * ```ts
 * const stats = tcpListenerStats(["0.0.0.0:8080", "[::1]:8080"]);
 * stats.get("0.0.0.0:8080")?.queued;
 * ```
 */
export function tcpListenerStats(
  addresses?: string | readonly string[],
  sock?: InetDiagSocket,
): Map<string, ListenStats> {
  const list = asList(addresses, "addresses");
  if (list === undefined) {
    return withSocket(sock, (s) => {
      const { out: answer, records } = askAll(s, "sock_diag TCP listeners", tcpQuery, 64 * TCP_LISTENER.size);
      return tcpListeners(answer, records);
    });
  }
  if (list.length > MAX_QUERY) {
    throw new RangeError(
      `at most ${MAX_QUERY} addresses per query (the kernel filter's size limit); got ${list.length}: ask for every listener instead`,
    );
  }
  const query = new Uint8Array(list.length * ADDR_RECORD);
  list.forEach((a, i) => encodeAddress(parseAddress(a), query, i * ADDR_RECORD));
  const keys = list.map(withoutScope);
  if (list.length === 0) return new Map();
  return withSocket(sock, (s) => perQuery(ask(s, "sock_diag TCP listeners", tcpQuery, query, list.length), keys));
}

/** The kernel's name for a unix socket path: symlinks resolved; `@name` stays abstract. */
function kernelName(path: string): string {
  if (path.startsWith("@")) return path;
  try {
    return realpathSync(path);
  } catch {
    return path; // nothing there: the answer is zeros
  }
}

/**
 * Unix stream listener statistics by socket path (symlinks resolve to the
 * same listener) or abstract name written `@name`. With no paths, every
 * unix listener on the machine.
 *
 * @example
 * ```ts
 * unixListenerStats("/run/app.sock").get("/run/app.sock")?.active;
 * ```
 */
export function unixListenerStats(paths?: string | readonly string[], sock?: InetDiagSocket): Map<string, ListenStats> {
  const list = asList(paths, "paths");
  const encoder = new TextEncoder();
  if (list === undefined) {
    return withSocket(sock, (s) => {
      const { out: answer, records } = askAll(s, "sock_diag unix listeners", unixQuery, 64 * 1024);
      const view = new DataView(answer.buffer, answer.byteOffset);
      const stats = new Map<string, ListenStats>();
      const { size, active, queued, backlog, name_len } = UNIX_LISTENER;
      for (let r = 0, o = 0; r < records; r++) {
        const u32 = (field: number) => view.getUint32(o + field, true);
        const nameLen = u32(name_len);
        const name = new TextDecoder().decode(answer.subarray(o + size, o + size + nameLen));
        stats.set(name, new ListenStats(u32(active), u32(queued), u32(backlog), 1));
        o += size + Math.ceil(nameLen / 4) * 4;
      }
      return stats;
    });
  }
  for (const p of list) {
    if (p === "" || p.includes("\0")) throw new RangeError(`bad unix socket path ${JSON.stringify(p)}`);
  }
  if (list.length === 0) return new Map();
  const query = encoder.encode(list.map(kernelName).join("\0"));
  return withSocket(sock, (s) => perQuery(ask(s, "sock_diag unix listeners", unixQuery, query, list.length), list));
}

/**
 * The TCP listener that accepts connections to the local address `local`
 * (a connection's server end), with its figures: the listener bound to that
 * very address, else the wildcard of its family (`0.0.0.0:port`), else the
 * dual-stack `[::]:port`. One query for those few addresses, whatever the
 * number of listeners on the machine. Undefined when none listens there.
 *
 * @example
 * ```ts
 * tcpListenerOf("127.0.0.1:8080"); // ["0.0.0.0:8080", ListenStats { active: 3, ... }] for a wildcard server
 * ```
 */
export function tcpListenerOf(local: string, sock?: InetDiagSocket): [string, ListenStats] | undefined {
  const at = parseAddress(local);
  const candidates = new Set([formatAddress(at), at.family === 4 ? `0.0.0.0:${at.port}` : "", `[::]:${at.port}`]);
  candidates.delete("");
  const stats = tcpListenerStats([...candidates], sock);
  for (const key of candidates) {
    const figures = stats.get(key);
    if (figures && figures.listeners > 0) return [key, figures];
  }
  return undefined;
}
