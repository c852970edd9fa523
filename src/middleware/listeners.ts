/**
 * Which listeners the stats endpoint reports, and where their queue figures
 * come from.
 *
 * @module
 */
import type { Context } from "hono";
import { requestLocalAddress } from "../hono/connection.ts";
import { joinHostPort, parseAddress } from "../linux/address.ts";
import { tcpListenerStats } from "../linux/listen_stats.ts";
import type { ListenerSnapshot } from "./format.ts";

/** A listener's queue figures, as `src/linux/listen_stats.ts` returns them. */
export interface ListenQueue {
  /** Accepted connections that are open. */
  readonly active: number;
  /** Connections waiting in the accept queue. */
  readonly queued: number;
  /** The accept queue's limit, when the source knows it. */
  readonly backlog?: number;
}

/**
 * Reads the figures of TCP listeners (`host:port`, IPv6 as `[addr]:port`)
 * and unix listeners (absolute paths); returns them keyed by the address or
 * path as given. Missing keys are reported as 0.
 */
export type ListenStatsSource = (
  tcp: readonly string[],
  unix: readonly string[],
) => ReadonlyMap<string, ListenQueue>;

/** The second argument of `fetch`, as Hono passes it in `c.env`. */
// deno-lint-ignore no-explicit-any
type Env = any;

/**
 * The listen address of the server that handled a request, when the
 * server's `env` tells it by shape (an object with `hostname` and a numeric
 * `port`, like Bun's Server); undefined otherwise. See {@link ownListener}
 * for servers that do not tell it.
 *
 * @example
 * ```ts
 * listenerOf({ hostname: "0.0.0.0", port: 8080 }); // "0.0.0.0:8080"
 * listenerOf({ hostname: "::", port: 8080 });      // "[::]:8080"
 * ```
 */
export function listenerOf(env: Env): string | undefined {
  if (env === null || typeof env !== "object") return undefined;
  const { hostname, port } = env;
  if (typeof hostname === "string" && typeof port === "number" && port > 0) return joinHostPort(hostname, port);
  return undefined;
}

/**
 * The listener that accepted the request's connection: from the server's
 * `env` when it says (Bun), else found from the connection itself (Deno,
 * whose `env` has only the client address): its local address through
 * sock_diag, then the TCP listener on that port bound to that address or to
 * the wildcard of its family. Undefined when neither works (no connection
 * info, a unix socket).
 *
 * @example
 * ```ts
 * app.get("/who", (c) => c.text(ownListener(c) ?? "unknown")); // "0.0.0.0:8080"
 * ```
 */
export function ownListener(c: Context): string | undefined {
  const told = listenerOf(c.env);
  if (told) return told;
  let local;
  try {
    local = parseAddress(requestLocalAddress(c));
  } catch {
    return undefined;
  }
  const mapped = local.family === 6 && local.bytes.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
  let wildcard: string | undefined;
  for (const key of tcpListenerStats().keys()) {
    const l = parseAddress(key);
    if (l.port !== local.port) continue;
    if (l.family === local.family && l.bytes.every((b, i) => b === local.bytes[i])) return key;
    const anyAddress = l.bytes.every((b) => b === 0);
    if (anyAddress && (l.family === local.family || (l.family === 6 && mapped))) wildcard ??= key;
  }
  return wildcard;
}

/**
 * Checks a `listeners` option: a list of `host:port` and unix paths, or
 * `"auto"` (the default).
 */
export function checkListeners(listeners: unknown): readonly string[] | "auto" {
  if (listeners === undefined || listeners === "auto") return "auto";
  if (!Array.isArray(listeners)) throw new TypeError('listeners must be an array of addresses or "auto"');
  for (const l of listeners) {
    if (typeof l !== "string") throw new TypeError(`listeners must be strings, got ${typeof l}`);
    if (!l.startsWith("/") && !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(l)) {
      throw new RangeError(
        `listener ${JSON.stringify(l)} is neither host:port ([addr]:port for IPv6) nor an absolute path`,
      );
    }
  }
  return Object.freeze([...listeners]);
}

/**
 * Listener lines for `addresses` (unix paths start with `/`), in order,
 * from `source`; an address the source does not know reports 0 and 0.
 *
 * @example
 * ```ts
 * const source = () => new Map([["0.0.0.0:8080", { active: 2, queued: 1 }]]);
 * listenerSnapshots(["0.0.0.0:8080", "/tmp/app.sock"], source);
 * // [{ address: "0.0.0.0:8080", active: 2, queued: 1 }, { address: "/tmp/app.sock", active: 0, queued: 0 }]
 * ```
 */
export function listenerSnapshots(addresses: readonly string[], source: ListenStatsSource): ListenerSnapshot[] {
  if (addresses.length === 0) return [];
  const tcp = addresses.filter((a) => !a.startsWith("/"));
  const unix = addresses.filter((a) => a.startsWith("/"));
  const figures = source(tcp, unix);
  return addresses.map((address) => {
    const f = figures.get(address);
    return { address, active: f?.active ?? 0, queued: f?.queued ?? 0, backlog: f?.backlog };
  });
}
