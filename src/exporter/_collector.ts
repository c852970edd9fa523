/**
 * What one scrape of the exporter reports: the listeners' figures now and
 * their recent peaks, the stats files' counts, and the exporter's own
 * health (build, scrape duration, stats files up, process CPU and memory).
 *
 * @module
 */
import { statSync } from "node:fs";
import process from "node:process";
import { metricFamilies, type MetricFamily, type MetricSample } from "../exposition/metric_families.ts";
import { VERSION } from "../version.ts";
import { WorkerStats } from "../worker_stats.ts";
import type { ListenStatsSource } from "../linux/listeners.ts";
import { WindowedPeaks } from "../exposition/windowed_peaks.ts";
import { unlistenedOf } from "../exposition/snapshot.ts";

/** What the collector reads. */
export interface CollectorOptions {
  /** Listener names to report; empty: every listener the source lists. */
  listeners: readonly string[];
  /** Stats files to report. */
  stats: readonly string[];
  /** With no listener names, report at most this many (first by name). */
  maxListeners: number;
  /** How far back the `_max` peaks reach. */
  peakWindowMs: number;
  /** Where listener figures come from: the kernel, in the exporter. */
  listenStats: ListenStatsSource;
  /** Called when a stats file stops or starts being readable. */
  onStatsChange?: (path: string, error: Error | undefined) => void;
}

/** A listener sample: figures by name, and how many listeners there were before the cap. */
interface Sample {
  figures: ReturnType<ListenStatsSource>;
  found: number;
}

const gauge = (name: string, help: string, samples: MetricSample[]): MetricFamily => ({
  name,
  help,
  type: "gauge",
  samples,
});
const one = (value: number, labels: Record<string, string> = {}): MetricSample[] => [{ labels, value }];

/** Family order within each name kept, same-named families' samples joined. */
function merged(families: readonly MetricFamily[]): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const f of families) {
    const had = byName.get(f.name);
    byName.set(f.name, had ? { ...had, samples: [...had.samples, ...f.samples] } : f);
  }
  return [...byName.values()];
}

/** IPv4, then IPv6, then unix names, each by text: a stable order for the cap. */
function byName(a: string, b: string): number {
  const rank = (s: string) => (s.startsWith("[") ? 1 : /^\d/.test(s) ? 0 : 2);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Samples listeners (for the peaks and for scrapes) and turns a scrape
 * into metric families. Listener figures failing is the scrape failing
 * (the caller answers 500, so Prometheus' `up` is 0); a stats file that
 * cannot be read is reported by `raindrops_exporter_stats_file_up` 0, its
 * series left out, the rest of the scrape kept.
 */
export class Collector {
  readonly #o: CollectorOptions;
  readonly #peaks: WindowedPeaks;
  readonly #started = Date.now() / 1000;
  readonly #statsErrors = new Map<string, string>();

  constructor(options: CollectorOptions) {
    this.#o = options;
    this.#peaks = new WindowedPeaks(options.peakWindowMs);
  }

  /** Takes one listener sample and folds it into the peaks; throws when the kernel call fails. */
  sample(now = Date.now()): Sample {
    const { listeners, listenStats, maxListeners } = this.#o;
    let figures: ReturnType<ListenStatsSource>;
    let found: number;
    if (listeners.length > 0) {
      const got = listenStats(listeners);
      figures = new Map(listeners.map((l) => [l, got.get(l) ?? { active: 0, queued: 0 }]));
      found = listeners.length;
    } else {
      const all = [...listenStats(undefined)].filter(([name]) => name !== ""); // unnamed unix sockets
      found = all.length;
      figures = new Map(all.sort(([a], [b]) => byName(a, b)).slice(0, maxListeners));
    }
    this.#peaks.add(figures, now);
    return { figures, found };
  }

  /** Every metric family of one scrape; throws when the listener figures cannot be had. */
  collect(now = Date.now()): MetricFamily[] {
    const began = performance.now();
    const { figures, found } = this.sample(now);
    const peaks = this.#peaks.read(now);
    const families: MetricFamily[] = metricFamilies({
      calling: 0,
      writing: 0,
      listeners: figures,
      unlistened: unlistenedOf(figures, this.#o.listenStats),
    })
      .filter((f) => f.name.startsWith("raindrops_listener_"));
    const window = `${this.#o.peakWindowMs / 1000} s`;
    const peak = (pick: "active" | "queued") =>
      [...figures.keys()].map((listener) => ({ labels: { listener }, value: peaks.get(listener)?.[pick] ?? 0 }));
    families.push(
      gauge(
        "raindrops_listener_active_connections_max",
        `Largest raindrops_listener_active_connections sampled over the last ${window}.`,
        peak("active"),
      ),
      gauge(
        "raindrops_listener_queued_connections_max",
        `Largest raindrops_listener_queued_connections sampled over the last ${window}.`,
        peak("queued"),
      ),
    );
    families.push(...this.#statsFamilies());
    if (this.#o.listeners.length === 0) {
      families.push(gauge(
        "raindrops_exporter_listeners_found",
        "Listeners in this network namespace, before --max-listeners.",
        one(found),
      ));
    }
    families.push(...this.#ownFamilies(began));
    return families;
  }

  /** Each stats file's calling, writing and workers, labelled `stats`, and whether it could be read. */
  #statsFamilies(): MetricFamily[] {
    const families: MetricFamily[] = [];
    const up: MetricSample[] = [];
    for (const path of this.#o.stats) {
      let ok = 1;
      try {
        // perWorker creates a missing file: the exporter must not (it would own it).
        statSync(path);
        const workers = WorkerStats.perWorker(path);
        let calling = 0, writing = 0;
        for (const w of workers) (calling += w.calling), (writing += w.writing);
        families.push(...metricFamilies({ calling, writing, workers: workers.length, listeners: new Map() }, {
          prefix: "",
          labels: { stats: path },
        }));
        this.#statsState(path, undefined);
      } catch (e) {
        ok = 0;
        this.#statsState(path, e as Error);
      }
      up.push({ labels: { stats: path }, value: ok });
    }
    if (up.length > 0) {
      families.push(gauge("raindrops_exporter_stats_file_up", "1 if the stats file could be read, else 0.", up));
    }
    return merged(families);
  }

  #statsState(path: string, error: Error | undefined): void {
    const was = this.#statsErrors.get(path);
    if (was === error?.message) return;
    if (error) this.#statsErrors.set(path, error.message);
    else this.#statsErrors.delete(path);
    this.#o.onStatsChange?.(path, error);
  }

  /** The exporter's own series: build, process, and this scrape's duration (measured last). */
  #ownFamilies(began: number): MetricFamily[] {
    const cpu = process.cpuUsage();
    return [
      gauge(
        "raindrops_exporter_build_info",
        "The exporter's version; always 1.",
        one(1, { version: VERSION }),
      ),
      gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", [
        { labels: {}, value: this.#started },
      ]),
      {
        name: "process_cpu_seconds_total",
        help: "User and system CPU time spent, in seconds.",
        type: "counter",
        samples: one((cpu.user + cpu.system) / 1e6),
      },
      gauge("process_resident_memory_bytes", "Resident memory size, in bytes.", one(process.memoryUsage().rss)),
      gauge(
        "raindrops_exporter_scrape_duration_seconds",
        "How long this scrape took to collect, in seconds.",
        one((performance.now() - began) / 1000),
      ),
    ];
  }
}
