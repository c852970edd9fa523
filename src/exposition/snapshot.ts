/**
 * What the stats of a set of workers read at one moment: the counts from
 * the shared stats file and the listeners' queue figures. Every exposition
 * (the middleware's text and JSON, Prometheus, prom-client) renders one.
 *
 * @module
 */
import type { ListenerStatsSource } from "../linux/listeners.ts";

/** One listener's queue figures. */
export interface ListenerSnapshot {
  /** `host:port` (IPv6 as `[addr]:port`) or a unix socket path. */
  address: string;
  /** Accepted connections that are open. */
  active: number;
  /** Connections waiting in the accept queue. */
  queued: number;
  /** The accept queue's limit (the `listen()` backlog), when known. */
  backlog?: number;
}

/** Everything the stats endpoint reports. */
export interface StatsSnapshot {
  /** Requests inside the app right now, over every live worker. */
  calling: number;
  /** Responses whose body is still being written, over every live worker. */
  writing: number;
  /** Live workers counted (omitted from the gem's text format). */
  workers?: number;
  /** Requests finished by every worker, past and present (Prometheus only). */
  requests?: number;
  /** Listener lines, in order. */
  listeners: readonly ListenerSnapshot[];
}

/**
 * Listener lines for `addresses`, in order, from `source`; an address the
 * source does not know reports 0 and 0.
 *
 * @example
 * ```ts
 * import { listenerSnapshots } from "./snapshot.ts";
 * listenerSnapshots(["0.0.0.0:8080"], () => new Map([["0.0.0.0:8080", { active: 2, queued: 0 }]]));
 * // [{ address: "0.0.0.0:8080", active: 2, queued: 0, backlog: undefined }]
 * ```
 */
export function listenerSnapshots(
  addresses: readonly string[],
  source: ListenerStatsSource,
): StatsSnapshot["listeners"] {
  if (addresses.length === 0) return [];
  const figures = source(addresses);
  return addresses.map((address) => {
    const f = figures.get(address);
    return { address, active: f?.active ?? 0, queued: f?.queued ?? 0, backlog: f?.backlog };
  });
}
