/**
 * The listeners a Watcher follows, and which ones it admits when it
 * watches every listener on the machine within `maxListeners`.
 *
 * @module
 */
import type { BucketOptions } from "../aggregate/histogram.ts";
import type { ListenStats } from "../linux/listen_stats.ts";
import { isUnixListener } from "../linux/listeners.ts";
import { WatchedListener } from "./_watched_listener.ts";

/** What the Watcher reads of a listener's figures. */
type Figures = Pick<ListenStats, "active" | "queued"> & Partial<Pick<ListenStats, "listeners">>;

/** Tells a name no listening socket takes connections for, from its figures. */
export type Unlistened = (name: string, figures: Figures) => boolean;

/** A listener with connections now sorts first: queued, then active, then TCP before unix. */
function busiestFirst([a, fa]: [string, Figures], [b, fb]: [string, Figures]): number {
  return fb.queued - fa.queued || fb.active - fa.active || Number(isUnixListener(a)) - Number(isUnixListener(b));
}

/** What a figures source gave, checked: a Map of non-negative safe integers. */
function checked(figures: unknown): Map<string, Figures> {
  if (!(figures instanceof Map)) throw new TypeError("the listenStats source must return a Map");
  for (const [name, f] of figures as Map<string, Figures>) {
    if (!Number.isSafeInteger(f?.active) || !Number.isSafeInteger(f?.queued) || f.active < 0 || f.queued < 0) {
      throw new RangeError(`the listenStats source gave ${name} non-count figures: ${JSON.stringify(f)}`);
    }
  }
  return figures;
}

/** The followed listeners by name, in the order they were first seen. */
export class WatchedListeners {
  readonly #byName = new Map<string, WatchedListener>();
  /** The listeners given; undefined when every listener is watched. */
  readonly #given: readonly string[] | undefined;
  readonly #max: number;
  readonly #buckets: BucketOptions | undefined;
  readonly #history: number;
  #omitted = 0;

  constructor(
    given: readonly string[] | undefined,
    limits: { maxListeners: number; buckets: BucketOptions | undefined; history: number },
    now: number,
  ) {
    this.#given = given;
    this.#max = limits.maxListeners;
    this.#buckets = limits.buckets;
    this.#history = limits.history;
    for (const name of given ?? []) this.#start(name, now);
  }

  /** The listeners to ask the source about: the given ones, or undefined for every one. */
  get asked(): readonly string[] | undefined {
    return this.#given;
  }

  /** Listeners the last poll found but not followed (beyond `maxListeners`). */
  get omitted(): number {
    return this.#omitted;
  }

  /** The followed listener of that name. */
  get(name: string): WatchedListener | undefined {
    return this.#byName.get(name);
  }

  /** Every followed listener with its name, in the order first seen. */
  entries(): IterableIterator<[string, WatchedListener]> {
    return this.#byName.entries();
  }

  /** Followed listeners. */
  get size(): number {
    return this.#byName.size;
  }

  /**
   * Records what the source gave for one poll; watching every listener,
   * first drops the closed ones and admits new ones. Throws for figures
   * that are not counts, recording nothing.
   */
  record(source: unknown, now: number, unlistened: Unlistened): void {
    const figures = checked(source);
    if (this.#given === undefined) this.#admit(figures, now);
    for (const [name, f] of figures) {
      this.#byName.get(name)?.record(f.active, f.queued, now, !unlistened(name, f));
    }
  }

  #start(name: string, now: number): void {
    this.#byName.set(name, new WatchedListener(this.#buckets, this.#history, now));
  }

  /**
   * Keeps the followed listeners still open, then takes new ones while
   * there is room, busiest first, dropping one that has had no connection
   * to make room for one that has.
   */
  #admit(figures: Map<string, Figures>, now: number): void {
    const followed = this.#byName;
    for (const name of followed.keys()) if (!figures.has(name)) followed.delete(name);
    if (figures.size > followed.size) {
      let room = this.#max - followed.size;
      const idle = room > 0 ? [] : [...followed].filter(([, l]) => l.idle).map(([name]) => name);
      const busy = [...figures].filter(([name, f]) => f.active + f.queued > 0 && !followed.has(name));
      for (const [name] of busy.sort(busiestFirst)) {
        if (room > 0) room--;
        else if (idle.length > 0) followed.delete(idle.pop()!);
        else break;
        this.#start(name, now);
      }
      if (room > 0) {
        const quiet = [...figures].filter(([name]) => !followed.has(name));
        for (const [name] of quiet.sort(busiestFirst).slice(0, room)) this.#start(name, now);
      }
    }
    this.#omitted = figures.size - followed.size;
  }
}
