/**
 * Where LastDataRecv's readings go: 1 new connection in `sample` is read,
 * its `last_data_recv` added to the aggregate, a failed reading counted.
 *
 * @module
 */
import type { AggregateView } from "../aggregate/view.ts";

/**
 * The sampling and the count of failed readings of one LastDataRecv.
 *
 * @example
 * ```ts
 * import { Aggregate } from "../aggregate/aggregate.ts";
 * import { Samples } from "./_samples.ts";
 * const samples = new Samples(new Aggregate(), 1);
 * if (samples.sampled()) samples.add(12); // ms
 * ```
 */
export class Samples {
  /** Where readings go. */
  readonly aggregate: AggregateView;
  /** 1 new connection in `sample` is read. */
  readonly sample: number;
  /** Readings that failed (or found no `last_data_recv`). */
  missed = 0;
  /** Why the last reading failed, if one did. */
  lastError: Error | undefined;
  #tick = 0;

  /** Readings go to `aggregate`; 1 new connection in `sample` is read. */
  constructor(aggregate: AggregateView, sample: number) {
    this.aggregate = aggregate;
    this.sample = sample;
  }

  /** Whether this new connection is one of the 1 in `sample` read. */
  sampled(): boolean {
    if (++this.#tick < this.sample) return false;
    this.#tick = 0;
    return true;
  }

  /** A reading, in ms; undefined (a kernel's tcp_info too short to hold it) counts as missed. */
  add(ms: number | undefined): void {
    if (ms === undefined) this.missed++;
    else this.aggregate.add(ms);
  }

  /** A reading that failed with `e`. */
  fail(e: unknown): void {
    this.missed++;
    this.lastError = e instanceof Error ? e : new Error(String(e));
  }
}
