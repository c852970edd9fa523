/**
 * Listeners as users name them, one way for every part of the library (the
 * middleware's `listeners`, the Watcher's, the CLI's arguments): a TCP
 * `host:port` (`[addr]:port` for IPv6), a unix socket path (anything with a
 * `/`), or an abstract unix name `@name`; their queue figures; and the
 * kernel as the source of those figures.
 *
 * @module
 */
import { AddressError } from "../errors.ts";
import { type InetAddress, parseAddress } from "./address.ts";
import type { InetDiagSocket } from "./diag_socket.ts";
import { type ListenStats, tcpListenerOf, tcpListenerStats, unixListenerStats } from "./listen_stats.ts";

/** A listener name, parsed: the TCP address, unix path or abstract name it names. */
export type ListenerAddress =
  | { readonly kind: "tcp"; readonly name: string; readonly address: InetAddress }
  | { readonly kind: "unix"; readonly name: string }
  | { readonly kind: "abstract"; readonly name: string };

/**
 * Where listener figures come from: given listener names (or `undefined`
 * for every listener), a map from name to figures, each at least the
 * `active` and `queued` of {@link ListenStats} (a `ListenStats` itself, or
 * a plain object); `backlog` and `listeners` when the source knows them. A
 * name missing from the map counts as 0 and 0. The default is
 * {@link kernelListenerStats}.
 *
 * @example
 * ```ts
 * const fixed: ListenStatsSource = (names) =>
 *   new Map((names ?? ["127.0.0.1:8080"]).map((n) => [n, { active: 1, queued: 0 }]));
 * ```
 */
export type ListenStatsSource = (
  listeners: readonly string[] | undefined,
) => Map<string, Pick<ListenStats, "active" | "queued"> & Partial<Pick<ListenStats, "backlog" | "listeners">>>;

/** Why a TCP-looking name failed, with what to write instead when we can tell. */
function hintFor(name: string): string {
  const star = /^\*:(\d+)$/.exec(name);
  if (star) return `"*" is not an address: write [::]:${star[1]} (IPv6 and IPv4) or 0.0.0.0:${star[1]} (IPv4)`;
  const host = /^[A-Za-z][\w.-]*:(\d+)$/.exec(name);
  if (host) return `write an IP address, e.g. 127.0.0.1:${host[1]} or [::1]:${host[1]} for this machine`;
  if (/^[\w.-]+$/.test(name) && !/^[\d.]+$/.test(name)) return `a unix socket path needs a "/": ./${name}`;
  return "";
}

/**
 * True when `name` names a unix socket (a path with a `/`, or an abstract
 * `@name`) rather than a TCP address; the rule {@link parseListener}
 * applies, cheap enough to sort by.
 *
 * @example
 * ```ts
 * isUnixListener("/run/app.sock"); // true
 * isUnixListener("0.0.0.0:80");    // false
 * ```
 */
export function isUnixListener(name: string): boolean {
  return name.startsWith("@") || name.includes("/");
}

/**
 * Parses a listener name: `@name` is an abstract unix socket, a name with a
 * `/` a unix socket path, anything else a TCP `host:port` with an IP
 * address (no DNS). Throws RangeError ({@link AddressError} for a bad TCP
 * address, with a hint such as writing `[::]:8080` for `*:8080`), TypeError
 * for a non-string.
 *
 * @example
 * ```ts
 * parseListener("0.0.0.0:8080").kind;    // "tcp"
 * parseListener("/run/app.sock").kind;   // "unix"
 * parseListener("@app").kind;            // "abstract"
 * parseListener("*:8080");               // AddressError: ... write [::]:8080 ... or 0.0.0.0:8080
 * ```
 */
export function parseListener(name: string): ListenerAddress {
  if (typeof name !== "string") throw new TypeError(`a listener must be a string, got ${typeof name}`);
  if (name.includes("\0")) throw new RangeError(`bad listener ${JSON.stringify(name)}: contains NUL`);
  if (isUnixListener(name)) {
    if (!name.startsWith("@")) return { kind: "unix", name };
    if (name.length < 2) throw new RangeError(`bad abstract socket name ${JSON.stringify(name)}: empty`);
    return { kind: "abstract", name };
  }
  try {
    return { kind: "tcp", name, address: parseAddress(name) };
  } catch (e) {
    const hint = hintFor(name);
    if (!(e instanceof AddressError) || !hint) throw e;
    const quoted = JSON.stringify(name);
    const why = e.message.slice(e.message.indexOf(quoted) + quoted.length + 2);
    throw new AddressError(name, `${why}; ${hint}`);
  }
}

/**
 * Checks a list of listener names (see {@link parseListener}) when a
 * middleware, Watcher or CLI is set up, so a bad name never fails a later
 * request; returns them frozen, without duplicates, in order.
 *
 * @example
 * ```ts
 * checkListeners(["0.0.0.0:8080", "/run/app.sock", "0.0.0.0:8080"]); // ["0.0.0.0:8080", "/run/app.sock"]
 * checkListeners(["localhost:8080"]); // AddressError (a RangeError)
 * ```
 */
export function checkListeners(listeners: unknown, what = "listeners"): readonly string[] {
  if (!Array.isArray(listeners)) throw new TypeError(`${what} must be an array of listener names`);
  const out: string[] = [];
  for (const l of listeners) {
    if (typeof l !== "string") throw new TypeError(`${what} must be strings, got ${typeof l}`);
    parseListener(l);
    if (!out.includes(l)) out.push(l);
  }
  return Object.freeze(out);
}

/**
 * The kernel's figures for `listeners` (TCP and unix, through sock_diag),
 * keyed by the names as given; with `undefined`, every TCP and every unix
 * listener on the machine, keyed canonically. Names are checked as
 * {@link parseListener}.
 *
 * @example
 * ```ts
 * kernelListenerStats(["0.0.0.0:8080", "/run/app.sock"]).get("/run/app.sock")?.queued;
 * ```
 */
export function kernelListenerStats(
  listeners: readonly string[] | undefined,
  sock?: InetDiagSocket,
): Map<string, ListenStats> {
  if (listeners === undefined) {
    const all = tcpListenerStats(undefined, sock);
    for (const [k, v] of unixListenerStats(undefined, sock)) all.set(k, v);
    return all;
  }
  const tcp: string[] = [], unix: string[] = [];
  for (const l of listeners) (parseListener(l).kind === "tcp" ? tcp : unix).push(l);
  const out = new Map<string, ListenStats>();
  if (tcp.length) { for (const [k, v] of tcpListenerStats(tcp, sock)) out.set(k, v); }
  if (unix.length) { for (const [k, v] of unixListenerStats(unix, sock)) out.set(k, v); }
  return out;
}

/**
 * True when no listening socket takes connections for `name`, given its
 * figures from {@link kernelListenerStats}: a unix path or abstract name
 * with no listener; a TCP address with none bound to it, to its family's
 * wildcard or to `[::]` (dual-stack). A typo'd port is such a name; an idle
 * listener, or `127.0.0.1:8080` served by a `0.0.0.0:8080` listener, is
 * not; nor is a name whose figures do not tell `listeners`. Asks the
 * kernel again only for a TCP address with no listener of its own.
 *
 * @example
 * ```ts
 * const stats = kernelListenerStats(["127.0.0.1:8080"]);
 * nothingListens("127.0.0.1:8080", stats.get("127.0.0.1:8080")!); // true when nothing serves port 8080 there
 * ```
 */
export function nothingListens(
  name: string,
  figures: Partial<Pick<ListenStats, "listeners">>,
  sock?: InetDiagSocket,
): boolean {
  if (figures.listeners !== 0) return false;
  return parseListener(name).kind !== "tcp" || tcpListenerOf(name, sock) === undefined;
}
