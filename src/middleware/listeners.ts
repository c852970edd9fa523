/**
 * Which listeners the stats endpoint reports, and where their queue figures
 * come from.
 *
 * @module
 */
import { tcpListenerStats, unixListenerStats } from "../linux/listen_stats.ts";
import type { ListenerSnapshot } from "./format.ts";

/** A listener's queue figures, as `src/linux/listen_stats.ts` returns them. */
export interface ListenQueue {
  /** Accepted connections that are open. */
  readonly active: number;
  /** Connections waiting in the accept queue. */
  readonly queued: number;
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

/** Listen queues from the kernel, keyed as asked. */
export const kernelListenStats: ListenStatsSource = (tcp, unix) =>
  new Map([...(tcp.length ? tcpListenerStats(tcp) : []), ...(unix.length ? unixListenerStats(unix) : [])]);

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
    return { address, active: f?.active ?? 0, queued: f?.queued ?? 0 };
  });
}
