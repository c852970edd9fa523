/**
 * LastDataRecv's figure as `raindrops_queue_wait_seconds`: an aggregate to
 * hand LastDataRecv that also observes each sample in the shared registry.
 *
 * @module
 */
import { Aggregate, type AggregateOptions } from "../aggregate/aggregate.ts";
import { register, type Registry } from "../metrics/registry.ts";
import type { HistogramChild } from "../metrics/histogram.ts";
import type { Counter } from "../metrics/counter.ts";
import { queueWaitMetrics } from "./_request_metrics.ts";
import { QUEUE_WAIT_BUCKETS } from "./options.ts";

/** Options of {@link QueueWaitAggregate}: the aggregate's own, and where the histogram lives. */
export interface QueueWaitAggregateOptions extends AggregateOptions {
  /** The registry (default: the default registry, the one beside the middleware's default stats file). */
  registry?: Registry;
  /** The histogram's bucket bounds in seconds (default 1 ms to 10 s, as the middleware's `queueWait`). */
  histogramBuckets?: readonly number[];
  /** Waits above this many seconds are dropped and counted as `too_large` (default 60). */
  maxSeconds?: number;
}

/**
 * An {@link Aggregate} of LastDataRecv's samples (ms since the
 * connection last received data, at its first request: the time its bytes
 * waited in the accept queue and the server) that also observes each in
 * `raindrops_queue_wait_seconds`, exact across workers: the kernel's
 * figure of queue wait where no proxy stamps `X-Request-Start`. Samples
 * above `maxSeconds` (a connection idle before its first request) are
 * counted in `raindrops_queue_wait_dropped_total{reason="too_large"}`
 * instead.
 *
 * @example
 * ```ts
 * import { LastDataRecv, QueueWaitAggregate } from "raindrops/hono";
 * const ldr = new LastDataRecv({ aggregate: new QueueWaitAggregate() });
 * ```
 */
export class QueueWaitAggregate extends Aggregate {
  readonly #wait: HistogramChild;
  readonly #dropped: Counter<string>;
  readonly #maxMs: number;

  /** TypeError or RangeError for bad options (bad buckets included). */
  constructor(options: QueueWaitAggregateOptions = {}) {
    super(options);
    const max = options.maxSeconds ?? 60;
    if (typeof max !== "number" || !(max > 0 && max < Infinity)) {
      throw new RangeError(`maxSeconds must be a positive number, got ${max}`);
    }
    this.#maxMs = max * 1000;
    const { wait, dropped } = queueWaitMetrics(
      options.registry ?? register,
      options.histogramBuckets ?? QUEUE_WAIT_BUCKETS,
    );
    this.#wait = wait;
    this.#dropped = dropped;
  }

  /** Adds a sample in ms to the aggregate and, in seconds, to the histogram. */
  override add(ms: number): void {
    super.add(ms);
    if (!(ms >= 0)) return; // not a wait (the aggregate keeps what it accepts)
    if (ms > this.#maxMs) this.#dropped.labels("too_large").inc();
    else this.#wait.observe(ms / 1000);
  }
}
