/**
 * The JSON the Watcher's pages draw their charts from: `/series.json` for
 * the index, `/series/ADDR.json` for one listener.
 *
 * @module
 */
import type { WatchedListeners } from "./_listeners.ts";
import type { WatchedFigure, WatchedListener } from "./_watched_listener.ts";
import type { WatchedWorkers } from "./_workers.ts";

/** When the figures were read and how often. */
export interface PollTimes {
  /** ms since the epoch of the last successful poll (0 before it). */
  readonly time: number;
  /** Seconds between polls. */
  readonly delay: number;
}

/** One figure: the aggregate's summary, its current value, peak times, histogram rows and text chart. */
function figureJSON(f: WatchedFigure) {
  return {
    ...f.aggregate.toJSON(),
    current: f.current,
    firstPeakAt: f.firstPeakAt || null,
    lastPeakAt: f.lastPeakAt || null,
    rows: f.aggregate.rows(),
    chart: f.aggregate.chart(),
  };
}

/**
 * The index's series: every followed listener's current figures and its
 * last `points` polls after `since` (ms), how many are left out, and the
 * workers when a stats file is read.
 */
export function seriesJSON(
  at: PollTimes,
  listeners: WatchedListeners,
  limits: { maxListeners: number; workers: WatchedWorkers | undefined },
  points: number,
  since: number,
) {
  return {
    time: at.time,
    delay: at.delay,
    maxListeners: limits.maxListeners,
    omitted: listeners.omitted,
    listeners: [...listeners.entries()].map(([addr, l]) => ({
      addr,
      listening: l.listening,
      active: l.active.current,
      queued: l.queued.current,
      lastReset: l.lastReset,
      points: l.points(points, since),
    })),
    workers: limits.workers?.toJSON(points, since) ?? null,
  };
}

/** One listener's series: its last `points` polls and both figures in full. */
export function listenerSeriesJSON(at: PollTimes, addr: string, l: WatchedListener, points: number) {
  return {
    addr,
    listening: l.listening,
    time: at.time,
    delay: at.delay,
    lastReset: l.lastReset,
    points: l.points(points),
    active: figureJSON(l.active),
    queued: figureJSON(l.queued),
  };
}
