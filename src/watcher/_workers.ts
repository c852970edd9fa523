/**
 * What the Watcher keeps about the workers of a middleware stats file:
 * calling and writing in total and per worker, each with a bounded history
 * for the charts.
 *
 * @module
 */
import { statSync } from "node:fs";
import { WorkerStats } from "../worker_stats.ts";
import { PollRing } from "./_ring.ts";

/** One live worker's counts, as the stats file holds them. */
export interface WorkerCounts {
  readonly tid: number;
  readonly calling: number;
  readonly writing: number;
}

/** Most workers followed one by one; the totals always cover every worker. */
export const MAX_WORKER_ROWS = 64;

/** One worker followed over time. */
interface FollowedWorker {
  calling: number;
  writing: number;
  readonly history: PollRing;
}

/** Totals and per-worker history of the workers sharing one stats file. */
export class WatchedWorkers {
  /** The stats file read. */
  readonly path: string;
  calling = 0;
  writing = 0;
  workers = 0;
  /** Live workers not followed one by one (beyond {@link MAX_WORKER_ROWS}). */
  omitted = 0;
  /** Why the last read failed, or undefined. */
  error: string | undefined;
  readonly #size: number;
  /** The last polls: time (ms), calling, writing, workers. */
  readonly #totals: PollRing;
  readonly #each = new Map<number, FollowedWorker>();

  constructor(path: string, history: number) {
    this.path = path;
    this.#size = history;
    this.#totals = new PollRing(history, 3);
  }

  /** Reads the stats file now; a failure is kept in {@link error} (shown with the workers), never thrown. */
  read(now: number): void {
    try {
      if (!statSync(this.path).isFile()) throw new TypeError(`${this.path} is not a regular file`);
      this.record(WorkerStats.perWorker(this.path), now);
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      this.error = code === "ENOENT" ? "no stats file yet" : e instanceof Error ? e.message : String(e);
    }
  }

  /** Records one read of the file: every live worker's counts. */
  record(rows: readonly WorkerCounts[], now: number): void {
    let calling = 0, writing = 0;
    for (const r of rows) {
      calling += r.calling;
      writing += r.writing;
    }
    this.calling = calling;
    this.writing = writing;
    this.workers = rows.length;
    this.#totals.push(now, calling, writing, rows.length);
    const live = new Set(rows.map((r) => r.tid));
    for (const tid of this.#each.keys()) if (!live.has(tid)) this.#each.delete(tid);
    for (const r of [...rows].sort((a, b) => a.tid - b.tid)) {
      let w = this.#each.get(r.tid);
      if (w === undefined) {
        if (this.#each.size >= MAX_WORKER_ROWS) continue;
        w = { calling: 0, writing: 0, history: new PollRing(this.#size, 2) };
        this.#each.set(r.tid, w);
      }
      w.calling = r.calling;
      w.writing = r.writing;
      w.history.push(now, r.calling, r.writing);
    }
    this.omitted = rows.length - this.#each.size;
    this.error = undefined;
  }

  /** The figures and the last `points` polls after `since` (ms), as `/series.json` gives them. */
  toJSON(points: number, since = -Infinity) {
    const each = [...this.#each].sort(([a], [b]) => a - b).map(([tid, w]) => ({
      tid,
      calling: w.calling,
      writing: w.writing,
      points: w.history.points(points, since),
    }));
    return {
      path: this.path,
      calling: this.calling,
      writing: this.writing,
      workers: this.workers,
      omitted: this.omitted,
      error: this.error ?? null,
      points: this.#totals.points(points, since),
      perWorker: each,
    };
  }
}
