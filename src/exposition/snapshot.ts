/**
 * What the stats of a set of workers read at one moment: the counts from
 * the shared stats file and the listeners' queue figures. Every exposition
 * (the middleware's text and JSON, Prometheus, prom-client) renders one.
 *
 * @module
 */
import { kernelListenerStats, type ListenStatsSource, nothingListens } from "../linux/listeners.ts";
import type { RegistryFamily } from "./registry_text.ts";
import type { ListenDrops } from "../linux/netstat.ts";

/** Everything the stats endpoint reports. */
export interface StatsSnapshot {
  /** Requests inside the app right now, over every live worker. */
  calling: number;
  /** Responses whose body is still being written, over every live worker. */
  writing: number;
  /** The shared stats file the counts come from, when they come from one (JSON only). */
  stats?: string;
  /** Live workers counted (omitted from the gem's text format). */
  workers?: number;
  /** Requests finished by every worker, past and present (Prometheus only). */
  requests?: number;
  /** Each listener's figures by its address (`host:port`, `[v6]:port`, a unix path), in the order reported. */
  listeners: ReturnType<ListenStatsSource>;
  /**
   * The listeners no listening socket takes connections for (a typo'd
   * port reads 0 like an idle listener); undefined when not asked.
   */
  unlistened?: ReadonlySet<string>;
  /** The network namespace's listen-queue drop counters (Prometheus only). */
  listenDrops?: ListenDrops;
  /** Half-open (SYN_RECV) connections of each TCP listener in `listeners` (Prometheus only). */
  synRecv?: ReadonlyMap<string, number>;
  /** The user's metrics (a registry's families, see `readFamilies`), after raindrops' own in the Prometheus formats. */
  metrics?: readonly RegistryFamily[];
}

/**
 * The figures of `addresses` from `source`, in order; an address the
 * source does not know reports 0 and 0.
 *
 * @example
 * ```ts
 * import { listenStatsOf } from "./snapshot.ts";
 * listenStatsOf(["0.0.0.0:8080"], () => new Map([["0.0.0.0:8080", { active: 2, queued: 0 }]]));
 * // Map { "0.0.0.0:8080" => { active: 2, queued: 0 } }
 * ```
 */
export function listenStatsOf(addresses: readonly string[], source: ListenStatsSource): StatsSnapshot["listeners"] {
  const out: StatsSnapshot["listeners"] = new Map();
  if (addresses.length === 0) return out;
  const figures = source(addresses);
  for (const address of addresses) out.set(address, figures.get(address) ?? { active: 0, queued: 0 });
  return out;
}

/**
 * The names among `listeners` (figures from `source`) that no listening
 * socket takes connections for: from the kernel, as {@link nothingListens}
 * tells (a wildcard or dual-stack `[::]` listener on the port takes the
 * address); from another source, those it gives `listeners: 0`.
 *
 * @example
 * ```ts
 * import { unlistenedOf } from "./snapshot.ts";
 * const source = () => new Map([["127.0.0.1:1", { active: 0, queued: 0, listeners: 0 }]]);
 * unlistenedOf(listenStatsOf(["127.0.0.1:1"], source), source); // Set { "127.0.0.1:1" }
 * ```
 */
export function unlistenedOf(listeners: StatsSnapshot["listeners"], source: ListenStatsSource): Set<string> {
  const out = new Set<string>();
  for (const [name, f] of listeners) {
    if (f.listeners === 0 && (source !== kernelListenerStats || nothingListens(name, f))) out.add(name);
  }
  return out;
}
