/**
 * The stats endpoint's answer: who may read it, in which format, and the
 * snapshot of counts and listen queues it renders.
 *
 * @module
 */
import { NativeUnavailableError } from "../errors.ts";
import { requestListener } from "../server/connection.ts";
import type { Counters } from "./counters.ts";
import { chooseFormat, CONTENT_TYPES, FORMATS, render } from "./format.ts";
import { listenStatsOf, type StatsSnapshot, unlistenedOf } from "../exposition/snapshot.ts";
import type { MiddlewareSettings } from "./options.ts";
import { readFamilies, type Registry } from "../metrics/registry.ts";
import type { RequestView } from "../server/request_view.ts";
import { listenDrops } from "../linux/netstat.ts";
import { tcpAddressesOf, tcpSynRecvConnections } from "../linux/listener_counts.ts";

/** A plain-text answer with no body to count. */
function refusal(status: number, text: string): Response {
  return new Response(text, { status, headers: { "content-type": CONTENT_TYPES.text } });
}

/** The listener that accepted the request's connection, when the server tells enough to find it. */
function ownListener(c: RequestView): readonly string[] {
  try {
    const own = requestListener(c);
    return own ? [own] : [];
  } catch {
    return []; // no connection info (app.request, a unix socket) or the client already left
  }
}

/**
 * The namespace's listen drop counters and the TCP listeners' half-open
 * connections; a figure the kernel cannot give is left out (its series
 * are then absent, not zero).
 */
function kernelDrops(listeners: StatsSnapshot["listeners"]): Pick<StatsSnapshot, "listenDrops" | "synRecv"> {
  const out: Pick<StatsSnapshot, "listenDrops" | "synRecv"> = {};
  try {
    out.listenDrops = listenDrops();
  } catch { /* no /proc: no series */ }
  const tcp = tcpAddressesOf(listeners.keys());
  try {
    if (tcp.length > 0) out.synRecv = tcpSynRecvConnections(tcp);
  } catch { /* no inet_diag: no series */ }
  return out;
}

/** Answers a stats request from `counters` as `settings` say. */
export function statsEndpoint<C extends RequestView>(
  settings: MiddlewareSettings<C>,
  counters: Counters,
  registry: Registry,
): (c: C) => Promise<Response> {
  const { format, listeners, listenStats, connection, allowed, allowedHost, prometheus } = settings;
  return async function stats(c: C): Promise<Response> {
    // Request checks, each a refusal before anything is read: who may read, then the Host it was sent to.
    if (!(await allowed(connection(c)?.remoteAddress, c))) return refusal(403, "Forbidden\n");
    if (!allowedHost(c.req.header("host"))) return refusal(403, "Forbidden: unknown Host (see the hosts option)\n");
    const chosen = chooseFormat(c.req.query("format"), c.req.header("accept"), format);
    if (chosen === undefined) return refusal(400, `unknown format; use ?format=${FORMATS.join("|")}\n`);
    const totals = counters.totals();
    let snapshotListeners: StatsSnapshot["listeners"] = new Map();
    let listened = listenStats;
    if (listenStats) {
      const addresses = listeners === "auto" ? ownListener(c) : listeners;
      try {
        snapshotListeners = listenStatsOf(addresses, listenStats);
      } catch (e) {
        // In-process (no native library): the listener lines are left out; its one warning said why.
        if (!(e instanceof NativeUnavailableError)) throw e;
        listened = false;
      }
    }
    const prometheusFormat = chosen === "prometheus" || chosen === "openmetrics";
    const kernel = prometheusFormat && settings.requestMetrics.kernelDrops ? kernelDrops(snapshotListeners) : {};
    const snapshot: StatsSnapshot = {
      ...kernel,
      calling: totals.calling,
      writing: totals.writing,
      workers: totals.workers,
      stats: counters.path,
      requests: counters.finished?.(),
      listeners: snapshotListeners,
      unlistened: listened ? unlistenedOf(snapshotListeners, listened) : undefined,
      metrics: chosen === "text" ? undefined : readFamilies(registry),
    };
    const body = new TextEncoder().encode(render(chosen, snapshot, prometheus));
    return new Response(body, {
      headers: {
        "content-type": CONTENT_TYPES[chosen],
        "content-length": String(body.byteLength),
        "cache-control": "no-store",
      },
    });
  };
}
